"""Several "instances" of the market subtree in one test process, sharing one Redis.

Each instance is its own supervision tree with its own ``RedisLink`` (as a second process
would have), all against one exchange simulator, so the simulator's request counters are the
upstream calls of all instances together. ``forty_users_on_one_symbol`` is the figure of issue
#16's goal 1 (upstream calls for 40 users asking for one symbol across two instances); the
benchmark can reuse it as it is.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from actors.market_access import MarketAccess
from actors.market_tree import market_spec
from cluster.redis_link import RedisLink
from core.config import BotConfig
from fakes.exchange.simulator import ExchangeSimulator
from market.fetch_stats import FetcherStats
from supervision.supervisor import SupervisorSettings
from supervision.tree import SupervisionTree
from tests.actors.conftest import Market, StepClock

__all__ = ["KLINES", "TICKER", "fetcher_stats", "forty_users_on_one_symbol", "start_instance"]

KLINES = "/api/v3/klines"
TICKER = "/api/v3/ticker/24hr"


def start_instance(simulator: ExchangeSimulator, link: RedisLink, name: str,
                   **overrides: object) -> Market:
    """A market subtree that shares its exchange side through ``link`` (stop its ``tree``)."""
    config = BotConfig().with_overrides(**{
        "exchange_urls": (simulator.base_url,), "http_connect_timeout_s": 0.5,
        "http_read_timeout_s": 1.0, "lazy_indicator": False, **overrides})
    supervision = dataclasses.replace(SupervisorSettings(), heartbeat_interval_s=0.5)
    clock = StepClock()
    tree = SupervisionTree([market_spec(config, supervision, cache_clock=clock, link=link,
                                        owner=name)]).start()
    for actor in ("cache", "fetcher", "indicator", "fetch_worker_0"):
        assert tree.address(actor).wait_until_running(timeout=5), actor
    return Market(tree, MarketAccess(tree.directory, deadline_s=10.0), simulator, clock)


def fetcher_stats(market: Market) -> FetcherStats:
    fetcher = market.tree.snapshot(timeout_s=5).find("fetcher")
    assert fetcher is not None and isinstance(fetcher.stats, FetcherStats)
    return fetcher.stats


def forty_users_on_one_symbol(instances: Sequence[Market], symbol: str = "btc",
                              users: int = 40) -> dict[str, int]:
    """``users`` concurrent analyses of ``symbol``, spread round-robin over ``instances``;
    returns the upstream klines and 24h-ticker calls they caused (all instances together)."""
    simulator = instances[0].simulator
    before = {path: int(simulator.counters()["requests"].get(path, 0))
              for path in (KLINES, TICKER)}
    for market in instances:  # symbols resolved first: exchangeInfo is each instance's own
        market.access.resolve(symbol)
    barrier = threading.Barrier(users)

    def ask(user: int) -> object:
        barrier.wait(10)
        return instances[user % len(instances)].access.analysis(symbol)

    with ThreadPoolExecutor(users) as pool:
        answers = list(pool.map(ask, range(users)))
    assert all(not isinstance(answer, Exception) for answer in answers)
    counters = simulator.counters()["requests"]
    return {path: int(counters.get(path, 0)) - before[path] for path in (KLINES, TICKER)}

