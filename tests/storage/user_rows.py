"""Rows of every kind one user can have, inserted with plain SQL (the alert kinds, the firing
log and the digest are written by code other than /export's and /forget's)."""

from __future__ import annotations

import json

from storage.engine import Connection

NOW = 1_750_000_000.0

ALERT_COLUMNS = ("user_id, chat_id, symbol, kind, direction, price, interval, base_price,"
                 " recurring, cooldown_s, armed_from, expires_at, ended, created_at, fired_at,"
                 " fired_price, notified_at, request_key")


def fill_user(conn: Connection, user_id: int, *, chat_id: int | None = None,
              commands: int = 3) -> None:
    """A user with settings, four alerts (price, percent, recurring rsi, expired), two
    firings, a watchlist of two, a digest at 08:30 and ``commands`` command-log rows."""
    chat = user_id if chat_id is None else chat_id
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(
        "INSERT INTO users (user_id, chat_id, username, first_seen, last_seen, settings)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (user_id, chat, f"user{user_id}", NOW - 86_400, NOW,
         json.dumps({"timezone": "Europe/Berlin", "quiet": "23:00-07:00", "style": "detailed"})))
    rows = [
        (user_id, chat, "BTCUSDT", "price", "above", 70_000.0, None, None, 0, 0.0, None, None,
         None, NOW - 3600, None, None, None, f"{user_id}-a"),
        (user_id, chat, "ETHUSDT", "percent", "below", 2_700.0, None, 3_000.0, 0, 0.0, None,
         NOW + 7 * 86_400, None, NOW - 1800, None, None, None, f"{user_id}-b"),
        (user_id, chat, "SOLUSDT", "rsi", "below", 30.0, "4h", None, 1, 3600.0, NOW + 600,
         None, None, NOW - 900, NOW - 60, 28.5, NOW - 59, f"{user_id}-c"),
        (user_id, chat, "ADAUSDT", "price", "above", 1.5, None, None, 0, 0.0, None, NOW - 10,
         "expired", NOW - 7200, None, None, None, f"{user_id}-d"),
    ]
    conn.executemany(f"INSERT INTO alerts ({ALERT_COLUMNS}) VALUES"
                     f" ({', '.join('?' * 18)})", rows)
    rsi_id = conn.execute("SELECT id FROM alerts WHERE request_key = ?",
                          (f"{user_id}-c",)).fetchone()[0]
    conn.executemany(
        "INSERT INTO alert_firings (alert_id, fired_at, user_id, symbol, kind, value)"
        " VALUES (?, ?, ?, 'SOLUSDT', 'rsi', ?)",
        [(rsi_id, NOW - 4000, user_id, 29.1), (rsi_id, NOW - 60, user_id, 28.5)])
    conn.executemany("INSERT INTO watchlist (user_id, symbol, added_at) VALUES (?, ?, ?)",
                     [(user_id, "BTCUSDT", NOW - 500), (user_id, "DOGEUSDT", NOW - 400)])
    conn.execute(
        "INSERT INTO digests (user_id, chat_id, minute, next_due_at, last_day, created_at)"
        " VALUES (?, ?, 510, ?, '2025-06-15', ?)", (user_id, chat, NOW + 3600, NOW - 86_400))
    conn.executemany(
        "INSERT INTO command_log (request_id, user_id, command, latency_ms, outcome, at)"
        " VALUES (?, ?, ?, 12.5, 'ok', ?)",
        [(f"{user_id}-r{n}", user_id, "price", NOW - n) for n in range(commands)])
    conn.execute("COMMIT")


def rows_of(conn: Connection, user_id: int) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the user, table by table (SELECT *), to compare before and after."""
    tables = ("users", "alerts", "alert_firings", "watchlist", "digests", "command_log")
    # Sorted in Python: SQLite's rowid order has no PostgreSQL counterpart (whole rows compare).
    return {table: sorted(conn.execute(f"SELECT * FROM {table} WHERE user_id = ?", (user_id,)
                                       ).fetchall(), key=repr) for table in tables}
