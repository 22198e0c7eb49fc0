"""The Telegram transport's counters and the frozen figures ``stats()`` reports from them.

Why a module of its own: the counters are shared state, not outbox logic. The loop creates
them and counts updates, the outbox counts calls, and the actor (``actors.telegram_io``) reads
them for introspection; none of the three owns them, and none of it needs PTB.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.stats import GROUP, ActorStats

__all__ = ["StreamStats", "TransportCounters", "TransportStats"]


@dataclass(frozen=True, slots=True)
class StreamStats:
    """The shared update stream's side of one transport (``actors.update_relay``)."""

    redis_up: bool
    """The relay's last Redis call worked; False: this instance neither polls nor reads."""
    lease_held: bool
    """This instance holds ``poll:lease`` (it is the one calling getUpdates)."""
    fence: int
    """Its fencing token while it holds the lease (0 otherwise)."""
    polling: bool
    """A getUpdates loop is running here now."""
    poll_conflicts: int
    """409s from getUpdates (someone else polls this token): polling stopped each time."""
    appended: int
    """Updates this instance put into the stream (polled or from webhooks)."""
    fed: int
    """Stream entries handed to the conversation here."""
    acked: int
    """Entries acked after their reply was out (done key set)."""
    skipped_done: int
    """Entries acked without processing: their reply had been delivered already."""
    reclaimed: int
    """Entries taken over from a dead or stalled consumer."""
    open: int
    """Entries being answered here now (not acked yet)."""
    ack_backlog: int
    """Finished entries whose ack waits for Redis."""


@dataclass(frozen=True, slots=True)
class TransportStats(ActorStats):
    """The Telegram transport's figures (a copy of its :class:`TransportCounters`)."""

    updates: int
    """Updates received from Telegram."""
    ignored_updates: int
    """Of those, kinds the bot does not handle."""
    sent: int
    """Messages sent."""
    edited: int
    """Messages edited."""
    photos: int
    """Photos (charts) sent."""
    callbacks_answered: int
    """Button presses answered."""
    actions: int
    """Chat actions ("typing") sent."""
    retries: int
    """Calls retried after a transient error."""
    too_many_requests: int
    """429 answers (flood waits)."""
    not_modified: int
    """Edits Telegram refused as unchanged (counted as done)."""
    plain_fallbacks: int
    """Replies resent as plain text after an HTML parse error."""
    failed: int
    """Replies given up on."""
    dropped: int
    """Calls dropped from a full or superseded queue (each one logged as chat.reply_dropped)."""
    queue_depth: int
    """Outbound steps waiting now."""
    flood_shared_waits: int = 0
    """Calls the shared flood budget (several instances, Redis) held back for a while."""
    flood_local: int = 0
    """Calls released by the local limits alone, at their safe share, while Redis was down."""
    stream: StreamStats | None = field(default=None, metadata=GROUP)
    """The shared update stream (None without CRYPTOBOT_REDIS_URL)."""


@dataclass(slots=True)
class TransportCounters:
    """Counters written by the loop thread, read by the actor (plain ints)."""

    updates: int = 0
    ignored_updates: int = 0
    sent: int = 0
    edited: int = 0
    photos: int = 0
    callbacks_answered: int = 0
    actions: int = 0
    retries: int = 0
    too_many_requests: int = 0
    not_modified: int = 0
    plain_fallbacks: int = 0
    failed: int = 0
    dropped: int = 0
    queue_depth: int = 0
    flood_shared_waits: int = 0
    flood_local: int = 0

    def snapshot(self) -> TransportStats:
        """A frozen copy, for introspection."""
        return TransportStats(**{name: getattr(self, name) for name in self.__slots__})
