"""One instance's connection to the shared Redis, and whether it currently works.

Every shared mechanism (budgets, caches, the update stream, the instance registry) goes through
:meth:`RedisLink.call`, so there is one place that decides what "Redis is down" means:

* every call has a short socket timeout (``timeout_s``), so a dead or partitioned Redis costs a
  caller at most that long, never a hung thread;
* a Redis that answers but serves no writes (out of memory under ``noeviction``, a read-only
  replica, writes stopped by a failed RDB save: ``OOM``/``READONLY``/``MISCONF``...) counts as
  a failure too; any other error reply (a script or usage bug) is raised as it is;
* after a failure the link is *down* for ``retry_after_s``: calls fail at once with
  :class:`SharedUnavailable` (no connect attempt per call while Redis is gone), and callers fall
  back to their local, safe-fraction behaviour; the first call after that tries again;
* the state (up/down, since when, how many failures, the last error's class) is readable for
  health, ``/actors`` and ``/metrics``. Error texts never include the URL (it may carry a
  password).

Keys live under ``cryptobot:<bot id>:`` (the numeric bot id before the token's colon, which
Telegram shows publicly anyway), so two bots can share one Redis without meeting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from core.errors import BotError

if TYPE_CHECKING:
    import redis

__all__ = ["LinkState", "RedisLink", "SharedUnavailable", "namespace_for", "redis_trouble"]

T = TypeVar("T")

DEFAULT_TIMEOUT_S = 0.5
DEFAULT_RETRY_AFTER_S = 1.0
_REFUSING_CODES = ("MISCONF ", "OOM ", "READONLY ", "MASTERDOWN ", "BUSY ", "NOREPLICAS ")


class SharedUnavailable(BotError):
    """Redis cannot be reached now; use the local fallback."""


@dataclass(frozen=True, slots=True)
class LinkState:
    """What the link knows about Redis right now."""

    up: bool
    """False from a failed call until a later call succeeds."""
    since: float
    """Monotonic time of the last change of ``up``."""
    failures: int
    """Failed calls since the link was created."""
    last_error: str | None
    """Class name of the last failure (never its text: it may hold the URL)."""


def namespace_for(token: str | None) -> str:
    """The key prefix part for one bot: its numeric id, or ``local`` without a token."""
    if not token:
        return "local"
    return token.split(":", 1)[0]


# redis-py is the [redis] extra: imported on first use, so the embedded default (no
# redis_url) runs without it installed.
@cache
def _network_errors() -> tuple[type[Exception], ...]:
    import redis

    return (redis.ConnectionError, redis.TimeoutError, OSError)


@cache
def _refusing_errors() -> tuple[type[Exception], ...]:
    # Redis answers but serves no writes (maxmemory reached, a read-only replica, a master
    # gone, a failed RDB save stopping writes, a script running too long): as unavailable as
    # a dead one, for every caller.
    import redis

    return (redis.exceptions.OutOfMemoryError, redis.exceptions.ReadOnlyError,
            redis.exceptions.MasterDownError, redis.exceptions.TryAgainError,
            redis.exceptions.ClusterDownError)


@cache
def redis_trouble() -> tuple[type[Exception], ...]:
    """What a Redis call may raise that its caller treats as "not now": ``SharedUnavailable``
    and redis-py's own errors (for ``except redis_trouble():``; imports redis-py lazily)."""
    import redis

    return (SharedUnavailable, redis.RedisError)


def _refuses_service(error: redis.ResponseError) -> bool:
    """Redis is up but will not serve (out of memory, read-only, stopped writes)?"""
    return isinstance(error, _refusing_errors()) or str(error).startswith(_REFUSING_CODES)


class RedisLink:
    """A thread-safe client plus the up/down state every shared mechanism consults."""

    def __init__(self, url: str, *, namespace: str, timeout_s: float = DEFAULT_TIMEOUT_S,
                 retry_after_s: float = DEFAULT_RETRY_AFTER_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        import redis

        self.client: redis.Redis = redis.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
            health_check_interval=30, client_name=f"cryptobot-{namespace}")
        self.prefix = f"cryptobot:{namespace}:"
        self._retry_after_s = retry_after_s
        self._clock = clock
        self._lock = threading.Lock()
        self._up = True
        self._since = clock()
        self._retry_at = 0.0
        self._failures = 0
        self._last_error: str | None = None

    def key(self, *parts: object) -> str:
        """A key in this bot's namespace: ``key("lease", "poll")`` -> ``cryptobot:1:lease:poll``."""
        return self.prefix + ":".join(str(part) for part in parts)

    def call(self, operation: Callable[[redis.Redis], T]) -> T:
        """``operation(client)``, or :class:`SharedUnavailable` when Redis does not answer."""
        with self._lock:
            if not self._up and self._clock() < self._retry_at:
                raise SharedUnavailable("redis is down (waiting before the next attempt)")
        import redis

        try:
            result = operation(self.client)
        except _network_errors() as exc:
            self._failed(exc)
            raise SharedUnavailable(f"redis unreachable ({type(exc).__name__})") from exc
        except redis.ResponseError as exc:
            if not _refuses_service(exc):
                raise  # a script or usage error: a bug, not an outage
            self._failed(exc)
            raise SharedUnavailable(f"redis refuses writes ({type(exc).__name__})") from exc
        self._succeeded()
        return result

    def script(self, source: str) -> Any:
        """A Lua script registered once (redis-py runs it by hash, loading it on a miss)."""
        return self.client.register_script(source)

    def state(self) -> LinkState:
        with self._lock:
            return LinkState(up=self._up, since=self._since, failures=self._failures,
                             last_error=self._last_error)

    def close(self) -> None:
        self.client.close()

    def _failed(self, exc: BaseException) -> None:
        with self._lock:
            now = self._clock()
            if self._up:
                self._up, self._since = False, now
            self._retry_at = now + self._retry_after_s
            self._failures += 1
            self._last_error = type(exc).__name__

    def _succeeded(self) -> None:
        with self._lock:
            if not self._up:
                self._up, self._since = True, self._clock()
