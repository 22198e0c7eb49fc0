"""The instance registry in Redis: heartbeats list an instance, silence drops it out."""

from __future__ import annotations

import time

import pytest

from cluster.redis_link import RedisLink
from cluster.registry import deregister, heartbeat, lease_holder, live_instances, live_keys
from core.instance import InstanceId
from core.instances import InstanceRecord, local_record

NOW = 1_800_000_000.0


def record(pid: int, *, started: float, polling: bool = False) -> InstanceRecord:
    instance = InstanceId(host="bot-host", pid=pid, started_at=started)
    return local_record(instance, NOW, version="0.1.0", polling=polling, redis_mode="shared")


def wait_for_expiry(link: RedisLink, key: str, timeout_s: float) -> bool:
    """Block on Redis's own expiry notification for ``key`` (no polling, no sleep)."""
    events = link.client.pubsub(ignore_subscribe_messages=True)
    events.subscribe("__keyevent@0__:expired")
    try:
        deadline = time.monotonic() + timeout_s
        while link.client.exists(key) and time.monotonic() < deadline:
            message = events.get_message(timeout=deadline - time.monotonic())
            if message is not None and message["data"] in (key, key.encode()):
                return True
        return not link.client.exists(key)
    finally:
        events.close()


def test_two_registered_instances_are_listed_oldest_first_with_the_lease_holder(
    redis_url: str
) -> None:
    link = RedisLink(redis_url, namespace="42")
    first, second = record(10, started=NOW - 60, polling=True), record(11, started=NOW - 5)
    link.client.set(link.key("poll", "lease"), first.key)
    heartbeat(link, second)
    heartbeat(link, first)

    assert live_instances(link) == (first, second)
    assert live_keys(link) == ("bot-host:10:1799999940", "bot-host:11:1799999995")
    assert lease_holder(link) == first.key
    deregister(link, second.key)
    assert live_keys(link) == (first.key,)


def test_an_instance_that_stops_heartbeating_drops_out_when_its_record_expires(
    redis_url: str
) -> None:
    link = RedisLink(redis_url, namespace="42")
    link.client.config_set("notify-keyspace-events", "Ex")
    alive, dying = record(10, started=NOW - 60), record(11, started=NOW - 5)
    heartbeat(link, alive)
    heartbeat(link, dying, ttl_s=1.0)  # then never again: killed
    assert live_keys(link) == (alive.key, dying.key)

    try:
        assert wait_for_expiry(link, link.key("instance", dying.key), timeout_s=5.0)
    finally:
        link.client.config_set("notify-keyspace-events", "")
    assert live_keys(link) == (alive.key,)
    assert link.client.zrange(link.key("instances"), 0, -1) == [alive.key.encode()]


@pytest.mark.parametrize("body", [
    b"{not json",
    b'{"id": "junk", "host": "h", "pid": 1e400, "started_at": 1}',  # no int holds infinity
    b'{"id": "junk", "host": "h", "pid": 1, "started_at": 1, "uptime_s": 1e400}',  # no age
    b"[" * 100_000 + b"]" * 100_000,  # nested past the parser's recursion limit
])
def test_an_unreadable_record_counts_as_gone_and_no_lease_reads_as_none(
    redis_url: str, body: bytes
) -> None:
    link = RedisLink(redis_url, namespace="42")
    link.client.zadd(link.key("instances"), {"junk": NOW})
    link.client.set(link.key("instance", "junk"), body)
    assert live_instances(link) == ()
    assert lease_holder(link) is None
