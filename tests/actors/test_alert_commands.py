"""/alert and /alerts against the exchange simulator and a real database file: a percentage is
measured from the simulator's current price (and refused when there is none), RSI takes the
user's interval from their settings, ``every`` their cool-down, ``for`` an end time, and the
answers speak the user's time zone.

What the handler sends the writer is checked on the way (a recording stand-in forwards every
message to the real writer), so these tests pin what /alert asks storage to keep, whatever
storage does with the fields.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pykka
import pytest

from actors.chat_storage import BASE_PRICE_MAX_AGE_S, StorageCommands
from actors.command_handlers import HANDLERS
from chat.arguments import AlertRequest
from chat.html import visible_text
from chat.parsing import Invocation, read_text
from chat.callbacks import RearmAlertButton
from messages.chat import ButtonPressed, ChatCommand, RunCommand
from messages.storage import AddAlert, SaveSettings
from supervision.actor import SupervisedActor
from supervision.address import Address
from supervision.context import ChildContext
from supervision.spec import ChildSpec
from supervision.tree import SupervisionTree
from tests.actors.conftest import Market
from storage.read_pool import ReadPool
from tests.actors.storage_fixtures import SETTINGS, TIMEOUT, Probe, StorageWorld, writer_spec
from users.clock import local_day

USER, OTHER = 42, 43
NOW = 1_796_531_400.0  # 2026-12-06 04:30 UTC, 05:30 in Berlin
DAY = 86_400.0


class Recording:
    """Every message the stand-in writer passed on, in order; thread-safe."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.messages: list[Any] = []

    def add(self, message: Any) -> None:
        with self._changed:
            self.messages.append(message)
            self._changed.notify_all()

    def alerts(self) -> list[AddAlert]:
        with self._changed:
            return [m for m in self.messages if isinstance(m, AddAlert)]


class RecordingWriter(SupervisedActor):
    """Stands in for db_writer: records each message, then passes it to the real writer
    (which answers the reply future itself, after its commit)."""

    def __init__(self, ctx: ChildContext, real: Address, recording: Recording) -> None:
        super().__init__(ctx)
        self._real = real
        self._recording = recording

    def handle(self, message: Any) -> Any:
        if getattr(message, "reply_to", None) is not None:
            self._recording.add(message)
            return self._real.tell(message)
        return super().handle(message)


@dataclass
class AlertDesk:
    commands: StorageCommands
    recording: Recording
    storage: StorageWorld
    market: Market

    def send(self, text: str, user_id: int = USER) -> str:
        """What the user sees after sending ``text`` (an /alert or /alerts command)."""
        reading = read_text(text)
        assert isinstance(reading, Invocation), reading
        command = ChatCommand(request_id=f"r-{text}-{user_id}", chat_id=user_id,
                              user_id=user_id, text=text, parsed=reading)
        handler = HANDLERS[reading.name]
        result = handler(_Service(self.commands), RunCommand(request=command, invocation=reading),
                         reading.args)
        return "\n".join(visible_text(reply.text) for reply in result.replies)

    def settings(self, *pairs: tuple[str, str], user_id: int = USER) -> None:
        self.storage.write(SaveSettings, request_id=f"s-{pairs}", user_id=user_id,
                           chat_id=user_id, settings=pairs)

    def last_alert(self) -> AddAlert:
        alerts = self.recording.alerts()
        assert alerts, "nothing was sent to the writer"
        return alerts[-1]


@dataclass
class _Service:
    """What the /alert and /alerts handlers use of a command worker's service."""

    storage: StorageCommands


@pytest.fixture
def desk(make_market: Callable[..., Market], tmp_path: Path) -> Iterator[AlertDesk]:
    market, recording = make_market(), Recording()
    db_path, probe = tmp_path / "bot.sqlite3", Probe()
    pool = ReadPool(db_path, size=2)
    storage = StorageWorld(SupervisionTree([writer_spec(db_path, probe, pool)], SETTINGS).start(),
                           db_path, pool, probe)
    tree = SupervisionTree([ChildSpec(name="db_writer", factory=lambda ctx: RecordingWriter.start(
        ctx, storage.writer, recording))], SETTINGS).start()
    try:
        assert storage.writer.wait_until_running(timeout=TIMEOUT)
        storage.stats()  # answered after setup() has opened and migrated the file
        assert tree.address("db_writer").wait_until_running(timeout=TIMEOUT)
        commands = StorageCommands(market=market.access, directory=tree.directory,
                                   reads=pool, clock=lambda: NOW)
        yield AlertDesk(commands, recording, storage, market)
    finally:
        tree.stop(timeout_s=10)
        storage.tree.stop(timeout_s=10)
        pool.close()


# --- /alert ----------------------------------------------------------------------------------

def test_a_percent_alert_is_measured_from_the_simulators_current_price(desk: AlertDesk) -> None:
    price = desk.market.access.quotes(["btc"]).tickers[0].last_price  # cached: what /alert sees
    answer = desk.send("/alert btc +5%")
    sent = desk.last_alert()
    assert (sent.symbol, sent.kind, sent.direction) == ("BTCUSDT", "percent", "above")
    assert sent.base_price == price and sent.price == pytest.approx(price * 1.05)
    assert not sent.recurring and sent.cooldown_s == 0.0 and sent.expires_at is None
    assert answer.startswith("✅ Alert #1 saved: BTCUSDT +5% from ")
    assert "→ above " in answer and "once when it crosses" in answer


def test_a_fall_in_percent_is_a_level_below_the_price(desk: AlertDesk) -> None:
    price = desk.market.access.quotes(["eth"]).tickers[0].last_price
    desk.send("/alert eth -10%")
    sent = desk.last_alert()
    assert sent.direction == "below" and sent.price == pytest.approx(price * 0.9)


def test_a_percent_alert_without_a_price_is_refused_and_nothing_is_saved(
        desk: AlertDesk) -> None:
    desk.market.access.resolve("btc")  # the coin is known; only its price is missing
    desk.market.simulator.inject("5xx", endpoint="/api/v3/ticker/24hr", status=503)
    answer = desk.send("/alert btc +5%")
    assert answer == ("⚠️ I could not get BTCUSDT's price to measure +5% from, so no alert was "
                      "set; try again in a moment.")
    assert desk.recording.alerts() == []
    assert desk.storage.query("SELECT COUNT(*) FROM alerts") == [(0,)]


def test_a_percent_alert_measured_from_a_cached_price_says_how_old_it_is(
        desk: AlertDesk) -> None:
    price = desk.market.access.quotes(["btc"]).tickers[0].last_price
    desk.market.simulator.inject("5xx", endpoint="/api/v3/ticker/24hr", status=503)
    desk.market.age_cache(60)  # stale, and the exchange cannot refresh it
    answer = desk.send("/alert btc +5%")
    assert desk.last_alert().base_price == price
    assert "(price 60 s old)" in answer


def test_a_percent_alert_is_never_measured_from_a_price_older_than_five_minutes(
        desk: AlertDesk) -> None:
    desk.market.access.quotes(["btc"])
    desk.market.simulator.inject("5xx", endpoint="/api/v3/ticker/24hr", status=503)
    desk.market.age_cache(BASE_PRICE_MAX_AGE_S + 60)
    answer = desk.send("/alert btc +5%")
    assert answer.startswith("⚠️ I could not get BTCUSDT's price to measure +5% from")
    assert desk.recording.alerts() == []


def test_an_rsi_alert_without_an_interval_takes_the_users_setting(desk: AlertDesk) -> None:
    desk.settings(("interval", "4h"))
    answer = desk.send("/alert sol rsi below 30")
    sent = desk.last_alert()
    assert (sent.symbol, sent.kind, sent.direction, sent.price, sent.interval) == \
        ("SOLUSDT", "rsi", "below", 30.0, "4h")
    assert answer.startswith("✅ Alert #1 saved: SOLUSDT RSI(14) 4h below 30.")


def test_an_rsi_alert_keeps_the_interval_given_and_the_default_is_1h(desk: AlertDesk) -> None:
    desk.send("/alert btc rsi above 70 1d")
    assert desk.last_alert().interval == "1d"
    desk.send("/alert eth rsi above 70")
    assert desk.last_alert().interval == "1h"


def test_every_takes_the_users_cool_down_and_for_an_end_in_their_time_zone(
        desk: AlertDesk) -> None:
    desk.settings(("cooldown", "30m"), ("timezone", "Europe/Berlin"))
    answer = desk.send("/alert btc above 1m every for 7d")  # above the simulated price
    sent = desk.last_alert()
    assert (sent.kind, sent.price, sent.recurring, sent.cooldown_s) == \
        ("price", 1_000_000.0, True, 1800.0)
    assert sent.expires_at == NOW + 7 * DAY
    assert "· every time (cool-down 30 min) · ends 2026-12-13 05:30 Europe/Berlin." in answer
    assert answer.endswith("I'll message you each time it crosses.")


def test_a_one_shot_price_alert_is_saved_as_before(desk: AlertDesk) -> None:
    answer = desk.send("/alert btc 70k above")
    sent = desk.last_alert()
    assert (sent.kind, sent.direction, sent.price, sent.recurring, sent.expires_at) == \
        ("price", "above", 70_000.0, False, None)
    assert answer.startswith("✅ Alert #1 saved: BTCUSDT above 70,000.00 (now ")
    assert desk.storage.query("SELECT symbol, direction, price FROM alerts") == \
        [("BTCUSDT", "above", 70_000.0)]


# --- /alerts ---------------------------------------------------------------------------------

def test_alerts_lists_live_alerts_with_local_times_and_details_add_utc(desk: AlertDesk) -> None:
    desk.settings(("timezone", "Europe/Berlin"))
    desk.send("/alert btc above 70k")
    listed = desk.send("/alerts")
    assert listed.splitlines()[:2] == ["Your alerts (1)", "#1 BTCUSDT above 70,000.00 · set "
                                       + desk_day(desk)]
    assert listed.splitlines()[-1].endswith("Times: Europe/Berlin.")
    details = desk.send("/alerts 1").splitlines()
    assert details[0] == "Alert #1: BTCUSDT above 70,000.00"
    assert details[1:3] == ["Repeats: once", "State: armed"]
    assert details[3].startswith("Set: ") and "Europe/Berlin (" in details[3]
    assert details[3].endswith(" UTC)")
    assert details[4:] == ["Expires: never", "Last fired: not yet"]


def test_someone_elses_alert_id_shows_nothing_of_it(desk: AlertDesk) -> None:
    desk.send("/alert btc above 70k")
    assert desk.send("/alerts 1", user_id=OTHER) == \
        "⚠️ Alert #1 is not one of yours; /alerts lists them."
    assert desk.send("/alerts 99") == "⚠️ Alert #99 is not one of yours; /alerts lists them."


def test_the_list_keeps_a_delete_button_per_alert(desk: AlertDesk) -> None:
    desk.send("/alert btc above 70k")
    desk.send("/alert eth below 1k")
    reading = read_text("/alerts")
    assert isinstance(reading, Invocation)
    command = ChatCommand(request_id="r-list", chat_id=USER, user_id=USER, text="/alerts",
                          parsed=reading)
    result = desk.commands.list_alerts(command)
    labels = [button.text for row in result.replies[0].buttons for button in row]
    assert labels == ["🗑 #1", "🗑 #2"]


def desk_day(desk: AlertDesk) -> str:
    """The local (Berlin) day the alert was stored: the writer stamps it with its own clock."""
    created = desk.storage.query("SELECT created_at FROM alerts WHERE id = 1")[0][0]
    return local_day(created, "Europe/Berlin").isoformat()


def test_requests_read_by_the_transport_reach_the_handler_typed() -> None:
    reading = read_text("/alert btc rsi above 70 4h every for 7d")
    assert isinstance(reading, Invocation)
    assert reading.args == AlertRequest("btc", "above", 70.0, "rsi", "4h", True, 7 * DAY)
    assert pykka.ActorRegistry.get_all() == []


def test_re_arm_next_to_the_same_alert_set_again_says_which_one_watches(desk: AlertDesk) -> None:
    # Fired, set again by hand, then Re-arm on the old notice: the answer was "re-armed"
    # (and two live copies told each crossing twice); now nothing changes and it says why.
    desk.send("/alert btc above 1m")
    with closing(sqlite3.connect(desk.storage.db_path)) as conn, conn:  # as if it fired
        conn.execute("UPDATE alerts SET fired_at = 1, notified_at = 2, ended = 'fired'")
    desk.send("/alert btc above 1000k")  # the same level, another request
    press = ButtonPressed(request_id="p", chat_id=USER, user_id=USER, message_id=5,
                          callback_id="c", data="")
    result = desk.commands.button(press, RearmAlertButton(1))
    assert visible_text(result.replies[0].text) == (
        "🔁 Alert #1 was not re-armed: alert #2 already watches the same condition.")
    assert desk.storage.query("SELECT id FROM alerts WHERE ended IS NULL") == [(2,)]
