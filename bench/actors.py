"""Cost of supervision against raw pykka, measured in one run on this machine.

Goals (issue "Foundation"): ask round trip through a stable address within 1.25x a raw pykka
ask; tell throughput through an address at least 0.9x raw pykka (issue "Interactive speed"); restart latency without
deliberate backoff p99 <= 20 ms. Raw and supervised runs alternate so both see the same load.

Run: ``python bench/actors.py`` (after ``pip install -e .``).
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pykka

from bench.report import Row, print_table
from supervision.actor import SupervisedActor
from supervision.context import ChildContext
from supervision.spec import ChildSpec
from supervision.supervisor import SupervisorSettings
from supervision.tree import SupervisionTree

__all__ = ["run"]

ASKS = 5_000
TELLS = 50_000
ROUNDS = 7
RESTARTS = 300


class RawEcho(pykka.ThreadingActor):
    def on_receive(self, message: Any) -> Any:
        return message


class SupervisedEcho(SupervisedActor):
    def handle(self, message: Any) -> Any:
        return message


class CrashTimer(SupervisedActor):
    """Crashes on the first delivery of each ("crash", n); times crash and replacement start."""

    def __init__(self, ctx: ChildContext, marks: dict[str, float], ready: threading.Event):
        super().__init__(ctx)
        self.marks = marks
        self.ready = ready

    def setup(self) -> None:
        self.marks["ready"] = time.perf_counter()
        self.ready.set()

    def handle(self, message: Any) -> Any:
        if message.startswith("crash-") and message not in self.marks:  # redelivery: no crash
            self.marks[message] = time.perf_counter()
            raise RuntimeError("benchmark crash")
        return None


def _ask_us(send: Any) -> float:
    start = time.perf_counter()
    for n in range(ASKS):
        send(n)
    return (time.perf_counter() - start) / ASKS * 1e6


def _tells_per_s(tell: Any, ask: Any) -> float:
    start = time.perf_counter()
    for n in range(TELLS):
        tell(n)
    ask("done")  # FIFO: answered after every tell was handled
    return TELLS / (time.perf_counter() - start)


def _throughput_rows() -> list[Row]:
    settings = SupervisorSettings(heartbeat_interval_s=5.0)
    spec = ChildSpec(name="echo", factory=lambda ctx: SupervisedEcho.start(ctx))
    tree = SupervisionTree([spec], settings).start()
    raw = RawEcho.start()
    address = tree.address("echo")
    try:
        address.ask("warm", timeout=5)
        raw_ask, sup_ask, raw_tell, sup_tell = [], [], [], []
        for _ in range(ROUNDS):
            raw_ask.append(_ask_us(lambda m: raw.ask(m, timeout=5)))
            sup_ask.append(_ask_us(lambda m: address.ask(m, timeout=5)))
            raw_tell.append(_tells_per_s(raw.tell, lambda m: raw.ask(m, timeout=30)))
            sup_tell.append(_tells_per_s(address.tell, lambda m: address.ask(m, timeout=30)))
    finally:
        raw.stop(timeout=5)
        tree.stop()
    # Each round measures raw and supervised back to back; the median of the per-round ratios
    # resists load bursts from other processes better than a ratio of medians.
    ask_ratio = statistics.median(s / r for s, r in zip(sup_ask, raw_ask))
    tell_ratio = statistics.median(s / r for s, r in zip(sup_tell, raw_tell))
    return [
        Row("ask round trip via address (median)", "<= 1.25x raw", statistics.median(sup_ask),
            "us", statistics.median(raw_ask), ask_ratio, ask_ratio <= 1.25),
        Row("tell throughput via address (median)", ">= 0.9x raw",
            statistics.median(sup_tell) / 1000, "k/s", statistics.median(raw_tell) / 1000,
            tell_ratio, tell_ratio >= 0.9),
    ]


def _restart_rows() -> list[Row]:
    marks: dict[str, float] = {}
    ready = threading.Event()
    settings = SupervisorSettings(
        backoff_base_s=0.0, max_restarts=RESTARTS + 10, period_s=60, heartbeat_interval_s=5.0
    )
    spec = ChildSpec(name="victim", factory=lambda ctx: CrashTimer.start(ctx, marks, ready))
    tree = SupervisionTree([spec], settings).start()
    address = tree.address("victim")
    latencies_ms = []
    try:
        assert ready.wait(5)
        for n in range(RESTARTS):
            ready.clear()
            token = f"crash-{n}"
            address.tell(token)
            assert ready.wait(5), "the replacement never started"
            latencies_ms.append((marks["ready"] - marks[token]) * 1000)
            assert address.wait_until_running(generation=n + 2, timeout=5)
            assert address.ask("sync", timeout=5) is None
    finally:
        tree.stop()
    cuts = statistics.quantiles(latencies_ms, n=100)
    p50, p99 = statistics.median(latencies_ms), cuts[98]
    return [
        Row("restart latency p50 (no backoff)", "-", p50, "ms", None, None, True),
        Row("restart latency p99 (no backoff)", "<= 20 ms", p99, "ms", None, None, p99 <= 20),
    ]


def run() -> list[Row]:
    return _throughput_rows() + _restart_rows()


if __name__ == "__main__":
    import logging

    logging.disable(logging.CRITICAL)  # pykka logs every deliberate crash with a traceback
    print_table("bench/actors.py: supervision overhead vs raw pykka", run())
