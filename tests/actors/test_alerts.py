"""The alert sweep against the exchange simulator: crossings up and down notify once, a restart
in the middle of a sweep neither loses nor repeats a notification, and owners only."""

from __future__ import annotations

import threading

import pytest

from chat.keyboards import alert_fired_keyboard
from messages.storage import AlertRecord, DeleteAlert, RearmAlert, SweepDue
from storage.errors import NotYours
from tests.actors import storage_fixtures
from tests.actors.storage_fixtures import SYMBOL, TIMEOUT, AlertWorld

make_alert_world = storage_fixtures.make_alert_world  # the fixture, found by pytest by name

TICKER = "/api/v3/ticker/price"


class CrashOnce:
    """An ``after_step`` hook that crashes the alerts actor once, at ``step``, when armed."""

    def __init__(self, step: str) -> None:
        self.step = step
        self.armed = threading.Event()
        self.crashed = threading.Event()

    def __call__(self, step: str) -> None:
        if step == self.step and self.armed.is_set() and not self.crashed.is_set():
            self.crashed.set()
            raise RuntimeError(f"crash after step {step!r}")


def stored(world: AlertWorld, alert_id: int) -> AlertRecord:
    record = world.storage.pool.alert_by_id(alert_id)
    assert record is not None
    return record


class TestCrossings:
    def test_a_price_crossing_up_notifies_the_owner_exactly_once(self, make_alert_world):
        world = make_alert_world([100, 100, 120, 120])
        alert_id = world.storage.add_alert("r1", user_id=7, symbol=SYMBOL, price=110.0).alert_id
        world.sweep()
        world.next_minute()
        world.sweep()
        assert world.replies.all() == []
        world.next_minute()
        world.sweep()
        world.sweep()
        assert world.replies.wait_for_count(1)
        [reply] = world.replies.all()
        assert reply.chat_id == 7 and SYMBOL in reply.text and "above" in reply.text
        assert f"#{alert_id}" in reply.text and "120" in reply.text
        assert reply.buttons == alert_fired_keyboard(SYMBOL, alert_id, owner=7)
        record = stored(world, alert_id)
        assert record.fired_price == 120.0 and record.notified_at is not None

    def test_a_price_crossing_down_notifies_the_owner_exactly_once(self, make_alert_world):
        world = make_alert_world([100, 80, 70])
        alert_id = world.storage.add_alert("r1", symbol=SYMBOL, direction="below",
                                           price=90.0).alert_id
        world.sweep()
        assert world.replies.all() == []
        for _ in range(2):
            world.next_minute()
            world.sweep()
        assert world.replies.wait_for_count(1)
        assert [r.request_id.split("-")[1] for r in world.replies.all()] == [str(alert_id)]
        assert stored(world, alert_id).fired_price == 80.0

    def test_one_ticker_call_prices_every_symbol_of_a_sweep(self, make_alert_world):
        world = make_alert_world([100, 120])
        world.storage.add_alert("a", user_id=1, symbol=SYMBOL, price=110.0)
        world.storage.add_alert("b", user_id=2, symbol=SYMBOL, direction="below", price=50.0)
        world.storage.add_alert("c", user_id=3, symbol="BTCUSDT", price=10_000_000.0)
        world.simulator.reset_counters()
        world.next_minute()
        world.sweep()
        assert world.simulator.counters()["requests"][TICKER] == 1
        assert world.replies.wait_for_count(1)
        assert [r.chat_id for r in world.replies.all()] == [1]

    def test_a_rearmed_alert_fires_again_on_the_next_crossing(self, make_alert_world):
        world = make_alert_world([100, 120, 100, 120])
        alert_id = world.storage.add_alert("r1", symbol=SYMBOL, price=110.0).alert_id
        world.next_minute()
        world.sweep()
        world.next_minute()
        assert world.storage.write(RearmAlert, request_id="re", user_id=1,
                                   alert_id=alert_id).changed
        world.sweep()
        world.next_minute()
        world.sweep()
        assert world.replies.wait_for_count(2)
        assert len(world.replies.about(alert_id)) == 2


class TestRestartDuringASweep:
    def test_a_crash_between_firing_and_notifying_still_notifies_exactly_once(
        self, make_alert_world
    ):
        crash = CrashOnce("fired")
        world = make_alert_world([100, 120], after_step=crash)
        alert_id = world.storage.add_alert("r1", symbol=SYMBOL, price=110.0).alert_id
        world.next_minute()
        crash.armed.set()
        world.alerts.tell(SweepDue())
        assert crash.crashed.wait(TIMEOUT)
        assert world.alerts.wait_until_running(generation=2, timeout=TIMEOUT)
        assert world.replies.wait_for_count(1)
        world.sweep()
        world.sweep()
        assert len(world.replies.about(alert_id)) == 1
        assert stored(world, alert_id).notified_at is not None

    def test_alerts_fired_before_a_restart_are_notified_by_the_next_instance(
        self, make_alert_world
    ):
        crash = CrashOnce("fired")
        world = make_alert_world([100, 120, 130], after_step=crash)
        first = world.storage.add_alert("a", user_id=1, symbol=SYMBOL, price=110.0).alert_id
        second = world.storage.add_alert("b", user_id=2, symbol=SYMBOL, price=125.0).alert_id
        world.next_minute()
        crash.armed.set()
        world.alerts.tell(SweepDue())
        assert world.alerts.wait_until_running(generation=2, timeout=TIMEOUT)
        world.next_minute()
        world.sweep()
        assert world.replies.wait_for_count(2)
        assert [len(world.replies.about(a)) for a in (first, second)] == [1, 1]


class TestOwnership:
    def test_deleting_someone_elses_alert_is_refused_and_it_still_fires(self, make_alert_world):
        world = make_alert_world([100, 120])
        alert_id = world.storage.add_alert("r1", user_id=1, symbol=SYMBOL, price=110.0).alert_id
        with pytest.raises(NotYours, match=f"you have no alert #{alert_id}"):
            world.storage.write(DeleteAlert, request_id="d", user_id=2, alert_id=alert_id)
        world.next_minute()
        world.sweep()
        assert world.replies.wait_for_count(1)
        assert world.replies.all()[0].chat_id == 1

    def test_a_deleted_alert_never_fires(self, make_alert_world):
        world = make_alert_world([100, 120])
        alert_id = world.storage.add_alert("r1", user_id=1, symbol=SYMBOL, price=110.0).alert_id
        assert world.storage.write(DeleteAlert, request_id="d", user_id=1,
                                   alert_id=alert_id).changed
        world.next_minute()
        world.sweep()
        assert world.replies.all() == []


class TestExchangeTrouble:
    def test_a_failing_exchange_skips_the_sweep_and_the_alert_fires_later(self,
                                                                          make_alert_world):
        world = make_alert_world([100, 120])
        world.storage.add_alert("r1", symbol=SYMBOL, price=110.0)
        world.next_minute()
        world.simulator.inject("5xx", endpoint=TICKER, status=503)
        world.sweep()
        assert world.replies.all() == []
        world.simulator.clear_faults()
        world.sweep()
        assert world.replies.wait_for_count(1)

    def test_a_symbol_the_exchange_does_not_know_does_not_block_the_others(self,
                                                                         make_alert_world):
        world = make_alert_world([100, 120])
        world.storage.add_alert("gone", user_id=1, symbol="GONEUSDT", price=1.0)
        world.storage.add_alert("ok", user_id=2, symbol=SYMBOL, price=110.0)
        world.next_minute()
        world.sweep()
        assert world.replies.wait_for_count(1)
        assert [r.chat_id for r in world.replies.all()] == [2]
        world.simulator.reset_counters()
        world.sweep()
        assert world.simulator.counters()["requests"].get(TICKER) is None  # nothing left to price
