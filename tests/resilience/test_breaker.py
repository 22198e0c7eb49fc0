"""Behaviour of the circuit breaker, driven by a fake monotonic clock (no sleeping)."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import ConfigError
from resilience.breaker import BreakerSnapshot, BreakerState, BreakerTransition, CircuitBreaker
from resilience.errors import CircuitOpenError

__all__: list[str] = []


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Boom(Exception):
    """An upstream failure."""


class Irrelevant(Exception):
    """An error that says nothing about upstream health."""


def make(clock: FakeClock, **overrides: object) -> CircuitBreaker:
    """Threshold 3, rate 50% of >= 10 calls in 60 s, reset 30 s doubling up to 100 s."""
    options: dict[str, object] = {"failure_threshold": 3, "max_reset_timeout_s": 100.0}
    options.update(overrides)
    return CircuitBreaker("exchange", clock=clock, **options)  # type: ignore[arg-type]


def trip(breaker: CircuitBreaker) -> None:
    while breaker.state is BreakerState.CLOSED:
        breaker.record_failure()


def probing(clock: FakeClock, **overrides: object) -> CircuitBreaker:
    """A breaker that tripped, waited out its reset timeout and admitted the probe."""
    breaker = make(clock, **overrides)
    trip(breaker)
    clock.advance(30.0)
    breaker.check()
    return breaker


def state_of(breaker: CircuitBreaker) -> BreakerState:
    """Read the state through a call, so mypy does not narrow it across actions."""
    return breaker.state


def fail(*_args: object) -> None:
    raise Boom("upstream down")


def raise_irrelevant() -> None:
    raise Irrelevant("bad user input")


# ---------------------------------------------------------------- closed -> open


def test_a_new_breaker_is_closed_and_admits_calls() -> None:
    breaker = make(FakeClock())
    assert breaker.state is BreakerState.CLOSED
    assert breaker.try_acquire()
    breaker.check()
    assert breaker.retry_after_s() == 0.0


def test_consecutive_failures_reaching_the_threshold_trip_the_breaker() -> None:
    breaker = make(FakeClock())
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED
    breaker.record_failure()
    assert state_of(breaker) is BreakerState.OPEN


def test_a_success_restarts_the_consecutive_count() -> None:
    breaker = make(FakeClock())
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.snapshot().consecutive_failures == 2


def test_failure_rate_over_the_window_trips_once_minimum_calls_are_seen() -> None:
    clock = FakeClock()
    breaker = make(clock, failure_threshold=100, minimum_calls=10, failure_rate=0.5)
    seen: list[BreakerTransition] = []
    breaker.add_listener(seen.append)
    for _ in range(4):
        breaker.record_success()
        breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED  # 50% but only 8 calls
    breaker.record_success()
    breaker.record_failure()
    assert state_of(breaker) is BreakerState.OPEN  # 5 of 10
    assert "failure rate 50% over 10 calls" in seen[0].reason


def test_failure_rate_below_the_threshold_keeps_the_breaker_closed() -> None:
    breaker = make(FakeClock(), failure_threshold=100, minimum_calls=10, failure_rate=0.5)
    for _ in range(10):
        breaker.record_success()
        breaker.record_success()
        breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED
    snapshot = breaker.snapshot()
    assert snapshot.calls_in_window == 30
    assert snapshot.failure_rate == pytest.approx(1 / 3)


def test_outcomes_older_than_the_window_no_longer_count() -> None:
    clock = FakeClock()
    breaker = make(clock, failure_threshold=100, minimum_calls=10, window_s=60.0)
    for _ in range(9):
        breaker.record_failure()  # one short of minimum_calls
    clock.advance(60.0)
    assert breaker.snapshot().calls_in_window == 0
    assert breaker.snapshot().failure_rate is None
    breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.snapshot().calls_in_window == 1


def test_the_window_is_bounded_by_max_window_calls() -> None:
    breaker = make(FakeClock(), failure_threshold=100, minimum_calls=5, max_window_calls=20)
    for _ in range(100):
        breaker.record_success()
    assert breaker.snapshot().calls_in_window == 20
    for _ in range(9):
        breaker.record_failure()
        breaker.record_success()
    assert breaker.snapshot().failure_rate == pytest.approx(9 / 20)
    breaker.record_failure()  # evicts a success: 10 failures of 20
    assert breaker.state is BreakerState.OPEN


# ---------------------------------------------------------------- open


def test_an_open_breaker_refuses_with_the_time_left() -> None:
    clock = FakeClock()
    breaker = make(clock)
    trip(breaker)
    clock.advance(10.0)
    assert not breaker.try_acquire()
    assert breaker.retry_after_s() == pytest.approx(20.0)
    with pytest.raises(CircuitOpenError) as raised:
        breaker.check()
    assert raised.value.name == "exchange"
    assert raised.value.retry_after_s == pytest.approx(20.0)


def test_call_does_not_run_the_function_while_open() -> None:
    breaker = make(FakeClock())
    trip(breaker)
    ran: list[bool] = []
    with pytest.raises(CircuitOpenError):
        breaker.call(ran.append, True)
    assert ran == []


def test_outcomes_reported_while_open_are_ignored() -> None:
    clock = FakeClock()
    breaker = make(clock)
    trip(breaker)
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    assert breaker.snapshot().trips == 1
    assert breaker.retry_after_s() == pytest.approx(30.0)


# ---------------------------------------------------------------- half-open


def test_the_first_acquire_after_the_reset_timeout_is_the_probe() -> None:
    clock = FakeClock()
    breaker = make(clock)
    trip(breaker)
    clock.advance(30.0)
    assert breaker.state is BreakerState.OPEN  # reading does not move it
    assert breaker.try_acquire()
    assert state_of(breaker) is BreakerState.HALF_OPEN


def test_half_open_admits_a_single_probe() -> None:
    breaker = probing(FakeClock())
    assert not breaker.try_acquire()
    assert not breaker.try_acquire()


def test_concurrent_callers_are_refused_while_the_probe_is_in_flight() -> None:
    clock = FakeClock()
    breaker = probing(clock)
    clock.advance(5.0)
    with pytest.raises(CircuitOpenError) as raised:
        breaker.check()
    assert raised.value.retry_after_s == pytest.approx(25.0)  # until the probe is abandoned


def test_a_successful_probe_closes_and_resets_everything() -> None:
    clock = FakeClock()
    breaker = probing(clock)
    breaker.record_failure()  # probe fails: 60 s
    clock.advance(60.0)
    breaker.check()
    breaker.record_success()
    snapshot = breaker.snapshot()
    assert breaker.state is BreakerState.CLOSED
    assert snapshot.reset_timeout_s == 30.0
    assert snapshot.consecutive_failures == 0
    assert snapshot.calls_in_window == 0
    assert snapshot.retry_after_s == 0.0


def test_a_failed_probe_reopens_with_a_longer_timeout_up_to_the_cap() -> None:
    clock = FakeClock()
    breaker = make(clock, reset_timeout_s=30.0, max_reset_timeout_s=100.0, backoff_factor=2.0)
    trip(breaker)
    seen: list[float] = []
    for _ in range(4):
        clock.advance(breaker.retry_after_s())
        breaker.check()
        breaker.record_failure()
        assert breaker.state is BreakerState.OPEN
        seen.append(breaker.snapshot().reset_timeout_s)
    assert seen == [60.0, 100.0, 100.0, 100.0]
    assert breaker.snapshot().trips == 5


def test_the_grown_timeout_is_honoured_before_the_next_probe() -> None:
    clock = FakeClock()
    breaker = probing(clock)
    breaker.record_failure()
    clock.advance(59.0)
    assert not breaker.try_acquire()
    clock.advance(1.0)
    assert breaker.try_acquire()


def test_a_forgotten_probe_expires_after_the_reset_timeout() -> None:
    clock = FakeClock()
    breaker = make(clock)
    trip(breaker)
    clock.advance(30.0)
    assert breaker.try_acquire()  # the caller never reports back
    clock.advance(29.9)
    assert not breaker.try_acquire()
    clock.advance(0.1)
    assert breaker.try_acquire()
    assert not breaker.try_acquire()
    assert breaker.state is BreakerState.HALF_OPEN


# ---------------------------------------------------------------- call() and ignored errors


def test_call_returns_the_result_and_records_a_success() -> None:
    breaker = make(FakeClock())
    breaker.record_failure()

    def add(a: int, b: int = 0) -> int:
        return a + b

    assert breaker.call(add, 2, b=3) == 5
    assert breaker.snapshot().consecutive_failures == 0


@pytest.mark.parametrize("ignore", [None, lambda exc: isinstance(exc, Irrelevant)])
def test_call_reraises_and_records_a_failure(ignore: object) -> None:
    breaker = make(FakeClock(), ignore=ignore)
    for _ in range(3):
        with pytest.raises(Boom):
            breaker.call(fail)
    assert breaker.state is BreakerState.OPEN


def test_ignored_errors_count_as_neither_success_nor_failure() -> None:
    breaker = make(FakeClock(), ignore=lambda exc: isinstance(exc, Irrelevant))
    breaker.record_failure()
    breaker.record_failure()
    for _ in range(5):
        with pytest.raises(Irrelevant):
            breaker.call(raise_irrelevant)
    snapshot = breaker.snapshot()
    assert breaker.state is BreakerState.CLOSED
    assert snapshot.consecutive_failures == 2
    assert snapshot.calls_in_window == 2


def test_an_ignored_error_in_half_open_frees_the_probe_without_closing() -> None:
    clock = FakeClock()
    breaker = make(clock, ignore=lambda exc: isinstance(exc, Irrelevant))
    trip(breaker)
    clock.advance(30.0)
    with pytest.raises(Irrelevant):
        breaker.call(raise_irrelevant)
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.retry_after_s() == 0.0
    assert breaker.try_acquire()  # the next caller is the new probe
    assert not breaker.try_acquire()


# ---------------------------------------------------------------- listeners and snapshot


def test_listeners_see_every_transition_in_order() -> None:
    clock = FakeClock()
    breaker = make(clock)
    seen: list[BreakerTransition] = []
    breaker.add_listener(seen.append)
    trip(breaker)
    clock.advance(30.0)
    breaker.check()
    breaker.record_failure()
    clock.advance(60.0)
    breaker.check()
    breaker.record_success()
    moves = [(t.old, t.new, t.at) for t in seen]
    assert moves == [
        (BreakerState.CLOSED, BreakerState.OPEN, 1000.0),
        (BreakerState.OPEN, BreakerState.HALF_OPEN, 1030.0),
        (BreakerState.HALF_OPEN, BreakerState.OPEN, 1030.0),
        (BreakerState.OPEN, BreakerState.HALF_OPEN, 1090.0),
        (BreakerState.HALF_OPEN, BreakerState.CLOSED, 1090.0),
    ]
    assert all(t.name == "exchange" for t in seen)
    assert "3 consecutive failures" in seen[0].reason


def test_a_raising_listener_is_logged_and_harmless(caplog: pytest.LogCaptureFixture) -> None:
    breaker = make(FakeClock())
    seen: list[BreakerTransition] = []

    def broken(_transition: BreakerTransition) -> None:
        raise RuntimeError("listener bug")

    breaker.add_listener(broken)
    breaker.add_listener(seen.append)
    with caplog.at_level(logging.ERROR, logger="resilience.breaker"):
        trip(breaker)
    assert breaker.state is BreakerState.OPEN
    assert len(seen) == 1
    assert "listener" in caplog.text


def test_a_removed_listener_is_no_longer_called() -> None:
    breaker = make(FakeClock())
    seen: list[BreakerTransition] = []
    breaker.add_listener(seen.append)
    breaker.remove_listener(seen.append)
    trip(breaker)
    assert seen == []


def test_the_snapshot_describes_an_open_breaker() -> None:
    clock = FakeClock()
    breaker = make(clock)
    trip(breaker)
    clock.advance(12.0)
    assert breaker.snapshot() == BreakerSnapshot(
        name="exchange",
        state="open",
        consecutive_failures=0,
        failure_rate=None,
        calls_in_window=0,
        trips=1,
        reset_timeout_s=30.0,
        retry_after_s=18.0,
    )


@pytest.mark.parametrize(
    ("key", "value"),
    [("failure_threshold", 0), ("failure_rate", 0.0), ("failure_rate", 1.5), ("window_s", 0.0)]
    + [("minimum_calls", 0), ("reset_timeout_s", 0.0), ("max_reset_timeout_s", 10.0)]
    + [("backoff_factor", 0.5), ("max_window_calls", 5), ("window_s", float("inf"))],
)
def test_invalid_settings_are_rejected_with_a_config_error(key: str, value: object) -> None:
    with pytest.raises(ConfigError) as raised:
        make(FakeClock(), **{key: value})
    assert raised.value.key == key


# ---------------------------------------------------------------- properties

_operations = st.lists(
    st.tuples(st.sampled_from(["acquire", "success", "failure", "ignored"]), st.just(0.0))
    | st.tuples(st.just("advance"), st.floats(min_value=0.0, max_value=80.0)),
    max_size=200,
)


@settings(max_examples=300, deadline=None)
@given(operations=_operations)
def test_half_open_never_has_more_than_one_live_probe(
    operations: list[tuple[str, float]],
) -> None:
    clock = FakeClock()
    breaker = make(clock, failure_threshold=2, minimum_calls=4)
    probes: list[float] = []  # admission times of probes not yet reported
    for operation, seconds in operations:
        before = breaker.state
        if operation == "acquire":
            admitted = breaker.try_acquire()
            if before is BreakerState.OPEN:
                assert admitted == (breaker.state is BreakerState.HALF_OPEN)
            if admitted and breaker.state is BreakerState.HALF_OPEN:
                probes.append(clock.now)
        elif operation == "advance":
            clock.advance(seconds)
        else:
            report = {"success": breaker.record_success, "failure": breaker.record_failure}
            report.get(operation, breaker.record_ignored)()
            if before is BreakerState.HALF_OPEN:
                probes.clear()
        if breaker.state is not BreakerState.HALF_OPEN:
            probes.clear()
        live = [t for t in probes if t > clock.now - 30.0]
        assert len(live) <= 1
        snapshot = breaker.snapshot()
        assert 30.0 <= snapshot.reset_timeout_s <= 100.0
        assert snapshot.retry_after_s >= 0.0
        if breaker.state is BreakerState.CLOSED:
            assert snapshot.retry_after_s == 0.0


def test_a_straggler_admitted_before_the_probe_failing_in_half_open_changes_nothing() -> None:
    clock = FakeClock()
    admitted_while_closed = clock()
    breaker = probing(clock)
    breaker.record_failure(started_at=admitted_while_closed)
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.record_success()  # the probe answers: the straggler did not reopen it
    assert breaker.state is BreakerState.CLOSED


def test_the_probe_itself_failing_still_reopens_for_longer() -> None:
    clock = FakeClock()
    breaker = probing(clock)
    breaker.record_failure(started_at=clock())
    assert breaker.state is BreakerState.OPEN
    assert breaker.retry_after_s() == 60.0


def test_reset_closes_an_open_breaker_at_once_with_its_base_timeout_and_tells_listeners() -> None:
    clock = FakeClock()
    breaker = make(clock)
    moves: list[BreakerTransition] = []
    breaker.add_listener(moves.append)
    for _ in range(3):
        breaker.record_failure()
    clock.advance(30)
    assert breaker.try_acquire()  # the probe
    breaker.record_failure()  # reopens with a doubled timeout
    assert breaker.snapshot().reset_timeout_s == 60
    assert breaker.reset() is True
    snapshot = breaker.snapshot()
    assert snapshot.state == "closed" and snapshot.consecutive_failures == 0
    assert snapshot.reset_timeout_s == 30 and snapshot.retry_after_s == 0
    assert breaker.try_acquire()
    assert moves[-1].new is BreakerState.CLOSED and moves[-1].reason == "reset by an operator"


def test_reset_of_a_closed_breaker_clears_its_counters_without_a_transition() -> None:
    clock = FakeClock()
    breaker = make(clock)
    moves: list[BreakerTransition] = []
    breaker.add_listener(moves.append)
    breaker.record_failure()
    assert breaker.reset() is False
    assert breaker.snapshot().consecutive_failures == 0 and moves == []


def test_reset_during_a_probe_closes_and_the_late_probe_outcome_changes_nothing() -> None:
    clock = FakeClock()
    breaker = make(clock)
    for _ in range(3):
        breaker.record_failure()
    clock.advance(30)
    assert breaker.try_acquire()
    assert breaker.reset() is True
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED
