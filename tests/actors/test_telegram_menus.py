"""Command menus at start-up: public for all, the admin menu in each admin's own chat.

The real actor and PTB against the fake Bot API, which keeps one menu per scope and answers
"chat not found" for a chat scope of a user who never wrote to the bot.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from collections.abc import Callable, Iterator
from typing import Any, cast

import pytest
from telegram import Bot as PtbBot

from actors.telegram_menus import ADMIN_MENU_LIMIT, CommandMenus, MenuRegistrar
from chat.commands import menu_commands
from fakes.telegram.bot_api import FakeBotApi
from fakes.telegram.rules import BOT_API_FAULTS
from tests.actors.telegram_fixtures import (  # noqa: F401 (fake, make_bot: fixtures)
    Bot,
    fake,
    make_bot,
)

ADMIN = 501
NEWCOMER = 502  # an admin in the config who never started the bot
PUBLIC = menu_commands(admin=False)
ADMIN_MENU = menu_commands(admin=True)


def menu_calls(fake: FakeBotApi) -> list[tuple[int | None, int]]:
    """(scope chat, status) of every setMyCommands call, in order."""
    return [(call.chat_id, call.status) for call in fake.calls("setMyCommands")]


def events(caplog: pytest.LogCaptureFixture, event: str) -> list[dict[str, Any]]:
    return [record.fields for record in caplog.records if getattr(record, "event", None) == event]


class _EventWaiter(logging.Handler):
    """Lets a test wait for a log event from another thread (the registrar's)."""

    def __init__(self, event: str) -> None:
        super().__init__()
        self._event = event
        self.seen = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "event", None) == self._event:
            self.seen.set()


@pytest.fixture
def skipped_logged() -> Iterator[threading.Event]:
    waiter = _EventWaiter("telegram.admin_menu_skipped")
    menus_logger = logging.getLogger("actors.telegram_menus")
    menus_logger.addHandler(waiter)
    yield waiter.seen
    menus_logger.removeHandler(waiter)


def test_an_admin_who_has_talked_to_the_bot_gets_the_admin_menu_while_the_default_stays_public(
    fake: FakeBotApi, make_bot: Callable[..., Bot]
) -> None:
    fake.push_message(ADMIN, ADMIN, "/start")

    bot = make_bot(admin_ids=(ADMIN,))

    bot.wait_until(lambda: fake.commands(chat_id=ADMIN) == ADMIN_MENU)
    assert fake.commands() == PUBLIC
    assert {"actors", "health", "stats"} <= {name for name, _ in ADMIN_MENU}
    assert set(PUBLIC) < set(ADMIN_MENU)
    assert menu_calls(fake) == [(None, 200), (ADMIN, 200)]  # the public menu first


def test_an_admin_who_never_started_the_bot_is_skipped_with_one_log_event_and_the_rest_are_set(
    fake: FakeBotApi, make_bot: Callable[..., Bot], caplog: pytest.LogCaptureFixture
) -> None:
    fake.push_message(ADMIN, ADMIN, "/start")

    bot = make_bot(admin_ids=(NEWCOMER, ADMIN))

    bot.wait_until(lambda: fake.commands(chat_id=ADMIN) == ADMIN_MENU)
    assert fake.commands() == PUBLIC
    assert menu_calls(fake) == [(None, 200), (NEWCOMER, 400), (ADMIN, 200)]
    (skipped,) = events(caplog, "telegram.admin_menu_skipped")
    assert skipped["admin_id"] == NEWCOMER and "chat not found" in skipped["error"].lower()


def test_a_skipped_admin_gets_their_menu_when_they_first_write_to_the_bot(
    fake: FakeBotApi, make_bot: Callable[..., Bot], skipped_logged: threading.Event
) -> None:
    bot = make_bot(admin_ids=(NEWCOMER,))
    assert skipped_logged.wait(15), "the newcomer's menu was never skipped"

    fake.push_message(NEWCOMER, NEWCOMER, "/start")
    fake.push_message(NEWCOMER, NEWCOMER, "/help")

    bot.wait_until(lambda: fake.commands(chat_id=NEWCOMER) == ADMIN_MENU)
    assert bot.journal.wait_for(lambda: len(bot.journal.messages) == 2)
    assert menu_calls(fake) == [(None, 200), (NEWCOMER, 400), (NEWCOMER, 200)]  # set once


def test_a_5xx_on_an_admin_menu_is_retried_and_then_succeeds(
    fake: FakeBotApi, make_bot: Callable[..., Bot], caplog: pytest.LogCaptureFixture
) -> None:
    fake.push_message(ADMIN, ADMIN, "/start")
    fake.add_fault(BOT_API_FAULTS.parse(
        {"method": "setMyCommands", "mode": "5xx", "status": 502, "count": 2, "skip": 1}))

    bot = make_bot(admin_ids=(ADMIN,))

    bot.wait_until(lambda: fake.commands(chat_id=ADMIN) == ADMIN_MENU)
    assert menu_calls(fake) == [(None, 200), (ADMIN, 502), (ADMIN, 502), (ADMIN, 200)]
    retries = events(caplog, "telegram.startup_call_failed")
    assert [(event["scope"], event["admin_id"]) for event in retries] == [("chat", ADMIN)] * 2
    assert events(caplog, "telegram.admin_menu_skipped") == []


def test_with_no_admins_configured_only_the_default_menu_is_set(
    fake: FakeBotApi, make_bot: Callable[..., Bot]
) -> None:
    bot = make_bot()
    bot.wait_until(lambda: fake.commands() == PUBLIC)

    assert bot.tree.stop(timeout_s=15)

    assert menu_calls(fake) == [(None, 200)]


class _RecordingBot:
    """Just enough of PTB's Bot for the registrar: records each menu's scope."""

    def __init__(self) -> None:
        self.scopes: list[object] = []

    async def set_my_commands(self, commands: object, scope: object = None) -> bool:
        self.scopes.append(scope)
        return True


def test_admin_menus_are_deduplicated_and_capped(caplog: pytest.LogCaptureFixture) -> None:
    stub = _RecordingBot()
    ids = (1, 1, *range(2, ADMIN_MENU_LIMIT + 50))
    registrar = MenuRegistrar(bot=cast(PtbBot, stub),
                              menus=CommandMenus(public=PUBLIC, admin=ADMIN_MENU, admin_ids=ids),
                              retry_base_s=0.01, retry_cap_s=0.01, redact=str,
                              rng=random.Random(1))

    asyncio.run(registrar.register())

    chats = [getattr(scope, "chat_id", None) for scope in stub.scopes]
    assert chats == [None, *range(1, ADMIN_MENU_LIMIT + 1)]
    (capped,) = events(caplog, "telegram.admin_menus_capped")
    assert capped == {"configured": ADMIN_MENU_LIMIT + 49, "limit": ADMIN_MENU_LIMIT}
