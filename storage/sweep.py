"""The alert sweep's write: expire, re-arm what cleared, fire what is reached, in one transaction.

``FireCrossedAlerts`` carries this sweep's prices (one ticker call) and RSI values (closed
candles); :func:`fire_crossed_alerts` applies, in order:

1. **expire** live alerts whose ``expires_at`` has passed (``ended = 'expired'``,
   ``notified_at = NULL``: the owner is told once, through the same outbox as firings). One
   whose last firing is still to be notified waits a sweep or two, so no notice is lost;
2. **re-arm** recurring alerts that fired, were notified, and whose value is back across the
   level (``storage.alert_rules.cleared``): ``armed_from = fired_at + cooldown_s``, so a price
   sitting on the level fires at most once per cool-down;
3. **fire** armed alerts whose condition holds and whose ``armed_from`` has passed: a one-shot
   ends (``'fired'``), a recurring one stays live and waits to clear; one ``alert_firings`` row
   per firing (the digest reads them).

Because the marks commit before anyone is notified, a crossing fires once whatever crashes
when; a notice still to be sent is in the outbox (``queries.unnotified_alerts``).

Why this SQL: the values arrive as one JSON parameter each. json_each() makes a table SQLite
knows to be small, so it is the outer loop (CROSS JOIN keeps it so) and each symbol (RSI: each
symbol and interval) is one range search of a partial index holding only the alerts of that
kind and state: the cost follows the alerts that fire or clear, not the alerts that exist. (A
temporary table of prices, having no statistics, looked huge to the planner, which then built a
Bloom filter over every active alert: ~40 ms at 100,000.)

PostgreSQL: the same JSON through ``jsonb_each``, and each value's alerts in a
``LATERAL (... OFFSET 0)`` subquery, which keeps the per-symbol index search (flattened, the
planner may hash-join every live alert instead). Several instances may sweep one database: the
sweep's transaction first takes ``pg_try_advisory_xact_lock(SWEEP_LOCK)``, and an instance that
does not get it skips the round (an empty answer) rather than wait. Other instances' writes are
not held off by that lock: an alert deleted (``/delete``, ``/forget``) between the sweep's read
and its mark is left out of the answer and of the firing log (each mark's row count decides).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Any

from messages.storage import AlertRecord, FireCrossedAlerts, FiredAlerts
from storage.engine import Connection, is_postgres
from storage.queries import ALERT_COLUMNS, alert_from_row

__all__ = ["PG_SWEEP_STATEMENTS", "SWEEP_LOCK", "SWEEP_STATEMENTS", "fire_crossed_alerts"]

_A_COLUMNS = ", ".join("a." + column.strip() for column in ALERT_COLUMNS.split(","))
_LEVEL = "a.kind <> 'rsi'"
_RSI = "a.kind = 'rsi'"
_ARMED = "a.fired_at IS NULL AND a.ended IS NULL"
_WAITING = "a.fired_at IS NOT NULL AND a.ended IS NULL"
_DUE = "(a.armed_from IS NULL OR a.armed_from <= :now)"
SWEEP_LOCK = 0x616C657274  # "alert": the sweeping instance holds it until its commit
"""PostgreSQL advisory lock key: one instance sweeps at a time; the others skip that sweep."""


@dataclass(frozen=True, slots=True)
class _Sources:
    """How each engine turns the JSON parameters into rows (key, value) and joins the alerts."""

    prices: str
    price: str
    rsi_pairs: str
    rsi_key: str
    rsi_value: str
    lateral: bool
    """Each outer row's alerts in a LATERAL subquery (PostgreSQL) rather than a CROSS JOIN."""

    def join(self, outer: str, where: str) -> str:
        """``FROM`` the values, then the alerts matching ``where`` for each value."""
        if self.lateral:
            # OFFSET 0 keeps the subquery from being flattened into a hash join over every
            # live alert: each priced symbol is one search of the kind's partial index, the
            # plan SQLite gets from CROSS JOIN's fixed order.
            return (f"FROM {outer} CROSS JOIN LATERAL (SELECT * FROM alerts AS a"
                    f" WHERE {where} OFFSET 0) AS a")
        return f"FROM {outer} CROSS JOIN alerts AS a WHERE {where}"


# RSI values arrive as {symbol: {interval: rsi}}: two json_each loops whose plain key and value
# columns bind the index search (json_extract() on a flat list cost three times as much).
_SQLITE = _Sources(prices="json_each(:prices) AS p", price="p.value",
                   rsi_pairs="json_each(:rsi) AS r CROSS JOIN json_each(r.value) AS i",
                   rsi_key="a.symbol = r.key AND a.interval = i.key", rsi_value="i.value",
                   lateral=False)
# PostgreSQL: the same JSON through jsonb_each; its text values are cast to the column's type.
_POSTGRES = _Sources(
    prices="jsonb_each_text(:prices::jsonb) AS p", price="p.value::float8",
    rsi_pairs="jsonb_each(:rsi::jsonb) AS r CROSS JOIN LATERAL jsonb_each_text(r.value) AS i",
    rsi_key="a.symbol = r.key AND a.interval = i.key", rsi_value="i.value::float8",
    lateral=True)


def _both_directions(template: str) -> str:
    """``template`` for above and below; ``{op}`` is the comparison with the level."""
    above, below = template.format(direction="above", op="<="), template.format(
        direction="below", op=">=")
    return f"{above}\nUNION ALL\n{below}"


def _cleared_both_directions(template: str) -> str:
    above, below = template.format(direction="above", op=">"), template.format(
        direction="below", op="<")
    return f"{above}\nUNION ALL\n{below}"


def _reading(src: _Sources) -> dict[str, str]:
    """The sweep's reads for one engine."""
    return {
        "crossed_alerts": _both_directions(
            f"SELECT {_A_COLUMNS}, {src.price} " + src.join(
                src.prices, "a.symbol = p.key AND a.direction = '{direction}'"
                f" AND {_ARMED} AND {_LEVEL} AND a.price {{op}} {src.price} AND {_DUE}")),
        "crossed_rsi": _both_directions(
            f"SELECT {_A_COLUMNS}, {src.rsi_value} " + src.join(
                src.rsi_pairs, f"{src.rsi_key} AND a.direction = '{{direction}}'"
                f" AND {_ARMED} AND {_RSI} AND a.price {{op}} {src.rsi_value} AND {_DUE}")),
        # Cleared: "above L" is back below L (L > value), "below L" back above it.
        "cleared_alerts": _cleared_both_directions(
            "SELECT a.id, a.fired_at + a.cooldown_s " + src.join(
                src.prices, "a.symbol = p.key AND a.direction = '{direction}'"
                f" AND {_WAITING} AND {_LEVEL} AND a.price {{op}} {src.price}"
                " AND a.notified_at IS NOT NULL")),
        "cleared_rsi": _cleared_both_directions(
            "SELECT a.id, a.fired_at + a.cooldown_s " + src.join(
                src.rsi_pairs, f"{src.rsi_key} AND a.direction = '{{direction}}'"
                f" AND {_WAITING} AND {_RSI} AND a.price {{op}} {src.rsi_value}"
                " AND a.notified_at IS NOT NULL")),
    }


_SQLITE_READS = _reading(_SQLITE)
_POSTGRES_READS = _reading(_POSTGRES)
_EXPIRED = (
    f"SELECT {ALERT_COLUMNS} FROM alerts"
    " WHERE expires_at <= :now AND expires_at IS NOT NULL AND ended IS NULL"
)
# A new firing or expiry is a new notice: whoever claimed the last one has no claim on it.
_EXPIRE = (
    "UPDATE alerts SET ended = 'expired', notified_at = NULL, notice_claimed_by = NULL,"
    " notice_claimed_until = NULL WHERE id = :alert_id AND ended IS NULL"
)
_REARM_CLEARED = (
    "UPDATE alerts SET fired_at = NULL, fired_price = NULL, notified_at = NULL,"
    " armed_from = :armed_from WHERE id = :alert_id AND fired_at IS NOT NULL AND ended IS NULL"
)
_FIRE = (
    "UPDATE alerts SET fired_at = :fired_at, fired_price = :fired_price, notified_at = NULL,"
    " armed_from = NULL, ended = CASE WHEN recurring <> 0 THEN NULL ELSE 'fired' END,"
    " notice_claimed_by = NULL, notice_claimed_until = NULL"
    " WHERE id = :alert_id AND fired_at IS NULL AND ended IS NULL"
)
_LOG_FIRING = (
    "INSERT INTO alert_firings (alert_id, fired_at, user_id, symbol, kind, value)"
    " VALUES (:alert_id, :fired_at, :user_id, :symbol, :kind, :fired_price)"
    " ON CONFLICT (alert_id, fired_at) DO NOTHING"
)
_TRY_SWEEP_LOCK = "SELECT pg_try_advisory_xact_lock(:key)"

SWEEP_STATEMENTS: dict[str, str] = {
    **_SQLITE_READS,
    "expired_alerts": _EXPIRED,
    "expire": _EXPIRE,
    "rearm_cleared": _REARM_CLEARED,
    "fire": _FIRE,
}
"""The sweep's statements with a WHERE clause (the query-plan test checks them)."""
PG_SWEEP_STATEMENTS: dict[str, str] = {**SWEEP_STATEMENTS, **_POSTGRES_READS}
"""The same on PostgreSQL (the reads spell the JSON parameters PostgreSQL's way)."""


def _valid(value: float) -> bool:
    return math.isfinite(value) and value > 0


def fire_crossed_alerts(conn: Connection, message: FireCrossedAlerts) -> FiredAlerts:
    """Expire, re-arm and fire as the module says; return exactly the alerts that moved."""
    now = message.fired_at
    prices = json.dumps({symbol: float(price) for symbol, price in message.prices
                         if _valid(price)})
    by_symbol: dict[str, dict[str, float]] = {}
    for symbol, interval, value in message.rsi:
        if math.isfinite(value) and 0 <= value <= 100:
            by_symbol.setdefault(symbol, {})[interval] = float(value)
    rsi = json.dumps(by_symbol)
    reads = _SQLITE_READS
    if is_postgres(conn):
        reads = _POSTGRES_READS
        # Several instances may sweep one database: the one holding the lock sweeps, the
        # others skip this round (the conditional UPDATEs would keep a crossing from firing
        # twice anyway; the lock keeps a second instance from reporting it as fired).
        if not conn.execute(_TRY_SWEEP_LOCK, {"key": SWEEP_LOCK}).fetchone()[0]:
            return FiredAlerts(alerts=())
    expired = _expire(conn, now)
    rearmed = 0
    for sql, params in ((reads["cleared_alerts"], {"prices": prices}),
                        (reads["cleared_rsi"], {"rsi": rsi})):
        cleared = conn.execute(sql, params).fetchall()
        conn.executemany(_REARM_CLEARED, ({"alert_id": alert_id, "armed_from": armed_from}
                                          for alert_id, armed_from in cleared))
        rearmed += len(cleared)
    # Found and marked in the same transaction, so these are exactly the alerts that fire.
    crossed = [*conn.execute(reads["crossed_alerts"], {"prices": prices, "now": now}),
               *conn.execute(reads["crossed_rsi"], {"rsi": rsi, "now": now})]
    fired = [_fired(row, now) for row in crossed]
    rows = [{"alert_id": alert.alert_id, "fired_at": now, "fired_price": alert.fired_price,
             "user_id": alert.user_id, "symbol": alert.symbol, "kind": alert.kind}
            for alert in fired]
    if is_postgres(conn):
        rows = _marked(conn, _FIRE, rows)
        kept = {row["alert_id"] for row in rows}
        fired = [alert for alert in fired if alert.alert_id in kept]
    else:
        conn.executemany(_FIRE, rows)
    conn.executemany(_LOG_FIRING, rows)
    return FiredAlerts(alerts=tuple(sorted(fired, key=lambda alert: alert.alert_id)),
                       expired=expired, rearmed=rearmed)


def _marked(conn: Connection, sql: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """PostgreSQL: the rows ``sql`` really changed. Another instance's write (``/delete``,
    ``/forget``) may land between the sweep's read and its mark (READ COMMITTED; the sweep's
    lock holds off other sweeps only): such an alert neither fires, nor expires, nor gets a
    firing-log row (that row would outlive ``/forget``). On SQLite the writer is alone."""
    return [row for row in rows if conn.execute(sql, row).rowcount == 1]


def _fired(row: tuple[Any, ...], now: float) -> AlertRecord:
    alert = alert_from_row(row[:-1])
    return dataclasses.replace(alert, fired_at=now, fired_price=float(row[-1]), notified_at=None,
                               armed_from=None, ended=None if alert.recurring else "fired")


def _expire(conn: Connection, now: float) -> tuple[AlertRecord, ...]:
    # A firing still to be notified keeps its alert live until the notice is out: the expiry
    # would otherwise replace that notice in the outbox.
    due = [alert for alert in map(alert_from_row, conn.execute(_EXPIRED, {"now": now}))
           if alert.fired_at is None or alert.notified_at is not None]
    if is_postgres(conn):
        kept = {row["alert_id"] for row in _marked(
            conn, _EXPIRE, [{"alert_id": alert.alert_id} for alert in due])}
        due = [alert for alert in due if alert.alert_id in kept]
    else:
        conn.executemany(_EXPIRE, ({"alert_id": alert.alert_id} for alert in due))
    return tuple(dataclasses.replace(alert, ended="expired", notified_at=None) for alert in due)
