"""Issue 12 item 9: history is bounded. One prune run deletes at most ``batch_rows`` rows:
command-log rows past their days, fired (and notified) alerts past a per-user count, candles
past a per-series count; active and not-yet-notified alerts are never touched."""

from __future__ import annotations


import pytest

from storage.engine import Connection, is_postgres
from storage.prune import PG_PRUNE_STATEMENTS, PRUNE_STATEMENTS, PruneCursor, RetentionRules, prune
from storage.queries import FIRED_ALERTS_SHOWN, alerts_of
from storage.writes import WriteRules
from tests.storage import plans
from tests.storage.conftest import NOW, insert_alert

DAY = 86_400.0
ROOMY = WriteRules(max_alerts_per_user=10_000)


def fill_commands(conn: Connection, ages_days: list[float]) -> None:
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO command_log (request_id, user_id, command, latency_ms, outcome, at)"
        " VALUES (?, 1, '/price', 1.0, 'ok', ?)",
        [(f"r{n}", NOW - age * DAY) for n, age in enumerate(ages_days)])
    conn.execute("COMMIT")


def fire(conn: Connection, user_id: int, count: int, *, notified: bool = True,
         start: int = 0) -> list[int]:
    ids = [insert_alert(conn, user_id=user_id, price=float(start + n + 1),
                        key=f"{user_id}-{start + n}", rules=ROOMY) for n in range(count)]
    conn.execute("BEGIN")
    conn.executemany("UPDATE alerts SET fired_at = ?, notified_at = ?, ended = 'fired'"
                     " WHERE id = ?",
                     [(NOW + n, NOW + n if notified else None, alert_id)
                      for n, alert_id in enumerate(ids)])
    conn.execute("COMMIT")
    return ids


def fill_candles(conn: Connection, symbol: str, interval: str, count: int) -> None:
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO candles VALUES (?, ?, ?, 1, 1, 1, 1, 1)",
                     [(symbol, interval, n * 60_000) for n in range(count)])
    conn.execute("COMMIT")


def count(conn: Connection, sql: str, *params: object) -> int:
    return int(conn.execute(sql, params).fetchone()[0])


def prune_all(conn: Connection, rules: RetentionRules, cursor: PruneCursor,
              runs: int = 100) -> list[int]:
    deleted = []
    for _ in range(runs):
        result = prune(conn, rules, cursor, now=NOW)
        deleted.append(result.total)
        assert result.total <= rules.batch_rows
        if not result.more and result.total == 0:
            break
    return deleted


def test_160_fired_alerts_of_one_user_shrink_to_the_newest_kept_and_active_ones_stay(conn):
    fired = fire(conn, 1, 160)
    pending = fire(conn, 1, 3, notified=False, start=500)
    active = [insert_alert(conn, user_id=1, price=9000.0 + n, key=f"a{n}", rules=ROOMY)
              for n in range(5)]
    others = fire(conn, 2, 5)
    prune_all(conn, RetentionRules(fired_alerts_per_user=20), PruneCursor())
    left = {row[0] for row in conn.execute("SELECT id FROM alerts")}
    assert left == set(fired[-20:]) | set(pending) | set(active) | set(others)


def test_a_recurring_alert_that_fired_and_waits_to_clear_is_live_and_never_pruned(conn):
    fired = fire(conn, 1, 30)
    waiting = fire(conn, 1, 3, start=500)
    conn.execute("BEGIN")
    conn.executemany("UPDATE alerts SET recurring = 1, ended = NULL WHERE id = ?",
                     [(alert_id,) for alert_id in waiting])
    conn.execute("COMMIT")
    prune_all(conn, RetentionRules(fired_alerts_per_user=5), PruneCursor())
    left = {row[0] for row in conn.execute("SELECT id FROM alerts")}
    assert left == set(fired[-5:]) | set(waiting)


def test_old_command_log_rows_go_and_recent_ones_stay(conn):
    fill_commands(conn, [40.0] * 30 + [31.0] * 10 + [29.0] * 7 + [0.5] * 3)
    prune_all(conn, RetentionRules(command_log_days=30), PruneCursor())
    assert count(conn, "SELECT COUNT(*) FROM command_log") == 10
    assert count(conn, "SELECT COUNT(*) FROM command_log WHERE at < ?", NOW - 30 * DAY) == 0


def test_each_series_keeps_its_newest_candles(conn):
    fill_candles(conn, "BTCUSDT", "1m", 1_000)
    fill_candles(conn, "BTCUSDT", "1h", 50)
    fill_candles(conn, "ETHUSDT", "1m", 300)
    prune_all(conn, RetentionRules(candles_per_series=100), PruneCursor())
    rows = conn.execute("SELECT symbol, interval, COUNT(*), MIN(open_time) FROM candles"
                        " GROUP BY symbol, interval ORDER BY symbol, interval").fetchall()
    assert rows == [("BTCUSDT", "1h", 50, 0), ("BTCUSDT", "1m", 100, 900 * 60_000),
                    ("ETHUSDT", "1m", 100, 200 * 60_000)]


def test_a_run_deletes_at_most_its_batch_and_says_more_is_due(conn):
    fill_commands(conn, [90.0] * 250)
    fill_candles(conn, "BTCUSDT", "1m", 400)
    for user in range(1, 31):
        fire(conn, user, 12)
    rules = RetentionRules(command_log_days=30, fired_alerts_per_user=2, candles_per_series=100,
                           batch_rows=100, users_per_run=7, series_per_run=1)
    cursor = PruneCursor()
    first = prune(conn, rules, cursor, now=NOW)
    assert (first.total, first.command_log, first.more) == (100, 100, True)
    deleted = prune_all(conn, rules, cursor)
    assert sum(deleted) == 250 - 100 + 300 + 30 * 10
    assert count(conn, "SELECT MAX(n) FROM (SELECT COUNT(*) n FROM alerts GROUP BY user_id)") == 2


@pytest.mark.parametrize("name", sorted(PRUNE_STATEMENTS))
def test_prune_statements_use_an_index(conn, name):
    params = {"cutoff": 0.0, "limit": 10, "after": 0, "user_id": 1, "keep": 5,
              "symbol": "BTCUSDT", "interval": "1m"}
    sql = (PG_PRUNE_STATEMENTS if is_postgres(conn) else PRUNE_STATEMENTS)[name]
    assert plans.unindexed_scans(conn, sql, params) == [], plans.plan(conn, sql, params)


def test_alerts_of_returns_the_active_alerts_and_only_the_newest_fired_ones(conn):
    fired = fire(conn, 1, 160)
    active = [insert_alert(conn, user_id=1, price=9000.0 + n, key=f"a{n}", rules=ROOMY)
              for n in range(50)]
    records = alerts_of(conn, 1)
    assert [r.alert_id for r in records] == sorted(fired[-FIRED_ALERTS_SHOWN:] + active)


def test_the_firing_log_keeps_its_retention_and_loses_older_rows_oldest_first(conn):
    conn.executemany(
        "INSERT INTO alert_firings (alert_id, fired_at, user_id, symbol, kind, value)"
        " VALUES (?, ?, 1, 'BTCUSDT', 'price', 1.0)",
        [(n, NOW - age * DAY) for n, age in enumerate([45.0, 31.0, 29.0, 0.5] * 30)])
    rules = RetentionRules(firings_days=30, batch_rows=25)
    deleted = prune_all(conn, rules, PruneCursor())
    assert sum(deleted) == 60  # the 45- and 31-day-old rows, in runs of at most 25
    assert count(conn, "SELECT COUNT(*) FROM alert_firings") == 60
    assert count(conn, "SELECT COUNT(*) FROM alert_firings WHERE fired_at < ?",
                 NOW - 30 * DAY) == 0


def test_an_alert_that_just_expired_is_kept_over_older_fired_ones(conn):
    # Its expiry notice carries a Re-arm button: pruning it first (it never fired, so it has
    # no fired_at) made that button answer "you have no alert" right after the notice.
    fired = fire(conn, 1, 5)
    expired = insert_alert(conn, user_id=1, price=5000.0, key="expiring", rules=ROOMY,
                           expires_at=NOW + 100)
    conn.execute("UPDATE alerts SET ended = 'expired', notified_at = ? WHERE id = ?",
                 (NOW + 101, expired))
    prune_all(conn, RetentionRules(fired_alerts_per_user=3), PruneCursor())
    left = {row[0] for row in conn.execute("SELECT id FROM alerts")}
    assert left == set(fired[-2:]) | {expired}
