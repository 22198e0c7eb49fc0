"""Backoff arithmetic, with seeded RNGs and a fake clock."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import ConfigError
from resilience.backoff import RestartBackoff, full_jitter_delay

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
