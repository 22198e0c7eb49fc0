"""The polling lease: one holder at a time, a fencing token per holding, no stale renew."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from cluster.lease import PollLease
from cluster.redis_link import RedisLink


@pytest.fixture
def link(redis_url: str) -> Iterator[RedisLink]:
    shared = RedisLink(redis_url, namespace="42")
    yield shared
    shared.close()


def eventually(predicate: Callable[[], bool], timeout_s: float = 5.0) -> bool:
    """Re-check ``predicate`` until it holds or the deadline passes (Redis TTLs are real time)."""
    beat = threading.Event()
    for _ in range(int(timeout_s / 0.01)):
        if predicate():
            return True
        beat.wait(0.01)
    return predicate()


def test_the_first_instance_takes_the_lease_and_the_second_is_refused(link: RedisLink) -> None:
    first, second = PollLease(link, "a:1:100"), PollLease(link, "b:2:200")

    grant = first.acquire()

    assert grant is not None and grant.fresh and grant.fence == 1
    assert second.acquire() is None
    assert first.holder_now() == "a:1:100"
    assert link.client.pttl(link.key("poll", "lease")) > 2000


def test_acquiring_a_lease_already_held_keeps_its_fencing_token(link: RedisLink) -> None:
    lease = PollLease(link, "a:1:100")
    first = lease.acquire()
    again = lease.acquire()

    assert first is not None and again is not None
    assert (again.fence, again.fresh) == (first.fence, False)


def test_a_lease_whose_holder_stops_renewing_expires_and_the_next_holder_gets_a_larger_token(
    link: RedisLink,
) -> None:
    dead, survivor = PollLease(link, "a:1:100", ttl_ms=100), PollLease(link, "b:2:200")
    old = dead.acquire()
    assert old is not None

    assert eventually(lambda: survivor.acquire() is not None)

    new = survivor.acquire()
    assert new is not None and new.fence > old.fence
    assert survivor.holder_now() == "b:2:200"


def test_a_stale_holder_cannot_renew_or_release_once_another_holds_the_lease(
    link: RedisLink,
) -> None:
    stale, current = PollLease(link, "a:1:100"), PollLease(link, "b:2:200")
    old = stale.acquire()
    assert old is not None
    link.client.delete(link.key("poll", "lease"))  # its TTL ran out while it was paused
    new = current.acquire()
    assert new is not None

    assert stale.renew(old.fence) is False
    assert stale.release(old.fence) is False
    assert current.renew(new.fence) is True
    assert current.holder_now() == "b:2:200"


def test_a_holder_with_an_old_fencing_token_is_refused_even_under_its_own_name(
    link: RedisLink,
) -> None:
    lease = PollLease(link, "a:1:100")
    old = lease.acquire()
    assert old is not None
    link.client.delete(link.key("poll", "lease"))
    new = lease.acquire()  # the same instance took it again: a new holding
    assert new is not None and new.fence == old.fence + 1

    assert lease.renew(old.fence) is False  # the poller of the old holding is fenced out
    assert lease.renew(new.fence) is True


def test_a_released_lease_is_free_at_once(link: RedisLink) -> None:
    first, second = PollLease(link, "a:1:100"), PollLease(link, "b:2:200")
    grant = first.acquire()
    assert grant is not None

    assert first.release(grant.fence) is True
    taken = second.acquire()
    assert taken is not None and taken.fence == grant.fence + 1
