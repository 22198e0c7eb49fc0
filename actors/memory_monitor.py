"""The memory monitor: samples the process on an interval and broadcasts MemoryPressure.

It is the one actor that knows how much memory the bot uses; the actors that hold memory (the
cache, the indicator state, the chart renderer) only know how to shed it. On a change of level
it tells each of them ``MemoryPressure`` and logs what it saw, including the byte counts those
actors report about themselves, so an operator can see *what* was big and what was shed.

Lazily started subscribers (the chart renderer until someone asks for a chart) are skipped:
telling one would start it, spending memory to announce that memory is short.

The ticker tells :class:`ops.memory.SampleNow`, a public message rather than a private tick,
so tests and an admin command can ask for a sample without waiting for the clock.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import pykka

from core.config import BotConfig
from core.logs import log_event
from ops.memory import (
    MemorySample,
    MemoryStats,
    PressureLevel,
    PressurePolicy,
    PsutilSampler,
    SampleNow,
    Sampler,
    SamplingError,
    SubscriberStats,
    size_figures,
)
from supervision.actor import SupervisedActor
from supervision.address import AddressState
from supervision.context import ChildContext
from supervision.errors import ChildUnavailable
from supervision.messages import Describe
from supervision.snapshot import ActorReport
from supervision.spec import ChildSpec, Priority
from supervision.timer import PeriodicTimer, start_periodic, stop_periodic

__all__ = ["DEFAULT_SUBSCRIBERS", "MemoryMonitor", "memory_spec"]

logger = logging.getLogger(__name__)

DEFAULT_SUBSCRIBERS = ("cache", "indicator", "chart")
"""Actors that hold memory they can shed."""

SIZE_ASK_TIMEOUT_S = 0.5
"""Total wait for subscribers' byte counts on a level change; a busy one is just left out."""

_LEVEL_LOG = {"warning": logging.WARNING, "critical": logging.CRITICAL}


class MemoryMonitor(SupervisedActor):
    """Samples on a ticker; on a level change tells subscribers, logs, and collects garbage."""

    def __init__(
        self,
        ctx: ChildContext,
        *,
        config: BotConfig,
        subscribers: Sequence[str] = DEFAULT_SUBSCRIBERS,
        sampler: Sampler | None = None,
        gc_collect: Callable[[], object] = gc.collect,
    ) -> None:
        super().__init__(ctx)
        self._policy = PressurePolicy(config.max_memory_mb, config.memory_warning_percent)
        self._interval_s = config.memory_sample_interval_s
        self._subscribers = tuple(subscribers)
        self._sampler = sampler
        self._gc_collect = gc_collect
        self._timer: PeriodicTimer | None = None
        self._level: PressureLevel = "normal"
        self._last: MemorySample | None = None
        self._peak_rss_mb = 0.0
        self._pressure_events = 0
        self._sampling_failures = 0

    def setup(self) -> None:
        if self._sampler is None:
            self._sampler = PsutilSampler()
        self._timer = start_periodic(self, SampleNow(), self._interval_s)

    def release(self) -> None:
        stop_periodic(self._timer)

    def handle(self, message: Any) -> Any:
        match message:
            case SampleNow():
                return self._on_sample_now()
        return super().handle(message)

    def stats(self) -> MemoryStats:
        last = self._last
        return MemoryStats(
            level=self._level,
            rss_mb=None if last is None else round(last.rss_mb, 1),
            threads=None if last is None else last.threads,
            open_files=None if last is None else last.open_files,
            system_available_mb=None if last is None else round(last.system_available_mb, 1),
            peak_rss_mb=round(self._peak_rss_mb, 1),
            limit_mb=self._policy.limit_mb,
            pressure_events=self._pressure_events,
            sampling_failures=self._sampling_failures,
            subscribers=tuple((name, SubscriberStats(self.ctx.directory[name].mailbox_depth()))
                              for name in self._subscribers),
        )

    def _on_sample_now(self) -> PressureLevel:
        assert self._sampler is not None, "setup() creates the sampler"
        try:
            sample = self._sampler.sample()
        except SamplingError as exc:
            # Not worth a restart: the next tick tries again, and the count shows it is failing.
            self._sampling_failures += 1
            log_event(logger, "memory.sample_failed", logging.WARNING, error=repr(exc))
            return self._level
        self._last = sample
        self._peak_rss_mb = max(self._peak_rss_mb, sample.rss_mb)
        decision = self._policy.decide(sample.rss_mb, self._level)
        previous, self._level = self._level, decision.level
        if decision.changed:
            self._on_level_changed(previous, sample)
        if decision.collect_garbage:
            self._collect_garbage(sample)
        return self._level

    def _on_level_changed(self, previous: PressureLevel, sample: MemorySample) -> None:
        self._pressure_events += 1
        pressure = self._policy.pressure_message(self._level, sample.rss_mb)
        # Sizes first: after the broadcast they would show what is left, not what was big.
        sizes = self._subscriber_sizes()
        told = self._broadcast(pressure)
        log_event(
            logger,
            "memory.recovered" if self._level == "normal" else "memory.pressure",
            _LEVEL_LOG.get(self._level, logging.INFO),
            memory_level=self._level,
            previous=previous,
            rss_mb=pressure.rss_mb,
            limit_mb=pressure.limit_mb,
            target_fraction=pressure.target_fraction,
            threads=sample.threads,
            open_files=sample.open_files,
            system_available_mb=round(sample.system_available_mb, 1),
            system_percent=sample.system_percent,
            told=",".join(told),
            sizes=sizes,
        )

    def _broadcast(self, pressure: object) -> tuple[str, ...]:
        told: list[str] = []
        for name in self._subscribers:
            address = self.ctx.directory[name]
            if address.state in (AddressState.LAZY, AddressState.STOPPED):
                continue
            address.tell(pressure)
            told.append(name)
        return tuple(told)

    def _subscriber_sizes(self) -> dict[str, int]:
        """Byte counts and queue depths the running subscribers report, asked in parallel."""
        sizes: dict[str, int] = {}
        asks = []
        for name in self._subscribers:
            address = self.ctx.directory[name]
            if address.state is AddressState.RUNNING:
                sizes[f"{name}.queue"] = address.mailbox_depth()
                asks.append((name, address.ask_future(Describe())))
        deadline = time.monotonic() + SIZE_ASK_TIMEOUT_S
        for name, future in asks:
            try:
                report = future.get(timeout=max(deadline - time.monotonic(), 0.0))
            except (ChildUnavailable, pykka.Timeout) as exc:
                log_event(logger, "memory.size_unavailable", logging.DEBUG, actor=name, error=repr(exc))
                continue
            if isinstance(report, ActorReport):
                sizes.update(size_figures(name, report.stats))
        return sizes

    def _collect_garbage(self, sample: MemorySample) -> None:
        collected = self._gc_collect()
        log_event(
            logger,
            "memory.gc",
            logging.WARNING,
            rss_mb=round(sample.rss_mb, 1),
            collected=collected if isinstance(collected, int) else None,
        )


def memory_spec(
    config: BotConfig,
    *,
    subscribers: Sequence[str] = DEFAULT_SUBSCRIBERS,
    sampler: Sampler | None = None,
    gc_collect: Callable[[], object] = gc.collect,
) -> ChildSpec:
    """The ``memory_monitor`` child: started last, restarted if it dies, never lazy."""
    return ChildSpec(
        name="memory_monitor",
        factory=lambda ctx: MemoryMonitor.start(
            ctx, config=config, subscribers=subscribers, sampler=sampler, gc_collect=gc_collect
        ),
        priority=Priority.BACKGROUND,
    )
