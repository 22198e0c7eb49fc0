"""Pure backoff arithmetic and retry classification for supervisors and network loops.

Why it exists: restarting a crashed actor or retrying a failed request at once, in lockstep
with every other caller, turns a blip into a thundering herd. This module decides *how long*
to wait and *whether* to retry, without ever waiting itself: no sleeping, no threads, no I/O.
Time and randomness are injected so tests are deterministic.

* ``full_jitter_delay`` is AWS's "full jitter": ``U(0, min(cap, base * 2**attempt))``.
* ``RestartBackoff`` is the small stateful helper a supervisor keeps per child: the delay grows
  with consecutive restarts and the count starts over once the child stayed up for
  ``reset_after_s``.
* ``RetryPolicy.decide`` classifies an error, modelled on python-telegram-bot's
  ``network_retry_loop``, but by *protocol* (attributes on the error) rather than by importing
  other packages' exception classes. Rules, first match wins (``attempt`` counts the attempts
  made so far, including the one that just failed, so it starts at 1):

  ======================================================  ===========  ========================
  error / situation                                       kind         delay_s
  ======================================================  ===========  ========================
  not an ``Exception`` (KeyboardInterrupt, SystemExit)    GIVE_UP      0
  ``attempt >= max_attempts``                             GIVE_UP      0
  ``error.permanent is True`` or isinstance ``give_up``   GIVE_UP      0
  numeric ``retry_after_s`` (else ``retry_after``)        RETRY_AFTER  min(value, retry cap)
  ``error.transient_now is True``, ``attempt == 1``       RETRY_NOW    0
  ``error.transient_now is True``, later attempts         BACK_OFF     full jitter
  ``BotError``, ``OSError`` or ``TimeoutError``           BACK_OFF     full jitter
  anything else (a bug: ValueError, KeyError, ...)        GIVE_UP      0
  ======================================================  ===========  ========================

  "Numeric" means an ``int`` or ``float`` (not ``bool``) or a ``datetime.timedelta``; NaN is
  ignored and negative values count as 0. Full jitter for a BACK_OFF uses exponent
  ``attempt - 1``, so the first back-off is drawn from ``U(0, base_s)``.
"""

from __future__ import annotations

import enum
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from core.errors import BotError, ConfigError

__all__ = [
    "RestartBackoff",
    "RetryDecision",
    "RetryKind",
    "RetryPolicy",
    "Rng",
    "full_jitter_delay",
]

Rng = random.Random | Callable[[], float]
"""A ``random.Random`` or a zero-argument callable returning a float in ``[0, 1]``."""

# 2.0 ** 1024 overflows a float; any exponent this large already exceeds every sane cap/base.
_MAX_EXPONENT = 1000


def full_jitter_delay(attempt: int, *, base_s: float, cap_s: float, rng: Rng) -> float:
    """Return a delay drawn uniformly from ``[0, min(cap_s, base_s * 2**attempt)]``.

    ``attempt`` 0 gives ``U(0, base_s)``. Huge attempts do not overflow: they give
    ``U(0, cap_s)``. Raises ``ValueError`` for a negative attempt, negative or non-finite
    ``base_s``/``cap_s``, or an ``rng`` that returns a value outside ``[0, 1]``.
    """
    if attempt < 0:
        raise ValueError(f"attempt must be >= 0, got {attempt}")
    if not (math.isfinite(base_s) and base_s >= 0.0):
        raise ValueError(f"base_s must be finite and >= 0, got {base_s!r}")
    if not (math.isfinite(cap_s) and cap_s >= 0.0):
        raise ValueError(f"cap_s must be finite and >= 0, got {cap_s!r}")
    if base_s == 0.0 or cap_s == 0.0:
        return 0.0
    if attempt >= _MAX_EXPONENT:
        ceiling = cap_s
    else:
        ceiling = min(cap_s, base_s * 2.0**attempt)  # may reach inf; min() tames it
    unit = rng.random() if isinstance(rng, random.Random) else rng()
    if not 0.0 <= unit <= 1.0:
        raise ValueError(f"rng must return a value in [0, 1], got {unit!r}")
    return ceiling * unit


class RestartBackoff:
    """Per-child restart delay: full jitter over consecutive restarts, reset after stability.

    The "previous restart" happens at the time ``next_delay`` was asked plus the delay it
    returned (when the child actually came back). If the child then stayed up for more than
    ``reset_after_s``, the next failure is treated as the first again. With ``base_s == 0``
    every delay is 0.0 (restart at once). Pure: the caller does the waiting.
    """

    def __init__(
        self,
        base_s: float,
        cap_s: float,
        reset_after_s: float,
        clock: Callable[[], float] = time.monotonic,
        rng: Rng | None = None,
    ) -> None:
        if not (math.isfinite(base_s) and base_s >= 0.0):
            raise ConfigError("base_s", base_s, "finite and >= 0")
        if not (math.isfinite(cap_s) and cap_s >= base_s):
            raise ConfigError("cap_s", cap_s, f"finite and >= base_s ({base_s})")
        if not (math.isfinite(reset_after_s) and reset_after_s >= 0.0):
            raise ConfigError("reset_after_s", reset_after_s, "finite and >= 0")
        self._base_s = base_s
        self._cap_s = cap_s
        self._reset_after_s = reset_after_s
        self._clock = clock
        self._rng: Rng = rng if rng is not None else random.Random()
        self._attempts = 0
        self._last_restart_at: float | None = None

    @property
    def attempts(self) -> int:
        """Consecutive restarts counted so far (0 after construction or ``reset``)."""
        return self._attempts

    def next_delay(self, now: float | None = None) -> float:
        """Return how long to wait before the next restart, and count that restart.

        ``now`` defaults to the injected clock; pass it when the caller already read the clock.
        """
        at = self._clock() if now is None else now
        if self._last_restart_at is not None and at - self._last_restart_at > self._reset_after_s:
            self._attempts = 0
        delay = full_jitter_delay(
            self._attempts, base_s=self._base_s, cap_s=self._cap_s, rng=self._rng
        )
        self._attempts += 1
        self._last_restart_at = at + delay
        return delay

    def reset(self) -> None:
        """Forget all previous restarts."""
        self._attempts = 0
        self._last_restart_at = None


class RetryKind(enum.Enum):
    """What a caller should do after a failed attempt."""

    GIVE_UP = "give_up"
    RETRY_AFTER = "retry_after"
    RETRY_NOW = "retry_now"
    BACK_OFF = "back_off"


@dataclass(frozen=True, slots=True)
class RetryDecision:
    """The verdict of ``RetryPolicy.decide``; ``reason`` is a short phrase for logs."""

    kind: RetryKind
    delay_s: float = 0.0
    reason: str = ""

    @property
    def should_retry(self) -> bool:
        """True unless the decision is GIVE_UP."""
        return self.kind is not RetryKind.GIVE_UP


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many attempts to make and how long to wait between them (rules: module docstring).

    ``max_attempts`` counts every attempt, the first included: 1 means never retry.
    ``give_up`` lists exception types that are always permanent.
    """

    max_attempts: int = 5
    base_s: float = 0.5
    cap_s: float = 30.0
    retry_after_cap_s: float = 60.0
    give_up: tuple[type[BaseException], ...] = ()

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigError("max_attempts", self.max_attempts, ">= 1")
        if not (math.isfinite(self.base_s) and self.base_s >= 0.0):
            raise ConfigError("base_s", self.base_s, "finite and >= 0")
        if not (math.isfinite(self.cap_s) and self.cap_s >= self.base_s):
            raise ConfigError("cap_s", self.cap_s, f"finite and >= base_s ({self.base_s})")
        if not (math.isfinite(self.retry_after_cap_s) and self.retry_after_cap_s >= 0.0):
            raise ConfigError("retry_after_cap_s", self.retry_after_cap_s, "finite and >= 0")

    def decide(self, error: BaseException, attempt: int, rng: Rng) -> RetryDecision:
        """Classify ``error`` after ``attempt`` attempts (>= 1) have been made."""
        if attempt < 1:
            raise ValueError(f"attempt counts attempts made and must be >= 1, got {attempt}")
        if not isinstance(error, Exception):
            return RetryDecision(RetryKind.GIVE_UP, reason="not an Exception")
        if attempt >= self.max_attempts:
            return RetryDecision(
                RetryKind.GIVE_UP, reason=f"{attempt} of {self.max_attempts} attempts made"
            )
        if getattr(error, "permanent", False) is True or isinstance(error, self.give_up):
            return RetryDecision(RetryKind.GIVE_UP, reason="permanent error")
        retry_after = _retry_after_of(error)
        if retry_after is not None:
            return RetryDecision(
                RetryKind.RETRY_AFTER,
                min(retry_after, self.retry_after_cap_s),
                reason="server asked to wait",
            )
        if getattr(error, "transient_now", False) is True and attempt == 1:
            return RetryDecision(RetryKind.RETRY_NOW, reason="transient; retrying at once")
        if getattr(error, "transient_now", False) is True or isinstance(
            error, (BotError, OSError, TimeoutError)
        ):
            delay = full_jitter_delay(attempt - 1, base_s=self.base_s, cap_s=self.cap_s, rng=rng)
            return RetryDecision(RetryKind.BACK_OFF, delay, reason="transient; backing off")
        return RetryDecision(RetryKind.GIVE_UP, reason=f"unexpected {type(error).__name__}")


def _retry_after_of(error: BaseException) -> float | None:
    """Seconds from ``error.retry_after_s`` or ``error.retry_after``; None if neither usable."""
    for attribute in ("retry_after_s", "retry_after"):
        value = getattr(error, attribute, None)
        seconds: float
        if isinstance(value, timedelta):
            seconds = value.total_seconds()
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            seconds = float(value)
        else:
            continue
        if math.isnan(seconds):
            continue
        return max(0.0, seconds)
    return None
