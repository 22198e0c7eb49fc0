"""The database schema as a list of forward migrations, numbered by ``PRAGMA user_version``.

A database from any older version upgrades in place at start: each pending step runs in its
own ``BEGIN IMMEDIATE`` transaction together with the bump of ``user_version`` (which SQLite
stores in the file header, inside the same transaction), so a crash or an error mid-step leaves
the file exactly at the previous version. Steps are never edited once released; changes are
new steps. A file *newer* than this code is refused rather than guessed at.

sqlite-utils builds the plain tables and columns (types, primary keys, NOT NULL, defaults read
better as a dict than as DDL text); raw SQL covers what it cannot express: ``WITHOUT ROWID``
tables, partial indexes and data fixes.

History:

1. users, alerts, watchlist: the first release.
2. candles and the command log (for ``/stats``), users by last seen.
3. restart-safe one-shot alerts: an idempotency key per request, ``fired_price`` and
   ``notified_at`` (an outbox column: fired but not yet notified), and the sweep's indexes.
4. alert kinds (price, percent, RSI), recurring alerts with a cool-down, expiry
   (``ended``: NULL while an alert may still fire), the firing log (``alert_firings``, one
   row per crossing, for the digest) and the daily digest's schedule (``digests``).
5. the command log by user (``/forget`` deletes and ``/export`` counts a user's rows).
6. notice claims (``notice_claimed_by``, ``notice_claimed_until``): with several instances on
   one PostgreSQL database, the one that claimed a notice sends it (``storage.notices``).

PostgreSQL runs the same steps written as plain DDL (``storage.pg_schema``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import sqlite_utils

from storage.engine import is_postgres
from storage.errors import SchemaError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "TABLES", "migrate", "schema_version"]

Migration = Callable[[sqlite_utils.Database], None]


def _v1_users_alerts_watchlist(db: sqlite_utils.Database) -> None:
    db.table("users").create(
        {"user_id": int, "chat_id": int, "username": str, "first_seen": float,
         "last_seen": float, "settings": str},
        pk="user_id",
        not_null={"chat_id", "first_seen", "last_seen", "settings"},
        defaults={"settings": "{}"},
    )
    db.table("alerts").create(
        {"id": int, "user_id": int, "chat_id": int, "symbol": str, "direction": str,
         "price": float, "created_at": float, "fired_at": float},
        pk="id",
        not_null={"user_id", "chat_id", "symbol", "direction", "price", "created_at"},
    )
    db.table("alerts").create_index(["user_id"], index_name="alerts_user")
    db.table("watchlist").create(
        {"user_id": int, "symbol": str, "added_at": float},
        pk=("user_id", "symbol"),
        not_null={"added_at"},
    )


def _v2_candles_command_log(db: sqlite_utils.Database) -> None:
    # WITHOUT ROWID clusters rows by (symbol, interval, open_time): a range read is one
    # B-tree walk, and an upsert touches one tree instead of a table plus an index.
    db.execute(
        """
        CREATE TABLE candles (
            symbol TEXT NOT NULL,
            interval TEXT NOT NULL,
            open_time INTEGER NOT NULL,
            open REAL NOT NULL,
            high REAL NOT NULL,
            low REAL NOT NULL,
            close REAL NOT NULL,
            volume REAL NOT NULL,
            PRIMARY KEY (symbol, interval, open_time)
        ) WITHOUT ROWID
        """
    )
    db.table("command_log").create(
        {"id": int, "request_id": str, "user_id": int, "command": str, "latency_ms": float,
         "outcome": str, "at": float},
        pk="id",
        not_null={"request_id", "command", "latency_ms", "outcome", "at"},
    )
    # Unique so a redelivered or requeued LogCommand is stored once.
    db.table("command_log").create_index(["request_id", "command"],
                                         index_name="command_log_request", unique=True)
    # Covering for /stats: the time range plus everything it aggregates.
    db.table("command_log").create_index(["at", "command", "outcome", "latency_ms"],
                                         index_name="command_log_at")
    db.table("users").create_index(["last_seen"], index_name="users_last_seen")


def _v3_one_shot_alerts(db: sqlite_utils.Database) -> None:
    alerts = db.table("alerts")
    alerts.add_column("request_key", str)
    alerts.add_column("fired_price", float)
    alerts.add_column("notified_at", float)
    # Version 2 notified as it fired, so anything fired then was delivered; without this the
    # upgrade would resend every old notification.
    db.execute("UPDATE alerts SET notified_at = fired_at WHERE fired_at IS NOT NULL")
    db.execute("DROP INDEX alerts_user")
    # One statement per execute(): executescript() would COMMIT the open transaction first.
    for statement in (
        "CREATE INDEX alerts_by_user ON alerts (user_id, fired_at)",
        "CREATE UNIQUE INDEX alerts_request ON alerts (user_id, request_key)",
        "CREATE INDEX alerts_active ON alerts (symbol, direction, price) WHERE fired_at IS NULL",
        "CREATE INDEX alerts_unnotified ON alerts (fired_at)"
        " WHERE fired_at IS NOT NULL AND notified_at IS NULL",
    ):
        db.execute(statement)


def _v4_alert_columns(db: sqlite_utils.Database) -> None:
    alerts = db.table("alerts")
    # kind: price (a level), percent (a level computed from base_price when set), rsi (RSI(14)
    # of `interval` crossing the level kept in `price`).
    alerts.add_column("kind", str, not_null_default="price")
    alerts.add_column("interval", str)
    alerts.add_column("base_price", float)
    alerts.add_column("recurring", int, not_null_default=0)
    alerts.add_column("cooldown_s", float, not_null_default=0.0)
    alerts.add_column("armed_from", float)
    alerts.add_column("expires_at", float)
    alerts.add_column("ended", str)
    # Version 3's alerts were all one-shot: a fired one is finished.
    db.execute("UPDATE alerts SET ended = 'fired' WHERE fired_at IS NOT NULL")
    # The sweep's partial indexes, one per kind and state, so each of its statements is a range
    # search over just the rows it may touch: armed level alerts (price and percent both fire
    # on the price), recurring ones waiting for their condition to clear, the same two for RSI
    # (keyed by interval too), what must be priced or computed, what expires, and the outbox
    # of notices still to send (a firing, or an expiry).
    db.execute("DROP INDEX alerts_active")
    db.execute("DROP INDEX alerts_unnotified")
    for statement in (
        ("CREATE INDEX alerts_armed ON alerts (symbol, direction, price)"
         " WHERE fired_at IS NULL AND ended IS NULL AND kind <> 'rsi'"),
        ("CREATE INDEX alerts_waiting ON alerts (symbol, direction, price)"
         " WHERE fired_at IS NOT NULL AND ended IS NULL AND kind <> 'rsi'"),
        ("CREATE INDEX alerts_rsi_armed ON alerts (symbol, interval, direction, price)"
         " WHERE fired_at IS NULL AND ended IS NULL AND kind = 'rsi'"),
        ("CREATE INDEX alerts_rsi_waiting ON alerts (symbol, interval, direction, price)"
         " WHERE fired_at IS NOT NULL AND ended IS NULL AND kind = 'rsi'"),
        "CREATE INDEX alerts_live_symbols ON alerts (symbol) WHERE ended IS NULL AND kind <> 'rsi'",
        ("CREATE INDEX alerts_live_rsi ON alerts (symbol, interval)"
         " WHERE ended IS NULL AND kind = 'rsi'"),
        ("CREATE INDEX alerts_expiring ON alerts (expires_at)"
         " WHERE expires_at IS NOT NULL AND ended IS NULL"),
        ("CREATE INDEX alerts_unnotified ON alerts (user_id, id)"
         " WHERE notified_at IS NULL AND (fired_at IS NOT NULL OR ended = 'expired')"),
    ):
        db.execute(statement)


def _v4_alert_firings(db: sqlite_utils.Database) -> None:
    db.table("alert_firings").create(
        {"alert_id": int, "fired_at": float, "user_id": int, "symbol": str, "kind": str,
         "value": float},
        pk=("alert_id", "fired_at"),
        not_null={"user_id", "symbol", "kind"},
    )
    db.table("alert_firings").create_index(["user_id", "fired_at"],
                                           index_name="alert_firings_by_user")
    # Pruning deletes the oldest firings first (a recurring alert may fire every minute).
    db.table("alert_firings").create_index(["fired_at"], index_name="alert_firings_at")
    db.execute("INSERT INTO alert_firings (alert_id, fired_at, user_id, symbol, kind, value)"
               " SELECT id, fired_at, user_id, symbol, 'price', fired_price FROM alerts"
               " WHERE fired_at IS NOT NULL")


def _v4_digests(db: sqlite_utils.Database) -> None:
    # minute: local minute of day (the user's zone); last_day: the latest local day settled
    # (ISO date: sent, skipped after downtime, or already past when set) - a day is claimed
    # here, committed, before its digest is sent, so it is never sent twice; missed_day: a day
    # skipped after downtime, for the next digest to mention. docs/storage.md has the argument.
    db.table("digests").create(
        {"user_id": int, "chat_id": int, "minute": int, "next_due_at": float,
         "last_day": str, "missed_day": str, "created_at": float},
        pk="user_id",
        not_null={"chat_id", "minute", "next_due_at", "created_at"},
    )
    db.table("digests").create_index(["next_due_at"], index_name="digests_due")


def _v4_user_features(db: sqlite_utils.Database) -> None:
    _v4_alert_columns(db)
    _v4_alert_firings(db)
    _v4_digests(db)


def _v5_command_log_by_user(db: sqlite_utils.Database) -> None:
    # /forget deletes and /export counts a user's command-log rows inside the writer's
    # transaction: without this index that is a scan of 30 days of commands.
    db.execute("CREATE INDEX command_log_by_user ON command_log (user_id)")


def _v6_notice_claims(db: sqlite_utils.Database) -> None:
    # Who is sending a notice, and until when that claim holds (an instance that died while
    # sending leaves it to another once the claim has run out).
    alerts = db.table("alerts")
    alerts.add_column("notice_claimed_by", str)
    alerts.add_column("notice_claimed_until", float)


MIGRATIONS: tuple[Migration, ...] = (
    _v1_users_alerts_watchlist,
    _v2_candles_command_log,
    _v3_one_shot_alerts,
    _v4_user_features,
    _v5_command_log_by_user,
    _v6_notice_claims,
)
"""Step ``n`` (1-based) brings a database from version ``n - 1`` to ``n``."""

SCHEMA_VERSION = len(MIGRATIONS)
TABLES = ("users", "alerts", "watchlist", "candles", "command_log", "alert_firings", "digests")


def schema_version(conn: sqlite3.Connection) -> int:
    if is_postgres(conn):
        from storage.pg_schema import pg_schema_version

        return pg_schema_version(conn)
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, *, target: int = SCHEMA_VERSION) -> tuple[int, int]:
    """Run the pending steps up to ``target``; returns (version before, version after).

    ``conn`` must be in autocommit mode (``isolation_level=None``): each step opens its own
    transaction. Raises :class:`SchemaError` for a newer file or a failing step (rolled back).
    """
    if is_postgres(conn):
        from storage.pg_schema import migrate_pg

        return migrate_pg(conn, target=target)
    before = schema_version(conn)
    if before > SCHEMA_VERSION:
        raise SchemaError(
            f"the database has schema version {before}, newer than this cryptobot understands "
            f"({SCHEMA_VERSION}); upgrade cryptobot or restore a backup"
        )
    db = sqlite_utils.Database(conn, execute_plugins=False, recursive_triggers=False)
    for version in range(before + 1, target + 1):
        step = MIGRATIONS[version - 1]
        conn.execute("BEGIN IMMEDIATE")
        try:
            step(db)
            # PRAGMA takes no bound parameters; version is an int from range().
            conn.execute(f"PRAGMA user_version = {version:d}")
            conn.execute("COMMIT")
        except (sqlite3.Error, sqlite_utils.db.AlterError) as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise SchemaError(f"migration to schema version {version} failed: {exc}") from exc
    return before, max(before, target)
