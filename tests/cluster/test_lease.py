"""The polling lease: one holder at a time, a fencing token per holding, no stale renew."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from cluster.lease import LeaseGrant, LeaseKeeper, Poll, PollLease, StopPolling
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


# -- LeaseKeeper: when to poll, from the lease calls' outcomes and a clock ----------------------

def keeper() -> LeaseKeeper:
    return LeaseKeeper(ttl_s=3.0, conflict_backoff_s=30.0)


def test_a_holder_polls_from_its_acquire_and_keeps_polling_while_renews_succeed() -> None:
    duty = keeper()
    assert duty.may_acquire(now=0.0)

    assert duty.acquired(LeaseGrant(fence=4, fresh=True), asked_at=0.0) == Poll(4)
    assert duty.renewed(True, asked_at=1.0, answered_at=1.0) is None
    assert duty.renewed(True, asked_at=2.0, answered_at=2.0) is None
    assert duty.fence == 4 and not duty.may_acquire(now=2.5)


def test_a_holder_that_cannot_renew_stops_polling_before_its_lease_could_expire() -> None:
    duty = keeper()
    duty.acquired(LeaseGrant(fence=4, fresh=True), asked_at=10.0)

    assert duty.renewed(None, asked_at=11.0, answered_at=11.5) is None  # still valid until 12
    assert duty.wait_s(now=11.5, beat_s=1.0) == 0.5  # looks again exactly then
    # At 12, 2/3 of the TTL after the last success: the lease itself lasts until 13.
    stop = duty.renewed(None, asked_at=12.0, answered_at=12.0)

    assert stop == StopPolling(4, "could not renew the lease before it would expire", False)
    assert duty.fence is None and duty.may_acquire(now=12.0)


def test_a_renew_refused_by_the_fencing_token_stops_polling_at_once() -> None:
    duty = keeper()
    duty.acquired(LeaseGrant(fence=4, fresh=True), asked_at=0.0)

    stop = duty.renewed(False, asked_at=1.0, answered_at=1.0)

    assert stop == StopPolling(4, "the lease moved on (fencing token refused)", False)


def test_a_409_ends_the_holding_releases_the_lease_and_backs_off() -> None:
    duty = keeper()
    duty.acquired(LeaseGrant(fence=4, fresh=True), asked_at=0.0)

    stop = duty.conflicted(now=5.0)

    assert stop is not None and stop.release and stop.fence == 4
    assert not duty.may_acquire(now=34.0)
    assert duty.may_acquire(now=35.0)
    assert duty.conflicted(now=36.0) is None  # not holding: nothing to stop


def test_an_instance_that_does_not_hold_the_lease_only_waits_a_beat() -> None:
    duty = keeper()

    assert duty.acquired(None, asked_at=0.0) is None
    assert duty.renewed(True, asked_at=0.0, answered_at=0.0) is None
    assert duty.wait_s(now=0.0, beat_s=1.0) == 1.0
