"""The shared weight ledger: one IP's budget in Redis, decided atomically for every instance."""

from __future__ import annotations

import random

import pytest

from cluster.redis_link import RedisLink
from cluster.weight_budget import SharedWeightLedger


class WallClock:
    """Epoch seconds that the test moves by hand (passed to the Lua scripts as "now")."""

    def __init__(self) -> None:
        self.now = 1_750_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> WallClock:
    return WallClock()


@pytest.fixture
def two_instances(redis_url: str, clock: WallClock):
    links = [RedisLink(redis_url, namespace="7") for _ in range(2)]
    yield [SharedWeightLedger(link, wall_clock=clock) for link in links]
    for link in links:
        link.close()


def windows_hold(grants: list[tuple[float, int]], limit: int) -> bool:
    """For every grant, the weight granted in the 60 s ending at it is within the limit."""
    return all(sum(w for t, w in grants if end - 60 < t <= end) <= limit for end, _ in grants)


@pytest.mark.parametrize("strategy", ["sliding_window", "token_bucket"])
def test_two_instances_together_never_get_more_than_the_limit_in_any_minute(
        two_instances, clock, strategy) -> None:
    rng = random.Random(16)
    limit, grants = 100, []
    for _ in range(600):
        clock.now += rng.choice((0.0, 0.05, 0.3, 1.0, 2.5))
        ledger = rng.choice(two_instances)
        weight = rng.choice((1, 2, 2, 4, 20))
        if ledger.take(weight, limit, strategy).granted:
            grants.append((clock.now, weight))
    assert windows_hold(grants, limit)
    assert sum(w for _, w in grants) > 3 * limit  # the budget was used, not just refused


def test_a_refusal_says_when_the_weight_fits_and_it_does_then(two_instances, clock) -> None:
    first, second = two_instances
    assert first.take(60, 100, "sliding_window").granted
    clock.now += 10
    assert second.take(40, 100, "sliding_window").granted
    refused = second.take(30, 100, "sliding_window")
    assert not refused.granted and refused.used == 100
    assert 50 <= refused.wait_s <= 51  # the first grant's second leaves the window
    clock.now += refused.wait_s
    assert first.take(30, 100, "sliding_window").granted


def test_the_servers_count_raises_the_shared_count(two_instances, clock) -> None:
    first, second = two_instances
    first.take(10, 100, "sliding_window")
    second.observe(95, 100, "sliding_window")
    assert first.peek(100, "sliding_window").used == 95
    assert not first.take(10, 100, "sliding_window").granted
    second.observe(20, 100, "sliding_window")  # a lower count than ours is ignored
    assert first.peek(100, "sliding_window").used == 95


def test_a_429_seen_by_one_instance_quiets_the_other(two_instances, clock) -> None:
    first, second = two_instances
    assert first.block(30.0, "rate_limited", None) == pytest.approx(30.0)
    held = second.take(2, 6000, "sliding_window")
    assert not held.granted and held.quiet_reason == "rate_limited"
    assert held.quiet_for_s == pytest.approx(30.0)
    clock.now += 30.001
    assert second.take(2, 6000, "sliding_window").granted


def test_a_ban_is_neither_shortened_nor_downgraded_while_it_lasts(two_instances, clock) -> None:
    first, second = two_instances
    first.block(120.0, "banned", 1_750_000_120_000)
    assert second.block(10.0, "rate_limited", None) == pytest.approx(120.0)
    held = second.take(2, 6000, "token_bucket")
    assert (held.quiet_reason, held.banned_until_ms) == ("banned", 1_750_000_120_000)
    clock.now += 121
    assert second.take(2, 6000, "token_bucket").granted


def test_without_a_given_clock_redis_time_is_the_one_clock_of_every_instance(redis_url) -> None:
    links = [RedisLink(redis_url, namespace="7") for _ in range(2)]
    first, second = (SharedWeightLedger(link) for link in links)
    assert first.take(70, 100, "sliding_window").granted
    refused = second.take(40, 100, "sliding_window")
    assert not refused.granted and 59 <= refused.wait_s <= 61
    assert first.block(30.0, "rate_limited", None) == pytest.approx(30.0)
    assert 29 <= second.take(1, 100, "sliding_window").quiet_for_s <= 30
    for link in links:
        link.close()


def test_many_threads_of_two_instances_at_once_get_exactly_the_limit(redis_url) -> None:
    from concurrent.futures import ThreadPoolExecutor

    links = [RedisLink(redis_url, namespace="7") for _ in range(2)]
    ledgers = [SharedWeightLedger(link) for link in links]

    def hammer(worker: int) -> int:
        ledger = ledgers[worker % 2]
        return sum(ledger.take(1, 100, "sliding_window").granted for _ in range(40))

    with ThreadPoolExecutor(8) as pool:
        granted = sum(pool.map(hammer, range(8)))
    assert granted == 100  # 320 asked within one minute: the limit, not one more
    for link in links:
        link.close()


def test_a_quiet_block_with_a_reason_this_version_does_not_know_reads_as_a_rate_limit(
    two_instances, clock
) -> None:
    """Redis content is input (a newer version, or anyone who can write there): the market's
    BlockReason(...) raised ValueError on it, crashing each fetch worker for the whole block."""
    first, _ = two_instances
    first.block(30.0, "rate_limited", None)
    first._link.client.hset(first._keys[2], "reason", "melted")
    held = first.take(2, 6000, "sliding_window")
    assert (held.granted, held.quiet_reason) == (False, "rate_limited")
