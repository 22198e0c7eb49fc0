"""Candlestick chart PNGs for the chat, drawn headless and sized for a phone screen.

A chart is the picture of what the text analysis says: candles with EMA 20/50 and a Bollinger
(20, 2) band, a volume pane and an RSI(14) pane, in portrait 4:5 so it fills a phone's width
in Telegram, with large fonts and few ticks. Indicators are computed on the whole series and
only then cropped to the candles shown, so no warm-up gap appears at the left edge.

matplotlib is imported inside :func:`render_chart`, never at module import: it costs tens of
MB and most of a second, and the bot pays that only once someone asks for a chart (the chart
actor is started lazily for the same reason). The object-oriented API (``Figure`` plus the Agg
canvas) is used instead of pyplot, so no backend is selected globally and no figure registry
leaks state between renders. Sizes are passed to every call rather than set in ``rcParams``,
which are process-wide. The same candles always give the same PNG bytes.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from chat.cards_format import format_price
from core.errors import BotError
from market.candles import Candles, FloatArray, IntArray
from market.indicators import bollinger, ema, rsi
from market.intervals import close_of

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


__all__ = ["MIN_CANDLES", "ChartUnavailable", "render_chart"]

MIN_CANDLES = 2
"""Fewer candles than this make no chart (no range, no direction)."""

_BACKGROUND = "#131722"
_GRID = "#2a2e39"
_TEXT = "#d1d4dc"
_MUTED = "#8a8f9c"
_UP = "#26a69a"
_DOWN = "#ef5350"
_EMA_FAST = "#f5c542"
_EMA_SLOW = "#42a5f5"
_BAND = "#b39ddb"
_RSI_LINE = "#ce93d8"

# Points at 150 dpi: 12 pt is about 25 px, still legible once Telegram scales the picture
# to a phone's width.
_FONT = 12.0
_SMALL_FONT = 11.0
_TITLE_FONT = 17.0

_BOX_HALF_WIDTH = 0.32
"""Half the width of a candle body or volume bar, in candles."""

_TIME_TICK_FRACTIONS = (0.1, 0.37, 0.63, 0.9)
"""Where the time labels go along the shown candles."""

_TIME_FORMATS = {"m": "%H:%M\n%d %b", "h": "%H:%M\n%d %b", "d": "%d %b\n%Y", "w": "%d %b\n%Y"}
"""strftime pattern of the time labels by interval unit; months show "Mar\\n2024"."""


class ChartUnavailable(BotError):
    """No chart can be drawn for this request; the caller sends the text analysis instead."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True, slots=True)
class _Series:
    """The candles shown and their indicators, already cropped (x is 0..n-1)."""

    open_time: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    ema_fast: FloatArray
    ema_slow: FloatArray
    band_upper: FloatArray
    band_lower: FloatArray
    rsi: FloatArray

    @property
    def x(self) -> FloatArray:
        return np.arange(self.close.shape[0], dtype=np.float64)

    @property
    def rising(self) -> NDArray[np.bool_]:
        return self.close >= self.open


def render_chart(
    candles: Candles,
    *,
    symbol: str,
    interval: str,
    width_px: int = 1080,
    height_px: int = 1350,
    dpi: int = 150,
    max_candles: int = 120,
) -> bytes:
    """Draw the last ``max_candles`` candles with their indicators; return PNG bytes.

    Raises ``ChartUnavailable`` for fewer than two candles or when matplotlib is missing.
    """
    if len(candles) < MIN_CANDLES:
        raise ChartUnavailable(f"a chart needs at least {MIN_CANDLES} candles, got {len(candles)}")
    if max_candles < MIN_CANDLES or width_px <= 0 or height_px <= 0 or dpi <= 0:
        geometry = f"{width_px}x{height_px} px at {dpi} dpi, {max_candles} candles"
        raise ValueError(f"cannot draw a chart of {geometry}")
    series = _prepare(candles, max_candles)
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ChartUnavailable("charts need matplotlib, which is not installed") from exc
    figure = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi, facecolor=_BACKGROUND)
    FigureCanvasAgg(figure)
    _draw(figure, series, symbol, interval)
    buffer = io.BytesIO()
    # No "Software" entry: the PNG depends on the candles only, not on the library version.
    figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def _prepare(candles: Candles, max_candles: int) -> _Series:
    close = candles.close
    bands = bollinger(close, 20, 2.0)
    shown = slice(max(0, len(candles) - max_candles), None)
    return _Series(
        open_time=candles.open_time[shown],
        open=candles.open[shown],
        high=candles.high[shown],
        low=candles.low[shown],
        close=close[shown],
        volume=candles.volume[shown],
        ema_fast=ema(close, 20)[shown],
        ema_slow=ema(close, 50)[shown],
        band_upper=bands.upper[shown],
        band_lower=bands.lower[shown],
        rsi=rsi(close, 14)[shown],
    )


def _draw(figure: Figure, series: _Series, symbol: str, interval: str) -> None:
    grid = figure.add_gridspec(
        3, 1, height_ratios=(60, 15, 25),
        left=0.025, right=0.825, top=0.875, bottom=0.075, hspace=0.05,
    )
    price = figure.add_subplot(grid[0])
    volume = figure.add_subplot(grid[1], sharex=price)
    strength = figure.add_subplot(grid[2], sharex=price)
    for axes in (price, volume, strength):
        _style(axes)
    _draw_price(price, series)
    _draw_volume(volume, series)
    _draw_rsi(strength, series)
    _draw_time_axis(strength, series, interval)
    price.set_xlim(-1.0, series.close.shape[0] + 1.0)
    _draw_header(figure, series, symbol, interval)


def _style(axes: Axes) -> None:
    from matplotlib.ticker import MaxNLocator

    axes.set_facecolor(_BACKGROUND)
    for side, spine in axes.spines.items():
        spine.set_visible(side == "right")
        spine.set_color(_GRID)
    axes.grid(True, color=_GRID, linewidth=0.8)
    axes.set_axisbelow(True)
    axes.yaxis.tick_right()
    axes.yaxis.set_major_locator(MaxNLocator(nbins=5))
    axes.tick_params(colors=_TEXT, labelsize=_FONT, length=0, pad=6, labelbottom=False)


def _draw_price(axes: Axes, series: _Series) -> None:
    from matplotlib.ticker import ScalarFormatter

    x = series.x
    colors = np.where(series.rising, _UP, _DOWN).tolist()
    # A doji (or a flat market) still gets a visible body line.
    span = max(float(series.high.max() - series.low.min()), float(series.close[-1]) * 0.01)
    body = np.maximum(np.abs(series.close - series.open), span * 0.003)
    axes.fill_between(x, series.band_lower, series.band_upper, color=_BAND, alpha=0.08, linewidth=0)
    axes.plot(x, series.band_upper, color=_BAND, linewidth=1.0, alpha=0.6, label="BB 20, 2")
    axes.plot(x, series.band_lower, color=_BAND, linewidth=1.0, alpha=0.6)
    axes.vlines(x, series.low, series.high, colors=colors, linewidth=1.2)
    bottom = np.minimum(series.open, series.close)
    _add_boxes(axes, x, bottom, bottom + body, colors)
    axes.plot(x, series.ema_fast, color=_EMA_FAST, linewidth=1.7, label="EMA 20")
    axes.plot(x, series.ema_slow, color=_EMA_SLOW, linewidth=1.7, label="EMA 50")
    formatter = ScalarFormatter(useOffset=False)
    formatter.set_scientific(False)
    axes.yaxis.set_major_formatter(formatter)
    # Above the pane, not inside it, where it would hide candles.
    axes.legend(
        loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=3, frameon=False, fontsize=_SMALL_FONT,
        labelcolor=_TEXT, borderaxespad=0.2, handlelength=1.4, columnspacing=1.2,
    )
    _draw_last_price(axes, series)


def _add_boxes(
    axes: Axes, x: FloatArray, bottom: FloatArray, top: FloatArray, colors: list[str],
    alpha: float = 1.0,
) -> None:
    """Candle bodies or volume bars as one collection (``bar`` makes a slow patch per candle)."""
    from matplotlib.collections import PolyCollection

    left, right = x - _BOX_HALF_WIDTH, x + _BOX_HALF_WIDTH
    corners = np.stack((left, bottom, right, bottom, right, top, left, top), axis=1)
    boxes = PolyCollection(
        list(corners.reshape(-1, 4, 2)), facecolors=colors, linewidths=0, alpha=alpha
    )
    axes.add_collection(boxes, autolim=True)
    axes.autoscale_view()


def _draw_last_price(axes: Axes, series: _Series) -> None:
    last = float(series.close[-1])
    text = format_price(last)
    color = _UP if bool(series.rising[-1]) else _DOWN
    axes.axhline(last, color=color, linewidth=1.0, linestyle=(0, (3, 3)), alpha=0.9)
    axes.annotate(
        text,
        xy=(1.0, last),
        xycoords=axes.get_yaxis_transform(),
        xytext=(3, 0),
        textcoords="offset points",
        va="center",
        ha="left",
        # Long prices (0.00002200) would run off the right edge at full size.
        fontsize=_FONT if len(text) <= 8 else _SMALL_FONT,
        fontweight="bold",
        color="white",
        bbox={"boxstyle": "square,pad=0.25", "facecolor": color, "edgecolor": color},
        annotation_clip=False,
        zorder=10,
    )


def _draw_volume(axes: Axes, series: _Series) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    colors = np.where(series.rising, _UP, _DOWN).tolist()
    _add_boxes(axes, series.x, np.zeros_like(series.volume), series.volume, colors, alpha=0.75)
    axes.set_ylim(0.0, float(series.volume.max()) * 1.15 or 1.0)
    axes.yaxis.set_major_locator(MaxNLocator(nbins=2))
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: _compact(value)))
    _pane_label(axes, f"Volume  {_compact(float(series.volume[-1]))}")


def _draw_rsi(axes: Axes, series: _Series) -> None:
    axes.axhspan(30.0, 70.0, color=_RSI_LINE, alpha=0.06, linewidth=0)
    for guide in (30.0, 70.0):
        axes.axhline(guide, color=_MUTED, linewidth=1.0, linestyle=(0, (4, 3)))
    axes.plot(series.x, series.rsi, color=_RSI_LINE, linewidth=1.6)
    axes.set_ylim(0.0, 100.0)
    axes.set_yticks((30.0, 70.0))
    last = float(series.rsi[-1])
    _pane_label(axes, f"RSI 14  {'n/a' if math.isnan(last) else f'{last:.1f}'}")


def _pane_label(axes: Axes, text: str) -> None:
    axes.text(
        0.01, 0.95, text, transform=axes.transAxes, va="top", ha="left",
        fontsize=_SMALL_FONT, color=_TEXT, parse_math=False,
        bbox={"boxstyle": "square,pad=0.2", "facecolor": _BACKGROUND, "edgecolor": "none"},
    )


def _draw_time_axis(axes: Axes, series: _Series, interval: str) -> None:
    from matplotlib.ticker import FixedLocator, FuncFormatter

    pattern = _time_format(interval)
    times = series.open_time
    count = times.shape[0]

    def label(position: float, _: int | None) -> str:
        index = round(position)
        if not 0 <= index < count:
            return ""
        return datetime.fromtimestamp(int(times[index]) / 1000, UTC).strftime(pattern)

    # Fixed fractions keep the labels off the edges, where they would be cut in half.
    ticks = sorted({round((count - 1) * fraction) for fraction in _TIME_TICK_FRACTIONS})
    axes.xaxis.set_major_locator(FixedLocator(ticks))
    axes.xaxis.set_major_formatter(FuncFormatter(label))
    axes.tick_params(axis="x", labelbottom=True, labelsize=_SMALL_FONT)


def _time_format(interval: str) -> str:
    if interval.endswith("M"):
        return "%b\n%Y"
    return _TIME_FORMATS.get(interval[-1:], "%Y-%m-%d\n%H:%M")


def _draw_header(figure: Figure, series: _Series, symbol: str, interval: str) -> None:
    last = float(series.close[-1])
    change = (last / float(series.open[0]) - 1.0) * 100.0
    trend_color = _UP if change >= 0 else _DOWN
    span_ms = close_of(int(series.open_time[-1]), interval) - int(series.open_time[0])
    closes_at = close_of(int(series.open_time[-1]), interval)
    moment = datetime.fromtimestamp(closes_at / 1000, UTC).strftime("%d %b %H:%M UTC")
    for x, y, text, size, color in (
        (0.025, 0.985, f"{symbol} · {interval}", _TITLE_FONT, _TEXT),
        (0.975, 0.985, format_price(last), _TITLE_FONT, _TEXT),
        (0.025, 0.945, f"{change:+.2f}% in {_duration(span_ms)}", _FONT, trend_color),
        (0.975, 0.945, moment, _FONT, _MUTED),
    ):
        figure.text(
            x, y, text, ha="left" if x < 0.5 else "right", va="top", fontsize=size, color=color,
            fontweight="bold" if size == _TITLE_FONT else "normal", parse_math=False,
        )


def _duration(milliseconds: int) -> str:
    hours = milliseconds / 3_600_000
    if hours < 2:
        return f"{round(hours * 60)} min"
    if hours < 72:
        return f"{round(hours)} h"
    if hours < 24 * 90:
        return f"{round(hours / 24)} d"
    return f"{round(hours / (24 * 30))} mo"


def _compact(value: float) -> str:
    for divisor, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= divisor:
            return f"{value / divisor:.3g}{suffix}"
    return f"{value:.3g}"
