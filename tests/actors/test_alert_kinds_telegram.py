"""Every alert kind from the sweep to the owner's Telegram chat: the simulator prices the
symbol minute by minute (a fake clock), the real python-telegram-bot stack delivers to the
fake Bot API, and what the chat receives is checked - fires once; a recurring alert re-arms
after clearing and respects its cool-down; an expiry is told once; quiet hours hold notices and
release them in one message."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from actors.telegram_io import TelegramIO
from core.config import BotConfig
from fakes.telegram.bot_api import FakeBotApi, FloodRules
from messages.storage import SaveSettings
from supervision.context import ChildContext
from tests.actors import storage_fixtures
from tests.actors.storage_fixtures import SYMBOL, AlertWorld
from tests.actors.telegram_fixtures import FAST, TOKEN, WAIT_S
from tests.market.conftest import START_S

make_alert_world = storage_fixtures.make_alert_world  # the fixture, found by pytest by name

OWNER = 61
OTHER = 62


@pytest.fixture
def fake() -> Iterator[FakeBotApi]:
    with FakeBotApi(token=TOKEN, flood=FloodRules().scaled(0.1)) as server:
        yield server


@pytest.fixture
def make_world(make_alert_world: Callable[..., AlertWorld],
               fake: FakeBotApi) -> Callable[..., AlertWorld]:
    config = BotConfig().with_overrides(telegram_token=TOKEN, telegram_api_url=fake.base_url)

    def transport(ctx: ChildContext) -> Any:
        return TelegramIO.start(ctx, config=config, tuning=FAST)

    def make(prices: list[float], **options: Any) -> AlertWorld:
        world = make_alert_world(prices, transport=transport, **options)
        assert fake.wait_for(lambda: fake.polling() > 0, WAIT_S), "the transport never polled"
        return world
    return make


def chat(fake: FakeBotApi, chat_id: int) -> list[str]:
    return [record.text or "" for record in fake.sent(chat_id=chat_id, method="sendMessage")]


def wait_for_messages(fake: FakeBotApi, chat_id: int, count: int) -> list[str]:
    assert fake.wait_for(lambda: len(chat(fake, chat_id)) >= count, WAIT_S), chat(fake, chat_id)
    return chat(fake, chat_id)


def minutes(world: AlertWorld, count: int) -> None:
    for _ in range(count):
        world.next_minute()
        world.sweep()


def test_a_percent_alert_reaches_the_chat_once(make_world, fake):
    world = make_world([100, 103, 106, 110, 112])
    alert_id = world.storage.add_alert("p", user_id=OWNER, symbol=SYMBOL, price=105.0,
                                       kind="percent", base_price=100.0).alert_id
    minutes(world, 2)
    [note] = wait_for_messages(fake, OWNER, 1)
    assert f"#{alert_id}" in note and "+5%" in note and "now off" in note
    minutes(world, 2)  # still above: an ended alert says nothing more
    world.storage.add_alert("sync", user_id=OTHER, symbol=SYMBOL, price=1.0)
    minutes(world, 1)
    wait_for_messages(fake, OTHER, 1)  # the later notice arrived, so the owner's would have
    assert len(chat(fake, OWNER)) == 1


def test_a_recurring_alert_re_arms_after_clearing_and_waits_out_its_cool_down(make_world, fake):
    world = make_world([100, 120, 90, 120, 120, 120, 120])
    alert_id = world.storage.add_alert("r", user_id=OWNER, symbol=SYMBOL, price=110.0,
                                       recurring=True, cooldown_s=150.0).alert_id
    minutes(world, 1)  # crosses at START_S + 60: the first notice
    [first] = wait_for_messages(fake, OWNER, 1)
    assert f"#{alert_id}" in first and "re-arms after it clears" in first
    minutes(world, 1)  # back below: re-armed from START_S + 60 + 150
    minutes(world, 1)  # above again 120 s after the first: inside the cool-down, no notice
    assert len(chat(fake, OWNER)) == 1
    minutes(world, 1)  # 180 s after the first: the second crossing is told
    first_again, second = wait_for_messages(fake, OWNER, 2)
    assert first_again == first and f"#{alert_id}" in second
    minutes(world, 2)  # sitting above the level: no third notice without a clearing
    world.storage.add_alert("sync", user_id=OTHER, symbol=SYMBOL, price=1.0)
    minutes(world, 1)
    wait_for_messages(fake, OTHER, 1)
    assert len(chat(fake, OWNER)) == 2
    rows = world.storage.query("SELECT fired_at FROM alert_firings WHERE alert_id = ?",
                               alert_id)
    assert rows == [(START_S + 60,), (START_S + 240,)]


def test_an_expired_alert_is_told_once(make_world, fake):
    world = make_world([100, 100, 100, 100, 100])
    alert_id = world.storage.add_alert("e", user_id=OWNER, symbol=SYMBOL, price=500.0,
                                       expires_at=START_S + 90).alert_id
    minutes(world, 3)
    [note] = wait_for_messages(fake, OWNER, 1)
    assert f"#{alert_id}" in note and "ended without firing" in note
    world.storage.add_alert("sync", user_id=OTHER, symbol=SYMBOL, price=1.0)
    minutes(world, 1)
    wait_for_messages(fake, OTHER, 1)
    assert len(chat(fake, OWNER)) == 1


def test_quiet_hours_hold_notices_then_deliver_them_in_one_message(make_world, fake):
    # START_S is 12:00:10 UTC, 14:00:10 in Berlin (summer time).
    world = make_world([100, 120, 130, 130, 130, 130])
    world.storage.write(SaveSettings, request_id="s", user_id=OWNER, chat_id=OWNER,
                        settings=(("timezone", "Europe/Berlin"), ("quiet", "13:00-14:04")))
    first = world.storage.add_alert("a", user_id=OWNER, symbol=SYMBOL, price=110.0).alert_id
    second = world.storage.add_alert("b", user_id=OWNER, symbol=SYMBOL, price=125.0).alert_id
    world.storage.add_alert("c", user_id=OTHER, symbol=SYMBOL, price=110.0)
    minutes(world, 2)  # both fire inside the quiet hours: only the other owner hears
    wait_for_messages(fake, OTHER, 1)
    assert chat(fake, OWNER) == []
    minutes(world, 2)  # 14:04:10 local: the quiet hours are over
    [held] = wait_for_messages(fake, OWNER, 1)
    assert "quiet hours" in held and f"#{first}" in held and f"#{second}" in held
    assert world.storage.pool.unnotified_alerts() == ()
