"""Fixtures for the exchange simulator: a hand-moved clock, running simulators, HTTP sessions."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
import requests

from fakes.exchange.simulator import ExchangeSimulator

__all__ = ["START_S", "ManualClock"]

START_S = 1_749_988_810.0
"""2025-06-15 12:00:10 UTC: ten seconds into a minute, well after every simulated listing."""


class ManualClock:
    """A clock that only moves when a test moves it; callable like ``time.time``."""

    def __init__(self, start_s: float = START_S) -> None:
        self._lock = threading.Lock()
        self._now_s = start_s

    def __call__(self) -> float:
        with self._lock:
            return self._now_s

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now_s += seconds

    @property
    def now_ms(self) -> int:
        return int(self() * 1000)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def start_simulator(clock: ManualClock) -> Iterator[Callable[..., ExchangeSimulator]]:
    """Start simulators on ephemeral loopback ports (on the test's clock by default); all stop."""
    started: list[ExchangeSimulator] = []

    def start(**options: object) -> ExchangeSimulator:
        options.setdefault("clock", clock)
        simulator = ExchangeSimulator(**options).start()  # type: ignore[arg-type]
        started.append(simulator)
        return simulator

    yield start
    for simulator in started:
        simulator.stop()


@pytest.fixture
def simulator(start_simulator: Callable[..., ExchangeSimulator]) -> ExchangeSimulator:
    return start_simulator()


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session
