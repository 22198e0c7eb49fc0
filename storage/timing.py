"""Query timings per kind: p50/p99 for introspection, and an event for every slow query.

Shared by the writer thread and every reader thread, so it takes a lock; the critical section
is an append to a bounded deque. Percentiles are computed only when someone asks (introspection
every few seconds at most), over the last ``window`` samples of each kind.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from core.logs import log_event

__all__ = ["KindTimings", "QueryTimer", "Timings"]

logger = logging.getLogger(__name__)

DEFAULT_WINDOW = 2048


@dataclass(frozen=True, slots=True)
class KindTimings:
    """Figures of one query kind."""

    count: int
    """Queries timed since start."""
    slow: int
    """Of those, slower than the threshold."""
    p50_ms: float
    """Median over the recent window."""
    p99_ms: float
    """99th percentile over the recent window."""


Timings = tuple[tuple[str, KindTimings], ...]
"""Figures per query kind, sorted by kind (flattened as ``<field>.<kind>.p99_ms`` ...)."""


class _Samples:
    __slots__ = ("count", "recent", "slow")

    def __init__(self, window: int) -> None:
        self.count = 0
        self.slow = 0
        self.recent: deque[float] = deque(maxlen=window)


class QueryTimer:
    """Thread-safe timings of named query kinds, with a slow-query threshold."""

    def __init__(self, slow_query_ms: float, *, window: int = DEFAULT_WINDOW,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.slow_query_ms = slow_query_ms
        self._window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._kinds: dict[str, _Samples] = {}

    @contextmanager
    def measure(self, kind: str, size: int | None = None) -> Iterator[None]:
        """Time the block as one query of ``kind`` (failed ones too); ``size`` (rows,
        writes) goes into the slow-query event."""
        started = self._clock()
        try:
            yield
        finally:
            self.record(kind, (self._clock() - started) * 1000.0, size)

    def record(self, kind: str, elapsed_ms: float, size: int | None = None) -> None:
        slow = elapsed_ms > self.slow_query_ms
        with self._lock:
            samples = self._kinds.get(kind)
            if samples is None:
                samples = self._kinds[kind] = _Samples(self._window)
            samples.count += 1
            samples.recent.append(elapsed_ms)
            if slow:
                samples.slow += 1
        if slow:
            log_event(logger, "storage.slow_query", logging.WARNING, kind=kind,
                      elapsed_ms=round(elapsed_ms, 3), threshold_ms=self.slow_query_ms, size=size)

    def snapshot(self) -> Mapping[str, KindTimings]:
        with self._lock:
            copied = {kind: (s.count, s.slow, tuple(s.recent)) for kind, s in self._kinds.items()}
        result = {}
        for kind, (count, slow, recent) in sorted(copied.items()):
            p50, p99 = np.percentile(np.asarray(recent), [50, 99]) if recent else (0.0, 0.0)
            result[kind] = KindTimings(count, slow, round(float(p50), 4), round(float(p99), 4))
        return result

    def stats(self) -> Timings:
        """Every kind's figures, sorted by kind, for an actor's stats."""
        return tuple(self.snapshot().items())
