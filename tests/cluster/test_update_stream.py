"""The shared update stream: fenced, idempotent appends; reads, done keys, acks and reclaims."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from cluster.lease import PollLease
from cluster.redis_link import RedisLink
from cluster.update_stream import GROUP, FencedOut, UpdateStream, request_id_for


@pytest.fixture
def link(redis_url: str) -> Iterator[RedisLink]:
    shared = RedisLink(redis_url, namespace="42")
    yield shared
    shared.close()


def raw(update_id: int, text: str = "/price BTC") -> str:
    return json.dumps({"update_id": update_id, "message": {"message_id": update_id, "text": text}})


def consumer(link: RedisLink, name: str) -> UpdateStream:
    stream = UpdateStream(link, name)
    stream.ensure_group()
    return stream


def post(stream: UpdateStream, *update_ids: int) -> None:
    """Append as webhook POSTs do (no lease needed)."""
    for update_id in update_ids:
        assert stream.append_posted(update_id, raw(update_id))


def test_the_lease_holder_appends_and_a_consumer_reads_each_update_once(link: RedisLink) -> None:
    lease, reader = PollLease(link, "a"), consumer(link, "a")
    grant = lease.acquire()
    assert grant is not None

    added = reader.append_polled([(1, raw(1)), (2, raw(2))], holder="a", fence=grant.fence)
    entries = reader.read(count=10, block_ms=10)

    assert added == 2
    assert [(e.update_id, e.raw, e.done) for e in entries] == [(1, raw(1), False),
                                                             (2, raw(2), False)]
    assert reader.read(count=10, block_ms=10) == ()


def test_a_batch_the_next_holder_reads_again_is_not_appended_again(link: RedisLink) -> None:
    """The dead holder appended 7 and 8 but never confirmed them: Telegram hands them out again."""
    first, second, stream = PollLease(link, "a"), PollLease(link, "b"), consumer(link, "a")
    old = first.acquire()
    assert old is not None
    assert stream.append_polled([(7, raw(7)), (8, raw(8))], holder="a", fence=old.fence) == 2
    link.client.delete(link.key("poll", "lease"))  # a died; its lease ran out
    new = second.acquire()
    assert new is not None

    added = stream.append_polled([(7, raw(7)), (8, raw(8)), (9, raw(9))], holder="b",
                                 fence=new.fence)

    assert added == 1
    assert link.client.xlen(link.key("updates")) == 3
    assert link.client.get(link.key("poll", "offset")) == b"10"
    assert 86_000 < link.client.ttl(link.key("poll", "offset")) <= 86_400


def test_a_webhook_update_posted_twice_is_in_the_stream_once(link: RedisLink) -> None:
    """Telegram posts an update again when it got no 200 for it."""
    stream = consumer(link, "a")

    assert stream.append_posted(7, raw(7)) is True
    assert stream.append_posted(7, raw(7)) is False
    assert stream.append_posted(3, raw(3)) is True  # POSTs may come out of order

    assert link.client.xlen(link.key("updates")) == 2
    assert 3_500 < link.client.ttl(link.key("updates", "seen", 7)) <= 3_600


def test_a_stale_poller_appends_nothing(link: RedisLink) -> None:
    stale, current = PollLease(link, "a"), PollLease(link, "b")
    old = stale.acquire()
    assert old is not None
    link.client.delete(link.key("poll", "lease"))
    assert current.acquire() is not None
    stream = consumer(link, "a")

    with pytest.raises(FencedOut):
        stream.append_polled([(1, raw(1))], holder="a", fence=old.fence)
    assert link.client.xlen(link.key("updates")) == 0
    assert link.client.exists(link.key("poll", "offset")) == 0


def test_the_stream_is_bounded(link: RedisLink) -> None:
    stream = UpdateStream(link, "a", maxlen=10)
    stream.ensure_group()
    grant = PollLease(link, "a").acquire()
    assert grant is not None

    for update_id in range(0, 500, 50):
        stream.append_polled([(n, raw(n)) for n in range(update_id, update_id + 50)],
                             holder="a", fence=grant.fence)

    assert link.client.xlen(link.key("updates")) < 500


def test_finishing_an_entry_sets_its_done_key_for_a_day_and_acks_it(link: RedisLink) -> None:
    stream = consumer(link, "a")
    post(stream, 5)
    (entry,) = stream.read(count=1, block_ms=10)
    assert stream.figures().pending == 1

    stream.finish(entry.entry_id, entry.update_id)

    assert stream.figures().pending == 0
    ttl = link.client.ttl(link.key("updates", "done", 5))
    assert 86_000 < ttl <= 86_400


def test_an_entry_claimed_from_a_dead_consumer_comes_marked_done_when_its_reply_was_out(
    link: RedisLink,
) -> None:
    dead, survivor = consumer(link, "dead"), consumer(link, "alive")
    post(dead, 1, 2)
    first, second = dead.read(count=2, block_ms=10)
    link.client.set(dead.done_key(2), "1")  # answered; died before the ack
    survivor.mark_alive(5_000)

    claimed = survivor.claim_from_dead(min_idle_ms=0)

    assert [(e.update_id, e.done) for e in claimed] == [(1, False), (2, True)]
    summary = link.client.xpending(link.key("updates"), GROUP)
    assert [(c["name"], c["pending"]) for c in summary["consumers"]] == [(b"alive", 2)]


def test_a_live_consumer_keeps_its_entries(link: RedisLink) -> None:
    busy, other = consumer(link, "busy"), consumer(link, "other")
    post(busy, 1)
    busy.read(count=1, block_ms=10)
    busy.mark_alive(5_000)

    assert other.claim_from_dead(min_idle_ms=0) == ()


def test_xautoclaim_takes_entries_idle_too_long_and_touching_keeps_a_slow_one_fresh(
    link: RedisLink,
) -> None:
    slow, stalled, claimer = consumer(link, "slow"), consumer(link, "stalled"), consumer(link, "c")
    post(slow, 1, 2)
    (mine,) = slow.read(count=1, block_ms=10)
    (theirs,) = stalled.read(count=1, block_ms=10)
    for name, entry_id in (("slow", mine.entry_id), ("stalled", theirs.entry_id)):
        # Both idle for a minute: set by claiming them back with an old IDLE.
        link.client.execute_command("XCLAIM", link.key("updates"), GROUP, name, 0, entry_id,
                                    "IDLE", 60_000)
    assert slow.touch([mine.entry_id]) == (mine.entry_id,)  # the slow command's refresh

    taken = claimer.autoclaim(min_idle_ms=10_000)

    assert [e.entry_id for e in taken] == [theirs.entry_id]
    pending = link.client.xpending_range(link.key("updates"), GROUP, "-", "+", 10)
    assert {(row["message_id"].decode(), row["consumer"].decode()) for row in pending} == {
        (mine.entry_id, "slow"), (theirs.entry_id, "c")}


def test_consumers_gone_with_nothing_pending_are_forgotten(link: RedisLink) -> None:
    gone, here = consumer(link, "gone"), consumer(link, "here")
    post(gone, 1)
    (entry,) = gone.read(count=1, block_ms=10)
    gone.ack([entry.entry_id])
    here.mark_alive(5_000)

    assert here.forget_dead_consumers(min_idle_ms=0) == 1
    names = {row["name"] for row in link.client.xinfo_consumers(link.key("updates"), GROUP)}
    assert b"gone" not in names and "gone" not in names


def test_a_consumer_that_just_read_is_not_forgotten_before_its_first_liveness_key(
    link: RedisLink,
) -> None:
    here, starting = consumer(link, "here"), consumer(link, "starting")
    post(starting, 1)
    (entry,) = starting.read(count=1, block_ms=10)  # up and reading, not yet marked alive
    starting.ack([entry.entry_id])
    here.mark_alive(5_000)

    assert here.forget_dead_consumers() == 0
    names = {row["name"] for row in link.client.xinfo_consumers(link.key("updates"), GROUP)}
    assert names & {b"starting", "starting"}


def test_the_request_id_of_an_update_is_the_same_for_every_reprocessing() -> None:
    first = request_id_for(41, raw(41))

    assert first == request_id_for(41, raw(41))
    assert first.startswith("u41-")
    assert request_id_for(41, raw(41, "/help")) != first  # a restarted update id


def test_a_consumer_restarted_under_the_same_name_finds_what_it_left_pending(
    link: RedisLink,
) -> None:
    before = consumer(link, "named")
    post(before, 1, 2)
    before.read(count=2, block_ms=10)
    after = consumer(link, "named")

    assert [e.update_id for e in after.read_mine(count=10)] == [1, 2]
    assert after.read(count=10, block_ms=10) == ()


def test_touching_never_pulls_back_an_entry_another_instance_took_over(
    link: RedisLink,
) -> None:
    stalled, survivor = consumer(link, "stalled"), consumer(link, "survivor")
    post(stalled, 1, 2)
    first, second = stalled.read(count=2, block_ms=10)
    # While "stalled" was paused, the survivor claimed its first entry.
    link.client.xclaim(link.key("updates"), GROUP, "survivor", 0, [first.entry_id])

    assert stalled.touch([first.entry_id, second.entry_id]) == (second.entry_id,)
    pending = link.client.xpending_range(link.key("updates"), GROUP, "-", "+", 10)
    assert {(row["message_id"].decode(), row["consumer"].decode()) for row in pending} == {
        (first.entry_id, "survivor"), (second.entry_id, "stalled")}
    assert stalled.owns(second.entry_id) is True
    assert stalled.owns(first.entry_id) is False
    assert survivor.owns(first.entry_id) is True


def test_an_entry_is_still_ours_when_redis_lost_the_stream_so_its_answer_is_not_lost(
    link: RedisLink,
) -> None:
    mine = consumer(link, "mine")
    post(mine, 1)
    (entry,) = mine.read(count=1, block_ms=10)
    link.client.flushall()

    assert mine.owns(entry.entry_id) is True


def test_an_entry_is_still_ours_after_redis_lost_its_data_and_the_group_was_made_again(
    link: RedisLink,
) -> None:
    """Within a beat of the data loss some instance makes the stream and group again (empty):
    the entry is in nobody's pending list because it is nowhere, not because another instance
    took it, so its answer must still go out (nobody else has it to answer)."""
    mine = consumer(link, "mine")
    post(mine, 1, 2)
    first, second = mine.read(count=2, block_ms=10)
    link.client.flushall()
    consumer(link, "other")  # ensure_group: an empty stream and group again

    assert mine.owns(first.entry_id) is True
    assert mine.touch([first.entry_id, second.entry_id]) == (first.entry_id, second.entry_id)


def test_an_entry_another_instance_answered_and_acked_is_no_longer_ours(
    link: RedisLink,
) -> None:
    stalled, survivor = consumer(link, "stalled"), consumer(link, "survivor")
    post(stalled, 1)
    (entry,) = stalled.read(count=1, block_ms=10)
    link.client.xclaim(link.key("updates"), GROUP, "survivor", 0, [entry.entry_id])
    survivor.finish(entry.entry_id, entry.update_id)

    assert stalled.owns(entry.entry_id) is False
    assert stalled.touch([entry.entry_id]) == ()


def test_pending_entries_trimmed_from_the_stream_are_acked_when_reclaimed(
    link: RedisLink,
) -> None:
    """Redis 6.2's XAUTOCLAIM answers an entry trimmed away (MAXLEN) while pending with a
    bare nil, not its id: nothing to feed, and it must leave the pending list rather than be
    acked as the id 'None' (refused, failing the whole ack of that batch) round after round."""
    dead, survivor = consumer(link, "dead"), consumer(link, "survivor")
    post(dead, 1, 2, 3)
    dead.read(count=3, block_ms=10)
    link.client.xtrim(link.key("updates"), maxlen=1, approximate=False)

    entries = survivor.autoclaim(min_idle_ms=0)

    assert [e.update_id for e in entries] == [3]
    pending = link.client.xpending(link.key("updates"), GROUP)["pending"]
    assert pending == 1  # only update 3, now the survivor's to answer


def test_a_poll_offset_that_is_no_number_does_not_stop_every_append(link: RedisLink) -> None:
    lease, stream = PollLease(link, "a"), consumer(link, "a")
    grant = lease.acquire()
    assert grant is not None
    link.client.set(link.key("poll", "offset"), b"garbage")
    assert stream.append_polled([(5, raw(5))], holder="a", fence=grant.fence) == 1
