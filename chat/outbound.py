"""Outbound flood control: which queued Telegram call may go now, and what a reply turns into.

Why: Telegram throttles bots (a short burst then about one message a second per chat, 20 a
minute per group, about 30 a second overall) and answers excess with 429 "retry after N". A bot
that just fires replies loses them or gets the whole bot paused, so every outgoing call waits in
a per-chat FIFO here and leaves only when all limits allow it. A per-chat token bucket lets a
reply's chunks and a person's quick follow-ups go at once, and paces only sustained traffic. A
429 pauses the chat (or every chat when several chats were hit at once, which means the global
limit) and the call goes back to the front of its queue. Nothing is dropped, except when one
chat's queue overflows: then a superseded edit (only the latest edit of a message is worth
sending), a loading message or an old answer goes, never the confirmation of a saved write.

Everything is pure and single-threaded (the transport's event loop owns it) with the time
passed in, so the limits are tested with an injected clock. :class:`OutboundScheduler` is the queue;
what a reply turns into (the calls, the remembered slots) is ``chat.reply_plan``.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from enum import IntEnum
from typing import Generic, TypeVar


__all__ = [
    "DeliveryPolicy",
    "GROUP_CHAT_TYPES",
    "OutboundLimits",
    "OutboundScheduler",
    "Value",
]

T = TypeVar("T")

# A wait this small is float noise (now + wait == now for a large now): treat it as no wait,
# or a caller jumping its clock by the wait would never get there.
_TOLERANCE_S = 1e-9

GROUP_CHAT_TYPES = frozenset({"group", "supergroup", "channel"})
"""Chat types that also get the per-minute group limit."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboundLimits:
    """Telegram's flood limits as the scheduler applies them (see docs/telegram.md).

    Per chat a token bucket: ``chat_burst`` messages at once, then ``chat_per_s`` sustained
    (groups use ``group_burst`` and also get ``group_messages`` per ``group_window_s``); over
    all chats ``global_calls`` per ``global_window_s``. Every limit counts a call from its
    *completion* and a call in flight holds its slot until then: Telegram counts a call when
    it arrives, which is between our send and its answer, so counted this way our view is
    never ahead of Telegram's, however late a call is delivered on a busy machine.
    """

    chat_burst: int = 3
    """Messages one private chat may get back to back before the sustained rate applies."""
    chat_per_s: float = 1.0
    """Sustained messages per second to one chat (the bucket's refill rate)."""
    group_burst: int = 3
    """The same burst for a group, supergroup or channel."""
    group_messages: int = 20
    """Messages allowed per ``group_window_s`` in one group, supergroup or channel."""
    group_window_s: float = 60.0
    """The group window."""
    global_calls: int = 30
    """Calls allowed per ``global_window_s`` over all chats (messages and edits)."""
    global_window_s: float = 1.0
    """The global window."""
    margin_s: float = 0.0
    """Extra time each call is counted as occupying a limit after its completion. Counting
    from completion already keeps our view behind Telegram's, so none is needed against a
    server that counts on arrival; bench/chat.py measures 0 429s without one (the old fixed
    interval needed 0.2 s because it counted from the send)."""
    flood_window_s: float = 1.0
    """429s in two different chats within this time are taken as the global limit."""
    max_queued_per_chat: int = 50
    """Calls queued for one chat before the least valuable are dropped (never a confirmation
    of a saved write; see ``Value``)."""

    def __post_init__(self) -> None:
        if self.chat_burst < 1 or self.group_burst < 1 or self.chat_per_s <= 0:
            raise ValueError("bursts must be >= 1 and the sustained rate > 0")
        if self.max_queued_per_chat < 1:
            raise ValueError("max_queued_per_chat must be >= 1")

    def share(self, fraction: float) -> OutboundLimits:
        """``fraction`` of every rate (at least 1): one instance's part while Redis is down."""
        part = [max(1, math.floor(count * fraction)) for count in (
            self.global_calls, self.group_messages, self.chat_burst, self.group_burst)]
        return replace(self, global_calls=part[0], group_messages=part[1], chat_burst=part[2],
                       group_burst=part[3], chat_per_s=self.chat_per_s * fraction)

    def scaled(self, factor: float) -> OutboundLimits:
        """The same limits with every duration multiplied by ``factor`` (fast tests, demos)."""
        return replace(
            self,
            chat_per_s=self.chat_per_s / factor if factor > 0 else math.inf,
            group_window_s=self.group_window_s * factor,
            global_window_s=self.global_window_s * factor,
            margin_s=self.margin_s * factor,
            flood_window_s=self.flood_window_s * factor,
        )


class Value(IntEnum):
    """How much a queued call is worth keeping when its chat's queue is full (low goes first).

    An edit waiting behind a newer edit of the same message is *superseded* and goes at once,
    full queue or not: only the latest edit of a message is sent.
    """

    INTERIM = 1
    """Loading messages and other non-final replies."""
    ORDINARY = 2
    """Answers."""
    KEEP = 3
    """The confirmation of an acknowledged write ("saved", "deleted"): never dropped."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryPolicy:
    """How hard the transport tries before a reply is reported failed."""

    max_attempts: int = 5
    """Attempts per call on network errors (5xx, dropped connections), the first included..."""
    retry_window_s: float = 120.0
    """...and for at least this long after the first failure: an outage of Telegram's API
    longer than a few backoffs must not cost users their answers (the fault matrix holds one
    for 9 s)."""
    backoff_base_s: float = 0.5
    """Full-jitter backoff base between network retries."""
    backoff_cap_s: float = 5.0
    """Longest network backoff: short, so answers flow again soon after an outage ends."""
    max_flood_waits: int = 10
    """429s tolerated for one call before giving up on it."""
    retry_after_cap_s: float = 300.0
    """Longest pause honoured from one 429 (a bigger value is clamped)."""


@dataclass(slots=True)
class _Entry(Generic[T]):
    item: T
    is_message: bool
    value: Value = Value.ORDINARY
    supersedes: Hashable | None = None


@dataclass(slots=True)
class _ChatQueue(Generic[T]):
    is_group: bool
    entries: deque[_Entry[T]]
    tat: float = -math.inf
    """The bucket's theoretical arrival time (GCRA): a message may go once
    ``now >= tat - (burst - 1) / rate``; each message counted moves it on by ``1 / rate``."""
    group_sends: deque[float] | None = None
    paused_until: float = -math.inf
    in_flight: _Entry[T] | None = None


Dropped = tuple[T, str]
"""An item the scheduler let go and why: ``"superseded"`` or ``"queue_full"``."""


class OutboundScheduler(Generic[T]):
    """Per-chat FIFO queues served round robin within Telegram's flood limits.

    ``next_ready`` hands out at most one call per chat at a time (the chat is *in flight* until
    ``complete`` or ``requeue_front``), so a chat's messages keep their order even when a call
    is retried. Items marked ``is_message=False`` (edits) skip the per-chat and group limits
    but count towards the global one. Each chat's queue is bounded (``max_queued_per_chat``):
    ``submit`` returns what it let go, and the caller reports it.
    """

    def __init__(
        self, limits: OutboundLimits = OutboundLimits(), *, max_idle_chats: int = 1024
    ) -> None:
        self._limits = limits
        self._max_idle_chats = max_idle_chats
        self._next_prune_at = -math.inf
        self._chats: dict[int, _ChatQueue[T]] = {}
        # Chats with queued items, in serving order; idle chats keep their limit state in
        # _chats only, so a long tail of past chats costs nothing per call.
        self._rotation: deque[int] = deque()
        self._global_done: list[float] = []
        """Completion times of calls still inside the global window (unordered, <= limit)."""
        self._global_in_flight = 0
        self._paused_all_until = -math.inf
        self._recent_floods: deque[tuple[float, int]] = deque()

    @property
    def limits(self) -> OutboundLimits:
        return self._limits

    def submit(self, chat_id: int, chat_type: str, item: T, *, is_message: bool = True,
               value: Value = Value.ORDINARY,
               supersedes: Hashable | None = None) -> list[Dropped[T]]:
        """Queue ``item`` behind everything already queued for ``chat_id``.

        ``supersedes`` names what an edit changes (a message): a queued edit with the same key
        is dropped, since only the latest one matters. If the chat's queue is then over its
        cap, the least valuable queued items (lowest ``value``, oldest first, the new item
        included) are dropped, but never ``Value.KEEP``. Returns the dropped items.
        """
        queue = self._queue_for(chat_id, chat_type)
        dropped: list[Dropped[T]] = []
        if supersedes is not None:
            stale = [entry for entry in queue.entries if entry.supersedes == supersedes]
            for entry in stale:
                queue.entries.remove(entry)
                dropped.append((entry.item, "superseded"))
        entry = _Entry(item, is_message, value, supersedes)
        queue.entries.append(entry)
        cap = self._limits.max_queued_per_chat
        while len(queue.entries) > cap:
            victim = min((candidate for candidate in queue.entries
                          if candidate.value < Value.KEEP),
                         key=lambda candidate: candidate.value, default=None)
            if victim is None:
                break  # only confirmations left: they stay, over the cap
            queue.entries.remove(victim)
            dropped.append((victim.item, "queue_full"))
        if queue.entries:
            self._enter_rotation(chat_id)
        return dropped

    def next_ready(self, now: float) -> tuple[T | None, float]:
        """The next item allowed to go at ``now``, or None and how long until one may.

        The wait is ``math.inf`` when nothing is queued (or everything queued is in flight).
        Handing out an item records its send: the caller must make the call now.
        """
        if len(self._chats) > self._max_idle_chats and now >= self._next_prune_at:
            self._prune(now)
        global_wait = max(self._global_wait(now), self._paused_all_until - now)
        soonest = math.inf
        for _ in range(len(self._rotation)):
            chat_id = self._rotation.popleft()
            queue = self._chats[chat_id]
            if not queue.entries:
                continue  # emptied by discard(); leaves the rotation
            self._rotation.append(chat_id)
            if queue.in_flight is not None:
                continue
            wait = max(self._chat_wait(queue, now), global_wait)
            if wait > _TOLERANCE_S:
                soonest = min(soonest, wait)
                continue
            return self._hand_out(chat_id, queue, now), 0.0
        return None, soonest

    def complete(self, chat_id: int, now: float) -> None:
        """The call handed out for ``chat_id`` finished at ``now`` (sent, or failed for good)."""
        queue = self._chats.get(chat_id)
        if queue is not None:
            self._finish_call(queue, now)

    def requeue_front(self, chat_id: int, item: T, now: float) -> None:
        """The call for ``item`` ended at ``now`` without success: put it back at the head of
        its chat's queue (to retry it before the rest). It still counts as a call made."""
        queue = self._queue_for(chat_id, "private")
        entry = queue.in_flight
        self._finish_call(queue, now)
        if entry is None or entry.item is not item:
            entry = _Entry(item, True)
        entry.supersedes = None  # it may be half-done: a newer edit waits behind it instead
        queue.entries.appendleft(entry)
        self._enter_rotation(chat_id)

    def give_back(self, chat_id: int, item: T) -> None:
        """Undo handing out ``item`` (a shared budget said wait): counted nowhere."""
        queue = self._chats.get(chat_id)
        if queue is None or queue.in_flight is None or queue.in_flight.item is not item:
            return
        entry, queue.in_flight = queue.in_flight, None
        self._global_in_flight -= 1
        queue.entries.appendleft(entry)
        self._enter_rotation(chat_id)

    def use_limits(self, limits: OutboundLimits) -> None:
        """Apply ``limits`` from now on (what was already counted stays counted)."""
        self._limits = limits

    def pause_chat(self, chat_id: int, until: float) -> None:
        """Send nothing to ``chat_id`` before ``until`` (a later pause wins)."""
        queue = self._queue_for(chat_id, "private")
        queue.paused_until = max(queue.paused_until, until)

    def pause_all(self, until: float) -> None:
        """Send nothing to any chat before ``until``."""
        self._paused_all_until = max(self._paused_all_until, until)

    def throttled(self, chat_id: int, retry_after_s: float, now: float) -> bool:
        """Apply a 429 for ``chat_id``; True when it was taken as the global limit.

        Telegram does not say which limit a 429 is for. One chat hit alone is that chat's
        limit; a second chat hit within ``flood_window_s`` means the bot as a whole is over.
        """
        until = now + retry_after_s
        self.pause_chat(chat_id, until)
        floods = self._recent_floods
        while floods and floods[0][0] <= now - self._limits.flood_window_s:
            floods.popleft()
        floods.append((now, chat_id))
        if len({chat for _, chat in floods}) < 2:
            return False
        self.pause_all(until)
        return True

    def discard(self, chat_id: int, doomed: Callable[[T], bool]) -> int:
        """Remove queued (not in-flight) items of ``chat_id`` for which ``doomed`` is true."""
        queue = self._chats.get(chat_id)
        if queue is None:
            return 0
        kept = deque(entry for entry in queue.entries if not doomed(entry.item))
        removed = len(queue.entries) - len(kept)
        queue.entries = kept
        return removed

    def pending(self) -> int:
        """Items queued and not handed out yet."""
        return sum(len(self._chats[chat_id].entries) for chat_id in self._rotation)

    def queued(self, chat_id: int) -> int:
        """Items queued for ``chat_id`` and not handed out yet."""
        queue = self._chats.get(chat_id)
        return 0 if queue is None else len(queue.entries)

    def in_flight(self) -> int:
        """Items handed out and not yet completed or requeued."""
        return sum(1 for queue in self._chats.values() if queue.in_flight is not None)

    def known_chats(self) -> int:
        """Chats whose limit state is kept (queued, in flight or recently served)."""
        return len(self._chats)

    # -- internals ---------------------------------------------------------------------------

    def _queue_for(self, chat_id: int, chat_type: str) -> _ChatQueue[T]:
        queue = self._chats.get(chat_id)
        if queue is None:
            is_group = chat_type in GROUP_CHAT_TYPES
            queue = _ChatQueue(is_group, deque(), group_sends=deque() if is_group else None)
            self._chats[chat_id] = queue
        return queue

    def _enter_rotation(self, chat_id: int) -> None:
        if chat_id not in self._rotation:
            self._rotation.append(chat_id)

    def _burst(self, queue: _ChatQueue[T]) -> int:
        return self._limits.group_burst if queue.is_group else self._limits.chat_burst

    def _prune(self, now: float) -> None:
        """Forget idle chats whose limits can no longer delay their next message."""
        limits = self._limits
        horizon = limits.group_window_s + limits.margin_s
        for chat_id, queue in list(self._chats.items()):
            last = queue.group_sends[-1] if queue.group_sends else -math.inf
            idle = not queue.entries and queue.in_flight is None
            if (idle and last <= now - horizon and queue.tat <= now
                    and queue.paused_until <= now):
                del self._chats[chat_id]  # a full bucket and no window: as good as new
        self._rotation = deque(chat_id for chat_id in self._rotation if chat_id in self._chats)
        # Amortised: at most one sweep per horizon, however many calls are made.
        self._next_prune_at = now + horizon

    def _global_wait(self, now: float) -> float:
        limits = self._limits
        window = limits.global_window_s + limits.margin_s
        done = self._global_done = [at for at in self._global_done if at > now - window]
        excess = len(done) + self._global_in_flight - limits.global_calls
        if excess < 0:
            return 0.0
        if excess >= len(done):
            return math.inf  # every slot is a call in flight: wait for one to complete
        return sorted(done)[excess] + window - now

    def _chat_wait(self, queue: _ChatQueue[T], now: float) -> float:
        wait = queue.paused_until - now
        if not queue.entries[0].is_message:
            return wait
        limits = self._limits
        tolerance = (self._burst(queue) - 1) / limits.chat_per_s
        wait = max(wait, queue.tat - tolerance - now)
        sends = queue.group_sends
        if sends is not None:
            window = limits.group_window_s + limits.margin_s
            while sends and sends[0] <= now - window:
                sends.popleft()
            if len(sends) >= limits.group_messages:
                wait = max(wait, sends[len(sends) - limits.group_messages] + window - now)
        return wait

    def _hand_out(self, chat_id: int, queue: _ChatQueue[T], now: float) -> T:
        entry = queue.entries.popleft()
        queue.in_flight = entry
        self._global_in_flight += 1
        return entry.item

    def _finish_call(self, queue: _ChatQueue[T], now: float) -> None:
        entry, queue.in_flight = queue.in_flight, None
        if entry is None:
            return
        counted_at = now + self._limits.margin_s
        self._global_in_flight -= 1
        self._global_done.append(now)
        if entry.is_message:
            queue.tat = max(queue.tat, counted_at) + 1 / self._limits.chat_per_s
            if queue.group_sends is not None:
                queue.group_sends.append(now)
