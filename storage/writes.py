"""Every write the db_writer applies, as plain functions over an open transaction.

Each function runs inside the writer's ``BEGIN IMMEDIATE`` transaction, within a savepoint of
its own, and either returns the answer for the caller or raises a ``NotSaved``, after which the
writer rolls that one write back to its savepoint and keeps the rest of the batch. Limits are
checked here, in the same transaction as the insert, so two concurrent requests can never both
take the last free slot.

Raw ``sqlite3`` rather than sqlite-utils on purpose: these statements run thousands of times a
second, and a plain ``execute`` with a constant SQL string hits sqlite3's statement cache,
while sqlite-utils builds SQL text per call (see ``bench/storage.py`` for the difference).
Every statement is idempotent, so a write redelivered after a crash changes nothing twice.
"""

from __future__ import annotations

import json
from storage.engine import Connection, lock_user
from collections.abc import Sequence
from dataclasses import dataclass

from messages.storage import (
    AddAlert,
    DeleteAlert,
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
from storage.alert_rules import check_alert, check_alert_fields, check_symbol
from storage.digest_writes import reschedule_digest
from storage.errors import AlertNotFound, InvalidWrite, LimitReached, NotYours
from storage.queries import UNNOTIFIED_WHERE
from storage.sweep import PG_SWEEP_STATEMENTS, SWEEP_STATEMENTS, fire_crossed_alerts
from users.settings import (
    SETTING_KEYS,
    InvalidSetting,
    normalize,
    parse_duration,
    stored_object,
)

__all__ = [
    "HOT_WRITES",
    "PG_HOT_WRITES",
    "WriteRules",
    "add_alert",
    "delete_alert",
    "fire_crossed_alerts",
    "log_commands",
    "mark_notified",
    "rearm_alert",
    "save_settings",
    "store_candles",
    "touch_users",
    "unwatch",
    "watch",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class WriteRules:
    """Per-user limits, enforced atomically with the write."""

    max_alerts_per_user: int = 50
    """Live alerts (every kind, recurring ones included) one user may hold."""
    max_watchlist: int = 50
    """Symbols on one watchlist (one ticker call must price them all)."""


_ALERT_BY_KEY = "SELECT id FROM alerts WHERE user_id = :user_id AND request_key = :key"
# The same condition (kind, symbol, interval, direction, level, recurring) and the same expiry
# live twice is one. Another expiry is another alert: the confirmation describes the alert asked
# for, so answering with a twin that ends otherwise (or never) would promise what is not stored.
_SAME_ACTIVE_ALERT = (
    "SELECT id FROM alerts WHERE user_id = :user_id AND ended IS NULL"
    " AND symbol = :symbol AND direction = :direction AND price = :price AND kind = :kind"
    " AND interval IS :interval AND recurring = :recurring AND expires_at IS :expires_at"
)
_ACTIVE_ALERT_COUNT = "SELECT COUNT(*) FROM alerts WHERE user_id = :user_id AND ended IS NULL"
_INSERT_ALERT = (
    "INSERT INTO alerts (user_id, chat_id, symbol, direction, price, created_at, request_key,"
    " kind, interval, base_price, recurring, cooldown_s, expires_at)"
    " VALUES (:user_id, :chat_id, :symbol, :direction, :price, :now, :key,"
    " :kind, :interval, :base_price, :recurring, :cooldown_s, :expires_at) RETURNING id"
)
_ALERT_OWNER = "SELECT user_id, ended FROM alerts WHERE id = :alert_id"
_DELETE_ALERT = "DELETE FROM alerts WHERE id = :alert_id"
# A finished alert armed again keeps its lifetime: one set "for 7d" lives 7 more days. One that
# fired comes back live *waiting to clear*, like a recurring alert (the sweep arms it once its
# value is back across the level, and only after its notice is out, which stays in the
# outbox): armed at once, it would tell the same crossing again at the next sweep. An expired
# one's firing, if any, was told before it could expire.
_REARM_ALERT = (
    "UPDATE alerts SET ended = NULL, armed_from = NULL,"
    " notified_at = CASE WHEN fired_at IS NULL THEN NULL"
    " WHEN ended = 'expired' THEN coalesce(notified_at, :now) ELSE notified_at END,"
    " expires_at = CASE WHEN expires_at IS NULL THEN NULL"
    " ELSE :now + max(expires_at - created_at, 0) END, created_at = :now WHERE id = :alert_id"
)
# What the alert would be once re-armed, to find a live twin (the same condition set again).
_REARMED_CONDITION = (
    "SELECT symbol, direction, price, kind, interval, recurring, CASE WHEN expires_at IS NULL"
    " THEN NULL ELSE :now + max(expires_at - created_at, 0) END FROM alerts WHERE id = :alert_id"
)
_WATCHLIST_SIZE = "SELECT COUNT(*) FROM watchlist WHERE user_id = :user_id"
_WATCH = (
    "INSERT INTO watchlist (user_id, symbol, added_at) VALUES (:user_id, :symbol, :now)"
    " ON CONFLICT (user_id, symbol) DO NOTHING"
)
_UNWATCH = "DELETE FROM watchlist WHERE user_id = :user_id AND symbol = :symbol"
_USER_SETTINGS = "SELECT settings FROM users WHERE user_id = :user_id"
_LIVE_RECURRING_COOLDOWN = (
    "UPDATE alerts SET cooldown_s = :cooldown_s"
    " WHERE user_id = :user_id AND recurring = 1 AND ended IS NULL"
)
_UPSERT_SETTINGS = (
    "INSERT INTO users (user_id, chat_id, first_seen, last_seen, settings)"
    " VALUES (:user_id, :chat_id, :now, :now, :settings)"
    " ON CONFLICT (user_id) DO UPDATE SET settings = excluded.settings"
)
# Order-insensitive, so batched or requeued sightings in any order give the same row: the
# latest sighting's chat and name win, first/last seen are min/max.
_TOUCH_USER = (
    "INSERT INTO users (user_id, chat_id, username, first_seen, last_seen)"
    " VALUES (:user_id, :chat_id, :username, :seen_at, :seen_at)"
    " ON CONFLICT (user_id) DO UPDATE SET"
    # Qualified: PostgreSQL finds a bare column ambiguous next to ``excluded``.
    " chat_id = CASE WHEN excluded.last_seen >= users.last_seen THEN excluded.chat_id"
    " ELSE users.chat_id END,"
    " username = CASE WHEN excluded.last_seen >= users.last_seen THEN excluded.username"
    " ELSE users.username END,"
    " first_seen = min(users.first_seen, excluded.first_seen),"
    " last_seen = max(users.last_seen, excluded.last_seen)"
)
_LOG_COMMAND = (
    "INSERT INTO command_log (request_id, user_id, command, latency_ms, outcome, at)"
    " VALUES (:request_id, :user_id, :command, :latency_ms, :outcome, :at)"
    " ON CONFLICT (request_id, command) DO NOTHING"
)
_UPSERT_CANDLE = (
    "INSERT INTO candles (symbol, interval, open_time, open, high, low, close, volume)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (symbol, interval, open_time) DO UPDATE SET open = excluded.open,"
    " high = excluded.high, low = excluded.low, close = excluded.close, volume = excluded.volume"
)
# The sweep's statements live in storage.sweep (why that SQL is shaped so is said there).
_MARK_NOTIFIED = (
    "UPDATE alerts SET notified_at = :notified_at"
    f" WHERE id = :alert_id AND {UNNOTIFIED_WHERE}"
)
# By the sender: a mark retried after its claim ran out (another instance sent the notice, the
# alert fired again) must not mark the newer notice, which nobody has sent.
_MARK_NOTIFIED_BY = _MARK_NOTIFIED + " AND notice_claimed_by = :claimant"

HOT_WRITES: dict[str, str] = {
    "alert_by_key": _ALERT_BY_KEY,
    "same_active_alert": _SAME_ACTIVE_ALERT,
    "active_alert_count": _ACTIVE_ALERT_COUNT,
    "alert_owner": _ALERT_OWNER,
    "delete_alert": _DELETE_ALERT,
    "rearm_alert": _REARM_ALERT,
    "rearmed_condition": _REARMED_CONDITION,
    "watchlist_size": _WATCHLIST_SIZE,
    "unwatch": _UNWATCH,
    "user_settings": _USER_SETTINGS,
    "live_recurring_cooldown": _LIVE_RECURRING_COOLDOWN,
    **SWEEP_STATEMENTS,
    "mark_notified": _MARK_NOTIFIED,
    "mark_notified_by": _MARK_NOTIFIED_BY,
}
"""Statements with a WHERE clause on the writer's paths (the query-plan test checks them)."""
PG_HOT_WRITES: dict[str, str] = {**HOT_WRITES, **PG_SWEEP_STATEMENTS}
"""The same on PostgreSQL (the sweep's reads spelled PostgreSQL's way)."""


def _count(conn: Connection, sql: str, **params: object) -> int:
    return int(conn.execute(sql, params).fetchone()[0])


def add_alert(conn: Connection, message: AddAlert, *, now: float,
              rules: WriteRules) -> Saved:
    check_alert(message.symbol, message.direction, message.price)
    check_alert_fields(kind=message.kind, price=message.price, interval=message.interval,
                       base_price=message.base_price, cooldown_s=message.cooldown_s,
                       expires_at=message.expires_at)
    lock_user(conn, message.user_id)
    keys = {"user_id": message.user_id, "key": message.request_id}
    existing = conn.execute(_ALERT_BY_KEY, keys).fetchone()
    if existing is not None:
        return Saved(changed=False, alert_id=int(existing[0]))
    same = {"user_id": message.user_id, "symbol": message.symbol,
            "direction": message.direction, "price": float(message.price),
            "kind": message.kind, "interval": message.interval,
            "recurring": int(message.recurring), "expires_at": message.expires_at}
    duplicate = conn.execute(_SAME_ACTIVE_ALERT, same).fetchone()
    if duplicate is not None:
        return Saved(changed=False, alert_id=int(duplicate[0]))
    if _count(conn, _ACTIVE_ALERT_COUNT, user_id=message.user_id) >= rules.max_alerts_per_user:
        raise LimitReached("active alerts", rules.max_alerts_per_user)
    row = conn.execute(_INSERT_ALERT, {
        **same, **keys, "chat_id": message.chat_id, "now": now,
        "base_price": message.base_price, "cooldown_s": float(message.cooldown_s)}).fetchone()
    return Saved(changed=True, alert_id=int(row[0]))


def _owned_alert(conn: Connection, user_id: int, alert_id: int) -> tuple[int, str | None]:
    row = conn.execute(_ALERT_OWNER, {"alert_id": alert_id}).fetchone()
    if row is None:
        raise AlertNotFound(alert_id)
    if row[0] != user_id:
        raise NotYours(alert_id)
    return int(row[0]), row[1]


def delete_alert(conn: Connection, message: DeleteAlert) -> Saved:
    _owned_alert(conn, message.user_id, message.alert_id)
    conn.execute(_DELETE_ALERT, {"alert_id": message.alert_id})
    return Saved(changed=True, alert_id=message.alert_id)


def rearm_alert(conn: Connection, message: RearmAlert, *, now: float,
                rules: WriteRules) -> Saved:
    lock_user(conn, message.user_id)
    _, ended = _owned_alert(conn, message.user_id, message.alert_id)
    if ended is None:  # live: armed, or a recurring alert that re-arms by itself
        return Saved(changed=False, alert_id=message.alert_id)
    # The same condition set again meanwhile: that one is answered, never a second live copy
    # (two would tell every crossing twice).
    params = {"alert_id": message.alert_id, "now": now}
    row = conn.execute(_REARMED_CONDITION, params).fetchone()
    twin = conn.execute(_SAME_ACTIVE_ALERT, dict(zip(
        ("symbol", "direction", "price", "kind", "interval", "recurring", "expires_at"), row),
        user_id=message.user_id)).fetchone()
    if twin is not None:
        return Saved(changed=False, alert_id=int(twin[0]))
    if _count(conn, _ACTIVE_ALERT_COUNT, user_id=message.user_id) >= rules.max_alerts_per_user:
        raise LimitReached("active alerts", rules.max_alerts_per_user)
    if conn.execute(_REARM_ALERT, params).rowcount != 1:
        # PostgreSQL: deleted (/delete, /forget) by another instance since it was read above.
        raise AlertNotFound(message.alert_id)
    return Saved(changed=True, alert_id=message.alert_id)


def watch(conn: Connection, message: Watch, *, now: float, rules: WriteRules) -> Saved:
    check_symbol(message.symbol)
    lock_user(conn, message.user_id)
    params = {"user_id": message.user_id, "symbol": message.symbol, "now": now}
    if conn.execute(_WATCH, params).rowcount == 1:
        if _count(conn, _WATCHLIST_SIZE, user_id=message.user_id) > rules.max_watchlist:
            # Raising makes the writer roll this write back to its savepoint.
            raise LimitReached("symbols on your watchlist", rules.max_watchlist)
        return Saved(changed=True)
    return Saved(changed=False)


def unwatch(conn: Connection, message: Unwatch) -> Saved:
    params = {"user_id": message.user_id, "symbol": message.symbol}
    return Saved(changed=conn.execute(_UNWATCH, params).rowcount == 1)


def save_settings(conn: Connection, message: SaveSettings, *, now: float) -> Saved:
    """Merge the pairs into the user's settings; a new cool-down also goes to the user's live
    recurring alerts, in the same transaction, so the two never disagree."""
    for key, value in message.settings:
        _check_setting(key, value)
    # PostgreSQL: another instance's save for this user would read the settings before this
    # one commits and then write its merge over it (a lost update): one at a time.
    lock_user(conn, message.user_id)
    row = conn.execute(_USER_SETTINGS, {"user_id": message.user_id}).fetchone()
    stored = stored_object(None if row is None else row[0])  # {} for a hand-edited row
    merged = {**stored, **dict(message.settings)}
    conn.execute(_UPSERT_SETTINGS, {"user_id": message.user_id, "chat_id": message.chat_id,
                                    "now": now, "settings": json.dumps(merged, sort_keys=True)})
    if merged.get("timezone") != stored.get("timezone"):  # the digest follows the new zone
        reschedule_digest(conn, message.user_id, now=now)
    updated = 0
    if "cooldown" in dict(message.settings):
        cooldown_s = parse_duration(dict(message.settings)["cooldown"])
        updated = conn.execute(_LIVE_RECURRING_COOLDOWN, {
            "user_id": message.user_id, "cooldown_s": cooldown_s}).rowcount
    return Saved(changed=merged != stored, alerts_updated=max(0, updated))


def _check_setting(key: str, value: str) -> None:
    """A catalogue key must come with its canonical value (``users.settings.normalize``);
    other keys are stored as they are (a newer release's, or a test's)."""
    if key not in SETTING_KEYS:
        return
    try:
        canonical = normalize(key, value)
    except InvalidSetting as exc:
        raise InvalidWrite(exc.problem) from exc
    if canonical != (key, value):
        raise InvalidWrite(f"the {key} setting must be stored as {canonical[1]!r}")


def mark_notified(conn: Connection, message: MarkNotified) -> Saved:
    sql = _MARK_NOTIFIED if message.claimant is None else _MARK_NOTIFIED_BY
    cursor = conn.executemany(sql, ({"alert_id": alert_id, "notified_at": message.notified_at,
                                     "claimant": message.claimant}
                                    for alert_id in message.alert_ids))
    return Saved(changed=cursor.rowcount > 0)


def touch_users(conn: Connection, messages: Sequence[TouchUser]) -> None:
    # In key order: two instances upserting the same users lock their rows in the same order
    # (PostgreSQL), so they wait for each other instead of deadlocking.
    conn.executemany(_TOUCH_USER, ({"user_id": m.user_id, "chat_id": m.chat_id,
                                    "username": m.username, "seen_at": m.seen_at}
                                   for m in sorted(messages, key=lambda m: m.user_id)))


def log_commands(conn: Connection, messages: Sequence[LogCommand]) -> None:
    conn.executemany(_LOG_COMMAND, ({"request_id": m.request_id, "user_id": m.user_id,
                                     "command": m.command, "latency_ms": m.latency_ms,
                                     "outcome": m.outcome, "at": m.at}
                                    for m in sorted(messages,
                                                    key=lambda m: (m.request_id, m.command))))


def store_candles(conn: Connection, message: StoreCandles) -> None:
    symbol, interval = message.symbol, message.interval
    conn.executemany(_UPSERT_CANDLE, ((symbol, interval, *row) for row in message.rows))

