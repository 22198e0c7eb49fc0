"""The sweep's write for every alert kind, one transaction at a time: each crossing fires once,
recurring alerts re-arm only after clearing and the cool-down, expiry ends an alert once, and
every firing is logged for the digest."""

from __future__ import annotations


import pytest

from messages.storage import (
    AddAlert,
    FireCrossedAlerts,
    FiredAlerts,
    MarkNotified,
    RearmAlert,
)
from storage import writes
from storage.engine import Connection
from storage.errors import InvalidWrite, LimitReached
from storage.queries import alert_by_id, alerts_of, unnotified_alerts
from storage.writes import WriteRules
from tests.storage.conftest import NOW, insert_alert

RULES = WriteRules(max_alerts_per_user=3)
HOUR = 3600.0


def sweep(conn: Connection, *prices: tuple[str, float], at: float,
          rsi: tuple[tuple[str, str, float], ...] = ()) -> FiredAlerts:
    conn.execute("BEGIN IMMEDIATE")
    fired = writes.fire_crossed_alerts(conn, FireCrossedAlerts(prices=prices, fired_at=at,
                                                               rsi=rsi))
    conn.execute("COMMIT")
    return fired


def notified(conn: Connection, *alert_ids: int, at: float) -> None:
    writes.mark_notified(conn, MarkNotified(alert_ids=alert_ids, notified_at=at))


def fired_ids(result: FiredAlerts) -> list[int]:
    return [alert.alert_id for alert in result.alerts]


def firings(conn: Connection) -> list[tuple[int, float, str, float]]:
    return conn.execute("SELECT alert_id, fired_at, kind, value FROM alert_firings"
                        " ORDER BY fired_at, alert_id").fetchall()


class TestEveryKindFiresOnce:
    def test_a_price_alert_fires_once_and_ends(self, conn):
        alert_id = insert_alert(conn, price=100.0)
        assert fired_ids(sweep(conn, ("BTCUSDT", 99.0), at=NOW)) == []
        [alert] = sweep(conn, ("BTCUSDT", 101.0), at=NOW + 5).alerts
        assert (alert.alert_id, alert.fired_price, alert.ended) == (alert_id, 101.0, "fired")
        assert fired_ids(sweep(conn, ("BTCUSDT", 150.0), at=NOW + 10)) == []
        assert firings(conn) == [(alert_id, NOW + 5, "price", 101.0)]

    def test_a_percent_alert_fires_at_the_level_computed_from_its_base_price(self, conn):
        alert_id = insert_alert(conn, direction="below", price=90.0, kind="percent",
                                base_price=100.0)
        assert fired_ids(sweep(conn, ("BTCUSDT", 91.0), at=NOW)) == []
        [alert] = sweep(conn, ("BTCUSDT", 89.5), at=NOW + 5).alerts
        assert (alert.alert_id, alert.kind, alert.base_price) == (alert_id, "percent", 100.0)
        assert fired_ids(sweep(conn, ("BTCUSDT", 80.0), at=NOW + 10)) == []
        assert firings(conn) == [(alert_id, NOW + 5, "percent", 89.5)]

    def test_an_rsi_alert_fires_on_the_rsi_of_its_own_interval_only(self, conn):
        alert_id = insert_alert(conn, symbol="SOLUSDT", direction="below", price=30.0,
                                kind="rsi", interval="4h")
        assert fired_ids(sweep(conn, ("SOLUSDT", 1.0), at=NOW,
                               rsi=(("SOLUSDT", "1h", 20.0), ("SOLUSDT", "4h", 35.0)))) == []
        [alert] = sweep(conn, at=NOW + 5, rsi=(("SOLUSDT", "4h", 28.5),)).alerts
        assert (alert.alert_id, alert.fired_price, alert.ended) == (alert_id, 28.5, "fired")
        assert fired_ids(sweep(conn, at=NOW + 10, rsi=(("SOLUSDT", "4h", 10.0),))) == []
        assert firings(conn) == [(alert_id, NOW + 5, "rsi", 28.5)]

    def test_an_rsi_alert_with_no_value_this_sweep_neither_fires_nor_fails(self, conn):
        insert_alert(conn, symbol="SOLUSDT", price=70.0, kind="rsi", interval="1h")
        assert fired_ids(sweep(conn, ("SOLUSDT", 1e9), at=NOW)) == []


class TestRecurring:
    def test_a_recurring_alert_re_arms_only_after_clearing_and_its_cool_down(self, conn):
        alert_id = insert_alert(conn, price=100.0, recurring=True, cooldown_s=HOUR)
        assert fired_ids(sweep(conn, ("BTCUSDT", 101.0), at=NOW)) == [alert_id]
        record = alert_by_id(conn, alert_id)
        assert record is not None and record.live and not record.active
        # Still above the level: it waits, however often the sweep runs.
        assert fired_ids(sweep(conn, ("BTCUSDT", 102.0), at=NOW + 5)) == []
        # Cleared, but the firing is not notified yet: it keeps waiting.
        assert sweep(conn, ("BTCUSDT", 90.0), at=NOW + 10).rearmed == 0
        notified(conn, alert_id, at=NOW + 11)
        assert sweep(conn, ("BTCUSDT", 90.0), at=NOW + 15).rearmed == 1
        record = alert_by_id(conn, alert_id)
        assert record is not None and record.active and record.armed_from == NOW + HOUR
        # Crossing again within the cool-down: nothing; once it has passed: the second firing.
        assert fired_ids(sweep(conn, ("BTCUSDT", 105.0), at=NOW + 60)) == []
        assert fired_ids(sweep(conn, ("BTCUSDT", 105.0), at=NOW + HOUR)) == [alert_id]
        assert [row[1] for row in firings(conn)] == [NOW, NOW + HOUR]

    def test_a_recurring_rsi_alert_re_arms_once_rsi_is_back_inside(self, conn):
        alert_id = insert_alert(conn, symbol="SOLUSDT", price=70.0, kind="rsi", interval="1h",
                                recurring=True, cooldown_s=60.0)
        assert fired_ids(sweep(conn, at=NOW, rsi=(("SOLUSDT", "1h", 75.0),))) == [alert_id]
        notified(conn, alert_id, at=NOW + 1)
        assert sweep(conn, at=NOW + 5, rsi=(("SOLUSDT", "1h", 71.0),)).rearmed == 0
        assert sweep(conn, at=NOW + 10, rsi=(("SOLUSDT", "1h", 65.0),)).rearmed == 1
        assert fired_ids(sweep(conn, at=NOW + 120, rsi=(("SOLUSDT", "1h", 72.0),))) == [alert_id]


class TestExpiry:
    def test_an_alert_past_its_expiry_ends_once_and_waits_in_the_outbox(self, conn):
        alert_id = insert_alert(conn, price=100.0, expires_at=NOW + HOUR)
        assert sweep(conn, ("BTCUSDT", 50.0), at=NOW + HOUR - 1).expired == ()
        [expired] = sweep(conn, ("BTCUSDT", 50.0), at=NOW + HOUR).expired
        assert (expired.alert_id, expired.ended) == (alert_id, "expired")
        # It can no longer fire, and it expires only once.
        result = sweep(conn, ("BTCUSDT", 500.0), at=NOW + HOUR + 5)
        assert (fired_ids(result), result.expired) == ([], ())
        assert [a.alert_id for a in unnotified_alerts(conn)] == [alert_id]
        notified(conn, alert_id, at=NOW + HOUR + 6)
        assert unnotified_alerts(conn) == ()

    def test_a_firing_still_to_be_notified_is_not_replaced_by_the_expiry(self, conn):
        alert_id = insert_alert(conn, price=100.0, recurring=True, expires_at=NOW + 10)
        assert fired_ids(sweep(conn, ("BTCUSDT", 101.0), at=NOW)) == [alert_id]
        assert sweep(conn, ("BTCUSDT", 101.0), at=NOW + 20).expired == ()
        [pending] = unnotified_alerts(conn)
        assert pending.ended is None and pending.fired_at == NOW
        notified(conn, alert_id, at=NOW + 21)
        assert [a.alert_id for a in sweep(conn, at=NOW + 25).expired] == [alert_id]

    def test_rearming_an_expired_alert_gives_it_its_lifetime_again(self, conn):
        alert_id = insert_alert(conn, price=100.0, expires_at=NOW + HOUR)
        sweep(conn, at=NOW + HOUR)
        saved = writes.rearm_alert(conn, RearmAlert(request_id="r", user_id=1,
                                                    alert_id=alert_id),
                                   now=NOW + 2 * HOUR, rules=RULES)
        record = alert_by_id(conn, alert_id)
        assert saved.changed and record is not None and record.live and record.active
        assert record.expires_at == NOW + 3 * HOUR


class TestRearm:
    def test_a_re_armed_alert_waits_for_the_next_crossing_not_the_same_one(self, conn):
        # Re-arm pressed under "BTCUSDT is above 100" while the price is still above: the next
        # sweep told the same crossing again.
        alert_id = insert_alert(conn, price=100.0)
        assert fired_ids(sweep(conn, ("BTCUSDT", 120.0), at=NOW)) == [alert_id]
        notified(conn, alert_id, at=NOW + 1)
        rearm = RearmAlert(request_id="r", user_id=1, alert_id=alert_id)
        assert writes.rearm_alert(conn, rearm, now=NOW + 2, rules=RULES).changed
        assert alert_by_id(conn, alert_id).live  # type: ignore[union-attr]
        assert fired_ids(sweep(conn, ("BTCUSDT", 121.0), at=NOW + 5)) == []
        assert sweep(conn, ("BTCUSDT", 90.0), at=NOW + 10).rearmed == 1
        assert fired_ids(sweep(conn, ("BTCUSDT", 101.0), at=NOW + 15)) == [alert_id]
        assert alert_by_id(conn, alert_id).ended == "fired"  # type: ignore[union-attr]
        assert [row[:2] for row in firings(conn)] == [(alert_id, NOW), (alert_id, NOW + 15)]

    def test_re_arming_before_the_notice_went_out_keeps_the_notice(self, conn):
        alert_id = insert_alert(conn, price=100.0)
        sweep(conn, ("BTCUSDT", 120.0), at=NOW)  # its notice is held (quiet hours)
        rearm = RearmAlert(request_id="r", user_id=1, alert_id=alert_id)
        assert writes.rearm_alert(conn, rearm, now=NOW + 2, rules=RULES).changed
        assert [a.alert_id for a in unnotified_alerts(conn)] == [alert_id]
        assert sweep(conn, ("BTCUSDT", 90.0), at=NOW + 5).rearmed == 0  # told first
        notified(conn, alert_id, at=NOW + 6)
        assert sweep(conn, ("BTCUSDT", 90.0), at=NOW + 10).rearmed == 1

    def test_a_recurring_alert_that_expired_after_firing_is_re_armed_waiting_to_clear(
        self, conn
    ):
        alert_id = insert_alert(conn, price=100.0, recurring=True, expires_at=NOW + 10)
        sweep(conn, ("BTCUSDT", 120.0), at=NOW)
        notified(conn, alert_id, at=NOW + 1)
        assert [a.alert_id for a in sweep(conn, at=NOW + 20).expired] == [alert_id]
        notified(conn, alert_id, at=NOW + 21)  # the expiry told
        rearm = RearmAlert(request_id="r", user_id=1, alert_id=alert_id)
        writes.rearm_alert(conn, rearm, now=NOW + 30, rules=RULES)
        assert unnotified_alerts(conn) == ()  # the old firing is not told again
        assert fired_ids(sweep(conn, ("BTCUSDT", 120.0), at=NOW + 35)) == []


class TestRearmNextToATwin:
    def test_re_arming_an_alert_set_again_meanwhile_answers_the_live_twin(self, conn):
        # Fired, set again by hand, then Re-arm pressed on the old notice: two live copies of
        # one condition told every crossing twice.
        first = insert_alert(conn, price=100.0, key="first")
        sweep(conn, ("BTCUSDT", 120.0), at=NOW)
        notified(conn, first, at=NOW + 1)
        again = insert_alert(conn, price=100.0, key="again")
        assert again != first
        rearm = RearmAlert(request_id="r", user_id=1, alert_id=first)
        saved = writes.rearm_alert(conn, rearm, now=NOW + 2, rules=RULES)
        assert (saved.changed, saved.alert_id) == (False, again)
        assert alert_by_id(conn, first).ended == "fired"  # type: ignore[union-attr]
        assert fired_ids(sweep(conn, ("BTCUSDT", 130.0), at=NOW + 5)) == [again]


class TestAddingEveryKind:
    def test_every_field_is_stored(self, conn):
        alert_id = insert_alert(conn, symbol="SOLUSDT", direction="below", price=30.0,
                                kind="rsi", interval="4h", recurring=True, cooldown_s=600.0,
                                expires_at=NOW + 7 * 86_400)
        record = alert_by_id(conn, alert_id)
        assert record is not None
        assert (record.kind, record.interval, record.recurring, record.cooldown_s,
                record.expires_at, record.ended) == ("rsi", "4h", True, 600.0,
                                                     NOW + 7 * 86_400, None)

    def test_the_cap_counts_every_live_alert_of_every_kind(self, conn):
        insert_alert(conn, price=100.0, rules=RULES)
        insert_alert(conn, price=30.0, kind="rsi", interval="1h", rules=RULES)
        recurring = insert_alert(conn, price=90.0, kind="percent", base_price=100.0,
                                 recurring=True, direction="below", rules=RULES)
        sweep(conn, ("BTCUSDT", 80.0), at=NOW)  # the recurring one fires and stays live
        assert alert_by_id(conn, recurring).live  # type: ignore[union-attr]
        with pytest.raises(LimitReached):
            insert_alert(conn, price=5.0, rules=RULES)
        assert len(alerts_of(conn, 1)) == 3

    def test_the_same_condition_is_one_alert_but_another_kind_or_interval_is_not(self, conn):
        rsi_1h = insert_alert(conn, price=30.0, kind="rsi", interval="1h", key="a")
        assert insert_alert(conn, price=30.0, kind="rsi", interval="1h", key="b") == rsi_1h
        assert insert_alert(conn, price=30.0, kind="rsi", interval="4h", key="c") != rsi_1h
        assert insert_alert(conn, price=30.0, key="d") != rsi_1h
        assert insert_alert(conn, price=30.0, key="e", recurring=True) != rsi_1h

    def test_the_same_condition_with_another_expiry_is_another_alert(self, conn):
        # The confirmation describes the alert asked for ("ends ..."): answering with a
        # never-ending twin's id would tell the user of an expiry that is stored nowhere.
        forever = insert_alert(conn, price=70_000.0, key="forever")
        for_a_day = insert_alert(conn, price=70_000.0, key="day", expires_at=NOW + 86_400)
        assert for_a_day != forever
        assert alert_by_id(conn, for_a_day).expires_at == NOW + 86_400  # type: ignore[union-attr]
        assert insert_alert(conn, price=70_000.0, key="again") == forever
        assert insert_alert(conn, price=70_000.0, key="day again",
                            expires_at=NOW + 86_400) == for_a_day

    @pytest.mark.parametrize("fields", [
        {"kind": "macd"},
        {"kind": "rsi"},
        {"kind": "rsi", "interval": "7h"},
        {"kind": "rsi", "interval": "1h", "price": 100.0},
        {"kind": "percent"},
        {"kind": "percent", "base_price": -1.0},
        {"kind": "price", "interval": "1h"},
        {"kind": "price", "base_price": 1.0},
        {"cooldown_s": -1.0},
        {"expires_at": float("nan")},
    ])
    def test_alerts_the_sweep_could_not_evaluate_are_refused(self, conn, fields):
        message = AddAlert(**{"request_id": "x", "user_id": 1, "chat_id": 1,
                              "symbol": "BTCUSDT", "direction": "above", "price": 50.0,
                              **fields})
        with pytest.raises(InvalidWrite):
            writes.add_alert(conn, message, now=NOW, rules=RULES)
