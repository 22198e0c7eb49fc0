"""What the shared update stream's relay is given: the Redis link and name, and its timings.

Why apart from :mod:`actors.update_relay`: the transport's settings (``TransportTuning``) and
the actor that builds the link name these without needing the relay's threads.
"""

from __future__ import annotations

from dataclasses import dataclass

from cluster.redis_link import RedisLink

__all__ = ["RelayTuning", "SharedStream"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RelayTuning:
    """Timings of the lease and the stream (defaults for production; tests shorten them)."""

    lease_ttl_ms: int = 3000
    """``poll:lease`` TTL: the next holder takes over within this plus one renew of a death."""
    renew_every_s: float = 1.0
    """Lease renew / liveness / idle-refresh beat."""
    read_block_ms: int = 250
    """XREADGROUP BLOCK (below the link's 0.5 s socket timeout)."""
    read_count: int = 16
    """Entries per read at most."""
    max_open: int = 32
    """Entries being answered here at once at most: past it this instance stops reading and
    leaves new updates to the others (a busy instance does not hoard a burst)."""
    claim_dead_idle_ms: int = 1000
    """Min idle to claim a dead consumer's entry (keeps two claimers from both taking it)."""
    autoclaim_idle_ms: int = 10_000
    """XAUTOCLAIM's min idle: entries of a consumer that stopped refreshing them."""
    reclaim_every_s: float = 2.0
    """How often dead consumers' entries are looked for."""
    conflict_backoff_s: float = 30.0
    """After a 409 from getUpdates: how long this instance leaves the lease alone."""
    max_open_s: float = 120.0
    """An entry not finished after this long is acked anyway (its close was lost)."""
    stream_maxlen: int = 100_000
    """XADD MAXLEN ~ bound of the stream."""
    feed_timeout_s: float = 10.0
    """Longest wait for the loop to take a batch of entries."""
    join_timeout_s: float = 5.0
    """Longest wait for each thread at a stop."""


@dataclass(frozen=True, slots=True)
class SharedStream:
    """What a transport needs to join the shared stream."""

    link: RedisLink
    """The process's Redis link."""
    consumer: str
    """This instance's ``InstanceId.key``: lease holder value and consumer name."""
