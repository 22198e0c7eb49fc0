"""A command worker reads the requesting user's settings at most once per request, from the
storage it was given, and uses the defaults when it has none."""

from __future__ import annotations

import logging

from actors.chat_commands import CommandService
from actors.chat_storage import StorageCommands
from actors.market_access import MarketAccess
from chat.parsing import read_text
from messages.chat import ChatCommand
from storage.read_pool import ReadPool
from supervision.address import Directory
from users.settings import UserSettings


class CountingStorage:
    """Stands in for StorageCommands' settings read, counting the reads."""

    def __init__(self) -> None:
        self.reads: list[int] = []

    def user_settings(self, user_id: int) -> UserSettings:
        self.reads.append(user_id)
        return UserSettings(interval="4h", timezone="Europe/Berlin")


def command(request_id: str, user_id: int = 7) -> ChatCommand:
    return ChatCommand(request_id=request_id, chat_id=user_id, user_id=user_id,
                       text="/analysis btc", parsed=read_text("/analysis btc"))


def service(storage: object | None) -> CommandService:
    directory = Directory()
    return CommandService(market=MarketAccess(directory, deadline_s=1.0), directory=directory,
                          storage=storage)


def test_settings_are_read_once_per_request_and_again_for_the_next():
    storage = CountingStorage()
    worker = service(storage)
    first = command("r1")
    assert worker.user_settings(first).interval == "4h"
    assert worker.user_settings(first).timezone == "Europe/Berlin"
    assert storage.reads == [7]
    worker.user_settings(command("r2", user_id=8))
    assert storage.reads == [7, 8]


def test_without_storage_every_request_gets_the_defaults():
    assert service(None).user_settings(command("r1")) == UserSettings()


def test_a_failed_settings_read_gives_the_defaults_and_says_so_in_the_log(tmp_path, caplog):
    directory = Directory()
    reads = ReadPool(tmp_path / "absent.sqlite3", 1)
    reads.close()  # every read now fails with StorageUnavailable
    storage = StorageCommands(market=MarketAccess(directory, deadline_s=1.0),
                              directory=directory, reads=reads)
    with caplog.at_level(logging.WARNING):
        assert storage.user_settings(7) == UserSettings()
    assert any("storage.settings_unread" in record.getMessage() for record in caplog.records)
