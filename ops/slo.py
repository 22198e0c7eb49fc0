"""Service-level figures of the chat: success rate, error rate and latency percentiles per
command over the last 5 minutes and the last hour, from the outcome of every command.

Why a pure module: ``/health``, ``/stats``, ``GET /healthz``, ``/metrics`` and the pushed alerts
must agree on one set of figures, and windows must be testable with an injected clock. The
``slo`` actor (``actors/slo_tracker.py``) owns one :class:`SloWindows` and feeds it.

**What counts.** A command's outcome (``CommandDone.outcome``) is one of:

* ``ok`` and ``degraded``: **success**. A degraded answer is one we served with stale data,
  labelled as such: the user got an answer, the breaker did its job.
* ``error`` (a bug, or a worker that never answered) and ``unavailable`` (no data at all:
  "try again in N s"): **errors**: the user asked and we could not answer.
* anything else (``usage``: the user's own mistake; ``denied``, ``rate_limited``,
  ``coalesced``): **not counted** at all, neither in the rates nor in the latencies: they
  are answered at once by policy and would only flatter the figures.

``success_rate + error_rate == 1`` over the counted commands; both are None when none counted.

**Memory is bounded.** Time is cut in buckets (10 s for the 5-minute window, 60 s for the
hour), so a window is at most 30 or 60 buckets whatever the traffic. Each bucket keeps, per
command, the outcome counts and a latency histogram with fixed log-spaced bins (each 10 %
wider than the one before, 1 ms to 120 s: 124 bins, kept sparse). Histograms rather than
sample reservoirs because they merge exactly across buckets and commands (a reservoir of a
busy minute and a quiet one cannot be merged without weighting) and their error is known: a
percentile is reported as its bin's upper bound, so it is never understated and at most 10 %
high. Distinct command names are capped (``MAX_COMMANDS``); beyond that they count as
``other``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from core.stats import ActorStats

__all__ = [
    "ERROR_OUTCOMES", "MAX_COMMANDS", "SUCCESS_OUTCOMES", "CommandSlo", "SloStats",
    "SloWindows", "WindowFigures", "counted",
]

SUCCESS_OUTCOMES = frozenset({"ok", "degraded"})
"""Answered, possibly with stale data labelled as such."""
ERROR_OUTCOMES = frozenset({"error", "unavailable"})
"""Asked and not answered: our fault or the exchange's, never the user's."""
MAX_COMMANDS = 64
"""Distinct command names tracked; more are folded into ``other``."""

_SHORT_BUCKET_S = 10.0
_SHORT_BUCKETS = 30  # 5 minutes
_LONG_BUCKET_S = 60.0
_LONG_BUCKETS = 60  # 1 hour
_BIN_RATIO = 1.1
_MIN_MS = 1.0
_MAX_BIN = math.ceil(math.log(120_000.0 / _MIN_MS, _BIN_RATIO))


def counted(outcome: str) -> bool:
    """Whether an outcome counts in the figures (success or error, see the module doc)."""
    return outcome in SUCCESS_OUTCOMES or outcome in ERROR_OUTCOMES


def _bin(latency_ms: float) -> int:
    if latency_ms <= _MIN_MS:
        return 0
    return min(_MAX_BIN, math.ceil(math.log(latency_ms / _MIN_MS, _BIN_RATIO)))


def _upper_ms(index: int) -> float:
    return _MIN_MS * _BIN_RATIO ** index


@dataclass(frozen=True, slots=True)
class WindowFigures:
    """One window's figures for one command (or all of them)."""

    count: int
    """Commands counted (successes plus errors)."""
    errors: int
    """Of those, errors (``error`` or ``unavailable``)."""
    degraded: int
    """Of the successes, answers served with stale data."""
    success_rate: float | None
    """Successes / counted, four decimals; None when nothing counted."""
    error_rate: float | None
    """Errors / counted, four decimals; None when nothing counted."""
    p50_ms: float | None
    """Median latency (the upper bound of its 10 % bin); None when nothing counted."""
    p95_ms: float | None
    """95th percentile latency, likewise."""
    p99_ms: float | None
    """99th percentile latency, likewise."""


EMPTY = WindowFigures(count=0, errors=0, degraded=0, success_rate=None, error_rate=None,
                      p50_ms=None, p95_ms=None, p99_ms=None)


@dataclass(frozen=True, slots=True)
class CommandSlo:
    """One command's figures over both windows."""

    last_5m: WindowFigures
    """The last 5 minutes."""
    last_1h: WindowFigures
    """The last hour."""


@dataclass(frozen=True, slots=True)
class SloStats(ActorStats):
    """The ``slo`` actor's figures: overall and per command, 5 minutes and 1 hour."""

    last_5m: WindowFigures
    """Every command together, the last 5 minutes."""
    last_1h: WindowFigures
    """Every command together, the last hour."""
    commands: tuple[tuple[str, CommandSlo], ...] = ()
    """Per command name, busiest over the hour first."""
    recorded: int = 0
    """Outcomes received since start (counted or not)."""


@dataclass
class _Tally:
    """Counts and a sparse latency histogram: what one bucket keeps for one command."""

    ok: int = 0
    degraded: int = 0
    errors: int = 0
    bins: Counter[int] = field(default_factory=Counter)

    def add(self, outcome: str, latency_ms: float) -> None:
        if outcome in ERROR_OUTCOMES:
            self.errors += 1
        elif outcome == "degraded":
            self.degraded += 1
        else:
            self.ok += 1
        self.bins[_bin(latency_ms)] += 1

    def merge(self, other: _Tally) -> None:
        self.ok += other.ok
        self.degraded += other.degraded
        self.errors += other.errors
        self.bins.update(other.bins)

    def figures(self) -> WindowFigures:
        count = self.ok + self.degraded + self.errors
        if not count:
            return EMPTY
        return WindowFigures(
            count=count, errors=self.errors, degraded=self.degraded,
            success_rate=round((count - self.errors) / count, 4),
            error_rate=round(self.errors / count, 4),
            p50_ms=self._percentile(0.50, count), p95_ms=self._percentile(0.95, count),
            p99_ms=self._percentile(0.99, count))

    def _percentile(self, q: float, count: int) -> float:
        rank = max(1, math.ceil(q * count))  # nearest-rank
        seen = 0
        for index in sorted(self.bins):
            seen += self.bins[index]
            if seen >= rank:
                return round(_upper_ms(index), 1)
        return round(_upper_ms(max(self.bins)), 1)


class _Window:
    """Fixed-width buckets, the newest ``size`` kept, each a tally per command name."""

    def __init__(self, bucket_s: float, size: int) -> None:
        self._bucket_s = bucket_s
        self._size = size
        self._buckets: dict[int, dict[str, _Tally]] = {}
        self._newest = -(2**62)

    def add(self, now: float, command: str, outcome: str, latency_ms: float) -> None:
        # A monotonic clock never goes back; should one, the outcome joins the newest bucket.
        index = max(math.floor(now / self._bucket_s), self._newest)
        self._expire(index)
        self._newest = index
        self._buckets.setdefault(index, {}).setdefault(command, _Tally()).add(outcome,
                                                                             latency_ms)

    def tallies(self, now: float) -> dict[str, _Tally]:
        index = math.floor(now / self._bucket_s)
        self._expire(index)
        merged: dict[str, _Tally] = {}
        for bucket in self._buckets.values():
            for command, tally in bucket.items():
                merged.setdefault(command, _Tally()).merge(tally)
        return merged

    def _expire(self, index: int) -> None:
        oldest = index - self._size + 1
        for stale in [i for i in self._buckets if i < oldest]:
            del self._buckets[stale]

    def __len__(self) -> int:
        return len(self._buckets)


class SloWindows:
    """The 5-minute and 1-hour windows; not thread-safe (one actor owns it)."""

    def __init__(self) -> None:
        self._short = _Window(_SHORT_BUCKET_S, _SHORT_BUCKETS)
        self._long = _Window(_LONG_BUCKET_S, _LONG_BUCKETS)
        self._names: set[str] = set()
        self.recorded = 0

    def record(self, command: str, outcome: str, latency_ms: float, at: float) -> None:
        """One command's outcome, ``at`` on the owner's clock (seconds)."""
        self.recorded += 1
        if not counted(outcome):
            return
        if command not in self._names:
            if len(self._names) >= MAX_COMMANDS:
                command = "other"
            self._names.add(command)
        latency_ms = max(0.0, latency_ms)
        self._short.add(at, command, outcome, latency_ms)
        self._long.add(at, command, outcome, latency_ms)

    def buckets(self) -> int:
        """Buckets held now (bounded by 30 + 60), for tests of the memory bound."""
        return len(self._short) + len(self._long)

    def stats(self, now: float) -> SloStats:
        short, long = self._short.tallies(now), self._long.tallies(now)
        names = sorted(set(short) | set(long),
                       key=lambda name: (-_total(long.get(name)), name))
        return SloStats(
            last_5m=_overall(short.values()), last_1h=_overall(long.values()),
            commands=tuple((name, CommandSlo(_figures(short.get(name)),
                                             _figures(long.get(name)))) for name in names),
            recorded=self.recorded)


def _total(tally: _Tally | None) -> int:
    return 0 if tally is None else tally.ok + tally.degraded + tally.errors


def _figures(tally: _Tally | None) -> WindowFigures:
    return EMPTY if tally is None else tally.figures()


def _overall(tallies: Iterable[_Tally]) -> WindowFigures:
    merged = _Tally()
    for tally in tallies:
        merged.merge(tally)
    return merged.figures()
