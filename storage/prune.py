"""Keeping history bounded: old command-log rows, fired alerts past a per-user count, candles
past a per-series count are deleted, a bounded amount per run.

Without it every table but the active alerts grew forever (a user held 160 fired alerts under
a cap of 50 active ones, and ``/alerts`` read every row). The writer calls :func:`prune` from
its own timer, between batches; one run deletes at most ``batch_rows`` rows, each table in its
own short transaction, so a write never waits long behind it. When a run stops at that bound it
says so (``more``) and the writer runs it again after the writes queued meanwhile.

Which rows go:

* ``command_log`` rows older than ``command_log_days`` (oldest first, by the ``at`` index);
* ``alert_firings`` rows (the firing log: the digest reads a day of it, ``/export`` shows it)
  older than ``firings_days``, oldest first by the ``fired_at`` index: a recurring alert may
  fire once a minute, so the log is bounded by age like the command log;
* finished (fired one-shot or expired) **and notified** alerts of a user beyond the newest
  ``fired_alerts_per_user`` (an alert still to be notified is never deleted; live ones,
  recurring alerts included, are never touched);
* candles of a (symbol, interval) beyond the newest ``candles_per_series``.

Alerts and candles are visited by a cursor (users by id, series by key) that walks
``users_per_run`` users and ``series_per_run`` series per run and wraps around, so each run's
work is bounded however many users or series there are, and every one is visited in turn.
Every statement is an index seek or range (``tests/storage/test_prune.py`` checks the plans).
"""

from __future__ import annotations

from storage.engine import Connection, is_postgres
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["PG_PRUNE_STATEMENTS", "PRUNE_STATEMENTS", "PruneCursor", "PruneResult",
           "RetentionRules", "prune"]

_DAY_S = 86_400.0


@dataclass(frozen=True, slots=True, kw_only=True)
class RetentionRules:
    """How much history is kept, and how much one run may delete."""

    command_log_days: float = 30.0
    firings_days: float = 30.0
    fired_alerts_per_user: int = 20
    candles_per_series: int = 5_000
    batch_rows: int = 5_000
    """The most rows one run deletes, all tables together."""
    users_per_run: int = 500
    series_per_run: int = 100


@dataclass(slots=True)
class PruneCursor:
    """Where the last run stopped (the writer keeps one; a restart starts over, harmlessly)."""

    user_id: int = 0
    """The last user whose fired alerts were fully pruned."""
    series: tuple[str, str] = ("", "")
    """The last (symbol, interval) fully pruned."""


@dataclass(frozen=True, slots=True)
class PruneResult:
    """What one run deleted."""

    command_log: int = 0
    alerts: int = 0
    candles: int = 0
    firings: int = 0
    more: bool = False
    """The run stopped at ``batch_rows``: more may be due at once."""

    @property
    def total(self) -> int:
        return self.command_log + self.alerts + self.candles + self.firings


_OLD_COMMANDS = (
    "DELETE FROM command_log WHERE id IN ("
    "SELECT id FROM command_log WHERE at < :cutoff ORDER BY at LIMIT :limit)"
)
_OLD_FIRINGS = (
    "DELETE FROM alert_firings WHERE rowid IN ("
    "SELECT rowid FROM alert_firings WHERE fired_at < :cutoff ORDER BY fired_at LIMIT :limit)"
)
_NEXT_ALERT_USER = "SELECT MIN(user_id) FROM alerts WHERE user_id > :after"
# Newest first by when each ended: an expired alert's expiry (an unfired one has no fired_at,
# and NULLs sorting last made the alert that just expired the first to go, Re-arm and all).
# The conditions again on the deleted row itself: on PostgreSQL another instance may re-arm the
# alert while this waits for its row, and only the outer conditions are checked again then.
_EXCESS_FIRED = (
    "DELETE FROM alerts WHERE ended IS NOT NULL AND notified_at IS NOT NULL AND id IN ("
    "SELECT id FROM alerts WHERE user_id = :user_id AND ended IS NOT NULL"
    " AND notified_at IS NOT NULL ORDER BY coalesce(CASE WHEN ended = 'expired'"
    " THEN expires_at END, fired_at, created_at) DESC LIMIT :limit OFFSET :keep)"
)
_NEXT_SERIES = (
    "SELECT symbol, interval FROM candles WHERE (symbol, interval) > (:symbol, :interval)"
    " ORDER BY symbol, interval LIMIT 1"
)
_SERIES_CUTOFF = (
    "SELECT open_time FROM candles WHERE symbol = :symbol AND interval = :interval"
    " ORDER BY open_time DESC LIMIT 1 OFFSET :keep"
)
_OLD_CANDLES = (
    "DELETE FROM candles WHERE symbol = :symbol AND interval = :interval AND open_time IN ("
    "SELECT open_time FROM candles WHERE symbol = :symbol AND interval = :interval"
    " AND open_time <= :cutoff ORDER BY open_time LIMIT :limit)"
)

# PostgreSQL has no rowid: the primary key picks the same rows.
_PG_OLD_FIRINGS = (
    "DELETE FROM alert_firings WHERE (alert_id, fired_at) IN (SELECT alert_id, fired_at"
    " FROM alert_firings WHERE fired_at < :cutoff ORDER BY fired_at LIMIT :limit)"
)

PRUNE_STATEMENTS = {
    "old_commands": _OLD_COMMANDS,
    "old_firings": _OLD_FIRINGS,
    "next_alert_user": _NEXT_ALERT_USER,
    "excess_fired": _EXCESS_FIRED,
    "next_series": _NEXT_SERIES,
    "series_cutoff": _SERIES_CUTOFF,
    "old_candles": _OLD_CANDLES,
}
"""Every statement, by name, for the query-plan test."""
PG_PRUNE_STATEMENTS = {**PRUNE_STATEMENTS, "old_firings": _PG_OLD_FIRINGS}
"""The same on PostgreSQL."""


def prune(conn: Connection, rules: RetentionRules, cursor: PruneCursor, *,
          now: float) -> PruneResult:
    """One bounded run; ``cursor`` is advanced in place. ``conn`` is in autocommit mode."""
    budget = rules.batch_rows
    commands = _in_transaction(conn, lambda: _old_commands(conn, rules, now, budget))
    budget -= commands
    firings = 0
    if budget > 0:
        cutoff = now - rules.firings_days * _DAY_S
        old_firings = _PG_OLD_FIRINGS if is_postgres(conn) else _OLD_FIRINGS
        firings = _in_transaction(conn, lambda: conn.execute(
            old_firings, {"cutoff": cutoff, "limit": budget}).rowcount)
        budget -= firings
    alerts = 0
    if budget > 0:
        alerts = _in_transaction(conn, lambda: _excess_fired(conn, rules, cursor, budget))
        budget -= alerts
    candles = 0
    if budget > 0:
        candles = _in_transaction(conn, lambda: _old_candles(conn, rules, cursor, budget))
        budget -= candles
    return PruneResult(commands, alerts, candles, firings, more=budget <= 0)


def _in_transaction(conn: Connection, work: Callable[[], int]) -> int:
    conn.execute("BEGIN IMMEDIATE")
    try:
        deleted = work()
        conn.execute("COMMIT")
    except Exception:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return deleted


def _old_commands(conn: Connection, rules: RetentionRules, now: float,
                  budget: int) -> int:
    cutoff = now - rules.command_log_days * _DAY_S
    return conn.execute(_OLD_COMMANDS, {"cutoff": cutoff, "limit": budget}).rowcount


def _excess_fired(conn: Connection, rules: RetentionRules, cursor: PruneCursor,
                  budget: int) -> int:
    deleted = 0
    for _ in range(rules.users_per_run):
        user_id = conn.execute(_NEXT_ALERT_USER, {"after": cursor.user_id}).fetchone()[0]
        if user_id is None:
            cursor.user_id = 0  # wrapped: the next run starts from the first user again
            break
        left = budget - deleted
        removed = conn.execute(_EXCESS_FIRED, {"user_id": user_id, "limit": left,
                                               "keep": rules.fired_alerts_per_user}).rowcount
        deleted += removed
        if removed >= left:
            break  # this user may hold more: the next run starts with them again
        cursor.user_id = user_id
    return deleted


def _old_candles(conn: Connection, rules: RetentionRules, cursor: PruneCursor,
                 budget: int) -> int:
    deleted = 0
    for _ in range(rules.series_per_run):
        symbol, interval = cursor.series
        row = conn.execute(_NEXT_SERIES, {"symbol": symbol, "interval": interval}).fetchone()
        if row is None:
            cursor.series = ("", "")
            break
        series = {"symbol": row[0], "interval": row[1]}
        cutoff = conn.execute(_SERIES_CUTOFF,
                              {**series, "keep": rules.candles_per_series}).fetchone()
        if cutoff is not None:
            left = budget - deleted
            removed = conn.execute(_OLD_CANDLES,
                                   {**series, "cutoff": cutoff[0], "limit": left}).rowcount
            deleted += removed
            if removed >= left:
                break
        cursor.series = (row[0], row[1])
    return deleted
