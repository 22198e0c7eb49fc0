"""One user's data as a whole: read it in one snapshot (``/export``, the ``/forget`` preview)
and delete it in one transaction (``/forget``).

A user's data is every row keyed by their user id (``USER_TABLES``). Nothing else in the
database names a user: candles are market data, and an alert set in a group is still keyed
by the user who set it. Reads run on a read-pool connection inside one read transaction, so
the counts and the rows come from the same snapshot even while the writer writes; the delete
runs inside the writer's transaction (``storage.batch``) and counts what it deleted there.
Every statement finds its rows through an index (``USER_DATA_SQL``, checked by the tests).
"""

from __future__ import annotations

import time
from storage.engine import Connection, is_postgres, lock_user
from collections.abc import Callable
from typing import Any

from messages.user_data import (
    DigestSchedule,
    ExportedAlert,
    ExportedFiring,
    ForgetUser,
    Forgotten,
    UserData,
    UserDataCounts,
    UserRow,
)
from users.settings import stored_pairs

__all__ = [
    "EXPORT_ALERTS",
    "EXPORT_FIRINGS",
    "EXPORT_SETTINGS",
    "EXPORT_WATCHLIST",
    "USER_DATA_SQL",
    "USER_TABLES",
    "count_user_data",
    "forget_user",
    "read_user_data",
]

USER_TABLES = ("users", "alerts", "alert_firings", "watchlist", "digests", "command_log")
"""Every table with rows of one user (by ``user_id``): what /forget deletes."""
EXPORT_ALERTS = 1000
"""Most alerts one export lists (the newest; the per-user cap and pruning keep far fewer)."""
EXPORT_FIRINGS = 1000
"""Most firing-log entries one export lists (the newest)."""
EXPORT_WATCHLIST = 200
"""Most watched symbols one export lists (the watchlist limit is lower)."""
EXPORT_SETTINGS = 64
"""Most stored settings one export lists (the catalogue has five keys)."""

_COUNTS = "SELECT " + ", ".join(
    f"(SELECT COUNT(*) FROM {table} WHERE user_id = :user_id)" for table in USER_TABLES)
_USER = ("SELECT chat_id, username, first_seen, last_seen, settings FROM users"
         " WHERE user_id = :user_id")
_ALERTS = (
    "SELECT id, chat_id, symbol, kind, direction, price, interval, base_price, recurring,"
    " cooldown_s, armed_from, expires_at, ended, created_at, fired_at, fired_price, notified_at"
    " FROM alerts WHERE user_id = :user_id ORDER BY id DESC LIMIT :limit"
)
_FIRINGS = ("SELECT alert_id, fired_at, symbol, kind, value FROM alert_firings"
            " WHERE user_id = :user_id ORDER BY fired_at DESC LIMIT :limit")
_WATCHLIST = ("SELECT symbol, added_at FROM watchlist WHERE user_id = :user_id"
              " ORDER BY added_at, symbol LIMIT :limit")
_DIGEST = ("SELECT chat_id, minute, next_due_at, last_day, created_at FROM digests"
           " WHERE user_id = :user_id")
_PG_SNAPSHOT = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
# Constant SQL per table (the names come from USER_TABLES, never from input).
_DELETES = {table: f"DELETE FROM {table} WHERE user_id = :user_id" for table in USER_TABLES}

USER_DATA_SQL: dict[str, str] = {
    "counts": _COUNTS, "user": _USER, "alerts": _ALERTS, "firings": _FIRINGS,
    "watchlist": _WATCHLIST, "digest": _DIGEST,
    **{f"delete {table}": sql for table, sql in _DELETES.items()},
}
"""Every statement of this module, by name (the query-plan test checks each uses an index)."""


def _counts(conn: Connection, user_id: int) -> UserDataCounts:
    row = conn.execute(_COUNTS, {"user_id": user_id}).fetchone()
    return UserDataCounts(**{table: int(n) for table, n in zip(USER_TABLES, row, strict=True)})


def _in_snapshot(conn: Connection, read: Callable[[], Any]) -> Any:
    """Run ``read`` inside one read transaction: every SELECT sees the same snapshot (on
    PostgreSQL that takes REPEATABLE READ: READ COMMITTED snapshots each statement)."""
    conn.execute(_PG_SNAPSHOT if is_postgres(conn) else "BEGIN")
    try:
        return read()
    finally:
        conn.execute("COMMIT")  # ends the read; nothing was written


def count_user_data(conn: Connection, user_id: int) -> UserDataCounts:
    """How many rows of ``user_id`` each table holds (what /forget would delete)."""
    result: UserDataCounts = _in_snapshot(conn, lambda: _counts(conn, user_id))
    return result


def _settings(text: str | None) -> tuple[tuple[str, str], ...]:
    # A hand-edited row that is no JSON object exports as no settings.
    return stored_pairs(text)[:EXPORT_SETTINGS]


def _alert(row: tuple[Any, ...]) -> ExportedAlert:
    (alert_id, chat_id, symbol, kind, direction, price, interval, base_price, recurring,
     cooldown_s, armed_from, expires_at, ended, created_at, fired_at, fired_price,
     notified_at) = row
    return ExportedAlert(
        alert_id=alert_id, chat_id=chat_id, symbol=symbol, kind=kind, direction=direction,
        level=price, interval=interval, base_price=base_price, recurring=bool(recurring),
        cooldown_s=float(cooldown_s or 0.0), armed_from=armed_from, expires_at=expires_at,
        ended=ended, created_at=created_at, fired_at=fired_at, fired_price=fired_price,
        notified_at=notified_at)


def _read_all(conn: Connection, user_id: int, now: float) -> UserData:
    params: dict[str, Any] = {"user_id": user_id}
    user_row = conn.execute(_USER, params).fetchone()
    alerts = conn.execute(_ALERTS, {**params, "limit": EXPORT_ALERTS}).fetchall()
    firings = conn.execute(_FIRINGS, {**params, "limit": EXPORT_FIRINGS}).fetchall()
    watchlist = conn.execute(_WATCHLIST, {**params, "limit": EXPORT_WATCHLIST}).fetchall()
    digest = conn.execute(_DIGEST, params).fetchone()
    return UserData(
        user_id=user_id, read_at=now,
        user=None if user_row is None else UserRow(
            chat_id=user_row[0], username=user_row[1], first_seen=user_row[2],
            last_seen=user_row[3]),
        settings=() if user_row is None else _settings(user_row[4]),
        alerts=tuple(_alert(row) for row in reversed(alerts)),
        firings=tuple(ExportedFiring(alert_id=a, fired_at=f, symbol=s, kind=k, value=v)
                      for a, f, s, k, v in firings),
        watchlist=tuple((str(symbol), float(added)) for symbol, added in watchlist),
        digest=None if digest is None else DigestSchedule(
            chat_id=digest[0], minute=digest[1], next_due_at=digest[2], last_day=digest[3],
            created_at=digest[4]),
        counts=_counts(conn, user_id),
    )


def read_user_data(conn: Connection, user_id: int,
                   now: Callable[[], float] = time.time) -> UserData:
    """Everything stored about ``user_id``, from one snapshot; lists capped (``EXPORT_*``)."""
    result: UserData = _in_snapshot(conn, lambda: _read_all(conn, user_id, now()))
    return result


def forget_user(conn: Connection, message: ForgetUser) -> Forgotten:
    """Delete every row of the user (inside the writer's transaction); what was deleted.

    Idempotent: a second time deletes nothing and says so (all counts zero)."""
    lock_user(conn, message.user_id)  # PostgreSQL: not interleaved with another instance's
    params = {"user_id": message.user_id}
    deleted = {table: conn.execute(sql, params).rowcount for table, sql in _DELETES.items()}
    return Forgotten(deleted=UserDataCounts(**deleted))
