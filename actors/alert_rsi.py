"""RSI(14) on closed candles for the alert sweep, refreshed only when a new candle has closed.

Not an actor: the alerts actor owns one and calls it from its own thread. It remembers, per
(symbol, interval) pair with live RSI alerts, the open time of the last closed candle it has
seen and the RSI after it. A pair is refreshed (one klines call, the same ``FetchSpec`` as
``/analysis`` so the cache and coalescing are shared) only once the *next* candle has closed;
the candles go to the indicator actor, which keeps the incremental indicator state per series
and so folds in just the new candle. Between candle closes a pair costs nothing.

What a sweep passes to ``FireCrossedAlerts.rsi``: the pairs refreshed this sweep, and every
known pair when the set of alerts may have changed (a new alert id) or at least once a
``full_every_s`` (re-armed alerts whose cool-down passed, re-arm buttons). RSI of closed candles
only changes when a candle closes, so nothing is missed in between but that bounded delay.
A refresh that fails keeps the last reading and is tried again ``retry_after_s`` later (a
delisted symbol or an outage must not cost a klines call and a warning every sweep).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pykka

from actors.market_access import KLINE_LIMIT
from core.errors import BotError
from core.logs import log_event
from market.indicator_set import IndicatorSet
from market.intervals import INTERVAL_MS, is_open
from market.models import Klines
from messages.market import ComputeIndicators, Fetch, FetchSpec
from supervision import request_future
from supervision.address import Address

__all__ = ["RsiTracker"]

logger = logging.getLogger(__name__)

Pair = tuple[str, str]


@dataclass(frozen=True, slots=True)
class _Reading:
    last_closed_ms: int
    """Open time of the last closed candle the RSI includes."""
    rsi: float | None
    """RSI(14) after it; None while the series is too short."""
    next_close_ms: int = 0
    """When the candle after it closes (the exchange's close time: months are 28-31 days)."""


class RsiTracker:
    """Per-pair RSI readings, refreshed at candle closes, at most ``max_refreshes`` a sweep."""

    def __init__(self, *, fetcher: Address, indicator: Address,
                 wall_clock: Callable[[], float], clock: Callable[[], float],
                 max_refreshes: int = 16, full_every_s: float = 60.0,
                 retry_after_s: float = 60.0, indicator_timeout_s: float = 2.0) -> None:
        self._fetcher = fetcher
        self._indicator = indicator
        self._wall_clock = wall_clock
        self._clock = clock
        self._max_refreshes = max_refreshes
        self._full_every_s = full_every_s
        self._indicator_timeout_s = indicator_timeout_s
        self._retry_after_s = retry_after_s
        self._readings: dict[Pair, _Reading] = {}
        self._retry_at: dict[Pair, float] = {}
        self._last_full = float("-inf")
        self.refreshes = 0
        """Pairs recomputed since start (one klines call and one indicator step each)."""
        self.failed_refreshes = 0
        """Refreshes that failed (kept the previous reading; retried ``retry_after_s`` later)."""

    @property
    def states(self) -> int:
        """Pairs with a reading (each has incremental indicator state in the indicator actor)."""
        return len(self._readings)

    def values(self, pairs: Sequence[Pair], *, full: bool, deadline: float,
               request_id: str | None) -> tuple[tuple[str, str, float], ...]:
        """(symbol, interval, RSI) to evaluate this sweep; refreshes the pairs that are due."""
        wanted = set(pairs)
        for gone in set(self._readings) - wanted:
            del self._readings[gone]
        now = self._clock()
        self._retry_at = {p: at for p, at in self._retry_at.items() if at > now and p in wanted}
        refreshed = self._refresh(self._due(pairs), deadline, request_id)
        if full or self._clock() - self._last_full >= self._full_every_s:
            self._last_full = self._clock()
            chosen: Sequence[Pair] = pairs
        else:
            chosen = refreshed
        return tuple((symbol, interval, reading.rsi) for symbol, interval in chosen
                     if (reading := self._readings.get((symbol, interval))) is not None
                     and reading.rsi is not None)

    def _due(self, pairs: Sequence[Pair]) -> list[Pair]:
        now_ms = int(self._wall_clock() * 1000)
        due: list[tuple[int, Pair]] = []
        for pair in pairs:
            if pair in self._retry_at:
                continue  # failed lately (a delisted symbol, an outage): not every sweep
            reading = self._readings.get(pair)
            if reading is None:
                due.append((-1, pair))
            elif now_ms > reading.next_close_ms:
                due.append((reading.last_closed_ms, pair))  # the next candle has closed
        due.sort()  # the longest waiting first
        return [pair for _, pair in due[: self._max_refreshes]]

    def _refresh(self, pairs: Sequence[Pair], deadline: float,
                 request_id: str | None) -> list[Pair]:
        futures = {pair: request_future(self._fetcher, self._klines(pair, request_id))
                   for pair in pairs}
        refreshed: list[Pair] = []
        for pair, future in futures.items():
            try:
                klines = future.get(timeout=max(0.0, deadline - self._clock()))
                assert isinstance(klines, Klines)
                reading = self._compute(pair, klines, request_id,
                                        max(0.05, deadline - self._clock()))
            except (BotError, pykka.Timeout) as exc:
                self.failed_refreshes += 1
                self._retry_at[pair] = self._clock() + self._retry_after_s
                log_event(logger, "alerts.rsi_refresh_failed", logging.WARNING,
                          symbol=pair[0], interval=pair[1], error=repr(exc))
                continue
            self.refreshes += 1
            if reading is not None:
                self._readings[pair] = reading
                refreshed.append(pair)
        return refreshed

    @staticmethod
    def _klines(pair: Pair, request_id: str | None) -> Callable[[pykka.Future[Any]], Fetch]:
        spec = FetchSpec("klines", pair[0], pair[1], KLINE_LIMIT)
        return lambda reply_to: Fetch(spec, reply_to, request_id)

    def _compute(self, pair: Pair, klines: Klines, request_id: str | None,
                 deadline_left: float) -> _Reading | None:
        candles, closes = klines.candles, klines.close_time_ms
        now_ms = int(self._wall_clock() * 1000)
        step = INTERVAL_MS[pair[1]]
        # The exchange's close times, not open + a nominal length: a month is not 30 days.
        calendar = len(closes) == len(candles) > 0
        next_close = closes[-1] if calendar else 0
        if calendar and closes[-1] >= now_ms or (not calendar and len(candles) and is_open(
                int(candles.open_time[-1]), pair[1], now_ms)):
            candles = candles[: len(candles) - 1]  # closed candles only: RSI must not repaint
        elif len(candles):  # no forming candle in the answer: the next one closes a step on
            next_close = (closes[-1] if calendar else int(candles.open_time[-1]) + step) + step
        if not len(candles):
            return None
        result = self._indicator.ask(ComputeIndicators(pair[0], pair[1], candles, request_id),
                                     timeout=min(self._indicator_timeout_s, deadline_left))
        assert isinstance(result, IndicatorSet)
        if not next_close:  # no close times: as before, open + two nominal steps
            next_close = int(candles.open_time[-1]) + 2 * step
        return _Reading(last_closed_ms=int(candles.open_time[-1]), rsi=result.rsi_14,
                        next_close_ms=next_close)
