"""Number, percentage, age and time formats shared by every card.

Why one place: a price must read the same in /price, /watchlist and the analysis card (95,000.00
for BTC, 0.00002200 for SHIB), and a stale label must always say its age the same way. Every
function returns plain text; the cards escape it.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone

from market.intervals import INTERVAL_MS
from users.clock import local_datetime

__all__ = [
    "arrow",
    "format_age",
    "format_compact",
    "format_date",
    "format_moment",
    "format_percent",
    "format_price",
    "format_signed",
    "format_time",
]

_COMPACT_UNITS = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K"))


def format_price(value: float) -> str:
    """Prices with sensible precision across BTC (95,000.00) and SHIB (0.00002200)."""
    if value >= 1000:
        return f"{value:,.2f}"
    if value >= 1:
        return f"{value:.4f}"
    return f"{value:.8f}".rstrip("0").rstrip(".") if value else "0"


def arrow(change: float) -> str:
    """▲ for a rise, ▼ for a fall, • for no change."""
    if change > 0:
        return "▲"
    if change < 0:
        return "▼"
    return "•"


def format_percent(change: float) -> str:
    """A signed percentage: "+2.35%", "-0.40%"."""
    return f"{change:+.2f}%"


def format_signed(value: float) -> str:
    """A value that may be negative (MACD): "+12.3400", "-0.1638"."""
    if not math.isfinite(value):
        return "n/a"
    sign = "+" if value > 0 else "-" if value < 0 else ""
    magnitude = abs(value)
    # Below 1, four significant digits say more than format_price's fixed 8 decimals.
    return sign + (format_price(magnitude) if magnitude >= 1 or magnitude == 0
                   else f"{magnitude:.4g}")


def format_compact(value: float) -> str:
    """Large amounts in short form: 1.23M, -45.6K, 950.12."""
    if not math.isfinite(value):
        return "n/a"
    for size, unit in _COMPACT_UNITS:
        if abs(value) >= size:
            return f"{value / size:.2f}{unit}"
    return f"{value:.2f}"


def format_age(seconds: float) -> str:
    """How old something is, in the largest sensible unit: "40 s", "12 min", "3 h 5 min"."""
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{round(seconds)} s"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{round(seconds / 86_400)} d"


def format_time(epoch_ms: int, interval: str | None = None, zone_name: str = "UTC") -> str:
    """A time in the user's zone, named: "14:00 UTC" or "15:00 Europe/Berlin" for intraday
    intervals, "2024-05-01 UTC" for daily and longer."""
    moment = local_datetime(epoch_ms / 1000, zone_name)
    zone_label = str(moment.tzinfo)
    if interval is not None and INTERVAL_MS.get(interval, 0) >= INTERVAL_MS["1d"]:
        return f"{moment:%Y-%m-%d} {zone_label}"
    return f"{moment:%H:%M} {zone_label}"


def format_moment(epoch_s: float, zone_name: str = "UTC") -> str:
    """A date and time in the user's zone, named: "2024-05-01 15:00 Europe/Berlin"."""
    moment = local_datetime(epoch_s, zone_name)
    return f"{moment:%Y-%m-%d %H:%M} {moment.tzinfo}"


def format_date(epoch_s: float) -> str:
    """A UTC date: "2024-05-01"."""
    return f"{datetime.fromtimestamp(epoch_s, tz=timezone.utc):%Y-%m-%d}"
