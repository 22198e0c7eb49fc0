"""The fetch workers time every upstream request for the exchange latency histogram."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pykka
import pytest

from actors.market_access import MarketAccess
from actors.market_tree import market_spec
from core.config import BotConfig
from fakes.exchange.simulator import ExchangeSimulator
from market import errors as market_errors
from market.analysis import MarketUnavailable
from supervision.supervisor import SupervisorSettings
from supervision.tree import SupervisionTree


class Requests:
    """What the workers reported: (kind, result, seconds), from their threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seen: list[tuple[str, str, float]] = []

    def __call__(self, kind: str, result: str, elapsed_s: float) -> None:
        with self._lock:
            self.seen.append((kind, result, elapsed_s))

    def results(self) -> set[tuple[str, str]]:
        with self._lock:
            return {(kind, result) for kind, result, _ in self.seen}


@pytest.fixture
def observed(simulator: ExchangeSimulator) -> Iterator[tuple[MarketAccess, Requests]]:
    config = BotConfig().with_overrides(exchange_urls=(simulator.base_url,),
                                        http_connect_timeout_s=0.5, http_read_timeout_s=1.0,
                                        lazy_indicator=False)
    requests = Requests()
    tree = SupervisionTree([market_spec(config, SupervisorSettings(),
                                        on_exchange_request=requests)]).start()
    try:
        assert tree.address("fetcher").wait_until_running(timeout=5)
        yield MarketAccess(tree.directory, deadline_s=10.0), requests
    finally:
        tree.stop(timeout_s=10)
        assert pykka.ActorRegistry.get_all() == []


def test_each_upstream_request_is_reported_with_its_kind_and_ok(
    observed: tuple[MarketAccess, Requests]
) -> None:
    access, requests = observed
    access.analysis("btc")
    assert ("klines", "ok") in requests.results()
    assert all(seconds >= 0 for _, _, seconds in requests.seen)


def test_a_failed_request_is_reported_with_its_error_class(
    simulator: ExchangeSimulator, observed: tuple[MarketAccess, Requests]
) -> None:
    access, requests = observed
    access.analysis("btc")  # learns the symbols
    simulator.inject("5xx", endpoint="*", status=500)
    assert isinstance(access.analysis("sol"), MarketUnavailable)
    failed = {result for _, result in requests.results() if result != "ok"}
    assert failed and all(issubclass(getattr(market_errors, name), market_errors.MarketError)
                          for name in failed)
