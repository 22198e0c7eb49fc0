"""An instance's weight budget shared through Redis, and its local fallback at a safe fraction."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from actors.shared_budget import FALLBACK, SHARED, SharedBudget
from cluster.redis_link import RedisLink
from cluster.weight_budget import SharedWeightLedger
from fakes.engines import start_redis
from market.errors import IpBanned, RateLimited, WeightBudgetExhausted
from market.weights import BlockReason


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Instance:
    """One instance's link and budget, on a Redis reached through a socket path we can move."""

    def __init__(self, url: str, mono: Clock, wall: Clock, *, limit: int = 100) -> None:
        self.link = RedisLink(url, namespace="7", retry_after_s=1.0, clock=mono)
        self.budget = SharedBudget(SharedWeightLedger(self.link, wall_clock=wall),
                                   limit_per_minute=limit, strategy="sliding_window",
                                   fallback_fraction=0.5, clock=mono)


@pytest.fixture
def clocks() -> tuple[Clock, Clock]:
    return Clock(1_000.0), Clock(1_750_000_000.0)


def socket_of(url: str) -> str:
    return url.removeprefix("unix://")


def point(link_path: Path, target: str) -> None:
    """Make ``link_path`` lead to the Redis socket ``target`` (what a DNS/VIP move would do)."""
    if link_path.is_symlink():
        link_path.unlink()
    os.symlink(target, link_path)


def test_two_instances_share_one_minute_of_weight(redis_url, clocks) -> None:
    mono, wall = clocks
    first, second = Instance(redis_url, mono, wall), Instance(redis_url, mono, wall)
    for _ in range(30):
        first.budget.acquire(2)
    for _ in range(20):
        second.budget.acquire(2)
    with pytest.raises(WeightBudgetExhausted) as refused:
        second.budget.acquire(2)
    assert 60 <= refused.value.retry_after_s <= 61.01
    assert second.budget.snapshot().used == 100 and second.budget.mode == SHARED


def test_a_block_from_one_instance_holds_the_other_back(redis_url, clocks) -> None:
    mono, wall = clocks
    first, second = Instance(redis_url, mono, wall), Instance(redis_url, mono, wall)
    first.budget.block_until(mono.now + 120, BlockReason.BANNED, banned_until_ms=1_750_000_120_000)
    with pytest.raises(IpBanned) as held:
        second.budget.acquire(2)
    assert held.value.retry_after_s == pytest.approx(120, abs=0.01)
    snapshot = second.budget.snapshot()
    assert snapshot.blocked_reason is BlockReason.BANNED and snapshot.blocked_for_s > 119
    mono.now += 121
    wall.now += 121
    second.budget.acquire(2)


def test_redis_stopped_mid_run_falls_back_to_the_safe_fraction_then_shares_again(
        tmp_path, redis_url, clocks) -> None:
    mono, wall = clocks
    engine = start_redis(tmp_path / "first")
    path = tmp_path / "redis.sock"
    point(path, socket_of(engine.url))
    instance = Instance(f"unix://{path}", mono, wall)
    instance.budget.acquire(2)
    instance.budget.observe_used_weight("10")  # the exchange's count: all instances on the IP
    assert instance.budget.mode == SHARED

    engine.stop()
    granted = 0
    with pytest.raises(WeightBudgetExhausted):
        while True:
            instance.budget.acquire(2)
            granted += 2
    # Local limit 100 x 0.5 = 50, of which the exchange had already counted 10.
    assert granted == 40
    assert instance.budget.mode == FALLBACK and instance.budget.fallbacks == 1
    assert instance.budget.snapshot().limit == 50
    instance.budget.block_until(mono.now + 5, BlockReason.RATE_LIMITED)  # kept locally
    with pytest.raises(RateLimited):
        instance.budget.acquire(2)

    point(path, socket_of(redis_url))  # Redis is back (here: another server at that path)
    mono.now += 6  # past the link's pause and the local block
    wall.now += 6
    instance.budget.acquire(2)
    assert instance.budget.mode == SHARED and instance.link.state().up
    assert instance.budget.snapshot().limit == 100
    instance.link.close()
