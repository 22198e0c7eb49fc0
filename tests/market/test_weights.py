"""The request-weight budget: grants within the limit, refuses with an honest wait, never sleeps."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market.errors import IpBanned, RateLimited, WeightBudgetExhausted
from market.weights import WINDOW_S, BlockReason, WeightBudget
from tests.market.conftest import ManualClock

STRATEGIES = ["sliding_window", "token_bucket"]


def budget_of(limit: int, strategy: str = "sliding_window") -> tuple[WeightBudget, ManualClock]:
    clock = ManualClock(start_s=1_000.0)
    return WeightBudget(limit, strategy, clock), clock  # type: ignore[arg-type]


def refused_wait(budget: WeightBudget, weight: int) -> float:
    with pytest.raises(WeightBudgetExhausted) as refused:
        budget.acquire(weight)
    assert refused.value.weight == weight
    return refused.value.retry_after_s


# -- sliding window ----------------------------------------------------------------------------


def test_a_sliding_window_grants_up_to_the_limit_then_refuses_without_waiting() -> None:
    budget, _clock = budget_of(10)
    for _ in range(5):
        budget.acquire(2)
    assert refused_wait(budget, 1) == pytest.approx(WINDOW_S)
    assert budget.snapshot().used == 10


def test_the_wait_is_until_the_oldest_grants_leave_the_window() -> None:
    budget, clock = budget_of(10)
    budget.acquire(4)
    clock.advance(15)
    budget.acquire(6)
    assert refused_wait(budget, 3) == pytest.approx(45.0)
    assert refused_wait(budget, 5) == pytest.approx(60.0)


def test_waiting_exactly_the_given_time_is_enough() -> None:
    budget, clock = budget_of(10)
    budget.acquire(7)
    clock.advance(12.345)
    budget.acquire(3)
    wait = refused_wait(budget, 8)
    clock.advance(wait)
    budget.acquire(8)


def test_a_refused_request_takes_nothing_from_the_budget() -> None:
    budget, _clock = budget_of(10)
    budget.acquire(8)
    refused_wait(budget, 5)
    budget.acquire(2)


# -- token bucket ------------------------------------------------------------------------------


def test_a_token_bucket_bursts_half_the_limit_and_refills_half_per_minute() -> None:
    budget, clock = budget_of(120, "token_bucket")
    budget.acquire(60)
    assert refused_wait(budget, 1) == pytest.approx(1.0)  # 60 per 60 s: one per second
    clock.advance(30)
    budget.acquire(30)
    assert budget.snapshot().available == pytest.approx(0.0)


def test_a_token_bucket_never_holds_more_than_its_capacity() -> None:
    budget, clock = budget_of(100, "token_bucket")
    clock.advance(3_600)
    assert budget.snapshot().available == 50
    with pytest.raises(ValueError):
        budget.acquire(51)


# -- both --------------------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_the_server_count_wins_when_it_is_higher(strategy: str) -> None:
    budget, _clock = budget_of(100, strategy)
    budget.acquire(2)
    budget.observe_used_weight("95")
    assert budget.snapshot().available == pytest.approx(5)
    refused_wait(budget, 6)


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("header", [None, "", "lots", "-3", "1"])
def test_a_lower_missing_or_unreadable_server_count_changes_nothing(
    strategy: str, header: str | None
) -> None:
    budget, _clock = budget_of(100, strategy)
    budget.acquire(10)
    before = budget.snapshot()
    budget.observe_used_weight(header)
    assert budget.snapshot() == before


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_the_limit_from_exchange_info_replaces_the_configured_one(strategy: str) -> None:
    budget, _clock = budget_of(6000, strategy)
    budget.set_limit(40)
    assert budget.limit == 40
    assert budget.snapshot().limit == 40
    with pytest.raises(WeightBudgetExhausted):
        for _ in range(41):
            budget.acquire(1)


@pytest.mark.parametrize("weight", [0, -1, 11])
def test_a_weight_that_could_never_fit_is_a_bug(weight: int) -> None:
    budget, _clock = budget_of(10)
    with pytest.raises(ValueError):
        budget.acquire(weight)


@pytest.mark.parametrize("arguments", [(1, "sliding_window"), (True, "token_bucket"), (10, "x")])
def test_an_impossible_budget_cannot_be_built(arguments: tuple[object, str]) -> None:
    with pytest.raises(ValueError):
        WeightBudget(*arguments)  # type: ignore[arg-type]


# -- blocks after 429 / 418 --------------------------------------------------------------------


def test_after_a_429_every_request_is_refused_until_the_time_given() -> None:
    budget, clock = budget_of(100)
    budget.block_until(1_030.0, BlockReason.RATE_LIMITED)
    with pytest.raises(RateLimited) as refused:
        budget.acquire(1)
    assert refused.value.retry_after_s == pytest.approx(30.0)
    clock.advance(29.9)
    with pytest.raises(RateLimited):
        budget.acquire(1)
    clock.advance(0.1)
    budget.acquire(1)
    assert budget.snapshot().blocked_until is None


def test_a_ban_is_reported_as_a_ban_with_binances_end_time() -> None:
    budget, _clock = budget_of(100)
    budget.block_until(1_120.0, BlockReason.BANNED, banned_until_ms=1_750_000_000_000)
    with pytest.raises(IpBanned) as refused:
        budget.acquire(1)
    assert refused.value.retry_after_s == pytest.approx(120.0)
    assert refused.value.until_ms == 1_750_000_000_000
    snapshot = budget.snapshot()
    assert (snapshot.blocked_until, snapshot.blocked_reason) == (1_120.0, BlockReason.BANNED)
    assert snapshot.blocked_for_s == pytest.approx(120.0)


def test_a_block_never_gets_shorter_and_a_ban_is_never_downgraded() -> None:
    budget, _clock = budget_of(100)
    budget.block_until(1_100.0, BlockReason.BANNED)
    budget.block_until(1_010.0, BlockReason.RATE_LIMITED)
    with pytest.raises(IpBanned) as refused:
        budget.acquire(1)
    assert refused.value.retry_after_s == pytest.approx(100.0)


def test_a_ban_during_a_rate_limit_takes_over() -> None:
    budget, _clock = budget_of(100)
    budget.block_until(1_010.0, BlockReason.RATE_LIMITED)
    budget.block_until(1_005.0, BlockReason.BANNED)
    with pytest.raises(IpBanned) as refused:
        budget.acquire(1)
    assert refused.value.retry_after_s == pytest.approx(10.0)


def test_a_blocked_request_takes_nothing_from_the_budget() -> None:
    budget, clock = budget_of(10)
    budget.block_until(1_001.0, BlockReason.RATE_LIMITED)
    with pytest.raises(RateLimited):
        budget.acquire(10)
    clock.advance(1)
    budget.acquire(10)


# -- threads -----------------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_many_threads_at_once_never_get_more_than_the_limit(strategy: str) -> None:
    budget, _clock = budget_of(200, strategy)
    capacity = 200 if strategy == "sliding_window" else 100
    granted: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        for _ in range(50):
            try:
                budget.acquire(1)
            except WeightBudgetExhausted:
                continue
            with lock:
                granted.append(1)

    with ThreadPoolExecutor(max_workers=8) as pool:
        for future in [pool.submit(worker) for _ in range(8)]:
            future.result(timeout=10)
    assert sum(granted) == capacity


# -- the property ------------------------------------------------------------------------------

operations = st.lists(
    st.one_of(
        st.tuples(st.just("acquire"), st.integers(min_value=1, max_value=40)),
        st.tuples(st.just("advance"), st.floats(min_value=0.0, max_value=45.0)),
        st.tuples(st.just("observe"), st.integers(min_value=0, max_value=250)),
    ),
    max_size=120,
)


@settings(max_examples=200, deadline=None)
@given(
    strategy=st.sampled_from(STRATEGIES),
    limit=st.integers(min_value=80, max_value=200),
    steps=operations,
)
def test_no_sixty_second_window_ever_gets_more_than_the_limit(
    strategy: str, limit: int, steps: list[tuple[str, float]]
) -> None:
    budget, clock = budget_of(limit, strategy)
    grants: list[tuple[float, int]] = []
    for action, amount in steps:
        if action == "advance":
            clock.advance(amount)
        elif action == "observe":
            budget.observe_used_weight(int(amount))
        else:
            try:
                budget.acquire(int(amount))
            except WeightBudgetExhausted as refused:
                assert refused.retry_after_s > 0
            else:
                grants.append((clock(), int(amount)))
        assert budget.snapshot().available >= 0
    for granted_at, _weight in grants:
        in_window = sum(w for t, w in grants if t <= granted_at and t + WINDOW_S > granted_at)
        assert in_window <= limit


@settings(max_examples=100, deadline=None)
@given(
    strategy=st.sampled_from(STRATEGIES),
    weights=st.lists(st.integers(min_value=1, max_value=30), min_size=1, max_size=40),
    gaps=st.lists(st.floats(min_value=0.0, max_value=20.0), min_size=40, max_size=40),
)
def test_waiting_the_time_a_refusal_gives_always_gets_the_weight(
    strategy: str, weights: list[int], gaps: list[float]
) -> None:
    budget, clock = budget_of(100, strategy)
    for weight, gap in zip(weights, gaps):
        clock.advance(gap)
        try:
            budget.acquire(weight)
        except WeightBudgetExhausted as refused:
            clock.advance(refused.retry_after_s)
            budget.acquire(weight)
