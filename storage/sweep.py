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
"""

from __future__ import annotations

import dataclasses
import json
import math
import sqlite3
from typing import Any

from messages.storage import AlertRecord, FireCrossedAlerts, FiredAlerts
from storage.queries import ALERT_COLUMNS, alert_from_row

__all__ = ["SWEEP_STATEMENTS", "fire_crossed_alerts"]

_A_COLUMNS = ", ".join("a." + column.strip() for column in ALERT_COLUMNS.split(","))
_LEVEL = "a.kind <> 'rsi'"
_RSI = "a.kind = 'rsi'"
_ARMED = "a.fired_at IS NULL AND a.ended IS NULL"
_WAITING = "a.fired_at IS NOT NULL AND a.ended IS NULL"
_DUE = "(a.armed_from IS NULL OR a.armed_from <= :now)"
# RSI values arrive as {symbol: {interval: rsi}}: two json_each loops whose plain key and value
# columns bind the index search (json_extract() on a flat list cost three times as much).
_RSI_PAIRS = "json_each(:rsi) AS r CROSS JOIN json_each(r.value) AS i"
_RSI_KEY = "a.symbol = r.key AND a.interval = i.key"
_RSI_VALUE = "i.value"


def _both_directions(template: str) -> str:
    """``template`` for above and below; ``{op}`` is the comparison with the level."""
    above, below = template.format(direction="above", op="<="), template.format(
        direction="below", op=">=")
    return f"{above}\nUNION ALL\n{below}"


def _cleared_both_directions(template: str) -> str:
    above, below = template.format(direction="above", op=">"), template.format(
        direction="below", op="<")
    return f"{above}\nUNION ALL\n{below}"


_CROSSED_ALERTS = _both_directions(
    f"SELECT {_A_COLUMNS}, p.value FROM json_each(:prices) AS p CROSS JOIN alerts AS a"
    " WHERE a.symbol = p.key AND a.direction = '{direction}'"
    f" AND {_ARMED} AND {_LEVEL} AND a.price {{op}} p.value AND {_DUE}"
)
_CROSSED_RSI = _both_directions(
    f"SELECT {_A_COLUMNS}, {_RSI_VALUE} FROM {_RSI_PAIRS} CROSS JOIN alerts AS a"
    f" WHERE {_RSI_KEY} AND a.direction = '{{direction}}'"
    f" AND {_ARMED} AND {_RSI} AND a.price {{op}} {_RSI_VALUE} AND {_DUE}"
)
# Cleared: "above L" is back below L (L > value), "below L" back above it.
_CLEARED_ALERTS = _cleared_both_directions(
    "SELECT a.id, a.fired_at + a.cooldown_s FROM json_each(:prices) AS p CROSS JOIN alerts AS a"
    " WHERE a.symbol = p.key AND a.direction = '{direction}'"
    f" AND {_WAITING} AND {_LEVEL} AND a.price {{op}} p.value AND a.notified_at IS NOT NULL"
)
_CLEARED_RSI = _cleared_both_directions(
    f"SELECT a.id, a.fired_at + a.cooldown_s FROM {_RSI_PAIRS} CROSS JOIN alerts AS a"
    f" WHERE {_RSI_KEY} AND a.direction = '{{direction}}'"
    f" AND {_WAITING} AND {_RSI} AND a.price {{op}} {_RSI_VALUE} AND a.notified_at IS NOT NULL"
)
_EXPIRED = (
    f"SELECT {ALERT_COLUMNS} FROM alerts"
    " WHERE expires_at <= :now AND expires_at IS NOT NULL AND ended IS NULL"
)
_EXPIRE = (
    "UPDATE alerts SET ended = 'expired', notified_at = NULL"
    " WHERE id = :alert_id AND ended IS NULL"
)
_REARM_CLEARED = (
    "UPDATE alerts SET fired_at = NULL, fired_price = NULL, notified_at = NULL,"
    " armed_from = :armed_from WHERE id = :alert_id AND fired_at IS NOT NULL AND ended IS NULL"
)
_FIRE = (
    "UPDATE alerts SET fired_at = :fired_at, fired_price = :fired_price, notified_at = NULL,"
    " armed_from = NULL, ended = CASE WHEN recurring THEN NULL ELSE 'fired' END"
    " WHERE id = :alert_id AND fired_at IS NULL AND ended IS NULL"
)
_LOG_FIRING = (
    "INSERT INTO alert_firings (alert_id, fired_at, user_id, symbol, kind, value)"
    " VALUES (:alert_id, :fired_at, :user_id, :symbol, :kind, :fired_price)"
    " ON CONFLICT (alert_id, fired_at) DO NOTHING"
)

SWEEP_STATEMENTS: dict[str, str] = {
    "crossed_alerts": _CROSSED_ALERTS,
    "crossed_rsi": _CROSSED_RSI,
    "cleared_alerts": _CLEARED_ALERTS,
    "cleared_rsi": _CLEARED_RSI,
    "expired_alerts": _EXPIRED,
    "expire": _EXPIRE,
    "rearm_cleared": _REARM_CLEARED,
    "fire": _FIRE,
}
"""The sweep's statements with a WHERE clause (the query-plan test checks them)."""


def _valid(value: float) -> bool:
    return math.isfinite(value) and value > 0


def fire_crossed_alerts(conn: sqlite3.Connection, message: FireCrossedAlerts) -> FiredAlerts:
    """Expire, re-arm and fire as the module says; return exactly the alerts that moved."""
    now = message.fired_at
    prices = json.dumps({symbol: float(price) for symbol, price in message.prices
                         if _valid(price)})
    by_symbol: dict[str, dict[str, float]] = {}
    for symbol, interval, value in message.rsi:
        if math.isfinite(value) and 0 <= value <= 100:
            by_symbol.setdefault(symbol, {})[interval] = float(value)
    rsi = json.dumps(by_symbol)
    expired = _expire(conn, now)
    rearmed = 0
    for sql, params in ((_CLEARED_ALERTS, {"prices": prices}), (_CLEARED_RSI, {"rsi": rsi})):
        cleared = conn.execute(sql, params).fetchall()
        conn.executemany(_REARM_CLEARED, ({"alert_id": alert_id, "armed_from": armed_from}
                                          for alert_id, armed_from in cleared))
        rearmed += len(cleared)
    # Found and marked in the same transaction, so these are exactly the alerts that fire.
    crossed = [*conn.execute(_CROSSED_ALERTS, {"prices": prices, "now": now}),
               *conn.execute(_CROSSED_RSI, {"rsi": rsi, "now": now})]
    fired = [_fired(row, now) for row in crossed]
    rows = [{"alert_id": alert.alert_id, "fired_at": now, "fired_price": alert.fired_price,
             "user_id": alert.user_id, "symbol": alert.symbol, "kind": alert.kind}
            for alert in fired]
    conn.executemany(_FIRE, rows)
    conn.executemany(_LOG_FIRING, rows)
    return FiredAlerts(alerts=tuple(sorted(fired, key=lambda alert: alert.alert_id)),
                       expired=expired, rearmed=rearmed)


def _fired(row: tuple[Any, ...], now: float) -> AlertRecord:
    alert = alert_from_row(row[:-1])
    return dataclasses.replace(alert, fired_at=now, fired_price=float(row[-1]), notified_at=None,
                               armed_from=None, ended=None if alert.recurring else "fired")


def _expire(conn: sqlite3.Connection, now: float) -> tuple[AlertRecord, ...]:
    # A firing still to be notified keeps its alert live until the notice is out: the expiry
    # would otherwise replace that notice in the outbox.
    due = [alert for alert in map(alert_from_row, conn.execute(_EXPIRED, {"now": now}))
           if alert.fired_at is None or alert.notified_at is not None]
    conn.executemany(_EXPIRE, ({"alert_id": alert.alert_id} for alert in due))
    return tuple(dataclasses.replace(alert, ended="expired", notified_at=None) for alert in due)
