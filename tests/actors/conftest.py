"""Fixtures for the market actors: a real simulator on loopback and the production subtree."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pykka
import pytest

from actors.market_access import MarketAccess
from actors.market_tree import market_spec
from core.config import BotConfig
from fakes.exchange.simulator import ExchangeSimulator
from messages.market import CacheLookup
from supervision.supervisor import SupervisorSettings
from supervision.tree import SupervisionTree


class StepClock:
    """Monotonic time that a test moves by hand (ages cached data without waiting)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._now = 1_000.0

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


@dataclass
class Market:
    tree: SupervisionTree
    access: MarketAccess
    simulator: ExchangeSimulator
    cache_clock: StepClock

    def settle(self) -> None:
        """Wait until the cache has stored everything sent to it so far (its inbox is FIFO)."""
        self.tree.address("cache").ask(CacheLookup(()), timeout=5)

    def age_cache(self, seconds: float) -> None:
        self.settle()
        self.cache_clock.advance(seconds)

    def upstream_calls(self, path: str) -> int:
        return int(self.simulator.counters()["requests"].get(path, 0))

    def breaker_state(self) -> str:
        fetcher = self.tree.snapshot(timeout_s=5).find("fetcher")
        assert fetcher is not None and fetcher.breakers
        return fetcher.breakers[0].state


@pytest.fixture
def simulator() -> Iterator[ExchangeSimulator]:
    with ExchangeSimulator(seed=7) as sim:
        yield sim


@pytest.fixture
def make_market(simulator: ExchangeSimulator) -> Iterator[Callable[..., Market]]:
    trees: list[SupervisionTree] = []

    def make(**overrides: object) -> Market:
        settings = {
            "exchange_urls": (simulator.base_url,),
            "http_connect_timeout_s": 0.5,
            "http_read_timeout_s": 1.0,
            "breaker_failure_threshold": 3,
            "breaker_reset_timeout_s": 60.0,
            "breaker_max_reset_timeout_s": 120.0,
            "lazy_indicator": False,
            **overrides,
        }
        config = BotConfig().with_overrides(**settings)
        supervision = dataclasses.replace(SupervisorSettings(), heartbeat_interval_s=0.5)
        clock = StepClock()
        tree = SupervisionTree([market_spec(config, supervision, cache_clock=clock)]).start()
        trees.append(tree)
        for name in ("cache", "fetcher", "indicator", "fetch_worker_0"):
            assert tree.address(name).wait_until_running(timeout=5), name
        # Generous: the simulator shares this process (and its GIL) with the bot under test.
        access = MarketAccess(tree.directory, deadline_s=10.0)
        return Market(tree, access, simulator, clock)

    yield make
    for tree in trees:
        tree.stop(timeout_s=10)
    assert pykka.ActorRegistry.get_all() == []


@pytest.fixture
def market(make_market: Callable[..., Market]) -> Market:
    return make_market()
