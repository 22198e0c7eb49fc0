"""Pure backoff arithmetic for supervisors and network loops.

Why it exists: restarting a crashed actor or retrying a failed request at once, in lockstep
with every other caller, turns a blip into a thundering herd. This module decides *how long*
to wait, without ever waiting itself: no sleeping, no threads, no I/O. Time and randomness are
injected so tests are deterministic.

* ``full_jitter_delay`` is AWS's "full jitter": ``U(0, min(cap, base * 2**attempt))``.
* ``RestartBackoff`` is the small stateful helper a supervisor keeps per child: the delay grows
  with consecutive restarts and the count starts over once the child stayed up for
  ``reset_after_s``.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable

from core.errors import ConfigError

__all__ = ["RestartBackoff", "Rng", "full_jitter_delay"]

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
