from __future__ import annotations

from chat.ratelimit import Admission, UserRateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_user_within_the_limit_is_always_admitted():
    clock = Clock()
    limiter = UserRateLimiter(3, 60, clock=clock)
    assert [limiter.admit(1) for _ in range(3)] == [Admission.ALLOW] * 3


def test_the_first_excess_command_gets_one_warning_then_silence():
    clock = Clock()
    limiter = UserRateLimiter(2, 60, clock=clock)
    results = [limiter.admit(1) for _ in range(5)]
    assert results == [Admission.ALLOW, Admission.ALLOW, Admission.WARN, Admission.DROP,
                       Admission.DROP]
    assert limiter.retry_after_s(1) == 60


def test_the_window_slides_and_the_user_is_welcome_again():
    clock = Clock()
    limiter = UserRateLimiter(2, 60, clock=clock)
    for _ in range(4):
        limiter.admit(1)
    clock.now = 61
    assert limiter.admit(1) is Admission.ALLOW
    assert limiter.retry_after_s(1) == 0


def test_users_are_limited_independently():
    clock = Clock()
    limiter = UserRateLimiter(1, 60, clock=clock)
    assert limiter.admit(1) is Admission.ALLOW
    assert limiter.admit(2) is Admission.ALLOW
    assert limiter.admit(1) is Admission.WARN


def test_idle_users_are_forgotten_when_the_table_is_full():
    clock = Clock()
    limiter = UserRateLimiter(1, 10, clock=clock, max_users=2)
    limiter.admit(1)
    limiter.admit(2)
    clock.now = 20
    assert limiter.admit(3) is Admission.ALLOW
    assert limiter.admit(1) is Admission.ALLOW  # forgotten, so a fresh window


def test_requests_spend_their_cost_of_the_budget():
    clock = Clock()
    limiter = UserRateLimiter(2, 60, clock=clock)
    assert [limiter.admit(1, 0.5) for _ in range(4)] == [Admission.ALLOW] * 4
    assert limiter.admit(1, 0.5) is Admission.WARN
    assert limiter.retry_after_s(1) == 60
    clock.now = 30.0
    assert limiter.admit(2, 1.0) is Admission.ALLOW
    assert limiter.admit(2, 1.5) is Admission.WARN  # 2.5 > 2: a big press is refused whole
    assert limiter.admit(2, 1.0) is Admission.ALLOW  # a smaller one still fits
    clock.now = 60.0
    assert limiter.admit(1, 1.0) is Admission.ALLOW  # the first window's presses have left
    assert limiter.retry_after_s(2) == 30.0
