"""The digest's reads, as plain functions over a read-only connection (see ``storage.queries``).

Run through :class:`storage.read_pool.ReadPool`; each is served by an index (``DIGEST_READS``
for the query-plan test): the due digests by ``digests_due`` (next_due_at), one user's alert
firings by ``alert_firings_by_user`` (user_id, fired_at).
"""

from __future__ import annotations

from storage.engine import Connection
from typing import Any

from messages.digest import DigestRecord, FiringRecord

__all__ = ["DIGEST_READS", "FIRINGS_SHOWN", "digest_of", "due_digests", "firings_since"]

FIRINGS_SHOWN = 20
"""How many alert firings one digest lists at most (the newest)."""

_COLUMNS = "user_id, chat_id, minute, next_due_at, last_day, missed_day, created_at"
_DUE = (
    f"SELECT {_COLUMNS} FROM digests WHERE next_due_at <= :now"
    " ORDER BY next_due_at LIMIT :limit"
)
_DIGEST_OF = f"SELECT {_COLUMNS} FROM digests WHERE user_id = :user_id"
_FIRINGS_SINCE = (
    "SELECT f.alert_id, f.fired_at, f.symbol, f.kind, f.value, a.direction, a.price,"
    " a.interval FROM alert_firings AS f LEFT JOIN alerts AS a ON a.id = f.alert_id"
    " WHERE f.user_id = :user_id AND f.fired_at >= :since"
    " ORDER BY f.fired_at DESC LIMIT :limit"
)

DIGEST_READS: dict[str, str] = {
    "due_digests": _DUE,
    "digest_of": _DIGEST_OF,
    "firings_since": _FIRINGS_SINCE,
}
"""The digest's read SQL, by the name of the function that runs it."""


def _record(row: tuple[Any, ...]) -> DigestRecord:
    user_id, chat_id, minute, next_due_at, last_day, missed_day, created_at = row
    return DigestRecord(user_id=user_id, chat_id=chat_id, minute=minute,
                        next_due_at=next_due_at, last_day=last_day, missed_day=missed_day,
                        created_at=created_at)


def due_digests(conn: Connection, now: float, limit: int) -> tuple[DigestRecord, ...]:
    """At most ``limit`` digests whose ``next_due_at`` has come, the longest waiting first."""
    return tuple(map(_record, conn.execute(_DUE, {"now": now, "limit": limit})))


def digest_of(conn: Connection, user_id: int) -> DigestRecord | None:
    """The user's digest, None when they have none."""
    row = conn.execute(_DIGEST_OF, {"user_id": user_id}).fetchone()
    return None if row is None else _record(row)


def firings_since(conn: Connection, user_id: int, since: float,
                  limit: int = FIRINGS_SHOWN) -> tuple[FiringRecord, ...]:
    """The user's alert crossings since ``since`` (epoch s), oldest first, at most the
    ``limit`` newest."""
    rows = conn.execute(_FIRINGS_SINCE, {"user_id": user_id, "since": since,
                                         "limit": limit}).fetchall()
    return tuple(FiringRecord(alert_id=row[0], fired_at=row[1], symbol=row[2], kind=row[3],
                              value=row[4], direction=row[5], level=row[6], interval=row[7])
                 for row in reversed(rows))
