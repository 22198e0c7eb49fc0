"""Reads: every hot query is served by an index (checked on the query plan), and each read
function returns what the rows say."""

from __future__ import annotations

import pytest

from messages.storage import LogCommand, SaveSettings, StoreCandles, TouchUser
from storage.engine import Connection, is_postgres
from storage.queries import (
    HOT_READS,
    PG_HOT_READS,
    active_users,
    alert_by_id,
    alert_symbols,
    alerts_of,
    candles_between,
    command_stats,
    latest_candles,
    rsi_pairs,
    unnotified_alerts,
    user_settings,
    watchlist_of,
)
from storage.writes import (
    HOT_WRITES,
    PG_HOT_WRITES,
    log_commands,
    save_settings,
    store_candles,
    touch_users,
)
from tests.storage import plans
from tests.storage.conftest import NOW, insert_alert

SAMPLE_PARAMS = {
    "user_id": 1, "key": "k", "symbol": "BTCUSDT", "direction": "above", "price": 1.0,
    "alert_id": 1, "since": 0.0, "interval": "1h", "start_ms": 0, "end_ms": 1, "limit": 10,
    "fired_at": 0.0, "fired_price": 1.0, "notified_at": 0.0, "now": 0.0, "fired": 10,
    "prices": '{"BTCUSDT": 1.0}', "rsi": '[["BTCUSDT", "1h", 50.0]]', "kind": "price",
    "recurring": 0, "armed_from": 0.0, "cooldown_s": 60.0, "expires_at": None, "held_owners": "[7, 9]",
    "claimant": "a",
}
HOT = {**HOT_READS, **HOT_WRITES}
PG_HOT = {**PG_HOT_READS, **PG_HOT_WRITES}


def statements(conn: Connection) -> dict[str, str]:
    """The hot statements as this engine runs them."""
    return PG_HOT if is_postgres(conn) else HOT


def plan(conn: Connection, sql: str) -> list[str]:
    return plans.plan(conn, sql, SAMPLE_PARAMS)


def unindexed_scans(conn: Connection, sql: str) -> list[str]:
    return plans.unindexed_scans(conn, sql, SAMPLE_PARAMS)


@pytest.mark.parametrize("name", sorted(HOT))
def test_hot_statement_finds_its_rows_through_an_index(conn, name):
    assert unindexed_scans(conn, statements(conn)[name]) == []


def test_the_plan_check_catches_a_full_table_scan(conn):
    scans = unindexed_scans(conn, "SELECT * FROM alerts WHERE price > :price")
    if is_postgres(conn):  # a whole table, or (sequential scans being off) a whole index
        assert len(scans) == 1 and scans[0].split()[2] == "alerts", scans
    else:
        assert scans == ["SCAN alerts"]


def test_the_sweep_walks_the_armed_alerts_index_once_per_priced_symbol(conn):
    plans.fill_for_plans(conn)
    steps = plan(conn, statements(conn)["crossed_alerts"])
    if is_postgres(conn):
        for direction in ("above", "below"):
            assert sum("USING alerts_armed (((symbol = p" in step
                       and f"(direction = '{direction}'" in step for step in steps) == 1, steps
        return
    assert steps.count("SCAN p VIRTUAL TABLE INDEX 1:") == 2
    assert "SEARCH a USING INDEX alerts_armed (symbol=? AND direction=? AND price<?)" in steps
    assert "SEARCH a USING INDEX alerts_armed (symbol=? AND direction=? AND price>?)" in steps


def test_the_sweep_walks_the_rsi_index_once_per_symbol_and_interval(conn):
    plans.fill_for_plans(conn)
    steps = plan(conn, statements(conn)["crossed_rsi"])
    if is_postgres(conn):
        assert sum("USING alerts_rsi_armed (((symbol = r" in step
                   for step in steps) == 2, steps
        return
    assert steps.count("SCAN i VIRTUAL TABLE INDEX 1:") == 2
    assert ("SEARCH a USING INDEX alerts_rsi_armed"
            " (symbol=? AND interval=? AND direction=? AND price<?)") in steps
    assert ("SEARCH a USING INDEX alerts_rsi_armed"
            " (symbol=? AND interval=? AND direction=? AND price>?)") in steps


@pytest.mark.parametrize(("name", "index"), [("cleared_alerts", "alerts_waiting"),
                                             ("cleared_rsi", "alerts_rsi_waiting")])
def test_re_arming_searches_only_the_alerts_waiting_to_clear(conn, name, index):
    plans.fill_for_plans(conn)
    steps = plan(conn, statements(conn)[name])
    prefix = f"USING {index} (" if is_postgres(conn) else f"SEARCH a USING INDEX {index} "
    assert sum(prefix in step for step in steps) == 2, steps


def test_expiry_and_the_outbox_use_their_partial_indexes(conn):
    hot = statements(conn)
    assert any("alerts_expiring" in step for step in plan(conn, hot["expired_alerts"]))
    assert any("alerts_unnotified" in step for step in plan(conn, hot["unnotified_alerts"]))
    # The sweep's bounded read: in the index's order (no sort), held owners left out by lookup.
    outbox = plan(conn, hot["outbox"])
    assert any("alerts_unnotified" in step for step in outbox), outbox
    assert not any("TEMP B-TREE FOR ORDER BY" in step or step.startswith("Sort")
                   for step in outbox), outbox


def test_plans_stay_indexed_once_the_engine_has_statistics(conn):
    """ANALYZE (or PRAGMA optimize) changes the planner's estimates; the plans must hold."""
    for n in range(2_000):
        insert_alert(conn, user_id=n % 50, symbol=f"S{n % 20}USDT", price=1.0 + n,
                     direction="above" if n % 2 else "below")
    for n in range(600):  # RSI, recurring and expiring ones too
        insert_alert(conn, user_id=100 + n % 50, symbol=f"S{n % 20}USDT", price=1.0 + n % 98,
                     direction="above" if n % 2 else "below", kind="rsi",
                     interval=("1h", "4h", "1d")[n % 3], recurring=n % 4 == 0,
                     expires_at=NOW + n if n % 5 == 0 else None)
    conn.execute("ANALYZE")
    hot = statements(conn)
    for name, sql in hot.items():
        assert unindexed_scans(conn, sql) == [], name
    for name in ("crossed_alerts", "crossed_rsi", "cleared_alerts", "cleared_rsi"):
        assert not any("BLOOM" in step for step in plan(conn, hot[name])), name


class TestAlertReads:
    def test_alerts_of_lists_only_the_users_own_oldest_first(self, conn):
        first = insert_alert(conn, user_id=1, symbol="ETHUSDT")
        insert_alert(conn, user_id=2)
        second = insert_alert(conn, user_id=1, symbol="BTCUSDT", direction="below", price=5.0)
        assert [a.alert_id for a in alerts_of(conn, 1)] == [first, second]
        record = alert_by_id(conn, second)
        assert record is not None and (record.user_id, record.direction, record.price) == (
            1, "below", 5.0)
        assert record.active and record.created_at == NOW
        assert alert_by_id(conn, 999) is None

    def test_alert_symbols_are_the_distinct_symbols_of_live_price_alerts(self, conn):
        for user, symbol in ((1, "SOLUSDT"), (2, "BTCUSDT"), (3, "SOLUSDT"), (4, "ADAUSDT"),
                             (5, "XRPUSDT")):
            insert_alert(conn, user_id=user, symbol=symbol)
        conn.execute("UPDATE alerts SET fired_at = 1, ended = 'fired' WHERE symbol = 'ADAUSDT'")
        # A recurring alert waiting for its price to clear still needs the price.
        conn.execute("UPDATE alerts SET fired_at = 1, recurring = 1 WHERE symbol = 'XRPUSDT'")
        insert_alert(conn, user_id=6, symbol="DOGEUSDT", price=30.0, kind="rsi", interval="4h")
        assert alert_symbols(conn) == ("BTCUSDT", "SOLUSDT", "XRPUSDT")

    def test_rsi_pairs_are_the_distinct_symbol_and_interval_of_live_rsi_alerts(self, conn):
        for user, symbol, interval in ((1, "SOLUSDT", "4h"), (2, "SOLUSDT", "1h"),
                                       (3, "BTCUSDT", "4h"), (4, "SOLUSDT", "4h"),
                                       (5, "ADAUSDT", "1d")):
            insert_alert(conn, user_id=user, symbol=symbol, price=30.0, kind="rsi",
                         interval=interval, direction="below")
        insert_alert(conn, user_id=6, symbol="ETHUSDT")
        conn.execute("UPDATE alerts SET ended = 'expired' WHERE symbol = 'ADAUSDT'")
        assert rsi_pairs(conn) == (("BTCUSDT", "4h"), ("SOLUSDT", "1h"), ("SOLUSDT", "4h"))

    def test_no_live_rsi_alerts_means_no_pairs(self, conn):
        insert_alert(conn, symbol="ETHUSDT")
        assert rsi_pairs(conn) == ()

    def test_no_active_alerts_means_no_symbols(self, conn):
        assert alert_symbols(conn) == ()

    def test_unnotified_alerts_are_firings_and_expiries_not_yet_told_by_owner(self, conn):
        a, b, c, d, e = (insert_alert(conn, user_id=n, price=price)
                         for n, price in ((2, 1.0), (1, 2.0), (3, 3.0), (1, 4.0), (4, 5.0)))
        conn.execute("UPDATE alerts SET fired_at = 2, ended = 'fired' WHERE id = ?", (a,))
        conn.execute("UPDATE alerts SET fired_at = 1, ended = 'fired' WHERE id = ?", (b,))
        conn.execute("UPDATE alerts SET fired_at = 1, notified_at = 1 WHERE id = ?", (c,))
        conn.execute("UPDATE alerts SET ended = 'expired' WHERE id = ?", (d,))
        conn.execute("UPDATE alerts SET ended = 'expired', notified_at = 3 WHERE id = ?", (e,))
        outbox = unnotified_alerts(conn)
        assert [alert.alert_id for alert in outbox] == [b, d, a]
        assert [alert.ended for alert in outbox] == ["fired", "expired", "fired"]


class TestOtherReads:
    def test_watchlist_of_keeps_the_order_symbols_were_added(self, conn):
        conn.executemany("INSERT INTO watchlist VALUES (?, ?, ?)",
                         [(1, "SOLUSDT", 1.0), (1, "BTCUSDT", 2.0), (2, "ETHUSDT", 0.5)])
        assert watchlist_of(conn, 1) == ("SOLUSDT", "BTCUSDT")
        assert watchlist_of(conn, 3) == ()

    def test_command_stats_counts_failures_and_latency_percentiles_since_a_time(self, conn):
        logs = [LogCommand(request_id=f"r{i}", command="/price", latency_ms=float(i),
                           outcome="ok" if i % 10 else "error", at=NOW + i) for i in range(1, 101)]
        logs.append(LogCommand(request_id="old", command="/help", latency_ms=1.0, outcome="ok",
                               at=NOW - 3600))
        logs.append(LogCommand(request_id="h", command="/help", latency_ms=3.0, outcome="ok",
                               at=NOW + 5))
        log_commands(conn, logs)
        price, help_ = command_stats(conn, since=NOW)
        assert (price.command, price.count, price.failures) == ("/price", 100, 10)
        assert price.p50_ms == pytest.approx(50.5) and price.p95_ms == pytest.approx(95.05)
        assert (help_.command, help_.count, help_.failures, help_.p50_ms) == ("/help", 1, 0, 3.0)

    def test_active_users_counts_users_seen_since_a_time(self, conn):
        touch_users(conn, [TouchUser(user_id=u, chat_id=u, username=None, seen_at=NOW + u)
                           for u in range(5)])
        assert active_users(conn, since=NOW + 3) == 2

    def test_user_settings_are_sorted_pairs_and_empty_for_strangers(self, conn):
        save_settings(conn, SaveSettings(request_id="s", user_id=1, chat_id=1,
                                         settings=(("tf", "4h"), ("lang", "en"))), now=NOW)
        assert user_settings(conn, 1) == (("lang", "en"), ("tf", "4h"))
        assert user_settings(conn, 2) == ()

    def test_candle_reads_return_a_range_or_the_latest_oldest_first(self, conn):
        rows = tuple((t * 60_000, 1.0, 2.0, 0.5, 1.5, 10.0) for t in range(10))
        store_candles(conn, StoreCandles(symbol="BTCUSDT", interval="1m", rows=rows))
        store_candles(conn, StoreCandles(symbol="BTCUSDT", interval="1h", rows=rows[:1]))
        between = candles_between(conn, "BTCUSDT", "1m", 2 * 60_000, 5 * 60_000)
        assert [row[0] for row in between] == [120_000, 180_000, 240_000]
        assert latest_candles(conn, "BTCUSDT", "1m", 3) == rows[-3:]
        assert latest_candles(conn, "ETHUSDT", "1m", 3) == ()
