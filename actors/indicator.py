"""Indicator actor: keeps incremental indicator state per (symbol, interval).

A request carries the closed candles just fetched. When the actor already holds state for that
series and only a few candles are new, it feeds just those (O(1) each); otherwise it rebuilds
the state from the whole series. The state is the only mutable thing and lives here; it is
bounded (LRU) and dropped when memory runs short, since it can always be rebuilt.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from core.logs import log_event
from market.candles import Candles
from market.incremental import IndicatorState
from market.indicator_set import IndicatorSet
from messages.market import ComputeIndicators
from messages.system import MemoryPressure
from supervision.actor import SupervisedActor
from supervision.context import ChildContext
from core.stats import ActorStats

__all__ = ["IndicatorActor", "IndicatorStats"]

logger = logging.getLogger(__name__)

MAX_INCREMENTAL_STEPS = 16
"""More new candles than this and a vectorised rebuild is cheaper than stepping."""


@dataclass(frozen=True, slots=True)
class IndicatorStats(ActorStats):
    """The indicator actor's figures."""

    series: int
    """Series (symbol and interval) with kept indicator state."""
    state_bytes: int
    """Bytes that state holds."""
    rebuilds: int
    """Full recomputations."""
    incremental_steps: int
    """Candles folded into kept state instead."""
    reused: int
    """Requests answered from kept state unchanged."""


class IndicatorActor(SupervisedActor):
    """Answers ComputeIndicators with an IndicatorSet; shrinks on MemoryPressure."""

    def __init__(self, ctx: ChildContext, *, max_series: int = 256) -> None:
        super().__init__(ctx)
        self._max_series = max_series
        self._states: OrderedDict[tuple[str, str], IndicatorState] = OrderedDict()
        self._rebuilds = 0
        self._incremental_steps = 0
        self._reused = 0

    def handle(self, message: Any) -> Any:
        match message:
            case ComputeIndicators():
                return self._on_compute(message)
            case MemoryPressure():
                return self._on_memory_pressure(message)
        return super().handle(message)

    def stats(self) -> IndicatorStats:
        return IndicatorStats(
            series=len(self._states),
            state_bytes=sum(state.memory_bytes() for state in self._states.values()),
            rebuilds=self._rebuilds,
            incremental_steps=self._incremental_steps,
            reused=self._reused,
        )

    def _on_compute(self, message: ComputeIndicators) -> IndicatorSet:
        key = (message.symbol, message.interval)
        candles: Candles = message.candles
        state = self._states.get(key)
        result = self._advance(state, candles) if state is not None else None
        if result is None:
            state = IndicatorState.from_candles(candles)
            self._rebuilds += 1
            result = state.snapshot()
            self._states[key] = state
        self._states.move_to_end(key)
        while len(self._states) > self._max_series:
            self._states.popitem(last=False)
        return result

    def _advance(self, state: IndicatorState, candles: Candles) -> IndicatorSet | None:
        """Feed only the candles newer than the state's last; None when a rebuild is needed."""
        last = state.snapshot()
        if last.open_time is None or len(candles) == 0:
            return None
        times = candles.open_time
        if int(times[-1]) == last.open_time:
            self._reused += 1
            return last
        position = int(times.searchsorted(last.open_time))
        if position >= len(times) or int(times[position]) != last.open_time:
            return None  # the state's last candle is not in this window: rebuild
        new = len(times) - position - 1
        if new > MAX_INCREMENTAL_STEPS:
            return None
        result = last
        for index in range(position + 1, len(times)):
            result = state.update(candles.candle(index))
        self._incremental_steps += new
        return result

    def _on_memory_pressure(self, message: MemoryPressure) -> None:
        keep = int(len(self._states) * message.target_fraction)
        dropped = 0
        while len(self._states) > keep:
            self._states.popitem(last=False)
            dropped += 1
        log_event(logger, "indicator.state_dropped", logging.WARNING,
                  memory_level=message.level, dropped=dropped)
