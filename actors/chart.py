"""Chart actor: draws candlestick PNGs on its own thread, and stops drawing when memory is short.

A render takes a fifth of a second of CPU and, the first time, most of a second more to import
matplotlib, so it runs here rather than in the conversation actor, which keeps answering other
users meanwhile. The actor is started lazily and ``chat.charts`` imports matplotlib only inside
``render_chart``: a bot whose users never ask for a chart never loads it.

A matplotlib figure is a web of reference cycles that keeps its 6 MB pixel buffer alive until
the interpreter's next full garbage collection, which in a large heap can be dozens of renders
away (measured: +75 MB after 30 charts). So the actor collects right after each render, paying
a few tens of ms to keep memory flat. Rendering still needs tens of MB while it runs, so a
``critical`` memory pressure pauses it: requests are refused with ``ChartUnavailable`` (the
caller sends the text analysis instead) until the pressure is back to ``normal``. A
``warning`` leaves it drawing.
"""

from __future__ import annotations

import gc
import logging
import statistics
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from chat.charts import ChartUnavailable, render_chart
from core.logs import log_event
from messages.charts import RenderChart
from messages.system import MemoryPressure
from supervision.actor import SupervisedActor
from supervision.context import ChildContext
from core.stats import ActorStats

__all__ = ["PAUSED_REASON", "ChartActor", "ChartStats"]

logger = logging.getLogger(__name__)

PAUSED_REASON = "charts are paused while memory is low"
"""What a refused request says; the caller shows it next to the text analysis."""

_TIMING_WINDOW = 64
"""Render durations kept for the median (recent behaviour, bounded memory)."""


@dataclass(frozen=True, slots=True)
class ChartStats(ActorStats):
    """The chart actor's figures."""

    renders: int
    """Charts drawn."""
    failures: int
    """Charts that could not be drawn."""
    refused_while_paused: int
    """Requests refused while memory pressure paused drawing."""
    paused: bool
    """Whether drawing is paused now."""
    render_p50_ms: float | None
    """Median render time (drawing plus the garbage collection after it), one decimal."""
    first_render_ms: float | None
    """The first render, which includes importing matplotlib (kept out of the median)."""


class ChartActor(SupervisedActor):
    """Answers RenderChart with PNG bytes; pauses on critical MemoryPressure."""

    def __init__(self, ctx: ChildContext) -> None:
        super().__init__(ctx)
        self._paused = False
        self._renders = 0
        self._failures = 0
        self._refused = 0
        self._first_render_ms: float | None = None
        self._durations_ms: deque[float] = deque(maxlen=_TIMING_WINDOW)

    def handle(self, message: Any) -> Any:
        match message:
            case RenderChart():
                return self._on_render(message)
            case MemoryPressure():
                return self._on_memory_pressure(message)
        return super().handle(message)

    def stats(self) -> ChartStats:
        median = statistics.median(self._durations_ms) if self._durations_ms else None
        first = self._first_render_ms
        return ChartStats(
            renders=self._renders,
            failures=self._failures,
            refused_while_paused=self._refused,
            paused=self._paused,
            render_p50_ms=None if median is None else round(median, 1),
            first_render_ms=None if first is None else round(first, 1),
        )

    def _on_render(self, message: RenderChart) -> bytes:
        if self._paused:
            self._refused += 1
            raise ChartUnavailable(PAUSED_REASON)
        started = time.perf_counter()
        try:
            png = render_chart(message.candles, symbol=message.symbol, interval=message.interval)
        except MemoryError as exc:
            self._failures += 1
            raise ChartUnavailable("not enough memory to draw the chart") from exc
        except ChartUnavailable:
            self._failures += 1
            raise
        finally:
            gc.collect()
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        if self._first_render_ms is None:
            self._first_render_ms = elapsed_ms
        else:
            self._durations_ms.append(elapsed_ms)
        self._renders += 1
        log_event(
            logger,
            "chart.rendered",
            logging.DEBUG,
            symbol=message.symbol,
            interval=message.interval,
            candles=len(message.candles),
            png_bytes=len(png),
            elapsed_ms=round(elapsed_ms, 1),
        )
        return png

    def _on_memory_pressure(self, message: MemoryPressure) -> None:
        if message.level == "critical" and not self._paused:
            self._paused = True
            log_event(logger, "chart.paused", logging.WARNING, rss_mb=message.rss_mb)
        elif message.level == "normal" and self._paused:
            self._paused = False
            log_event(logger, "chart.resumed", logging.INFO, rss_mb=message.rss_mb)
