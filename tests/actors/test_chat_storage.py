"""The storage commands mark every answer about a write the user asked for as one to keep.

A full outbound queue drops other replies first and never these (docs/security.md): a user who
saved an alert or changed the watchlist always learns whether it happened.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from actors.chat_storage import StorageCommands
from chat.arguments import AlertRequest
from chat.parsing import read_text
from messages.chat import ChatCommand
from storage.read_pool import ReadPool
from supervision.tree import SupervisionTree
from tests.actors.conftest import Market
from tests.actors.storage_fixtures import SETTINGS, TIMEOUT, Probe, writer_spec

USER = 42


def _command(text: str) -> ChatCommand:
    return ChatCommand(request_id=f"r-{text}", chat_id=USER, user_id=USER, text=text,
                       parsed=read_text(text))


def test_every_write_outcome_is_kept_and_reads_are_not(
        make_market: Callable[..., Market], tmp_path: Path) -> None:
    market = make_market()
    pool = ReadPool(tmp_path / "bot.sqlite3", size=2)
    storage = SupervisionTree([writer_spec(tmp_path / "bot.sqlite3", Probe(), pool)],
                              SETTINGS).start()
    try:
        assert storage.address("db_writer").wait_until_running(timeout=TIMEOUT)
        commands = StorageCommands(market=market.access, directory=storage.directory,
                                   reads=pool)

        saved = commands.add_alert(_command("/alert btc above 1"),
                                   AlertRequest("btc", "above", 1.0))
        watched = commands.watch(_command("/watch eth"), "eth")
        watched_again = commands.watch(_command("/watch eth"), "eth")
        unwatched = commands.unwatch(_command("/unwatch eth"), "eth")
        deleted = commands.delete_alert(_command("/delalert 1"), 1)
        not_yours = commands.delete_alert(_command("/delalert 999"), 999)
        listed = commands.list_alerts(_command("/alerts"))
    finally:
        storage.stop(timeout_s=10)
        pool.close()

    for result in (saved, watched, watched_again, unwatched, deleted, not_yours):
        assert result.replies and all(reply.keep for reply in result.replies), result
    assert "saved" in saved.replies[0].text and "deleted" in deleted.replies[0].text.lower()
    assert not any(reply.keep for reply in listed.replies)
