"""Which stream entries are still being answered, and when each one may be acked.

Why: an update read from the shared stream (:mod:`cluster.update_stream`) may be acked only
once its answer is out, or another instance would never take it over if this one died
mid-answer. "Out" needs two signals, because neither alone says it:

* the conversation *closes* the request (``messages.chat.RequestClosed``) after it has handed
  every reply of it to the transport, or decided to say nothing; it is told through the
  transport's mailbox after those replies, so by then each of them has been *accepted*;
* the outbox *settles* each accepted reply once: delivered, or failed for good.

An entry is finished when its request is closed and every accepted reply has settled. Pure
bookkeeping: no threads, no I/O, the caller's clock; the relay serialises access.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["OpenUpdates", "StreamRef"]


@dataclass(frozen=True, slots=True)
class StreamRef:
    """Where an update came from in the stream, to ack it."""

    entry_id: str
    """The stream entry id."""
    update_id: int | None
    """Telegram's update id (the done key's name), when the entry had one."""


@dataclass(slots=True)
class _Open:
    ref: StreamRef
    started: float
    accepted: int = 0
    settled: int = 0
    closed: bool = False


class OpenUpdates:
    """Request id -> the entry it answers, until the answer is out."""

    def __init__(self, *, taken_over_memory: int = 4096) -> None:
        self._open: dict[str, _Open] = {}
        # Requests whose entry another instance took over (this one stalled): their replies
        # must stay unsent. Bounded: the oldest are forgotten first.
        self._taken: OrderedDict[str, None] = OrderedDict()
        self._taken_memory = taken_over_memory

    def __len__(self) -> int:
        return len(self._open)

    def __contains__(self, request_id: object) -> bool:
        return request_id in self._open

    def begin(self, request_id: str, ref: StreamRef, now: float) -> bool:
        """Track ``request_id``; False when it is tracked already (the same entry twice)."""
        if request_id in self._open:
            return False
        self._open[request_id] = _Open(ref, now)
        return True

    def accepted(self, request_id: str) -> None:
        """The outbox took one reply of ``request_id`` (untracked ids are ignored)."""
        entry = self._open.get(request_id)
        if entry is not None:
            entry.accepted += 1

    def settled(self, request_id: str) -> StreamRef | None:
        """One reply of ``request_id`` ended; the entry to ack if that finished it."""
        entry = self._open.get(request_id)
        if entry is None:
            return None
        entry.settled += 1
        return self._finish_if_done(request_id, entry)

    def closed(self, request_id: str) -> StreamRef | None:
        """The conversation is done with ``request_id``; the entry to ack if nothing is left."""
        entry = self._open.get(request_id)
        if entry is None:
            return None
        entry.closed = True
        return self._finish_if_done(request_id, entry)

    def expired(self, now: float, max_age_s: float) -> tuple[StreamRef, ...]:
        """Entries open longer than ``max_age_s`` (a lost close): given up on and returned."""
        old = [rid for rid, entry in self._open.items() if now - entry.started >= max_age_s]
        return tuple(self._open.pop(rid).ref for rid in old)

    def entry_ids(self) -> tuple[str, ...]:
        """Entry ids still being answered (their idle time is kept fresh)."""
        return tuple(entry.ref.entry_id for entry in self._open.values())

    def entry_of(self, request_id: str) -> str | None:
        """The stream entry ``request_id`` answers, while it is open here."""
        entry = self._open.get(request_id)
        return None if entry is None else entry.ref.entry_id

    def lost(self, checked: Iterable[str], still_ours: Iterable[str]) -> tuple[str, ...]:
        """Forget the open entries ``checked`` found not ``still_ours`` (another instance took
        them over while this one stalled); returns their request ids, whose replies must not
        go out now. Entries opened after the check are left alone."""
        kept, asked = set(still_ours), set(checked)
        gone = [rid for rid, entry in self._open.items()
                if entry.ref.entry_id in asked and entry.ref.entry_id not in kept]
        for request_id in gone:
            del self._open[request_id]
            self._taken[request_id] = None
        while len(self._taken) > self._taken_memory:
            self._taken.popitem(last=False)
        return tuple(gone)

    def taken_over(self, request_id: str) -> bool:
        """Was ``request_id``'s entry found taken over by another instance (see :meth:`lost`)?"""
        return request_id in self._taken

    def drop_all(self) -> tuple[StreamRef, ...]:
        """Forget everything (a stop: what is not acked stays pending for another instance)."""
        refs = tuple(entry.ref for entry in self._open.values())
        self._open.clear()
        return refs

    def _finish_if_done(self, request_id: str, entry: _Open) -> StreamRef | None:
        if entry.closed and entry.settled >= entry.accepted:
            del self._open[request_id]
            return entry.ref
        return None
