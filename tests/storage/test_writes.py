"""The writes, one transaction at a time: idempotent, limits enforced with the insert, others'
alerts refused, and the sweep's fire/notify bookkeeping one-shot."""

from __future__ import annotations

import math

import pytest

from messages.storage import (
    AddAlert,
    DeleteAlert,
    FireCrossedAlerts,
    FiredAlerts,
    LogCommand,
    MarkNotified,
    RearmAlert,
    Saved,
    SaveSettings,
    StoreCandles,
    TouchUser,
    Unwatch,
    Watch,
)
from storage import writes
from storage.engine import Connection
from storage.errors import AlertNotFound, InvalidWrite, LimitReached, NotSaved, NotYours
from storage.queries import alert_by_id, alerts_of, latest_candles, unnotified_alerts, watchlist_of
from storage.writes import WriteRules
from tests.storage.conftest import NOW, insert_alert

RULES = WriteRules(max_alerts_per_user=3, max_watchlist=2)


def add(conn: Connection, key: str = "r1", *, user_id: int = 1, symbol: str = "BTCUSDT",
        direction: str = "above", price: float = 100.0) -> Saved:
    message = AddAlert(request_id=key, user_id=user_id, chat_id=10, symbol=symbol,
                       direction=direction, price=price)
    return writes.add_alert(conn, message, now=NOW, rules=RULES)


def fire(conn: Connection, *prices: tuple[str, float],
         at: float = NOW + 60) -> FiredAlerts:
    return writes.fire_crossed_alerts(conn, FireCrossedAlerts(prices=prices, fired_at=at))


class TestAddAlert:
    def test_a_new_alert_gets_an_id_and_is_active(self, conn):
        saved = add(conn)
        assert saved.changed and saved.alert_id is not None
        record = alert_by_id(conn, saved.alert_id)
        assert record is not None and record.active and record.chat_id == 10

    def test_the_same_request_twice_gives_the_same_alert(self, conn):
        first = add(conn, "same")
        again = add(conn, "same")
        assert (again.changed, again.alert_id) == (False, first.alert_id)
        assert len(alerts_of(conn, 1)) == 1

    def test_an_identical_active_alert_is_not_stored_twice(self, conn):
        first = add(conn, "a")
        again = add(conn, "b")
        assert (again.changed, again.alert_id) == (False, first.alert_id)

    def test_the_per_user_limit_counts_active_alerts_only(self, conn):
        for n in range(3):
            add(conn, f"k{n}", price=100.0 + n)
        with pytest.raises(LimitReached) as refused:
            add(conn, "k3", price=200.0)
        assert str(refused.value) == (
            "not saved, nothing changed: you already have 3 active alerts, the most allowed")
        fire(conn, ("BTCUSDT", 101.0))  # two of them fire
        assert add(conn, "k4", price=300.0).changed
        assert add(conn, "k5", price=400.0).changed
        assert add(conn, "k6", user_id=2).changed  # other users have their own limit

    @pytest.mark.parametrize(("symbol", "direction", "price"), [
        ("BTCUSDT", "sideways", 1.0), ("BTCUSDT", "above", 0.0), ("BTCUSDT", "above", -1.0),
        ("BTCUSDT", "above", math.nan), ("BTCUSDT", "above", math.inf), ("btc usdt", "above", 1.0),
    ])
    def test_alerts_the_sweep_could_not_evaluate_are_refused(self, conn, symbol, direction,
                                                              price):
        with pytest.raises(InvalidWrite):
            add(conn, symbol=symbol, direction=direction, price=price)


class TestDeleteAndRearm:
    def test_deleting_your_own_alert_removes_it(self, conn):
        alert_id = insert_alert(conn, user_id=1)
        saved = writes.delete_alert(conn, DeleteAlert(request_id="d", user_id=1,
                                                      alert_id=alert_id))
        assert saved.alert_id == alert_id and alert_by_id(conn, alert_id) is None

    def test_deleting_someone_elses_alert_is_refused_like_a_missing_one(self, conn):
        alert_id = insert_alert(conn, user_id=1)
        with pytest.raises(NotYours) as theirs:
            writes.delete_alert(conn, DeleteAlert(request_id="d", user_id=2, alert_id=alert_id))
        with pytest.raises(AlertNotFound) as missing:
            writes.delete_alert(conn, DeleteAlert(request_id="d", user_id=2, alert_id=999))
        assert str(theirs.value) == f"not saved, nothing changed: you have no alert #{alert_id}"
        assert str(missing.value) == "not saved, nothing changed: you have no alert #999"
        assert alert_by_id(conn, alert_id) is not None

    def test_rearming_a_fired_alert_makes_it_live_again_and_armed_once_cleared(self, conn):
        alert_id = insert_alert(conn, user_id=1, price=100.0)
        fire(conn, ("BTCUSDT", 150.0))
        writes.mark_notified(conn, MarkNotified(alert_ids=(alert_id,), notified_at=NOW + 61))
        saved = writes.rearm_alert(conn, RearmAlert(request_id="x", user_id=1, alert_id=alert_id),
                                   now=NOW + 99, rules=RULES)
        record = alert_by_id(conn, alert_id)
        assert saved.changed and record is not None and record.live and not record.active
        assert (record.fired_price, record.created_at) == (150.0, NOW + 99)
        fire(conn, ("BTCUSDT", 90.0), at=NOW + 100)  # back below: armed for the next crossing
        assert alert_by_id(conn, alert_id).active  # type: ignore[union-attr]

    def test_rearming_an_active_alert_changes_nothing(self, conn):
        alert_id = insert_alert(conn, user_id=1)
        saved = writes.rearm_alert(conn, RearmAlert(request_id="x", user_id=1, alert_id=alert_id),
                                   now=NOW, rules=RULES)
        assert not saved.changed

    def test_rearming_someone_elses_alert_is_refused(self, conn):
        alert_id = insert_alert(conn, user_id=1)
        fire(conn, ("BTCUSDT", 1e9))
        with pytest.raises(NotYours):
            writes.rearm_alert(conn, RearmAlert(request_id="x", user_id=2, alert_id=alert_id),
                               now=NOW, rules=RULES)

    def test_rearming_respects_the_limit(self, conn):
        fired = insert_alert(conn, user_id=1, symbol="ETHUSDT")
        fire(conn, ("ETHUSDT", 1e9))
        for n in range(3):
            add(conn, f"k{n}", price=100.0 + n)
        with pytest.raises(LimitReached):
            writes.rearm_alert(conn, RearmAlert(request_id="x", user_id=1, alert_id=fired),
                               now=NOW, rules=RULES)


class TestSweepBookkeeping:
    def test_alerts_fire_when_the_price_reaches_them_from_either_side(self, conn):
        up = insert_alert(conn, user_id=1, direction="above", price=100.0)
        down = insert_alert(conn, user_id=2, direction="below", price=90.0)
        assert fire(conn, ("BTCUSDT", 95.0)).alerts == ()
        fired_up = fire(conn, ("BTCUSDT", 100.0), at=NOW + 1).alerts
        assert [(a.alert_id, a.fired_price, a.fired_at) for a in fired_up] == [
            (up, 100.0, NOW + 1)]
        fired_down = fire(conn, ("BTCUSDT", 89.5), at=NOW + 2).alerts
        assert [(a.alert_id, a.fired_price) for a in fired_down] == [(down, 89.5)]

    def test_a_fired_alert_never_fires_again(self, conn):
        insert_alert(conn, price=100.0)
        assert len(fire(conn, ("BTCUSDT", 120.0)).alerts) == 1
        assert fire(conn, ("BTCUSDT", 130.0)).alerts == ()

    def test_only_priced_symbols_are_considered_and_bad_prices_are_ignored(self, conn):
        insert_alert(conn, user_id=1, symbol="BTCUSDT", price=1.0)
        insert_alert(conn, user_id=2, symbol="ETHUSDT", direction="below", price=1e9)
        assert fire(conn, ("BTCUSDT", math.nan), ("SOLUSDT", 5.0)).alerts == ()
        assert [a.symbol for a in fire(conn, ("ETHUSDT", 3000.0)).alerts] == ["ETHUSDT"]

    def test_fired_alerts_wait_for_their_notification_mark(self, conn):
        alert_id = insert_alert(conn, price=100.0)
        fire(conn, ("BTCUSDT", 120.0))
        assert [a.alert_id for a in unnotified_alerts(conn)] == [alert_id]
        saved = writes.mark_notified(conn, MarkNotified(alert_ids=(alert_id,),
                                                        notified_at=NOW + 61))
        assert saved.changed and unnotified_alerts(conn) == ()
        again = writes.mark_notified(conn, MarkNotified(alert_ids=(alert_id,),
                                                        notified_at=NOW + 62))
        assert not again.changed
        record = alert_by_id(conn, alert_id)
        assert record is not None and record.notified_at == NOW + 61

    def test_a_late_notified_mark_lands_on_the_notice_a_rearm_kept(self, conn):
        # Re-armed before its mark, the alert keeps that notice pending and cannot fire again
        # until it is marked, so a late mark never swallows a newer firing's notice.
        alert_id = insert_alert(conn, price=100.0)
        fire(conn, ("BTCUSDT", 120.0))
        writes.rearm_alert(conn, RearmAlert(request_id="x", user_id=1, alert_id=alert_id),
                           now=NOW, rules=RULES)
        assert fire(conn, ("BTCUSDT", 90.0), at=NOW + 61).rearmed == 0
        writes.mark_notified(conn, MarkNotified(alert_ids=(alert_id,), notified_at=NOW + 62))
        record = alert_by_id(conn, alert_id)
        assert record is not None and record.live and record.notified_at == NOW + 62
        assert unnotified_alerts(conn) == ()


class TestWatchlist:
    def test_watch_and_unwatch_report_whether_anything_changed(self, conn):
        def watch(symbol: str) -> Saved:
            return writes.watch(conn, Watch(request_id="w", user_id=1, symbol=symbol), now=NOW,
                                rules=RULES)

        assert watch("BTCUSDT").changed and not watch("BTCUSDT").changed
        assert writes.unwatch(conn, Unwatch(request_id="u", user_id=1, symbol="BTCUSDT")).changed
        assert not writes.unwatch(conn, Unwatch(request_id="u", user_id=1,
                                                symbol="BTCUSDT")).changed
        assert watchlist_of(conn, 1) == ()

    def test_the_watchlist_limit_refuses_one_more_symbol(self, conn):
        conn.execute("BEGIN")
        for symbol in ("BTCUSDT", "ETHUSDT"):
            writes.watch(conn, Watch(request_id="w", user_id=1, symbol=symbol), now=NOW,
                         rules=RULES)
        conn.execute("SAVEPOINT one")
        with pytest.raises(LimitReached, match="2 symbols on your watchlist"):
            writes.watch(conn, Watch(request_id="w", user_id=1, symbol="SOLUSDT"), now=NOW,
                         rules=RULES)
        conn.execute("ROLLBACK TO one")  # what the writer does with a refused write
        conn.execute("COMMIT")
        assert watchlist_of(conn, 1) == ("BTCUSDT", "ETHUSDT")


class TestBackgroundWrites:
    def test_sightings_in_any_order_give_first_and_latest(self, conn):
        sightings = [TouchUser(user_id=1, chat_id=c, username=f"u{c}", seen_at=NOW + c)
                     for c in (5, 1, 9, 3)]
        writes.touch_users(conn, sightings)
        row = conn.execute("SELECT chat_id, username, first_seen, last_seen FROM users").fetchone()
        assert row == (9, "u9", NOW + 1, NOW + 9)

    def test_a_command_logged_twice_is_stored_once(self, conn):
        log = LogCommand(request_id="r", command="/price", latency_ms=3.0, outcome="ok", at=NOW)
        writes.log_commands(conn, [log, log])
        assert conn.execute("SELECT COUNT(*) FROM command_log").fetchone()[0] == 1

    def test_candles_upsert_overwrites_the_same_open_time(self, conn):
        open_candle = (0, 1.0, 1.0, 1.0, 1.0, 1.0)
        closed = (0, 1.0, 3.0, 0.5, 2.0, 9.0)
        writes.store_candles(conn, StoreCandles(symbol="BTCUSDT", interval="1m",
                                                rows=(open_candle,)))
        writes.store_candles(conn, StoreCandles(symbol="BTCUSDT", interval="1m", rows=(closed,)))
        assert latest_candles(conn, "BTCUSDT", "1m", 10) == (closed,)

    def test_settings_merge_into_the_stored_ones(self, conn):
        def save(*pairs: tuple[str, str]) -> Saved:
            return writes.save_settings(conn, SaveSettings(request_id="s", user_id=1, chat_id=1,
                                                           settings=pairs), now=NOW)

        assert save(("tf", "1h")).changed
        assert save(("lang", "de")).changed
        assert not save(("tf", "1h")).changed
        row = conn.execute("SELECT settings FROM users WHERE user_id = 1").fetchone()
        assert row == ('{"lang": "de", "tf": "1h"}',)


def test_every_refusal_says_nothing_changed():
    for error in (InvalidWrite("x"), LimitReached("alerts", 1), AlertNotFound(1), NotYours(1)):
        assert isinstance(error, NotSaved)
        assert str(error).startswith("not saved, nothing changed: ")
