"""Two instances of the market subtree sharing one Redis: one upstream call for everyone,
one weight budget, and each on its own (at a safe fraction) while Redis is away."""

from __future__ import annotations

import os
from pathlib import Path

import pykka
import pytest

from actors.shared_link import close_shared_links
from cluster.redis_link import RedisLink
from fakes.engines import start_redis
from market.analysis import MarketAnalysis, MarketUnavailable
from tests.actors.conftest import StepClock
from tests.actors.shared_market_fixtures import (
    KLINES,
    TICKER,
    fetcher_stats,
    forty_users_on_one_symbol,
    start_instance,
)


@pytest.fixture
def instances(simulator):
    started, links = [], []

    def start(url: str, name: str, *, link_clock=None):
        link = RedisLink(url, namespace="7", **({"clock": link_clock} if link_clock else {}))
        links.append(link)
        market = start_instance(simulator, link, name)
        started.append(market)
        return market

    yield start
    for market in started:
        market.tree.stop(timeout_s=10)
    for link in links:
        link.close()
    assert pykka.ActorRegistry.get_all() == []


def test_forty_users_on_one_symbol_across_two_instances_make_one_upstream_call(
        instances, redis_url, simulator) -> None:
    simulator.inject("slow", endpoint=KLINES, delay_s=0.3)  # both instances ask while it flies
    first, second = instances(redis_url, "a"), instances(redis_url, "b")
    calls = forty_users_on_one_symbol([first, second], "btc")
    assert calls == {KLINES: 1, TICKER: 1}
    shared = [fetcher_stats(market).shared for market in (first, second)]
    assert all(one is not None and one.mode == "shared" for one in shared)
    assert sum(one.led for one in shared if one) == 2  # klines and ticker, once each
    assert sum(one.followed + one.hits for one in shared if one) >= 2  # from the other instance


def test_an_answer_one_instance_fetched_is_not_fetched_again_by_the_other(
        instances, redis_url) -> None:
    first, second = instances(redis_url, "a"), instances(redis_url, "b")
    one = first.access.analysis("eth")
    other = second.access.analysis("eth")
    assert isinstance(one, MarketAnalysis) and isinstance(other, MarketAnalysis)
    assert other.source == "exchange" and other.last_price == one.last_price
    assert first.upstream_calls(KLINES) == 1 and first.upstream_calls(TICKER) == 1
    stats = fetcher_stats(second).shared
    assert stats is not None and stats.hits == 2 and stats.led == 0


def test_redis_stopped_mid_run_each_instance_answers_on_its_own_then_shares_again(
        instances, tmp_path: Path, redis_url, simulator) -> None:
    engine = start_redis(tmp_path / "engine")
    path = tmp_path / "redis.sock"
    os.symlink(engine.url.removeprefix("unix://"), path)
    link_clock = StepClock()
    first = instances(f"unix://{path}", "a", link_clock=link_clock)
    second = instances(f"unix://{path}", "b", link_clock=link_clock)
    assert isinstance(first.access.analysis("btc"), MarketAnalysis)
    assert isinstance(second.access.analysis("btc"), MarketAnalysis)
    assert first.upstream_calls(KLINES) == 1

    engine.stop()
    answers = [market.access.analysis("sol") for market in (first, second)]
    assert all(isinstance(answer, MarketAnalysis) and not answer.stale for answer in answers)
    assert first.upstream_calls(KLINES) == 3  # one each: no sharing without Redis
    for market in (first, second):
        stats = fetcher_stats(market)
        assert stats.shared is not None and stats.shared.mode == "local-fallback"
        assert not stats.shared.redis_up
        assert stats.weight is not None and stats.weight.limit == 3000  # 6000 x 0.5

    path.unlink()
    os.symlink(redis_url.removeprefix("unix://"), path)  # Redis is back at the same address
    link_clock.advance(1.5)  # past the link's pause before it tries again
    assert isinstance(first.access.analysis("ada"), MarketAnalysis)
    assert isinstance(second.access.analysis("ada"), MarketAnalysis)
    assert first.upstream_calls(KLINES) == 4
    for market in (first, second):
        stats = fetcher_stats(market)
        assert stats.shared is not None and stats.shared.mode == "shared"
        assert stats.shared.redis_up and stats.weight is not None
        assert stats.weight.limit == 6000


def test_a_429_answered_to_one_instance_silences_the_other_too(
        instances, redis_url, simulator) -> None:
    first, second = instances(redis_url, "a"), instances(redis_url, "b")
    for market in (first, second):
        market.access.resolve("sol")  # exchangeInfo first, each instance its own
    simulator.inject("429", endpoint=KLINES, count=1)
    first.access.analysis("sol")
    assert fetcher_stats(first).weight.blocked_reason == "rate_limited"
    sent = sum(simulator.counters()["requests"].values())
    answer = second.access.analysis("ada")
    assert isinstance(answer, MarketUnavailable) and answer.retry_after_s > 0
    assert sum(simulator.counters()["requests"].values()) == sent  # nothing left instance b
    weight = fetcher_stats(second).weight
    assert weight is not None and weight.blocked_reason == "rate_limited"


def test_the_redis_url_alone_switches_the_shared_side_on_and_its_absence_off(
        simulator, redis_url, make_market) -> None:
    assert fetcher_stats(make_market()).shared is None  # the in-process default, unchanged
    shared = fetcher_stats(make_market(redis_url=redis_url)).shared
    assert shared is not None and shared.mode == "shared" and shared.local_limit == 3000
    close_shared_links()
