"""What a valid alert is, and when one has fired: the rules the SQL of the sweep implements.

An alert fires on a *level*, one-shot: "above 70,000" fires at the first sweep that sees a last
price >= 70,000, then stays fired until re-armed. A level rather than a crossing between two
sweeps because it needs no remembered previous price (so a restart loses nothing) and because
it also fires for an alert set on the wrong side of the price, which the user can be warned
about when setting it (:func:`reached`). The writer checks these rules again on every write, so
no caller can store an alert the sweep cannot evaluate.
"""

from __future__ import annotations

import math
import re
from typing import Literal, TypeGuard

from storage.errors import InvalidWrite

__all__ = ["DIRECTIONS", "Direction", "check_alert", "check_symbol", "is_direction", "reached"]

Direction = Literal["above", "below"]
DIRECTIONS: tuple[Direction, ...] = ("above", "below")

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


def reached(direction: Direction, target: float, last_price: float) -> bool:
    """Whether an alert ``direction target`` fires at ``last_price`` (the sweep's rule)."""
    if direction == "above":
        return last_price >= target
    return last_price <= target
