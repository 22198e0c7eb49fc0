"""The daily digest through the whole bot: /digest over the real python-telegram-bot stack and
the fake Bot API, then a due digest sent by the digest actor through the real transport, once,
with the watchlist priced by the exchange simulator."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from messages.digest import DigestDue
from tests.actors import test_telegram_e2e

make_telegram = test_telegram_e2e.make_telegram  # the fixture, found by pytest by name

USER = 31


def make_due_now(db_path: str, user_id: int) -> None:
    """Move the user's digest to this very minute (UTC) with yesterday settled: due now."""
    now = datetime.now(UTC)
    conn = sqlite3.connect(db_path, timeout=5.0)
    try:
        with conn:
            conn.execute("UPDATE digests SET minute = ?, last_day = ?, next_due_at = ?"
                         " WHERE user_id = ?",
                         (now.hour * 60 + now.minute, (now.date() - timedelta(days=1)).isoformat(),
                          time.time() - 1, user_id))
    finally:
        conn.close()


def digests(tg: Any) -> list[Any]:
    return [r for r in tg.fake.sent(chat_id=USER) if "☀️" in (r.text or "")]


def test_a_digest_set_in_telegram_arrives_once_with_the_watchlist(make_telegram):
    tg = make_telegram()
    assert tg.say(USER, "/digest", "You have no daily digest")
    assert tg.say(USER, "/digest 25:00", "not a time of day")
    assert tg.say(USER, "/digest 08:30", "Daily digest set for <b>08:30</b>")
    assert tg.say(USER, "/digest", "every day at <b>08:30</b> (UTC)")
    assert tg.say(USER, "/watch sol", "added")
    make_due_now(tg.bot.config.db_path, USER)
    tg.bot.address("digest").tell(DigestDue())
    card = tg.wait(USER, "☀️", 0)
    assert "SOLUSDT" in card.text and "%" in card.text and "No alerts fired" in card.text
    tg.bot.address("digest").ask(DigestDue(), timeout=30.0)  # returns when the round is over
    tg.say(USER, "/help", "/price")  # and what it sent went out before this answer
    assert tg.say(USER, "/digest off", "Daily digest stopped")
    assert len(digests(tg)) == 1
