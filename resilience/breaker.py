"""A circuit breaker as a pure, clock-driven state machine.

Why it exists: when an upstream (an exchange API, Telegram) is failing, hammering it makes
things worse and ties up the actor that owns the calls. The breaker notices sustained failure,
refuses calls for a while, then lets exactly one trial call ("probe") through to learn whether
the upstream has recovered.

Why it looks the way it does (lessons taken from existing breakers):

* Akka: exactly one trial call in HALF_OPEN, and the reset timeout grows on every failed probe
  (multiplied by ``backoff_factor``, capped at ``max_reset_timeout_s``).
* pybreaker uses wall-clock time, which jumps; here time comes from an injected monotonic
  ``clock`` so tests drive it with a fake clock and NTP adjustments cannot reopen anything.
* resilience4j: besides consecutive failures, trip on the failure *rate* over a sliding time
  window, but only once the window holds ``minimum_calls`` outcomes (one failure out of one
  call is not a 100% outage).
* Hand-written breakers often admit every concurrent caller in HALF_OPEN; this one admits a
  single probe and refuses everyone else until that probe reports back. A probe that never
  reports (the caller forgot, or was interrupted) is considered abandoned after
  ``reset_timeout_s`` and a new probe is admitted, so the breaker cannot wedge.
* Errors the caller declares irrelevant (``ignore``) count as neither success nor failure.
  Unlike pybreaker's "excluded exceptions", an ignored error in HALF_OPEN does *not* close the
  breaker; it only frees the probe slot so the next caller can probe.

State machine::

    CLOSED --(consecutive failures >= threshold, or window failure rate >= rate)--> OPEN
    OPEN --(reset timeout elapsed; next acquire is the probe)--> HALF_OPEN
    HALF_OPEN --(probe succeeded)--> CLOSED        reset timeout back to base, counters cleared
    HALF_OPEN --(probe failed)--> OPEN             reset timeout *= backoff_factor (capped)

The breaker is NOT thread-safe, by design: it lives inside a single actor, which processes one
message at a time. It performs no I/O other than logging an exception raised by a listener.
"""

from __future__ import annotations

import enum
import logging
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from core.errors import ConfigError
from resilience.errors import CircuitOpenError

__all__ = [
    "BreakerSnapshot",
    "BreakerState",
    "BreakerTransition",
    "CircuitBreaker",
]

_log = logging.getLogger(__name__)

_P = ParamSpec("_P")
_R = TypeVar("_R")


class BreakerState(enum.Enum):
    """Where the breaker is in its cycle."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class BreakerTransition:
    """One state change, handed to every listener after the breaker has moved."""

    name: str
    old: BreakerState
    new: BreakerState
    at: float
    reason: str


@dataclass(frozen=True, slots=True)
class BreakerSnapshot:
    """A read-only picture of a breaker, for health reports and ``/status`` output.

    ``failure_rate`` is the failure share among the outcomes in the current window, or ``None``
    when the window is empty. ``trips`` counts every move into OPEN (including failed probes).
    """

    name: str
    state: str
    consecutive_failures: int
    failure_rate: float | None
    calls_in_window: int
    trips: int
    reset_timeout_s: float
    retry_after_s: float


class CircuitBreaker:
    """Consecutive-failure and failure-rate circuit breaker with a single half-open probe.

    Use either the convenience wrapper ``call(fn, *args, **kwargs)`` or the manual protocol::

        breaker.check()              # or: if not breaker.try_acquire(): ...
        try:
            result = do_the_call()
        except Exception as exc:
            breaker.record_failure() # or record_ignored() for errors that say nothing
            raise
        breaker.record_success()

    Not thread-safe: meant to be owned by exactly one actor.
    """

    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        failure_rate: float = 0.5,
        window_s: float = 60.0,
        minimum_calls: int = 10,
        reset_timeout_s: float = 30.0,
        max_reset_timeout_s: float = 300.0,
        backoff_factor: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        ignore: Callable[[BaseException], bool] | None = None,
        max_window_calls: int = 1000,
    ) -> None:
        _require(failure_threshold >= 1, "failure_threshold", failure_threshold, ">= 1")
        _require(0.0 < failure_rate <= 1.0, "failure_rate", failure_rate, "in (0, 1]")
        _require(_finite_positive(window_s), "window_s", window_s, "finite and > 0")
        _require(minimum_calls >= 1, "minimum_calls", minimum_calls, ">= 1")
        _require(
            max_window_calls >= minimum_calls,
            "max_window_calls",
            max_window_calls,
            f">= minimum_calls ({minimum_calls})",
        )
        _require(
            _finite_positive(reset_timeout_s), "reset_timeout_s", reset_timeout_s, "finite and > 0"
        )
        _require(
            math.isfinite(max_reset_timeout_s) and max_reset_timeout_s >= reset_timeout_s,
            "max_reset_timeout_s",
            max_reset_timeout_s,
            f"finite and >= reset_timeout_s ({reset_timeout_s})",
        )
        _require(
            math.isfinite(backoff_factor) and backoff_factor >= 1.0,
            "backoff_factor",
            backoff_factor,
            "finite and >= 1",
        )
        self._name = name
        self._failure_threshold = failure_threshold
        self._failure_rate = failure_rate
        self._window_s = window_s
        self._minimum_calls = minimum_calls
        self._base_reset_timeout_s = reset_timeout_s
        self._max_reset_timeout_s = max_reset_timeout_s
        self._backoff_factor = backoff_factor
        self._clock = clock
        self._ignore = ignore
        self._listeners: list[Callable[[BreakerTransition], None]] = []

        self._state = BreakerState.CLOSED
        self._consecutive_failures = 0
        self._window: deque[tuple[float, bool]] = deque()
        self._max_window_calls = max_window_calls
        self._window_failures = 0
        self._trips = 0
        self._reset_timeout_s = reset_timeout_s
        self._opened_at = 0.0
        self._probe_started_at: float | None = None

    # ------------------------------------------------------------------ introspection

    @property
    def name(self) -> str:
        """The name given at construction; appears in errors, transitions and snapshots."""
        return self._name

    @property
    def state(self) -> BreakerState:
        """The current state. OPEN only becomes HALF_OPEN on the next acquire, not by reading."""
        return self._state

    def retry_after_s(self) -> float:
        """Seconds until an acquire could be admitted; 0.0 when it would be admitted now.

        CLOSED: 0. OPEN: time left of the current reset timeout. HALF_OPEN with a probe in
        flight: time until that probe is considered abandoned (an upper bound; the probe's
        outcome usually decides sooner). HALF_OPEN without a probe in flight: 0.
        """
        now = self._clock()
        if self._state is BreakerState.OPEN:
            return max(0.0, self._opened_at + self._reset_timeout_s - now)
        if self._state is BreakerState.HALF_OPEN and self._probe_started_at is not None:
            return max(0.0, self._probe_started_at + self._base_reset_timeout_s - now)
        return 0.0

    def snapshot(self) -> BreakerSnapshot:
        """Return a frozen picture of the breaker (trims the window to the current time)."""
        self._trim(self._clock())
        calls = len(self._window)
        return BreakerSnapshot(
            name=self._name,
            state=self._state.value,
            consecutive_failures=self._consecutive_failures,
            failure_rate=(self._window_failures / calls) if calls else None,
            calls_in_window=calls,
            trips=self._trips,
            reset_timeout_s=self._reset_timeout_s,
            retry_after_s=self.retry_after_s(),
        )

    def add_listener(self, listener: Callable[[BreakerTransition], None]) -> None:
        """Call ``listener`` after every state change. A listener that raises is logged only."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[BreakerTransition], None]) -> None:
        """Stop calling ``listener``; unknown listeners are ignored."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    # ------------------------------------------------------------------ admission

    def try_acquire(self) -> bool:
        """Ask to make one call; True means go ahead and report the outcome afterwards.

        In OPEN, the first acquire after the reset timeout moves to HALF_OPEN and becomes the
        single probe. In HALF_OPEN, acquires are refused while the probe is in flight, unless
        it has been in flight for ``reset_timeout_s`` (then it is deemed abandoned and this
        acquire becomes the new probe).
        """
        if self._state is BreakerState.CLOSED:
            return True
        now = self._clock()
        if self._state is BreakerState.OPEN:
            if now - self._opened_at < self._reset_timeout_s:
                return False
            self._probe_started_at = now
            self._move(BreakerState.HALF_OPEN, now, "reset timeout elapsed; admitting a probe")
            return True
        if (
            self._probe_started_at is not None
            and now - self._probe_started_at < self._base_reset_timeout_s
        ):
            return False
        if self._probe_started_at is not None:
            _log.warning("breaker %s: probe never reported; admitting a new one", self._name)
        self._probe_started_at = now
        return True

    def check(self) -> None:
        """Like ``try_acquire`` but raise ``CircuitOpenError(name, retry_after_s)`` on refusal."""
        if not self.try_acquire():
            raise CircuitOpenError(self._name, self.retry_after_s())

    # ------------------------------------------------------------------ outcomes

    def record_success(self) -> None:
        """Report a successful call. In HALF_OPEN this closes the breaker; ignored in OPEN."""
        if self._state is BreakerState.OPEN:
            return  # a straggler admitted before the trip; it proves nothing about now
        now = self._clock()
        if self._state is BreakerState.HALF_OPEN:
            self._close(now)
            return
        self._consecutive_failures = 0
        self._append(now, ok=True)

    def record_failure(self, started_at: float | None = None) -> None:
        """Report a failed call. May trip CLOSED -> OPEN; in HALF_OPEN it reopens, longer.

        ``started_at`` (this breaker's clock, when the call was admitted) tells a straggler
        from the probe: a call admitted before the probe that fails during HALF_OPEN says
        nothing about now, and must not double the reset timeout (slow calls with retries
        finish long after the trip, and used to push recovery from 3 s to 24 s).
        """
        if self._state is BreakerState.OPEN:
            return  # a straggler admitted before the trip; already accounted for
        now = self._clock()
        if self._state is BreakerState.HALF_OPEN:
            probe = self._probe_started_at
            if started_at is not None and probe is not None and started_at < probe:
                return
            self._reset_timeout_s = min(
                self._reset_timeout_s * self._backoff_factor, self._max_reset_timeout_s
            )
            self._open(now, f"probe failed; next probe in {self._reset_timeout_s:g}s")
            return
        self._consecutive_failures += 1
        self._append(now, ok=False)
        if self._consecutive_failures >= self._failure_threshold:
            self._open(now, f"{self._consecutive_failures} consecutive failures")
            return
        calls = len(self._window)
        if calls >= self._minimum_calls:
            rate = self._window_failures / calls
            if rate >= self._failure_rate:
                self._open(
                    now,
                    f"failure rate {rate:.0%} over {calls} calls in the last {self._window_s:g}s",
                )

    def record_ignored(self) -> None:
        """Report a call whose error says nothing about upstream health.

        Counts as neither success nor failure. In HALF_OPEN it frees the probe slot without
        closing, so the next acquire becomes the probe.
        """
        if self._state is BreakerState.HALF_OPEN:
            self._probe_started_at = None

    def call(self, fn: Callable[_P, _R], /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        """Check, run ``fn(*args, **kwargs)``, record the outcome, and return or re-raise.

        An ``Exception`` counts as a failure unless the ``ignore`` predicate returns True for
        it (then ``record_ignored``). A non-``Exception`` ``BaseException`` (KeyboardInterrupt,
        SystemExit) propagates unrecorded; an outstanding probe then expires on its own.
        Raises ``CircuitOpenError`` without calling ``fn`` when the breaker refuses.
        """
        self.check()
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:
            if self._ignore is not None and self._ignore(exc):
                self.record_ignored()
            else:
                self.record_failure()
            raise
        self.record_success()
        return result

    def reset(self, reason: str = "reset by an operator") -> bool:
        """Close the breaker now, as after a successful probe; True if it was not closed.

        For an operator who fixed the upstream and does not want to wait out a reset timeout
        that failed probes have doubled: counters clear, the reset timeout goes back to its
        base, and listeners see the move to CLOSED like any other. A closed breaker only has
        its counters cleared (no transition: nothing changed that anyone waits for).
        """
        now = self._clock()
        was_closed = self._state is BreakerState.CLOSED
        self._reset_timeout_s = self._base_reset_timeout_s
        self._probe_started_at = None
        self._clear_counters()
        if not was_closed:
            self._move(BreakerState.CLOSED, now, reason)
        return not was_closed

    # ------------------------------------------------------------------ internals

    def _append(self, now: float, *, ok: bool) -> None:
        self._trim(now)
        if len(self._window) >= self._max_window_calls:
            _, evicted_ok = self._window.popleft()
            if not evicted_ok:
                self._window_failures -= 1
        self._window.append((now, ok))
        if not ok:
            self._window_failures += 1

    def _trim(self, now: float) -> None:
        horizon = now - self._window_s
        while self._window and self._window[0][0] <= horizon:
            _, ok = self._window.popleft()
            if not ok:
                self._window_failures -= 1

    def _clear_counters(self) -> None:
        self._consecutive_failures = 0
        self._window.clear()
        self._window_failures = 0

    def _open(self, now: float, reason: str) -> None:
        self._opened_at = now
        self._probe_started_at = None
        self._trips += 1
        self._clear_counters()
        self._move(BreakerState.OPEN, now, reason)

    def _close(self, now: float) -> None:
        self._reset_timeout_s = self._base_reset_timeout_s
        self._probe_started_at = None
        self._clear_counters()
        self._move(BreakerState.CLOSED, now, "probe succeeded")

    def _move(self, new: BreakerState, now: float, reason: str) -> None:
        old, self._state = self._state, new
        transition = BreakerTransition(self._name, old, new, now, reason)
        for listener in list(self._listeners):
            try:
                listener(transition)
            except Exception:
                _log.exception(
                    "breaker %s: listener %r failed on %s -> %s",
                    self._name,
                    listener,
                    old.value,
                    new.value,
                )


def _require(ok: bool, key: str, value: object, allowed: str) -> None:
    if not ok:
        raise ConfigError(key, value, allowed)


def _finite_positive(value: float) -> bool:
    return math.isfinite(value) and value > 0.0
