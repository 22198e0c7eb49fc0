"""The read queries, as plain functions over a (read-only) connection.

Each hot query is served by an index; ``HOT_READS`` lists their SQL for the query-plan test.
Rows become frozen records (``messages.storage``) so they can be handed across actors.
"""

from __future__ import annotations

import json
from storage.engine import Connection, is_postgres
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np

from messages.storage import AlertRecord, CandleRow, CommandStat
from users.settings import stored_pairs

__all__ = [
    "ALERT_COLUMNS",
    "FIRED_ALERTS_SHOWN",
    "HOT_READS",
    "PG_HOT_READS",
    "active_users",
    "alert_by_id",
    "alert_from_row",
    "alert_symbols",
    "alerts_of",
    "candles_between",
    "command_stats",
    "latest_candles",
    "newest_alert_id",
    "next_expiry",
    "outbox",
    "rsi_pairs",
    "unnotified_alerts",
    "user_settings",
    "users_seen_since",
    "watchlist_of",
]

ALERT_COLUMNS = (
    "id, user_id, chat_id, symbol, direction, price, created_at, fired_at, fired_price,"
    " notified_at, kind, interval, base_price, recurring, cooldown_s, armed_from, expires_at,"
    " ended"
)
_CANDLE_COLUMNS = "open_time, open, high, low, close, volume"

_ALERT_BY_ID = f"SELECT {ALERT_COLUMNS} FROM alerts WHERE id = :alert_id"
# Every live alert (at most max_alerts_per_user) and only the newest finished ones: /alerts read
# every row a user ever had, 160 fired ones for one user in the issue.
_ALERTS_OF = (
    f"SELECT {ALERT_COLUMNS} FROM alerts WHERE user_id = :user_id AND ended IS NULL"
)
_FIRED_ALERTS_OF = (
    f"SELECT {ALERT_COLUMNS} FROM alerts WHERE user_id = :user_id AND ended IS NOT NULL"
    " ORDER BY coalesce(fired_at, expires_at) DESC LIMIT :fired"
)
FIRED_ALERTS_SHOWN = 10
"""How many finished (fired or expired) alerts ``alerts_of`` returns at most, the newest."""
# DISTINCT would walk every live alert; this walks the index once per symbol instead
# (a "skip scan": each step seeks the first symbol after the previous one). Live level alerts
# (price, percent) whether armed or waiting to clear: both need the price.
_ALERT_SYMBOLS = """
WITH RECURSIVE found(symbol) AS (
    SELECT (SELECT MIN(symbol) FROM alerts WHERE ended IS NULL AND kind <> 'rsi')
    UNION ALL
    SELECT (SELECT MIN(symbol) FROM alerts
            WHERE ended IS NULL AND kind <> 'rsi' AND symbol > found.symbol)
    FROM found WHERE found.symbol IS NOT NULL
)
SELECT symbol FROM found WHERE symbol IS NOT NULL
"""
# Live RSI alerts are one per few hundred rows at most; a walk of their small partial index
# (~1 ms at 33,000) beats a row-value skip scan, which SQLite seeks on the symbol only. The sweep
# reads it only when an alert was added (``newest_alert_id``) or once a minute.
_RSI_PAIRS = (
    "SELECT DISTINCT symbol, interval FROM alerts WHERE ended IS NULL AND kind = 'rsi'"
    " ORDER BY symbol, interval"
)
_NEWEST_ALERT = "SELECT MAX(id) FROM alerts"
_NEXT_EXPIRY = (
    "SELECT MIN(expires_at) FROM alerts WHERE expires_at IS NOT NULL AND ended IS NULL"
)
# The outbox: a firing not yet notified, or an expiry not yet told (same partial index).
UNNOTIFIED_WHERE = "notified_at IS NULL AND (fired_at IS NOT NULL OR ended = 'expired')"
_UNNOTIFIED = (
    f"SELECT {ALERT_COLUMNS} FROM alerts WHERE {UNNOTIFIED_WHERE} ORDER BY user_id, id"
)
# The sweep's one outbox read: owners known to be inside their quiet hours are left out (a JSON
# list of ids, an ephemeral lookup checked on the index entry before the row is read), and it is
# bounded, so a sweep's cost follows what can be delivered now, not the held backlog.
_OUTBOX = (
    f"SELECT {ALERT_COLUMNS} FROM alerts WHERE {UNNOTIFIED_WHERE}"
    " AND user_id NOT IN (SELECT value FROM json_each(:held_owners))"
    " ORDER BY user_id, id LIMIT :limit"
)
_PG_OUTBOX = _OUTBOX.replace(
    "SELECT value FROM json_each(:held_owners)",
    "SELECT value::bigint FROM jsonb_array_elements_text(:held_owners::jsonb)")
_SEEN_SINCE = "SELECT user_id FROM users WHERE last_seen BETWEEN :since AND :now"
_WATCHLIST_OF = (
    "SELECT symbol FROM watchlist WHERE user_id = :user_id ORDER BY added_at, symbol"
)
_COMMANDS_SINCE = "SELECT command, outcome, latency_ms FROM command_log WHERE at >= :since"
_ACTIVE_USERS = "SELECT COUNT(*) FROM users WHERE last_seen >= :since"
_USER_SETTINGS = "SELECT settings FROM users WHERE user_id = :user_id"
_CANDLES_BETWEEN = (
    f"SELECT {_CANDLE_COLUMNS} FROM candles WHERE symbol = :symbol AND interval = :interval"
    " AND open_time >= :start_ms AND open_time < :end_ms ORDER BY open_time"
)
_LATEST_CANDLES = (
    f"SELECT {_CANDLE_COLUMNS} FROM candles WHERE symbol = :symbol AND interval = :interval"
    " ORDER BY open_time DESC LIMIT :limit"
)

HOT_READS: dict[str, str] = {
    "alert_by_id": _ALERT_BY_ID,
    "alerts_of": _ALERTS_OF,
    "alerts_of (fired)": _FIRED_ALERTS_OF,
    "alert_symbols": _ALERT_SYMBOLS,
    "rsi_pairs": _RSI_PAIRS,
    "newest_alert_id": _NEWEST_ALERT,
    "next_expiry": _NEXT_EXPIRY,
    "unnotified_alerts": _UNNOTIFIED,
    "outbox": _OUTBOX,
    "users_seen_since": _SEEN_SINCE,
    "watchlist_of": _WATCHLIST_OF,
    "command_stats": _COMMANDS_SINCE,
    "active_users": _ACTIVE_USERS,
    "user_settings": _USER_SETTINGS,
    "candles_between": _CANDLES_BETWEEN,
    "latest_candles": _LATEST_CANDLES,
}
"""The read path's SQL, by the name of the function that runs it."""
PG_HOT_READS: dict[str, str] = {**HOT_READS, "outbox": _PG_OUTBOX}
"""The same on PostgreSQL (the outbox's JSON list spelled PostgreSQL's way)."""


def alert_from_row(row: tuple[Any, ...]) -> AlertRecord:
    """An ``AlertRecord`` from a row selected as ``ALERT_COLUMNS``."""
    (alert_id, user_id, chat_id, symbol, direction, price, created_at, fired_at, fired_price,
     notified_at, kind, interval, base_price, recurring, cooldown_s, armed_from, expires_at,
     ended) = row
    return AlertRecord(alert_id=alert_id, user_id=user_id, chat_id=chat_id, symbol=symbol,
                       direction=direction, price=price, created_at=created_at,
                       fired_at=fired_at, fired_price=fired_price, notified_at=notified_at,
                       kind=kind, interval=interval, base_price=base_price,
                       recurring=bool(recurring), cooldown_s=float(cooldown_s),
                       armed_from=armed_from, expires_at=expires_at, ended=ended)


def alert_by_id(conn: Connection, alert_id: int) -> AlertRecord | None:
    """One alert, whoever owns it (callers check ``user_id``)."""
    row = conn.execute(_ALERT_BY_ID, {"alert_id": alert_id}).fetchone()
    return None if row is None else alert_from_row(row)


def alerts_of(conn: Connection, user_id: int,
              fired: int = FIRED_ALERTS_SHOWN) -> tuple[AlertRecord, ...]:
    """The user's live alerts and their ``fired`` newest finished ones, oldest first."""
    params = {"user_id": user_id, "fired": fired}
    rows = [*conn.execute(_ALERTS_OF, params), *conn.execute(_FIRED_ALERTS_OF, params)]
    return tuple(map(alert_from_row, sorted(rows)))  # by id: the first column


def alert_symbols(conn: Connection) -> tuple[str, ...]:
    """Every symbol with a live price or percent alert, sorted (what a sweep must price)."""
    return tuple(row[0] for row in conn.execute(_ALERT_SYMBOLS))


def rsi_pairs(conn: Connection) -> tuple[tuple[str, str], ...]:
    """Every (symbol, interval) with a live RSI alert, sorted (what a sweep must compute)."""
    return tuple((str(symbol), str(interval)) for symbol, interval in conn.execute(_RSI_PAIRS))


def newest_alert_id(conn: Connection) -> int:
    """The highest alert id so far (0 for none): a cheap "were alerts added?" check."""
    return int(conn.execute(_NEWEST_ALERT).fetchone()[0] or 0)


def next_expiry(conn: Connection) -> float | None:
    """The earliest expiry of a live alert (epoch s), or None: whether a sweep must write even
    with nothing to price."""
    value = conn.execute(_NEXT_EXPIRY).fetchone()[0]
    return None if value is None else float(value)


def unnotified_alerts(conn: Connection) -> tuple[AlertRecord, ...]:
    """The outbox: alerts that fired or expired and whose owner was not (yet) told, by owner
    then id."""
    return tuple(map(alert_from_row, conn.execute(_UNNOTIFIED)))


def outbox(conn: Connection, held_owners: Iterable[int],
           limit: int) -> tuple[AlertRecord, ...]:
    """At most ``limit`` notices of the outbox, by owner then id, leaving out ``held_owners``."""
    params = {"held_owners": json.dumps(sorted(held_owners)), "limit": limit}
    sql = _PG_OUTBOX if is_postgres(conn) else _OUTBOX
    return tuple(map(alert_from_row, conn.execute(sql, params)))


def users_seen_since(conn: Connection, since: float, now: float) -> tuple[int, ...]:
    """Users seen (any command or press) from ``since`` to ``now`` (epoch s): whose settings may
    have changed lately. A sighting dated past ``now`` (another clock) does not count."""
    return tuple(row[0] for row in conn.execute(_SEEN_SINCE, {"since": since, "now": now}))


def watchlist_of(conn: Connection, user_id: int) -> tuple[str, ...]:
    """The user's watched symbols in the order they were added."""
    return tuple(row[0] for row in conn.execute(_WATCHLIST_OF, {"user_id": user_id}))


def command_stats(conn: Connection, since: float) -> tuple[CommandStat, ...]:
    """Per command since ``since`` (epoch s): uses, failures, p50/p95 latency; busiest first."""
    latencies: dict[str, list[float]] = defaultdict(list)
    failures: dict[str, int] = defaultdict(int)
    for command, outcome, latency_ms in conn.execute(_COMMANDS_SINCE, {"since": since}):
        latencies[command].append(latency_ms)
        if outcome != "ok":
            failures[command] += 1
    stats = []
    for command, values in latencies.items():
        p50, p95 = np.percentile(np.asarray(values), [50, 95])
        stats.append(CommandStat(command=command, count=len(values), failures=failures[command],
                                 p50_ms=round(float(p50), 3), p95_ms=round(float(p95), 3)))
    return tuple(sorted(stats, key=lambda stat: (-stat.count, stat.command)))


def active_users(conn: Connection, since: float) -> int:
    """Users seen since ``since`` (epoch s)."""
    return int(conn.execute(_ACTIVE_USERS, {"since": since}).fetchone()[0])


def user_settings(conn: Connection, user_id: int) -> tuple[tuple[str, str], ...]:
    """The user's stored settings as sorted (name, value) pairs; empty for an unknown user."""
    row = conn.execute(_USER_SETTINGS, {"user_id": user_id}).fetchone()
    if row is None:
        return ()
    return stored_pairs(row[0])


def candles_between(conn: Connection, symbol: str, interval: str, start_ms: int,
                    end_ms: int) -> tuple[CandleRow, ...]:
    """Stored candles opening in [start_ms, end_ms), oldest first."""
    params = {"symbol": symbol, "interval": interval, "start_ms": start_ms, "end_ms": end_ms}
    return tuple(conn.execute(_CANDLES_BETWEEN, params))


def latest_candles(conn: Connection, symbol: str, interval: str,
                   limit: int) -> tuple[CandleRow, ...]:
    """The ``limit`` most recent stored candles, oldest first."""
    params = {"symbol": symbol, "interval": interval, "limit": limit}
    rows = conn.execute(_LATEST_CANDLES, params).fetchall()
    rows.reverse()
    return tuple(rows)
