"""Backoff arithmetic and retry classification, with seeded RNGs and a fake clock."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import BotError, ConfigError
from resilience.backoff import (
    RestartBackoff,
    RetryDecision,
    RetryKind,
    RetryPolicy,
    full_jitter_delay,
)
from resilience.errors import CircuitOpenError

__all__: list[str] = []


class FakeClock:
    def __init__(self, now: float = 500.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# ---------------------------------------------------------------- full jitter


def test_full_jitter_stays_within_the_doubling_ceiling_for_many_attempts() -> None:
    rng = random.Random(1234)
    for attempt in range(64):
        ceiling = min(10.0, 0.25 * 2**attempt)
        for _ in range(50):
            delay = full_jitter_delay(attempt, base_s=0.25, cap_s=10.0, rng=rng)
            assert 0.0 <= delay <= ceiling


def test_attempt_zero_draws_from_zero_to_base() -> None:
    assert full_jitter_delay(0, base_s=2.0, cap_s=100.0, rng=lambda: 0.999) == pytest.approx(
        1.998
    )


def test_the_ceiling_doubles_per_attempt_until_the_cap() -> None:
    def top(attempt: int) -> float:
        return full_jitter_delay(attempt, base_s=1.0, cap_s=10.0, rng=lambda: 1.0)

    assert [top(n) for n in range(6)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_huge_attempts_do_not_overflow() -> None:
    for attempt in (1023, 1024, 5000, 10**9):
        assert full_jitter_delay(attempt, base_s=1e6, cap_s=30.0, rng=lambda: 1.0) == 30.0


def test_a_zero_base_means_no_delay() -> None:
    assert full_jitter_delay(7, base_s=0.0, cap_s=30.0, rng=random.Random(1)) == 0.0


def test_the_jitter_actually_spreads_delays() -> None:
    rng = random.Random(7)
    delays = {full_jitter_delay(3, base_s=1.0, cap_s=30.0, rng=rng) for _ in range(20)}
    assert len(delays) == 20


@pytest.mark.parametrize(
    ("attempt", "base_s", "cap_s", "unit"),
    [(-1, 1.0, 2.0, 0.5), (0, -1.0, 2.0, 0.5), (0, 1.0, float("inf"), 0.5), (0, 1.0, 2.0, 1.5)],
)
def test_invalid_jitter_arguments_raise_value_error(
    attempt: int, base_s: float, cap_s: float, unit: float
) -> None:
    with pytest.raises(ValueError):
        full_jitter_delay(attempt, base_s=base_s, cap_s=cap_s, rng=lambda: unit)


@given(
    attempt=st.integers(min_value=0, max_value=10_000),
    base_s=st.floats(min_value=0.0, max_value=1e6),
    cap_s=st.floats(min_value=0.0, max_value=1e6),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_full_jitter_is_always_within_bounds(
    attempt: int, base_s: float, cap_s: float, seed: int
) -> None:
    delay = full_jitter_delay(attempt, base_s=base_s, cap_s=cap_s, rng=random.Random(seed))
    assert 0.0 <= delay <= cap_s
    if attempt < 1000:
        assert delay <= base_s * 2.0**attempt


# ---------------------------------------------------------------- restart backoff


def restart_backoff(clock: FakeClock, base_s: float = 1.0) -> RestartBackoff:
    return RestartBackoff(base_s, 60.0, 120.0, clock, lambda: 1.0)


def test_restart_delays_grow_with_consecutive_restarts() -> None:
    clock = FakeClock()
    backoff = restart_backoff(clock)
    delays = [backoff.next_delay() for _ in range(8)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
    assert backoff.attempts == 8


def test_a_stable_period_resets_the_restart_count() -> None:
    clock = FakeClock()
    backoff = restart_backoff(clock)
    backoff.next_delay()
    backoff.next_delay()  # restarted at 502
    clock.now = 502.0 + 120.0
    assert backoff.next_delay() == 4.0  # exactly reset_after_s is not "more than"
    clock.now = 626.0 + 120.5
    assert backoff.next_delay() == 1.0
    assert backoff.attempts == 1


def test_the_stable_period_counts_from_when_the_restart_happened() -> None:
    clock = FakeClock()
    backoff = restart_backoff(clock)
    for _ in range(7):
        backoff.next_delay()  # the last one restarts 60 s later
    assert backoff.next_delay(now=clock.now + 150.0) == 60.0  # up only 90 s
    assert backoff.next_delay(now=clock.now + 150.0 + 60.0 + 121.0) == 1.0


def test_reset_forgets_previous_restarts() -> None:
    backoff = restart_backoff(FakeClock())
    backoff.next_delay()
    backoff.next_delay()
    backoff.reset()
    assert backoff.attempts == 0
    assert backoff.next_delay() == 1.0


def test_a_zero_base_restarts_at_once_every_time() -> None:
    backoff = restart_backoff(FakeClock(), base_s=0.0)
    assert [backoff.next_delay() for _ in range(5)] == [0.0] * 5
    assert backoff.attempts == 5


def test_restart_backoff_rejects_a_cap_below_the_base() -> None:
    with pytest.raises(ConfigError):
        RestartBackoff(10.0, 1.0, 60.0)


# ---------------------------------------------------------------- retry classification


class Flood(BotError):
    def __init__(self, retry_after_s: float) -> None:
        super().__init__("flood")
        self.retry_after_s = retry_after_s


class PtbStyleFlood(Exception):
    def __init__(self, retry_after: object) -> None:
        super().__init__("flood")
        self.retry_after = retry_after


class Unauthorized(BotError):
    permanent = True


class SlowUpstream(BotError):
    transient_now = True


class Quota(Exception):
    pass


POLICY = RetryPolicy(max_attempts=5, base_s=1.0, cap_s=20.0, retry_after_cap_s=30.0)


def decide(error: BaseException, attempt: int = 1, policy: RetryPolicy = POLICY) -> RetryDecision:
    return policy.decide(error, attempt, lambda: 1.0)


@pytest.mark.parametrize(
    ("error", "attempt", "kind", "delay_s"),
    [
        (KeyboardInterrupt(), 1, RetryKind.GIVE_UP, 0.0),
        (SystemExit(1), 1, RetryKind.GIVE_UP, 0.0),
        (OSError("reset"), 5, RetryKind.GIVE_UP, 0.0),
        (Flood(3.0), 5, RetryKind.GIVE_UP, 0.0),
        (Unauthorized(), 1, RetryKind.GIVE_UP, 0.0),
        (Flood(3.0), 1, RetryKind.RETRY_AFTER, 3.0),
        (Flood(300.0), 1, RetryKind.RETRY_AFTER, 30.0),
        (Flood(-2.0), 1, RetryKind.RETRY_AFTER, 0.0),
        (PtbStyleFlood(7), 1, RetryKind.RETRY_AFTER, 7.0),
        (PtbStyleFlood(timedelta(seconds=9)), 2, RetryKind.RETRY_AFTER, 9.0),
        (CircuitOpenError("exchange", 12.0), 1, RetryKind.RETRY_AFTER, 12.0),
        (SlowUpstream(), 1, RetryKind.RETRY_NOW, 0.0),
        (SlowUpstream(), 2, RetryKind.BACK_OFF, 2.0),
        (SlowUpstream(), 3, RetryKind.BACK_OFF, 4.0),
        (BotError("upstream 502"), 1, RetryKind.BACK_OFF, 1.0),
        (ConnectionResetError(), 2, RetryKind.BACK_OFF, 2.0),
        (TimeoutError(), 4, RetryKind.BACK_OFF, 8.0),
        (ValueError("bug"), 1, RetryKind.GIVE_UP, 0.0),
        (KeyError("bug"), 1, RetryKind.GIVE_UP, 0.0),
        (PtbStyleFlood("soon"), 1, RetryKind.GIVE_UP, 0.0),
        (PtbStyleFlood(True), 1, RetryKind.GIVE_UP, 0.0),
        (PtbStyleFlood(float("nan")), 1, RetryKind.GIVE_UP, 0.0),
    ],
)
def test_errors_are_classified_by_the_rule_table(
    error: BaseException, attempt: int, kind: RetryKind, delay_s: float
) -> None:
    decision = decide(error, attempt)
    assert (decision.kind, decision.delay_s) == (kind, delay_s)
    assert decision.should_retry == (kind is not RetryKind.GIVE_UP)


def test_permanent_wins_over_a_retry_after() -> None:
    error = Flood(1.0)
    error.permanent = True  # type: ignore[attr-defined]
    assert decide(error).kind is RetryKind.GIVE_UP


def test_retry_after_s_is_preferred_over_retry_after() -> None:
    error = Flood(4.0)
    error.retry_after = 40  # type: ignore[attr-defined]
    assert decide(error).delay_s == 4.0


def test_give_up_types_passed_to_the_policy_are_permanent() -> None:
    policy = RetryPolicy(give_up=(Quota, ConnectionRefusedError))
    assert decide(Quota(), policy=policy).kind is RetryKind.GIVE_UP
    assert decide(ConnectionRefusedError(), policy=policy).kind is RetryKind.GIVE_UP
    assert decide(ConnectionResetError(), policy=policy).kind is RetryKind.BACK_OFF


def test_a_single_attempt_policy_never_retries() -> None:
    assert decide(OSError(), policy=RetryPolicy(max_attempts=1)).kind is RetryKind.GIVE_UP


def test_attempt_must_count_from_one() -> None:
    with pytest.raises(ValueError):
        POLICY.decide(OSError(), 0, random.Random(1))


@pytest.mark.parametrize(
    "overrides",
    [{"max_attempts": 0}, {"base_s": -1.0}, {"cap_s": 0.1}, {"retry_after_cap_s": float("nan")}],
)
def test_invalid_policies_are_rejected_with_a_config_error(overrides: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        RetryPolicy(**overrides)  # type: ignore[arg-type]


@given(
    attempt=st.integers(min_value=1, max_value=50),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_back_off_delays_are_always_within_bounds(attempt: int, seed: int) -> None:
    decision = POLICY.decide(OSError(), attempt, random.Random(seed))
    if attempt >= POLICY.max_attempts:
        assert decision.kind is RetryKind.GIVE_UP
    else:
        assert decision.kind is RetryKind.BACK_OFF
        assert 0.0 <= decision.delay_s <= min(POLICY.cap_s, POLICY.base_s * 2 ** (attempt - 1))
