"""The memory monitor: a scripted sampler drives it through levels, recorders see the broadcasts."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pykka
import pytest

from actors.memory_monitor import memory_spec
from core.config import BotConfig
from messages.system import MemoryPressure
from ops.memory import MemorySample, MemoryStats, SampleNow, SamplingError
from supervision.actor import SupervisedActor
from supervision.address import AddressState
from supervision.context import ChildContext
from supervision.spec import ChildSpec, Priority
from core.stats import FlatStats
from supervision.tree import SupervisionTree

TIMEOUT = 5.0
# Warning from 80 MB, critical from 100 MB, back to normal below 75 MB. The ticker's interval
# is an hour so only the SampleNow each test tells causes a sample.
CONFIG = BotConfig().with_overrides(
    max_memory_mb=100, cache_size_mb=10, memory_warning_percent=80, memory_sample_interval_s=3600.0)


class ScriptedSampler:
    """Returns the scripted RSS values in turn (the last one for ever); None means 'fails'."""

    def __init__(self, *rss_mb: float | None) -> None:
        self._script = list(rss_mb)

    def sample(self) -> MemorySample:
        rss = self._script.pop(0) if len(self._script) > 1 else self._script[0]
        if rss is None:
            raise SamplingError("scripted failure")
        return MemorySample(rss_mb=rss, threads=12, open_files=9, system_available_mb=2048.0,
                            system_percent=40.0)


class Inbox:
    """Every MemoryPressure each recorder received, in order."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.received: dict[str, list[MemoryPressure]] = {}

    def add(self, name: str, pressure: MemoryPressure) -> None:
        with self._changed:
            self.received.setdefault(name, []).append(pressure)
            self._changed.notify_all()

    def levels(self, name: str) -> list[str]:
        with self._changed:
            return [pressure.level for pressure in self.received.get(name, [])]

    def wait_for(self, name: str, count: int) -> list[MemoryPressure]:
        with self._changed:
            assert self._changed.wait_for(lambda: len(self.received.get(name, [])) >= count,
                                          TIMEOUT), f"{name} got {self.received.get(name)}"
            return list(self.received[name])


class Recorder(SupervisedActor):
    """Stands in for the cache, indicator or chart actor; reports a size like they do."""

    def __init__(self, ctx: ChildContext, inbox: Inbox) -> None:
        super().__init__(ctx)
        self._inbox = inbox

    def handle(self, message: Any) -> Any:
        match message:
            case MemoryPressure():
                return self._inbox.add(self.ctx.name, message)
        return super().handle(message)

    def stats(self) -> FlatStats:
        return FlatStats((("bytes", 4096), ("max_bytes", 8192)))


class GcCounter:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        return 3


class Monitored:
    """A tree with recorders as subscribers and the monitor under test."""

    def __init__(self, tree: SupervisionTree, inbox: Inbox, gc_counter: GcCounter) -> None:
        self.tree = tree
        self.inbox = inbox
        self.gc = gc_counter

    def sample(self) -> str:
        level = self.tree.address("memory_monitor").ask(SampleNow(), timeout=TIMEOUT)
        assert isinstance(level, str)
        return level

    def settle(self, *names: str) -> None:
        """Wait until every recorder has handled what was told before (inboxes are FIFO)."""
        for name in names:
            self.tree.address(name).ask(MemoryPressure("probe", 0, 0, 1.0), timeout=TIMEOUT)

    def monitor_stats(self) -> MemoryStats:
        stats = self.tree.snapshot(timeout_s=TIMEOUT).find_stats(MemoryStats)
        assert stats is not None
        return stats


@pytest.fixture
def monitored() -> Iterator[Callable[..., Monitored]]:
    trees: list[SupervisionTree] = []

    def make(*rss_mb: float | None, lazy: tuple[str, ...] = ()) -> Monitored:
        inbox = Inbox()
        gc_counter = GcCounter()

        def recorder(name: str) -> ChildSpec:
            return ChildSpec(name=name, factory=lambda ctx: Recorder.start(ctx, inbox),
                             lazy=name in lazy)

        specs = [recorder(name) for name in ("cache", "indicator", "chart")]
        specs.append(memory_spec(CONFIG, sampler=ScriptedSampler(*rss_mb), gc_collect=gc_counter))
        tree = SupervisionTree(specs).start()
        trees.append(tree)
        for name in ("cache", "indicator", "chart", "memory_monitor"):
            expected = AddressState.LAZY if name in lazy else AddressState.RUNNING
            assert tree.address(name).wait_until_state(expected, timeout=TIMEOUT), name
        return Monitored(tree, inbox, gc_counter)

    yield make
    for tree in trees:
        tree.stop(timeout_s=TIMEOUT)
    assert pykka.ActorRegistry.get_all() == []


def events(caplog: pytest.LogCaptureFixture) -> list[tuple[str, int]]:
    return [(getattr(record, "event"), record.levelno) for record in caplog.records
            if getattr(record, "event", "").startswith("memory.")]


class TestPressureBroadcasts:
    def test_crossing_the_warning_threshold_tells_every_subscriber_to_halve(self, monitored):
        bot = monitored(50, 85)
        assert bot.sample() == "normal"
        assert bot.sample() == "warning"
        for name in ("cache", "indicator", "chart"):
            assert bot.inbox.wait_for(name, 1) == [
                MemoryPressure(level="warning", rss_mb=85, limit_mb=100, target_fraction=0.5)]

    def test_staying_at_a_level_tells_nobody_again(self, monitored):
        bot = monitored(85, 90, 82, 77)
        for _ in range(4):
            assert bot.sample() == "warning"
        bot.settle("cache")
        assert bot.inbox.levels("cache") == ["warning", "probe"]

    def test_going_critical_then_recovering_broadcasts_each_change(self, monitored):
        bot = monitored(85, 120, 90, 60)
        assert [bot.sample() for _ in range(4)] == ["warning", "critical", "warning", "normal"]
        received = bot.inbox.wait_for("chart", 4)
        assert [(p.level, p.target_fraction) for p in received] == [
            ("warning", 0.5), ("critical", 0.1), ("warning", 0.5), ("normal", 1.0)]

    def test_a_lazy_subscriber_is_not_started_to_hear_about_memory(self, monitored):
        bot = monitored(120, lazy=("chart",))
        assert bot.sample() == "critical"
        assert [p.level for p in bot.inbox.wait_for("cache", 1)] == ["critical"]
        assert [p.level for p in bot.inbox.wait_for("indicator", 1)] == ["critical"]
        assert bot.tree.address("chart").state is AddressState.LAZY
        assert bot.inbox.levels("chart") == []


class TestGarbageCollection:
    def test_it_runs_when_the_process_becomes_critical_only(self, monitored):
        bot = monitored(85, 120, 130, 90, 110)
        assert bot.sample() == "warning"
        assert bot.gc.calls == 0
        assert bot.sample() == "critical"
        assert bot.gc.calls == 1
        assert bot.sample() == "critical"
        assert bot.gc.calls == 1
        assert bot.sample() == "warning"
        assert bot.sample() == "critical"
        assert bot.gc.calls == 2


class TestVisibility:
    def test_every_change_is_logged_with_the_sizes_subscribers_report(self, monitored, caplog):
        caplog.set_level(logging.INFO, logger="actors.memory_monitor")
        bot = monitored(85, 120, 60)
        for _ in range(3):
            bot.sample()
        assert events(caplog) == [
            ("memory.pressure", logging.WARNING),
            ("memory.pressure", logging.CRITICAL),
            ("memory.gc", logging.WARNING),
            ("memory.recovered", logging.INFO),
        ]
        first = next(r for r in caplog.records if getattr(r, "event", "") == "memory.pressure")
        assert first.fields["told"] == "cache,indicator,chart"
        assert first.fields["sizes"]["cache.bytes"] == 4096
        assert "cache.max_bytes" not in first.fields["sizes"]

    def test_stats_show_the_last_sample_the_peak_and_the_events(self, monitored):
        bot = monitored(85, 120, 60)
        for _ in range(3):
            bot.sample()
        stats = bot.monitor_stats()
        assert stats.level == "normal"
        assert stats.rss_mb == 60
        assert stats.peak_rss_mb == 120
        assert stats.threads == 12
        assert stats.open_files == 9
        assert stats.pressure_events == 3
        assert dict(stats.subscribers)["cache"].queue == 0

    def test_a_failed_sample_is_counted_and_keeps_the_level(self, monitored, caplog):
        bot = monitored(85, None, 86)
        assert bot.sample() == "warning"
        assert bot.sample() == "warning"
        assert bot.monitor_stats().sampling_failures == 1
        assert ("memory.sample_failed", logging.WARNING) in events(caplog)
        assert bot.tree.address("memory_monitor").generation == 1


class TestSpec:
    def test_the_monitor_starts_in_the_background_under_its_own_name(self):
        spec = memory_spec(CONFIG)
        assert (spec.name, spec.priority, spec.lazy) == ("memory_monitor", Priority.BACKGROUND,
                                                          False)

    def test_without_a_sampler_it_samples_the_real_process(self):
        tree = SupervisionTree([memory_spec(CONFIG, subscribers=())]).start()
        try:
            assert tree.address("memory_monitor").ask(SampleNow(), timeout=TIMEOUT) in (
                "normal", "warning", "critical")
            stats = tree.snapshot(timeout_s=TIMEOUT).find_stats(MemoryStats)
            assert stats is not None and stats.rss_mb is not None and stats.rss_mb > 1
        finally:
            tree.stop(timeout_s=TIMEOUT)
