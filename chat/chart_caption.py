"""The short HTML caption under a chart: price, 24h change, verdict and "as of".

Why a module of its own: the caption is text built from the analysis, in the user's time zone,
while :mod:`chat.charts` draws pixels from candles (in UTC, shared by everyone) and pulls in
matplotlib when it renders. The command that sends a chart asks for both separately.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chat.cards_format import format_price
from chat.html import escape
from market.intervals import close_of
from users.clock import local_datetime

if TYPE_CHECKING:
    from market.analysis import MarketAnalysis

__all__ = ["CAPTION_LIMIT", "caption"]

CAPTION_LIMIT = 1024
"""Telegram's limit on a photo caption, in characters."""


def caption(analysis: MarketAnalysis | None, symbol: str, interval: str,
            zone_name: str = "UTC") -> str:
    """A short HTML caption (≤ 1024 characters): price, 24h change, verdict, "as of" in the
    user's zone (the picture itself, shared by everyone, stays in UTC and says so)."""
    lines = [f"<b>{_escape_within(symbol, 40)} · {_escape_within(interval, 8)}</b>"]
    if analysis is None:
        lines.append("price and trend are unavailable right now")
        return "\n".join(lines)
    lines.append(f"{format_price(analysis.last_price)}  ·  24h {analysis.change_24h_pct:+.2f}%")
    if analysis.summary is not None:
        lines.append(f"trend: {_escape_within(analysis.summary.verdict, 40)}")
    elif analysis.indicators_note:
        lines.append(f"trend: n/a ({_escape_within(analysis.indicators_note, 300)})")
    if analysis.stale:
        reason = _escape_within(analysis.degraded_reason or "source unavailable", 300)
        lines.append(f"⚠ data {analysis.age_s:.0f} s old: {reason}")
    as_of = _as_of(analysis, zone_name)
    if as_of is not None:
        lines.append(f"<i>as of {_escape_within(as_of, 60)}</i>")
    text = "\n".join(lines)
    # Every dynamic part is bounded above, so this only guards against future edits.
    return text if len(text) <= CAPTION_LIMIT else lines[0]


def _as_of(analysis: MarketAnalysis, zone_name: str) -> str | None:
    if analysis.computed_at > 0:
        seconds = analysis.computed_at
    elif analysis.as_of_ms is not None:
        seconds = close_of(analysis.as_of_ms, analysis.interval) / 1000
    else:
        return None
    moment = local_datetime(seconds, zone_name)
    return f"{moment:%d %b %H:%M} {moment.tzinfo}"


def _escape_within(text: str, budget: int) -> str:
    """HTML-escape ``text``, cut with an ellipsis so the escaped form fits ``budget`` characters."""
    escaped = escape(text)
    if len(escaped) <= budget:
        return escaped
    pieces: list[str] = []
    used = 1  # the ellipsis
    for char in text:
        piece = escape(char)
        if used + len(piece) > budget:
            break
        pieces.append(piece)
        used += len(piece)
    return "".join(pieces) + "…"
