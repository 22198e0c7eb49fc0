"""What a valid alert is, and when one fires or clears: the rules the SQL of the sweep implements.

An alert fires on a *level*, one-shot: "above 70,000" fires at the first sweep that sees a last
price >= 70,000, then stays fired until re-armed. A level rather than a crossing between two
sweeps because it needs no remembered previous price (so a restart loses nothing) and because
it also fires for an alert set on the wrong side of the price, which the user can be warned
about when setting it (:func:`reached`). The writer checks these rules again on every write, so
no caller can store an alert the sweep cannot evaluate.

Every kind is a level: ``price`` and ``percent`` on the last price (a percent alert's level is
computed from its ``base_price`` when it is set), ``rsi`` on RSI(14) of an interval's closed
candles. A recurring alert that fired waits until its value is back on the other side of the
level (:func:`cleared`) and its cool-down has passed before it may fire again.
"""

from __future__ import annotations

import math
import re
from typing import Literal, TypeGuard

from storage.errors import InvalidWrite

__all__ = ["ALERT_KINDS", "DIRECTIONS", "KLINE_INTERVALS", "Direction", "check_alert",
           "check_alert_fields", "check_symbol", "cleared", "is_direction", "reached"]

Direction = Literal["above", "below"]
DIRECTIONS: tuple[Direction, ...] = ("above", "below")

ALERT_KINDS = ("price", "percent", "rsi")
KLINE_INTERVALS = ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d",
                   "3d", "1w", "1M")
"""The intervals an RSI alert may watch (the exchange's kline intervals)."""

_SYMBOL = re.compile(r"[A-Z0-9]{2,20}")


def is_direction(text: str) -> TypeGuard[Direction]:
    return text in DIRECTIONS


def check_symbol(symbol: str) -> None:
    """Raise :class:`InvalidWrite` unless ``symbol`` looks like an exchange symbol (BTCUSDT)."""
    if not isinstance(symbol, str) or not _SYMBOL.fullmatch(symbol):
        raise InvalidWrite(f"{symbol!r} is not an exchange symbol")


def check_alert(symbol: str, direction: str, price: float) -> None:
    """Raise :class:`InvalidWrite` for an alert the sweep could not evaluate."""
    check_symbol(symbol)
    if not is_direction(direction):
        raise InvalidWrite(f"the direction must be above or below, not {direction!r}")
    if isinstance(price, bool) or not isinstance(price, (int, float)):
        raise InvalidWrite("the price must be a number")
    if not math.isfinite(price) or price <= 0:
        raise InvalidWrite("the price must be a positive number")


def _number(value: object) -> bool:
    return (not isinstance(value, bool) and isinstance(value, (int, float))
            and math.isfinite(value))


def check_alert_fields(*, kind: str, price: float, interval: str | None,
                       base_price: float | None, cooldown_s: float,
                       expires_at: float | None) -> None:
    """Raise :class:`InvalidWrite` for kind-specific fields the sweep could not evaluate."""
    if kind not in ALERT_KINDS:
        raise InvalidWrite(f"the kind must be price, percent or rsi, not {kind!r}")
    if kind == "rsi":
        if interval not in KLINE_INTERVALS:
            raise InvalidWrite(f"an RSI alert needs a kline interval, not {interval!r}")
        if not price < 100:
            raise InvalidWrite("an RSI level lies between 0 and 100")
    elif interval is not None:
        raise InvalidWrite("only RSI alerts have an interval")
    if kind == "percent":
        if base_price is None or not _number(base_price) or base_price <= 0:
            raise InvalidWrite("a percent alert needs the positive price it was set at")
    elif base_price is not None:
        raise InvalidWrite("only percent alerts have a base price")
    if not _number(cooldown_s) or cooldown_s < 0:
        raise InvalidWrite("the cool-down must be a number of seconds >= 0")
    if expires_at is not None and not _number(expires_at):
        raise InvalidWrite("the expiry must be a moment in epoch seconds")


def cleared(direction: Direction, target: float, value: float) -> bool:
    """Whether a fired recurring alert's value is back across its level (it may re-arm)."""
    return not reached(direction, target, value)


def reached(direction: Direction, target: float, last_price: float) -> bool:
    """Whether an alert ``direction target`` fires at ``last_price`` (the sweep's rule)."""
    if direction == "above":
        return last_price >= target
    return last_price <= target
