"""Memory pressure policy: when the process is using too much, and how hard to shrink.

The bot runs on small hosts where the kernel's OOM killer ends the whole process, every chat
at once. Shedding cached and derivable state early (warning) and hard (critical) keeps it
alive. The decision is pure so thresholds and hysteresis are tested without threads; the
``MemoryMonitor`` actor only samples, asks this module, and tells the actors that hold memory.

Hysteresis: a level is left downwards only once RSS is ``HYSTERESIS_POINTS`` percentage
points of the limit below that level's threshold, so a process hovering at a threshold does
not flood the log and flip caches back and forth on every sample.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

import psutil

from core.errors import BotError
from messages.system import MemoryPressure
from core.stats import INLINE, ActorStats, stat_figures

__all__ = [
    "HYSTERESIS_POINTS", "MemorySample", "MemoryStats", "PressureDecision", "PressureLevel",
    "PressurePolicy", "PsutilSampler", "SampleNow", "Sampler", "SamplingError", "SubscriberStats",
    "TARGET_FRACTIONS", "size_figures",
]

PressureLevel = Literal["normal", "warning", "critical"]

HYSTERESIS_POINTS = 5.0
"""Percentage points of the limit below a threshold before its level is left."""

TARGET_FRACTIONS: Mapping[PressureLevel, float] = {"normal": 1.0, "warning": 0.5, "critical": 0.1}
"""Fraction of their budget that memory holders shrink to at each level."""

_ORDER: tuple[PressureLevel, ...] = ("normal", "warning", "critical")
_BYTES_PER_MB = 1024 * 1024


class SamplingError(BotError):
    """The operating system would not tell us about the process (permission, gone, ...)."""


@dataclass(frozen=True, slots=True)
class SampleNow:
    """Take a memory sample now (told by the monitor's ticker, a test or an admin command)."""


@dataclass(frozen=True, slots=True)
class MemorySample:
    """One look at the process and the host."""

    rss_mb: float
    """Resident set size of this process (MB)."""
    threads: int
    """Threads in this process (one per actor plus tickers and pools)."""
    open_files: int
    """Open file descriptors (sockets included where the OS counts them)."""
    system_available_mb: float
    """Memory the host can still hand out without swapping (MB)."""
    system_percent: float
    """Host memory in use (%)."""


class Sampler(Protocol):
    """Something that can look at the process; tests script one."""

    def sample(self) -> MemorySample:
        """Sample now; raises :class:`SamplingError` if the OS refuses."""
        ...


class PsutilSampler:
    """Samples this process and the host with psutil."""

    def __init__(self) -> None:
        self._process = psutil.Process()

    def sample(self) -> MemorySample:
        try:
            process = self._process
            with process.oneshot():
                rss = process.memory_info().rss
                threads = process.num_threads()
                # num_fds exists on POSIX only; Windows has no fd table to count.
                open_files = (
                    process.num_fds() if hasattr(process, "num_fds") else len(process.open_files())
                )
            system = psutil.virtual_memory()
        except psutil.Error as exc:
            raise SamplingError(f"could not sample process memory: {exc!r}") from exc
        return MemorySample(
            rss_mb=rss / _BYTES_PER_MB,
            threads=threads,
            open_files=open_files,
            system_available_mb=system.available / _BYTES_PER_MB,
            system_percent=float(system.percent),
        )


@dataclass(frozen=True, slots=True)
class PressureDecision:
    """What one sample means, given the level before it."""

    level: PressureLevel
    """The level now."""
    changed: bool
    """True when subscribers must be told (the level differs from the previous one)."""
    collect_garbage: bool
    """True when the process just became critical: a full collection is worth its pause."""


class PressurePolicy:
    """Warning at ``warning_percent`` % of ``limit_mb``, critical at 100 %, with hysteresis."""

    def __init__(self, limit_mb: float, warning_percent: float) -> None:
        if limit_mb <= 0 or not 0 < warning_percent < 100:
            raise ValueError(f"bad memory policy: limit {limit_mb} MB, warning {warning_percent} %")
        self.limit_mb = float(limit_mb)
        self.warning_percent = float(warning_percent)

    def threshold_mb(self, level: PressureLevel) -> float:
        """RSS at or above which ``level`` is entered."""
        percent = {"normal": 0.0, "warning": self.warning_percent, "critical": 100.0}[level]
        return self.limit_mb * percent / 100

    def release_mb(self, level: PressureLevel) -> float:
        """RSS below which ``level`` is left downwards.

        The band is halved for tiny warning percentages so the release point stays above
        zero (a level that can never be left would keep caches shrunk for ever).
        """
        percent = {"normal": 0.0, "warning": self.warning_percent, "critical": 100.0}[level]
        return self.limit_mb * max(percent - HYSTERESIS_POINTS, percent / 2) / 100

    def classify(self, rss_mb: float, previous: PressureLevel = "normal") -> PressureLevel:
        """The level for ``rss_mb``; ``previous`` only matters on the way down (hysteresis)."""
        level: PressureLevel = "normal"
        for candidate in _ORDER[1:]:
            entered = rss_mb >= self.threshold_mb(candidate)
            held = _ORDER.index(candidate) <= _ORDER.index(previous) and rss_mb >= self.release_mb(
                candidate
            )
            if entered or held:
                level = candidate
        return level

    def decide(self, rss_mb: float, previous: PressureLevel) -> PressureDecision:
        """Classify and say what to do about it."""
        level = self.classify(rss_mb, previous)
        changed = level != previous
        return PressureDecision(
            level=level, changed=changed, collect_garbage=changed and level == "critical"
        )

    @staticmethod
    def target_fraction(level: PressureLevel) -> float:
        """Fraction of their budget memory holders keep at ``level``."""
        return TARGET_FRACTIONS[level]

    def pressure_message(self, level: PressureLevel, rss_mb: float) -> MemoryPressure:
        """The broadcast for a change to ``level``."""
        return MemoryPressure(
            level=level,
            rss_mb=round(rss_mb, 1),
            limit_mb=self.limit_mb,
            target_fraction=self.target_fraction(level),
        )


@dataclass(frozen=True, slots=True)
class SubscriberStats:
    """What the monitor sees of one actor it tells about memory pressure."""

    queue: int
    """Messages waiting for it."""


@dataclass(frozen=True, slots=True)
class MemoryStats(ActorStats):
    """The memory monitor actor's figures; the sample ones are None before the first sample."""

    level: PressureLevel
    """normal, warning or critical."""
    rss_mb: float | None
    """Resident memory at the last sample, one decimal."""
    threads: int | None
    """Threads at the last sample."""
    open_files: int | None
    """Open files at the last sample."""
    system_available_mb: float | None
    """Memory the system had available at the last sample, one decimal."""
    peak_rss_mb: float
    """Highest resident memory sampled, one decimal."""
    limit_mb: float
    """The configured limit the levels are relative to."""
    pressure_events: int
    """Level changes."""
    sampling_failures: int
    """Samples that could not be taken."""
    subscribers: tuple[tuple[str, SubscriberStats], ...] = field(default=(), metadata=INLINE)
    """Per subscriber: its figures, named ``<actor>.queue``."""


def size_figures(actor: str, stats: object) -> dict[str, int]:
    """The byte counts in an actor's stats (figures named ``bytes`` or ``*_bytes``, see
    ``core.stats.stat_figures``), keyed by actor.

    Generic over the stats types, so any actor that holds memory is covered by naming its
    figure so. Budgets (``max_bytes``) are configuration, not use, so they are left out.
    """
    return {
        f"{actor}.{key}": int(value)
        for key, value in stat_figures(stats)
        if (key == "bytes" or key.endswith("_bytes"))
        and not key.startswith("max_")
        and isinstance(value, (int, float))
        and not isinstance(value, bool)
    }
