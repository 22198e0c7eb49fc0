"""The market subtree: fetch workers, the fetcher router, the cache and the indicator actor.

``one_for_one`` rather than the ``rest_for_one`` the first design sketched: these children
share no derived state (the cache holds data, the indicator state rebuilds from candles, the
router's flights are bounded by a timeout), and restarting the cache because a worker crashed
would throw away exactly what keeps users answered while the exchange misbehaves.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from actors.cache import CacheActor
from actors.fetcher import FetcherRouter, FetchWorker, RequestObserver, worker_names
from actors.indicator import IndicatorActor
from actors.shared_link import shared_link
from actors.shared_market import SharedMarket, shared_market
from cluster.redis_link import RedisLink
from core.config import BotConfig
from core.instance import this_instance
from market.binance import BinanceClient
from market.cache import CacheTtls
from market.source import BinanceSource, is_upstream_failure
from market.weights import RequestBudget, WeightBudget
from resilience.breaker import CircuitBreaker
from supervision.spec import ChildSpec, Priority
from supervision.strategies import Strategy
from supervision.supervisor import SupervisorSettings, supervisor_spec

__all__ = ["market_spec"]


def market_spec(
    config: BotConfig,
    settings: SupervisorSettings,
    *,
    cache_clock: Callable[[], float] = time.monotonic,
    on_exchange_request: RequestObserver | None = None,
    link: RedisLink | None = None,
    owner: str | None = None,
) -> ChildSpec:
    """The ``market`` supervisor and its children, built from ``config``.

    ``cache_clock`` lets tests age cached data without waiting; ``on_exchange_request`` is told
    of every upstream request (the bot's exchange latency histogram). With ``redis_url`` (or a
    ``link`` given by a test standing in for one instance of several) the weight budget, the
    raw responses and single-flight are shared with the other instances (``owner`` names this
    one in flight keys; default: this process's instance id).
    """
    # A flight is lost only if its worker died with it; allow every retry of every URL first.
    flight_timeout_s = (
        (config.http_connect_timeout_s + config.http_read_timeout_s) * 3 * len(config.exchange_urls)
    )
    link = link if link is not None else shared_link(config)
    shared: SharedMarket | None = None
    # One budget for every worker: Binance counts weight per IP, not per connection.
    budget: RequestBudget
    if link is None:
        budget = WeightBudget(config.request_weight_limit_per_minute, config.rate_limit_strategy)
    else:
        shared = shared_market(config, link, flight_timeout_s=flight_timeout_s,
                               owner=owner or this_instance(config.instance_name).key)
        budget = shared.budget
    # A worker sharing with other instances may wait out another instance's flight, then make
    # the call itself (the other one died): twice the time a call may take.
    worker_time_s = flight_timeout_s if shared is None else 2 * flight_timeout_s
    workers = worker_names(config.fetcher_pool_size)

    def source() -> BinanceSource:
        # A client (and so a connection pool) per worker: a worker does one request at a
        # time, so it keeps one connection per exchange URL, and fetcher_pool_size is the
        # number of connections. No shared requests.Session: it is not documented thread-safe.
        return BinanceSource(
            BinanceClient(
                config.exchange_urls,
                connect_timeout_s=config.http_connect_timeout_s,
                read_timeout_s=config.http_read_timeout_s,
                budget=budget,
            )
        )

    def breaker() -> CircuitBreaker:
        return CircuitBreaker(
            "exchange",
            failure_threshold=config.breaker_failure_threshold,
            failure_rate=config.breaker_failure_rate,
            window_s=config.breaker_window_s,
            reset_timeout_s=config.breaker_reset_timeout_s,
            max_reset_timeout_s=config.breaker_max_reset_timeout_s,
        )

    children = [
        ChildSpec(
            name=name,
            factory=lambda ctx: FetchWorker.start(
                ctx, source_factory=source, on_request=on_exchange_request,
                shared=None if shared is None else shared.fetch),
            priority=Priority.CRITICAL,
            # A worker legitimately blocks for a whole request with its retries.
            hang_timeout_s=max(settings.hang_timeout_s, worker_time_s),
        )
        for name in workers
    ]
    children += [
        ChildSpec(
            name="cache",
            factory=lambda ctx: CacheActor.start(
                ctx, max_bytes=config.cache_size_mb * 1024 * 1024, clock=cache_clock,
                ttls=CacheTtls.from_config(config),
            ),
            priority=Priority.CRITICAL,
        ),
        ChildSpec(
            name="fetcher",
            factory=lambda ctx: FetcherRouter.start(
                ctx,
                workers=workers,
                breaker=breaker,
                is_upstream_failure=is_upstream_failure,
                flight_timeout_s=worker_time_s,
                budget=budget.snapshot,
                shared=None if shared is None else shared.stats,
            ),
            priority=Priority.CRITICAL,
            depends_on=(*workers, "cache"),
        ),
        ChildSpec(
            name="indicator",
            factory=lambda ctx: IndicatorActor.start(ctx),
            priority=Priority.HIGH,
            lazy=config.lazy_indicator,
        ),
    ]
    return supervisor_spec(
        "market",
        children,
        dataclasses.replace(settings, strategy=Strategy.ONE_FOR_ONE),
        priority=Priority.CRITICAL,
    )
