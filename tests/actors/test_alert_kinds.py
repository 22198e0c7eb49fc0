"""The sweep for every alert kind against the exchange simulator: percent and RSI alerts fire
once, a recurring alert re-arms only after clearing and its cool-down, an expiry is told once,
and quiet hours hold notices in the database and release them in one message."""

from __future__ import annotations

from typing import Any

from messages.storage import AlertRecord, DeleteAlert, SaveSettings, SweepDue
from supervision.messages import Describe
from supervision.snapshot import ActorReport
from tests.actors import storage_fixtures
from tests.actors.storage_fixtures import SYMBOL, TIMEOUT, AlertWorld
from tests.actors.test_alerts import CrashOnce
from tests.market.conftest import START_S

make_alert_world = storage_fixtures.make_alert_world  # the fixture, found by pytest by name

MINUTE = 60.0


def stored(world: AlertWorld, alert_id: int) -> AlertRecord:
    record = world.storage.pool.alert_by_id(alert_id)
    assert record is not None
    return record


def stats(world: AlertWorld) -> Any:
    report = world.alerts.ask(Describe(), timeout=TIMEOUT)
    assert isinstance(report, ActorReport)
    return report.stats


def reads(world: AlertWorld) -> dict[str, int]:
    """Queries of each kind the read pool ran so far."""
    return {kind: timings.count for kind, timings in world.storage.pool.timer.stats()}


def minutes(world: AlertWorld, count: int) -> None:
    for _ in range(count):
        world.next_minute()
        world.sweep()


class TestPercent:
    def test_a_percent_alert_fires_once_at_its_level_and_says_the_move(self, make_alert_world):
        world = make_alert_world([100, 103, 106, 110])
        alert_id = world.storage.add_alert("p", user_id=4, symbol=SYMBOL, price=105.0,
                                           kind="percent", base_price=100.0).alert_id
        minutes(world, 1)
        assert world.replies.all() == []
        minutes(world, 2)
        assert world.replies.wait_for_count(1)
        [reply] = world.replies.about(alert_id)
        assert "+5%" in reply.text and "now off" in reply.text and "106" in reply.text
        assert stored(world, alert_id).ended == "fired"


class TestRsi:
    HISTORY = [100.0, 101.0] * 15
    """Thirty closed candles going nowhere: RSI(14) near 50."""

    def test_an_rsi_alert_fires_once_when_closed_candles_take_rsi_across(self, make_alert_world):
        world = make_alert_world([104, 109, 115, 122, 130, 139], history=self.HISTORY)
        alert_id = world.storage.add_alert("r", user_id=5, symbol=SYMBOL, price=70.0,
                                           kind="rsi", interval="1m").alert_id
        world.sweep()
        assert world.replies.all() == []
        assert (stats(world).rsi_states, stats(world).rsi_refreshes) == (1, 1)
        minutes(world, 4)
        assert world.replies.wait_for_count(1)
        minutes(world, 1)
        [reply] = world.replies.about(alert_id)
        assert "RSI(14) 1m is above 70" in reply.text and "now off" in reply.text
        assert stored(world, alert_id).fired_price > 70  # type: ignore[operator]

    def test_rsi_is_recomputed_only_when_a_new_candle_has_closed(self, make_alert_world):
        world = make_alert_world([100, 101, 100], history=self.HISTORY)
        world.storage.add_alert("r", symbol=SYMBOL, price=90.0, kind="rsi", interval="1m")
        for _ in range(3):
            world.sweep()
        assert stats(world).rsi_refreshes == 1
        world.clock.advance(30)  # still inside the same minute: no candle closed
        world.sweep()
        assert stats(world).rsi_refreshes == 1
        world.clock.advance(30)
        world.sweep()
        world.sweep()
        assert stats(world).rsi_refreshes == 2


class TestRecurring:
    def test_a_recurring_alert_re_arms_after_clearing_and_respects_the_cool_down(
        self, make_alert_world
    ):
        world = make_alert_world([100, 120, 90, 120, 120, 120])
        alert_id = world.storage.add_alert("r", user_id=6, symbol=SYMBOL, price=110.0,
                                           recurring=True, cooldown_s=150.0).alert_id
        minutes(world, 1)  # crosses: the first notification
        assert world.replies.wait_for_count(1)
        assert "re-arms after it clears" in world.replies.all()[0].text
        minutes(world, 1)  # back below: re-armed, but not before fired_at + 150 s
        assert stored(world, alert_id).armed_from == START_S + MINUTE + 150
        minutes(world, 1)  # above again within the cool-down (fired + 120 s): nothing
        assert len(world.replies.about(alert_id)) == 1
        minutes(world, 1)  # fired + 180 s, the cool-down is over, still above: the second
        assert world.replies.wait_for_count(2)
        first, second = world.replies.about(alert_id)
        assert first.request_id != second.request_id
        assert stored(world, alert_id).live
        rows = world.storage.query("SELECT fired_at FROM alert_firings WHERE alert_id = ?",
                                   alert_id)
        assert rows == [(START_S + MINUTE,), (START_S + 4 * MINUTE,)]


class TestExpiry:
    def test_an_alert_that_expires_unfired_says_so_once(self, make_alert_world):
        world = make_alert_world([100, 100, 100, 100])
        alert_id = world.storage.add_alert("e", user_id=8, symbol=SYMBOL, price=500.0,
                                           expires_at=START_S + 90).alert_id
        minutes(world, 1)
        assert world.replies.all() == []
        minutes(world, 2)
        assert world.replies.wait_for_count(1)
        [reply] = world.replies.all()
        assert reply.request_id == f"alert-{alert_id}-expired"
        assert "ended without firing" in reply.text
        record = stored(world, alert_id)
        assert record.ended == "expired" and record.notified_at is not None


    def test_an_expiry_is_told_even_while_the_exchange_is_failing(self, make_alert_world):
        world = make_alert_world([100, 100, 100])
        alert_id = world.storage.add_alert("e", user_id=8, symbol=SYMBOL, price=500.0,
                                           expires_at=START_S + 30).alert_id
        world.simulator.inject("5xx", endpoint="/api/v3/ticker/price", status=503)
        minutes(world, 1)
        assert world.replies.wait_for_count(1)
        assert world.replies.all()[0].request_id == f"alert-{alert_id}-expired"
        assert stats(world).failed_sweeps >= 1


class TestQuietHours:
    def test_notices_inside_quiet_hours_wait_and_then_arrive_in_one_message(
        self, make_alert_world
    ):
        # START_S is 12:00:10 UTC, 14:00:10 in Berlin (summer time).
        world = make_alert_world([100, 120, 130, 130, 130, 130])
        world.storage.write(SaveSettings, request_id="s", user_id=9, chat_id=9,
                            settings=(("timezone", "Europe/Berlin"), ("quiet", "13:00-14:04")))
        first = world.storage.add_alert("a", user_id=9, symbol=SYMBOL, price=110.0).alert_id
        second = world.storage.add_alert("b", user_id=9, symbol=SYMBOL, price=125.0).alert_id
        other = world.storage.add_alert("c", user_id=10, symbol=SYMBOL, price=110.0).alert_id
        minutes(world, 2)  # both fire inside the quiet hours: only the other owner hears
        assert world.replies.wait_for_count(1)
        assert [r.chat_id for r in world.replies.all()] == [10]
        assert {a.alert_id for a in world.storage.pool.unnotified_alerts()} == {first, second}
        assert stats(world).held == 2
        minutes(world, 2)  # 14:04:10 local: the quiet hours are over
        assert world.replies.wait_for_count(2)
        held = world.replies.all()[1]
        assert held.chat_id == 9 and "quiet hours" in held.text
        assert f"#{first}" in held.text and f"#{second}" in held.text
        assert "14:01 CEST" in held.text and "14:02 CEST" in held.text
        minutes(world, 1)
        assert len(world.replies.all()) == 2
        assert world.storage.pool.unnotified_alerts() == ()
        assert stored(world, other).notified_at is not None

    def test_a_sweep_does_not_reread_held_notices_nor_their_owners_settings(
        self, make_alert_world
    ):
        # Held notices were read with the whole outbox twice a sweep, and their owner's
        # settings each time: 10,000 held over a night cost ~0.35 s of every 5 s sweep.
        world = make_alert_world([100, 120, 120, 120, 120, 120])
        world.storage.write(SaveSettings, request_id="s", user_id=9, chat_id=9,
                            settings=(("timezone", "Europe/Berlin"), ("quiet", "13:00-14:04")))
        held = world.storage.add_alert("a", user_id=9, symbol=SYMBOL, price=110.0).alert_id
        minutes(world, 1)
        assert stats(world).held == 1
        before = reads(world)
        minutes(world, 2)  # 14:03:10 local: still quiet
        after = reads(world)
        assert after.get("user_settings", 0) == before.get("user_settings", 0)
        assert after.get("unnotified_alerts", 0) == before.get("unnotified_alerts", 0)
        assert after["outbox"] - before["outbox"] == 2  # one bounded read a sweep
        minutes(world, 1)  # the quiet hours are over: released in one message
        assert world.replies.wait_for_count(1)
        assert f"#{held}" in world.replies.all()[0].text

    def test_an_alert_deleted_while_its_notice_is_held_is_left_out_of_the_release(
        self, make_alert_world
    ):
        world = make_alert_world([100, 120, 130, 130, 130, 130])
        world.storage.write(SaveSettings, request_id="s", user_id=9, chat_id=9,
                            settings=(("timezone", "Europe/Berlin"), ("quiet", "13:00-14:04")))
        kept = world.storage.add_alert("a", user_id=9, symbol=SYMBOL, price=110.0).alert_id
        gone = world.storage.add_alert("b", user_id=9, symbol=SYMBOL, price=105.0).alert_id
        minutes(world, 2)
        assert stats(world).held == 2
        world.storage.write(DeleteAlert, request_id="d", user_id=9, alert_id=gone)
        minutes(world, 2)  # the quiet hours are over
        assert world.replies.wait_for_count(1)
        minutes(world, 1)
        [released] = world.replies.all()
        assert f"#{kept}" in released.text and f"#{gone}" not in released.text
        assert stats(world).held == 0 and world.storage.pool.unnotified_alerts() == ()

    def test_held_notices_survive_a_restart_of_the_sweep_and_still_arrive_together(
        self, make_alert_world
    ):
        crash = CrashOnce("fired")
        world = make_alert_world([100, 120, 130, 130, 130, 130], after_step=crash)
        world.storage.write(SaveSettings, request_id="s", user_id=9, chat_id=9,
                            settings=(("timezone", "Europe/Berlin"), ("quiet", "13:00-14:04")))
        first = world.storage.add_alert("a", user_id=9, symbol=SYMBOL, price=110.0).alert_id
        second = world.storage.add_alert("b", user_id=9, symbol=SYMBOL, price=125.0).alert_id
        minutes(world, 1)
        crash.armed.set()
        world.next_minute()
        world.alerts.tell(SweepDue())  # the second fires, then the actor crashes
        assert crash.crashed.wait(TIMEOUT)
        assert world.alerts.wait_until_running(generation=2, timeout=TIMEOUT)
        world.sweep()
        assert world.replies.all() == []
        minutes(world, 2)
        assert world.replies.wait_for_count(1)
        minutes(world, 1)
        [held] = world.replies.all()
        assert f"#{first}" in held.text and f"#{second}" in held.text


class TestBurst:
    def test_many_alerts_of_one_owner_firing_at_once_arrive_gathered_a_bounded_few_a_sweep(
        self, make_alert_world
    ):
        # Telegram paces a chat to about one message a second after a burst of three, and a
        # full per-chat queue drops what is not kept: 30 notices at once meant half a minute
        # of messages, and at the cap of 50 alerts, notices lost after their mark.
        world = make_alert_world([100, 120])
        ids = [world.storage.add_alert(f"a{n}", user_id=9, symbol=SYMBOL,
                                       price=101.0 + n / 2).alert_id for n in range(30)]
        other = world.storage.add_alert("o", user_id=10, symbol=SYMBOL, price=110.0).alert_id
        minutes(world, 1)
        assert world.replies.wait_for_count(2)
        world.sweep()  # the five left over
        assert world.replies.wait_for_count(3)
        minutes(world, 1)
        mine = [r for r in world.replies.all() if r.chat_id == 9]
        assert len(mine) == 2 and all(r.keep and not r.buttons for r in mine)
        assert "25 alerts at once" in mine[0].text and "5 alerts at once" in mine[1].text
        assert all(f"#{alert_id} " in mine[0].text for alert_id in ids[:25])
        assert all(f"#{alert_id} " in mine[1].text for alert_id in ids[25:])
        fired_ms = int((stored(world, other).fired_at or 0.0) * 1000)
        assert [r.request_id for r in world.replies.all() if r.chat_id == 10] == [
            f"alert-{other}-{fired_ms}"]
        assert world.storage.pool.unnotified_alerts() == ()
        assert stats(world).recovered == 0  # left for the next sweep is not "recovered"
