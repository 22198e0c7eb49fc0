"""The shared update stream: Telegram updates in a Redis Stream read through one consumer group.

Why a stream: the polling instance (or whichever instance a webhook POST reached) must hand an
update to *some* instance and forget it only once that instance has answered. A Redis Stream
with a consumer group gives exactly that: ``updates`` holds each update's raw JSON (field
``u``), every instance reads new entries as consumer ``<InstanceId.key>`` of group ``bot``, and
an entry stays in the group's pending list until it is acked. An instance that dies leaves its
entries pending; another one claims them (:meth:`UpdateStream.claim_from_dead` at once when the
dead consumer's liveness key ``updates:alive:<consumer>`` has expired, ``XAUTOCLAIM`` after
``min_idle_ms`` as the backstop).

Idempotent replies by ``update_id``: when an update's reply is out, :meth:`UpdateStream.finish`
sets ``updates:done:<update_id>`` (EX 1 day) and acks, in one script. An entry read or claimed
later whose done key exists is acked without being processed again. Appends are idempotent
too, at O(1) memory for polling: ``poll:offset`` (one past the last update appended) keeps a
batch that a new holder re-reads (the dead one appended it but never confirmed it) out of the
stream, and the same script checks the polling lease and its fencing token
(:mod:`cluster.lease`), so a stale poller appends nothing. Webhook POSTs may arrive out of
order, so a re-posted update is recognised by ``updates:seen:<update_id>`` (EX 1 hour).

Every call goes through :meth:`cluster.redis_link.RedisLink.call`; no thread, no clock here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any


from cluster import stream_scripts as scripts
from cluster.lease import FENCE_KEY, LEASE_KEY
from cluster.redis_link import RedisLink, SharedUnavailable

if TYPE_CHECKING:
    import redis

__all__ = ["GROUP", "STREAM", "Entry", "FencedOut", "StreamFigures", "UpdateStream",
           "request_id_for"]

STREAM = "updates"
GROUP = "bot"
DAY_S = 86_400
SEEN_TTL_S = 3_600
OFFSET_KEY = ("poll", "offset")

_PEL_SCAN = 10_000
"""Most of our own pending entries looked at by one touch (we hold at most a few dozen)."""


class FencedOut(Exception):
    """The appender no longer holds the polling lease under its fencing token."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One stream entry as a consumer sees it."""

    entry_id: str
    """The stream id (``<ms>-<seq>``), what XACK takes."""
    raw: str | None
    """The update's JSON as Telegram sent it (None: the entry was trimmed away)."""
    update_id: int | None
    """Read from ``raw`` (None when it has none)."""
    done: bool = False
    """Its reply was already delivered (``updates:done:<update_id>`` exists): ack, skip."""


@dataclass(frozen=True, slots=True)
class StreamFigures:
    """What Redis says about the stream right now (health)."""

    length: int
    """Entries in the stream (bounded by MAXLEN, approximately)."""
    pending: int
    """Entries read by some consumer and not yet acked."""
    consumers: int
    """Consumers the group knows (live or not yet cleaned up)."""


class UpdateStream:
    """Append, read, finish and reclaim updates as consumer ``consumer``; thread-safe."""

    def __init__(self, link: RedisLink, consumer: str, *, maxlen: int = 100_000,
                 done_ttl_s: int = DAY_S) -> None:
        self._link = link
        self.consumer = consumer
        self._maxlen = maxlen
        self._done_ttl_s = done_ttl_s
        self._stream = link.key(STREAM)
        self._lease_keys = [link.key(*LEASE_KEY), link.key(*FENCE_KEY)]
        self._offset = link.key(*OFFSET_KEY)
        self._append_polled: Any = link.script(scripts.APPEND_POLLED)
        self._append_posted: Any = link.script(scripts.APPEND_POSTED)
        self._finish: Any = link.script(scripts.FINISH)
        self._touch_mine: Any = link.script(scripts.TOUCH_MINE)
        self._owns: Any = link.script(scripts.OWNS)
        self._ack_trimmed: Any = link.script(scripts.ACK_TRIMMED)
        self._autoclaim_from = "0-0"

    # -- keys -------------------------------------------------------------------------------

    def done_key(self, update_id: int) -> str:
        return self._link.key(STREAM, "done", update_id)

    def alive_key(self, consumer: str) -> str:
        return self._link.key(STREAM, "alive", consumer)

    # -- producing ----------------------------------------------------------------------------

    def ensure_group(self) -> None:
        """Create the stream and group ``bot`` (reading from the start) unless they exist."""
        def create(client: redis.Redis) -> None:
            import redis  # the [redis] extra: only here once a link exists

            try:
                client.xgroup_create(self._stream, GROUP, id="0", mkstream=True)
            except redis.ResponseError as error:
                if "BUSYGROUP" not in str(error):
                    raise
        self._link.call(create)

    def append_polled(self, updates: Sequence[tuple[int, str]], *, holder: str,
                      fence: int) -> int:
        """XADD a getUpdates batch ``(update_id, raw)`` while ``holder`` holds the lease under
        ``fence`` (else :class:`FencedOut`); how many were new.

        ``poll:offset`` (one past the last update appended, EX 1 day) skips what an earlier
        holder appended but never confirmed at Telegram, which hands it out again.
        """
        if not updates:
            return 0
        args: list[object] = [holder, fence, self._maxlen, DAY_S]
        for update_id, raw in updates:
            args += [update_id, raw]
        keys = [*self._lease_keys, self._stream, self._offset]
        added = int(self._link.call(
            lambda client: self._append_polled(keys=keys, args=args, client=client)))
        if added < 0:
            raise FencedOut("the polling lease moved on: this append was refused")
        return added

    def append_posted(self, update_id: int, raw: str) -> bool:
        """XADD a webhook POST's update unless it was appended already (Telegram re-posts an
        update it got no 200 for): ``updates:seen:<update_id>``, EX 1 hour."""
        keys = [self._stream, self._link.key(STREAM, "seen", update_id)]
        added = self._link.call(lambda client: self._append_posted(
            keys=keys, args=[self._maxlen, SEEN_TTL_S, raw], client=client))
        return int(added) == 1

    # -- consuming ----------------------------------------------------------------------------

    def read(self, *, count: int, block_ms: int) -> tuple[Entry, ...]:
        """New entries for this consumer, waiting up to ``block_ms`` for the first."""
        answer = self._link.call(lambda client: client.xreadgroup(
            GROUP, self.consumer, {self._stream: ">"}, count=count, block=block_ms))
        streams: Any = answer or []  # RESP2: [[stream, [(id, fields), ...]]]
        rows = [row for _, rows in streams for row in rows]
        return self._entries(rows)

    def read_mine(self, *, count: int) -> tuple[Entry, ...]:
        """Entries still pending under this consumer's name: what an earlier process with the
        same name (a fixed ``instance_name``) read and never acked. Read once, at start."""
        answer = self._link.call(lambda client: client.xreadgroup(
            GROUP, self.consumer, {self._stream: "0"}, count=count))
        streams: Any = answer or []
        return self._entries([row for _, rows in streams for row in rows])

    def finish(self, entry_id: str, update_id: int | None) -> None:
        """The update is answered: set its done key (when it has an id), then XACK."""
        if update_id is None:
            self.ack((entry_id,))
            return
        keys = [self.done_key(update_id), self._stream]
        self._link.call(lambda client: self._finish(
            keys=keys, args=[GROUP, entry_id, self._done_ttl_s], client=client))

    def ack(self, entry_ids: Iterable[str]) -> int:
        """XACK without a done key (entries skipped as done, unreadable or trimmed)."""
        ids = list(entry_ids)
        if not ids:
            return 0
        return int(self._link.call(lambda client: client.xack(self._stream, GROUP, *ids)))

    def touch(self, entry_ids: Iterable[str]) -> tuple[str, ...]:
        """Reset the idle time of our own in-progress entries (so XAUTOCLAIM leaves a slow
        command's entry with us) and return those still ours; one another instance took is
        left with it (never claimed back)."""
        ids = list(entry_ids)
        if not ids:
            return ()
        kept = self._link.call(lambda client: self._touch_mine(
            keys=[self._stream], args=[GROUP, self.consumer, _PEL_SCAN, *ids], client=client))
        return tuple(_text(entry_id) for entry_id in kept)

    def owns(self, entry_id: str) -> bool:
        """Is ``entry_id`` still pending under our name (not acked, not taken by another)?

        A stream or group that no longer exists, or was made again without the entry (Redis
        lost its data), cannot have given the entry to anyone else: still ours, so its answer
        is not lost with the data."""
        def pending(client: redis.Redis) -> bool:
            import redis

            try:
                return int(self._owns(keys=[self._stream],
                                      args=[GROUP, self.consumer, entry_id],
                                      client=client)) == 1
            except redis.ResponseError as error:
                if "NOGROUP" in str(error):
                    return True
                raise
        return bool(self._link.call(pending))

    # -- reclaiming ---------------------------------------------------------------------------

    def mark_alive(self, ttl_ms: int) -> None:
        """Say this consumer is alive for ``ttl_ms`` (renewed with the lease loop's beat)."""
        key = self.alive_key(self.consumer)
        self._link.call(lambda client: client.set(key, "1", px=ttl_ms))

    def mark_gone(self) -> None:
        """A clean stop: others may claim our pending entries at once."""
        key = self.alive_key(self.consumer)
        self._link.call(lambda client: client.delete(key))

    def claim_from_dead(self, *, min_idle_ms: int, count: int = 100) -> tuple[Entry, ...]:
        """Claim the pending entries of consumers whose liveness key has expired.

        ``min_idle_ms`` (about a second) keeps two live instances from both claiming one entry:
        the first claim resets its idle time, so the second finds it too fresh.
        """
        def claim(client: redis.Redis) -> list[Any]:
            summary = client.xpending(self._stream, GROUP)
            owners = [_text(row["name"]) for row in summary.get("consumers") or ()
                      if int(row["pending"]) > 0]
            others = [name for name in owners if name != self.consumer]
            alive = client.mget([self.alive_key(name) for name in others]) if others else []
            claimed: list[Any] = []
            for name, flag in zip(others, alive):
                if flag is not None:
                    continue
                rows = client.xpending_range(self._stream, GROUP, min="-", max="+",
                                             count=count, consumername=name)
                ids: list[Any] = [row["message_id"] for row in rows]
                if ids:
                    claimed += client.xclaim(self._stream, GROUP, self.consumer, min_idle_ms,
                                             ids)
            return claimed
        return self._entries(self._link.call(claim))

    def autoclaim(self, *, min_idle_ms: int, count: int = 100) -> tuple[Entry, ...]:
        """XAUTOCLAIM one page of entries idle for ``min_idle_ms`` (whoever had them)."""
        answer = self._link.call(lambda client: client.xautoclaim(
            self._stream, GROUP, self.consumer, min_idle_ms, self._autoclaim_from, count=count))
        self._autoclaim_from = _text(answer[0])
        rows = [row for row in answer[1] if row and row[0] is not None]
        if len(rows) < len(answer[1]):  # trimmed while pending, claimed to us: ack them
            try:
                self._link.call(lambda client: self._ack_trimmed(
                    keys=[self._stream], args=[GROUP, self.consumer, count], client=client))
            except SharedUnavailable:
                pass  # claimed again, and acked then, on a later round
        return self._entries(rows)

    def forget_dead_consumers(self, *, min_idle_ms: int = 30_000) -> int:
        """Remove consumers with nothing pending, no liveness key and idle ``min_idle_ms``:
        one starting (reading before its first liveness key) deleted as it reads would lose
        its new entries from the pending list, unanswered by anyone else."""
        def tidy(client: redis.Redis) -> int:
            rows = client.xinfo_consumers(self._stream, GROUP)
            idle = [_text(row["name"]) for row in rows
                    if int(row["pending"]) == 0 and _text(row["name"]) != self.consumer
                    and int(row["idle"]) >= min_idle_ms]
            alive = client.mget([self.alive_key(name) for name in idle]) if idle else []
            gone = [name for name, flag in zip(idle, alive) if flag is None]
            for name in gone:
                client.xgroup_delconsumer(self._stream, GROUP, name)
            return len(gone)
        return int(self._link.call(tidy))

    def figures(self) -> StreamFigures:
        """Length, pending and consumers, for health."""
        def read(client: redis.Redis) -> StreamFigures:
            length = int(client.xlen(self._stream))
            summary = client.xpending(self._stream, GROUP)
            return StreamFigures(length=length, pending=int(summary.get("pending") or 0),
                                 consumers=len(summary.get("consumers") or ()))
        return self._link.call(read)

    # -- helpers ------------------------------------------------------------------------------

    def _entries(self, rows: Sequence[Any]) -> tuple[Entry, ...]:
        """Rows (id, fields) as entries, each marked done when its done key exists."""
        parsed = [_entry(row) for row in rows if row and row[0] is not None]  # nil: trimmed
        with_ids = [entry for entry in parsed if entry.update_id is not None]
        if not with_ids:
            return tuple(parsed)
        keys = [self.done_key(entry.update_id) for entry in with_ids
                if entry.update_id is not None]
        flags = self._link.call(lambda client: client.mget(keys))
        done = {entry.entry_id for entry, flag in zip(with_ids, flags) if flag is not None}
        return tuple(Entry(entry.entry_id, entry.raw, entry.update_id, entry.entry_id in done)
                     for entry in parsed)


def request_id_for(update_id: int, raw: str) -> str:
    """The request id of an update from the stream: the same for every reprocessing of it.

    ``u<update_id>`` makes a reprocessed update hit the idempotency keys of the writes it
    caused (an alert's ``request_key``, the command log's ``(request_id, command)``). The
    short hash of the raw JSON keeps it unique when Telegram restarts its update ids at a
    random value (after a week without updates).
    """
    return f"u{update_id}-{hashlib.blake2b(raw.encode(), digest_size=3).hexdigest()}"


def _entry(row: Any) -> Entry:
    entry_id, fields = row[0], row[1]
    raw_value = (fields or {}).get(b"u", (fields or {}).get("u"))
    raw = None if raw_value is None else _text(raw_value)
    return Entry(_text(entry_id), raw, _update_id_of(raw))


def _update_id_of(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw).get("update_id")
    except (ValueError, AttributeError, RecursionError):
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
