"""Cross-instance single-flight and the shared raw-response layer, in Redis.

Why: each instance already coalesces identical requests in process (the fetcher router), but
two instances asked for BTC at the same moment would still call the exchange twice, and a
second instance would refetch what the first fetched a second ago. Here, per request (a hash
``h`` of it, chosen by the caller):

* ``resp:<h>`` holds the last answer, JSON (zlib-compressed), with PX = the data's TTL. Anyone
  finding it uses it; its age travels with it (``at``, epoch ms), so the reader's in-process
  cache counts freshness from the fetch, not from the read.
* otherwise the first instance to ``SET flight:<h> <owner> NX PX <flight timeout>`` fetches
  (the leader); the others (followers) wait: ``BLPOP flight:<h>:wake`` with a short timeout,
  re-checking ``resp:<h>`` and the flight key each round. The leader writes ``resp:<h>``,
  deletes its flight and pushes a wake-up (one Lua script, so nobody sees the flight gone
  without the answer there); a woken follower pushes the wake-up back for the next one.
* when the leader fails (its fetch raised) it deletes its flight and wakes the followers, who
  then fetch on their own (no error crosses instances: each one's breaker sees its own
  calls); when it dies, its flight key expires and the followers do the same. When Redis
  fails its end (a blip just then), the leader ends that flight at its next call once Redis
  answers, so the others do not wait out the whole flight timeout. A follower never
  waits longer than the flight timeout.

Redis content is untrusted input: a payload is size-checked before and while it is
decompressed, parsed as JSON (never pickle), and handed to the caller's ``decode`` (the
exchange validators); anything that does not fit is counted, fetched afresh and replaced. When Redis
does not answer (``SharedUnavailable``) the caller's fetch runs locally, as without Redis.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar


from cluster.redis_link import RedisLink, SharedUnavailable
from core.errors import BotError

if TYPE_CHECKING:
    import redis

__all__ = ["FlightCounts", "Outcome", "SharedFlights", "Shared"]

T = TypeVar("T")

MAX_PAYLOAD_BYTES = 4 * 1024 * 1024
"""Largest compressed entry written or read (1000 klines are ~40 kB)."""
MAX_JSON_BYTES = 32 * 1024 * 1024
"""Largest entry once decompressed (a zip bomb stops here)."""
WAIT_STEP_S = 0.2
"""One BLPOP round: below the link's socket timeout (0.5 s), so a wait is never a failure."""
MAX_UNENDED = 256
"""Flights whose end Redis did not take, remembered to end later (oldest forgotten first)."""
_WAKE_TTL_MS = 2000

# KEYS: resp, flight, wake.  ARGV: token, flight PX.  -> {1, payload} | {2} lead | {3} follow
_BEGIN = """
local r = redis.call('GET', KEYS[1])
if r then return {1, r} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('DEL', KEYS[3])
  return {2, ''}
end
return {3, ''}
"""
# KEYS: resp, flight, wake.  ARGV: token, payload ('' = none), resp PX, wake PX.
_FINISH = """
if ARGV[2] ~= '' then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
redis.call('RPUSH', KEYS[3], '1')
redis.call('PEXPIRE', KEYS[3], ARGV[4])
return 1
"""


class Outcome:
    """How an answer was obtained (``Shared.outcome``)."""

    HIT = "hit"
    """Found in ``resp:<h>``."""
    LED = "led"
    """This instance fetched it for everyone."""
    FOLLOWED = "followed"
    """Another instance fetched it while this one waited."""
    ALONE = "alone"
    """Fetched without sharing: Redis away, the leader failed or died, or a bad entry."""


@dataclass(frozen=True, slots=True)
class Shared(Generic[T]):
    """One answer and where it came from."""

    value: T
    """The decoded answer."""
    age_s: float
    """Seconds since it was fetched (0 when this instance fetched it)."""
    outcome: str
    """An ``Outcome`` value."""


@dataclass(frozen=True, slots=True)
class FlightCounts:
    """What the shared layer did in this process since it started."""

    hits: int
    """Answers found in the shared layer."""
    led: int
    """Fetches this instance made for everyone."""
    followed: int
    """Answers another instance fetched while this one waited."""
    alone: int
    """Fetches made without sharing (Redis away, leader failed or died, bad entry)."""
    bad_entries: int
    """Entries found unreadable (too large, not JSON, failed validation) and ignored."""
    unavailable: int
    """Requests that found Redis unreachable."""


class SharedFlights:
    """Single-flight and response sharing between instances (see the module docstring)."""

    def __init__(self, link: RedisLink, *, owner: str,
                 wall_clock: Callable[[], float] = time.time,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._link = link
        self._owner = owner
        self._wall_clock = wall_clock
        self._clock = clock
        self._begin = link.script(_BEGIN)
        self._finish = link.script(_FINISH)
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(FlightCounts.__slots__, 0)
        # Flights led here whose end Redis did not take (it failed right then): left alone,
        # each would hold every instance's followers for the whole flight timeout.
        self._unended: dict[str, tuple[list[str], str]] = {}

    def counts(self) -> FlightCounts:
        with self._lock:
            return FlightCounts(**self._counts)

    def run(self, key: str, *, ttl_s: float, flight_timeout_s: float, fetch: Callable[[], T],
            encode: Callable[[T], object], decode: Callable[[object], T]) -> Shared[T]:
        """The answer for ``key``: shared, fetched for everyone, waited for, or fetched alone.

        ``fetch`` runs at most once and its exceptions propagate; ``decode`` turns an entry's
        JSON into a value or raises (``BotError``/``ValueError``) for one that does not fit.
        """
        keys = [self._link.key("resp", key), self._link.key("flight", key),
                self._link.key("flight", key, "wake")]
        token = f"{self._owner}:{uuid.uuid4().hex}"
        flight_ms = max(1, int(flight_timeout_s * 1000))
        try:
            self._end_unended()
            reply = self._link.call(
                lambda client: self._begin(keys=keys, args=[token, flight_ms], client=client))
        except SharedUnavailable:
            self._count("unavailable")
            return self._alone(fetch)
        if int(reply[0]) == 1:
            found = self._read(reply[1], ttl_s, decode)
            if found is not None:
                self._count("hits")
                return Shared(found[0], found[1], Outcome.HIT)
            return self._alone(fetch, keys, ttl_s, encode)
        if int(reply[0]) == 2:
            return self._lead(keys, token, ttl_s, fetch, encode)
        return self._follow(keys, ttl_s, flight_timeout_s, fetch, encode, decode)

    def _lead(self, keys: list[str], token: str, ttl_s: float, fetch: Callable[[], T],
              encode: Callable[[T], object]) -> Shared[T]:
        try:
            value = fetch()
        except Exception:
            self._end(keys, token, b"", ttl_s)  # wake the followers: they fetch on their own
            raise
        self._count("led")
        self._end(keys, token, self._write(value, encode), ttl_s)
        return Shared(value, 0.0, Outcome.LED)

    def _follow(self, keys: list[str], ttl_s: float, flight_timeout_s: float,
                fetch: Callable[[], T], encode: Callable[[T], object],
                decode: Callable[[object], T]) -> Shared[T]:
        deadline = self._clock() + flight_timeout_s
        try:
            while True:
                payload, flight = self._link.call(lambda client: client.mget(keys[:2]))
                if payload is not None:
                    found = self._read(payload, ttl_s, decode)
                    if found is None:
                        break
                    self._count("followed")
                    return Shared(found[0], found[1], Outcome.FOLLOWED)
                remaining = deadline - self._clock()
                if flight is None or remaining <= 0:
                    break  # the leader failed, died or is too slow: fetch on our own
                woken = self._link.call(
                    lambda client: client.blpop([keys[2]], timeout=min(WAIT_STEP_S, remaining)))
                if woken is not None:  # pass the wake-up on to the next follower
                    self._link.call(lambda client: self._pass_on(client, keys[2]))
        except SharedUnavailable:
            self._count("unavailable")
            return self._alone(fetch)
        return self._alone(fetch, keys, ttl_s, encode)

    @staticmethod
    def _pass_on(client: redis.Redis, wake: str) -> None:
        pipe = client.pipeline()
        pipe.rpush(wake, b"1")
        pipe.pexpire(wake, _WAKE_TTL_MS)
        pipe.execute()

    def _alone(self, fetch: Callable[[], T], keys: list[str] | None = None, ttl_s: float = 0.0,
               encode: Callable[[T], object] | None = None) -> Shared[T]:
        """Fetch without a flight; with ``keys``, store the answer (replacing a bad entry)."""
        value = fetch()
        self._count("alone")
        if keys is not None and encode is not None:
            payload = self._write(value, encode)
            if payload:
                try:
                    self._link.call(lambda client: client.set(
                        keys[0], payload, px=max(1, int(ttl_s * 1000))))
                except SharedUnavailable:
                    self._count("unavailable")
        return Shared(value, 0.0, Outcome.ALONE)

    def _end(self, keys: list[str], token: str, payload: bytes, ttl_s: float) -> None:
        args = [token, payload, max(1, int(ttl_s * 1000)), _WAKE_TTL_MS]
        try:
            self._link.call(lambda client: self._finish(keys=keys, args=args, client=client))
        except SharedUnavailable:
            self._count("unavailable")  # ended (without the answer) on a later call
            with self._lock:
                self._unended[token] = (keys, token)
                while len(self._unended) > MAX_UNENDED:
                    del self._unended[next(iter(self._unended))]

    def _end_unended(self) -> None:
        """End the flights whose end Redis did not take (their flight key only: the answer
        is old by now); ``SharedUnavailable`` when it still does not answer."""
        with self._lock:
            waiting = list(self._unended.values())
        for keys, token in waiting:
            args = [token, b"", 1, _WAKE_TTL_MS]
            self._link.call(lambda client: self._finish(keys=keys, args=args, client=client))
            with self._lock:
                self._unended.pop(token, None)

    def _write(self, value: T, encode: Callable[[T], object]) -> bytes:
        """The entry for ``value``, or b"" (nothing is stored) when it cannot be one."""
        try:
            entry = {"at": int(self._wall_clock() * 1000), "d": encode(value)}
            text = json.dumps(entry, separators=(",", ":"), allow_nan=False)
        except (ValueError, TypeError, RecursionError):
            return b""
        payload = zlib.compress(text.encode(), 1)
        return payload if len(payload) <= MAX_PAYLOAD_BYTES else b""

    def _read(self, payload: object, ttl_s: float,
              decode: Callable[[object], T]) -> tuple[T, float] | None:
        """(value, age) from an entry, or None (counted) when it does not fit."""
        try:
            if not isinstance(payload, bytes) or len(payload) > MAX_PAYLOAD_BYTES:
                raise ValueError("entry missing or too large")
            inflater = zlib.decompressobj()
            text = inflater.decompress(payload, MAX_JSON_BYTES)
            if inflater.unconsumed_tail:
                raise ValueError("entry too large once decompressed")
            entry = json.loads(text)
            if not isinstance(entry, dict):
                raise ValueError("entry is not an object")
            at = entry.get("at")
            if isinstance(at, bool) or not isinstance(at, int):
                raise ValueError("entry has no fetch time")
            age = min(max(0.0, self._wall_clock() - at / 1000), ttl_s)
            return decode(entry.get("d")), age
        except (BotError, ValueError, TypeError, OverflowError, zlib.error,
                RecursionError):
            self._count("bad_entries")
            return None

    def _count(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1
