"""The instance registry: who is running, by heartbeats in Redis (docs/scaling.md).

Why: with several instances on one token an operator asks "which are alive, and which one
polls Telegram?" from any of them (``/actors`` in chat, ``bot.py inspect --all``). Each
instance heartbeats every ``HEARTBEAT_S``:

* ``instances`` — ZSET, member ``InstanceId.key``, score the heartbeat's wall-clock time;
* ``instance:<key>`` — the instance's record as JSON (``core.instances.InstanceRecord``:
  host, pid, start, name, version, whether it held the polling lease, redis mode, uptime),
  expiring ``ttl_s`` (15 s) after the heartbeat.

An instance that stops heartbeating (killed, partitioned, paused) drops out when its record
expires; :func:`live_instances` removes its ZSET member then. A clean stop deregisters at once.
The polling lease (``poll:lease``, H3's) is only read here. Every call goes through
``RedisLink.call`` (``SharedUnavailable`` when Redis does not answer).
"""

from __future__ import annotations

import json
from typing import Any

from cluster.redis_link import RedisLink
from core.instances import InstanceRecord

__all__ = ["HEARTBEAT_S", "TTL_S", "deregister", "heartbeat", "lease_holder", "live_instances",
           "live_keys"]

HEARTBEAT_S = 5.0
"""How often an instance heartbeats."""
TTL_S = 15.0
"""How long a record outlives its last heartbeat (three missed heartbeats)."""


def lease_holder(link: RedisLink) -> str | None:
    """The key of the instance holding the polling lease (``poll:lease``), if any."""
    value = link.call(lambda client: client.get(link.key("poll", "lease")))
    return None if value is None else _text(value)


def heartbeat(link: RedisLink, record: InstanceRecord, *, ttl_s: float = TTL_S) -> None:
    """Register ``record`` (again) for ``ttl_s`` seconds."""
    body = json.dumps(record.to_dict(), separators=(",", ":"))

    def write(client: Any) -> None:
        pipe = client.pipeline(transaction=True)
        pipe.zadd(link.key("instances"), {record.key: record.heartbeat_at})
        pipe.set(link.key("instance", record.key), body, px=max(1, int(ttl_s * 1000)))
        pipe.execute()

    link.call(write)


def deregister(link: RedisLink, key: str) -> None:
    """Remove instance ``key`` at once (a clean stop)."""

    def remove(client: Any) -> None:
        pipe = client.pipeline(transaction=True)
        pipe.zrem(link.key("instances"), key)
        pipe.delete(link.key("instance", key))
        pipe.execute()

    link.call(remove)


def live_instances(link: RedisLink) -> tuple[InstanceRecord, ...]:
    """Every instance whose record has not expired, by start time; forgets the others."""
    members = [_text(member) for member in
               link.call(lambda client: client.zrange(link.key("instances"), 0, -1))]
    if not members:
        return ()
    bodies = link.call(lambda client: client.mget(
        [link.key("instance", member) for member in members]))
    live, dead = [], []
    for member, body in zip(members, bodies):
        record = _record(body)
        if record is None:
            dead.append(member)
        else:
            live.append(record)
    if dead:
        link.call(lambda client: client.zrem(link.key("instances"), *dead))
    return tuple(sorted(live, key=lambda record: (record.started_at, record.key)))


def live_keys(link: RedisLink) -> tuple[str, ...]:
    """The keys of the live instances (consumer names of the update stream)."""
    return tuple(record.key for record in live_instances(link))


def _record(body: object) -> InstanceRecord | None:
    if body is None:
        return None
    try:
        data = json.loads(_text(body))
        return InstanceRecord.from_dict(data) if isinstance(data, dict) else None
    except (ValueError, RecursionError):
        return None  # unreadable: treated as gone (the next heartbeat rewrites it)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
