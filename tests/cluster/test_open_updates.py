"""When an update from the stream may be acked: closed by the conversation, every reply out."""

from __future__ import annotations

from cluster.open_updates import OpenUpdates, StreamRef

REF = StreamRef("1-0", 41)


def test_an_update_is_finished_when_closed_after_its_replies_were_delivered() -> None:
    book = OpenUpdates()
    book.begin("u41", REF, now=0.0)
    book.accepted("u41")
    book.accepted("u41")

    assert book.settled("u41") is None
    assert book.settled("u41") is None
    assert book.closed("u41") == REF
    assert len(book) == 0


def test_an_update_closed_before_its_replies_are_out_waits_for_the_last_one() -> None:
    book = OpenUpdates()
    book.begin("u41", REF, now=0.0)
    book.accepted("u41")

    assert book.closed("u41") is None
    assert book.entry_ids() == ("1-0",)
    assert book.settled("u41") == REF


def test_an_update_that_needs_no_reply_is_finished_when_closed() -> None:
    book = OpenUpdates()
    book.begin("u41", REF, now=0.0)

    assert book.closed("u41") == REF


def test_replies_of_requests_not_from_the_stream_are_ignored() -> None:
    book = OpenUpdates()
    book.accepted("alert-7")

    assert book.settled("alert-7") is None
    assert book.closed("alert-7") is None
    assert len(book) == 0


def test_the_same_entry_is_tracked_once() -> None:
    book = OpenUpdates()

    assert book.begin("u41", REF, now=0.0) is True
    assert book.begin("u41", REF, now=1.0) is False


def test_an_update_never_closed_is_given_up_after_the_longest_wait() -> None:
    book = OpenUpdates()
    book.begin("u41", REF, now=0.0)
    book.begin("u42", StreamRef("2-0", 42), now=50.0)

    assert book.expired(now=100.0, max_age_s=120.0) == ()
    assert book.expired(now=130.0, max_age_s=120.0) == (REF,)
    assert book.entry_ids() == ("2-0",)
    assert book.drop_all() == (StreamRef("2-0", 42),)


def test_entries_another_instance_took_over_are_forgotten_and_named_but_newer_ones_kept() -> None:
    open_updates = OpenUpdates()
    open_updates.begin("u1", StreamRef("1-0", 1), 0.0)
    open_updates.begin("u2", StreamRef("2-0", 2), 0.0)
    checked = open_updates.entry_ids()
    open_updates.begin("u3", StreamRef("3-0", 3), 0.5)  # read after the check

    assert open_updates.lost(checked, ("2-0",)) == ("u1",)
    assert open_updates.entry_of("u1") is None
    assert open_updates.entry_of("u2") == "2-0" and open_updates.entry_of("u3") == "3-0"
    assert open_updates.settled("u1") is None  # its reply, dropped, settles nothing
    assert open_updates.taken_over("u1") and not open_updates.taken_over("u2")


def test_the_memory_of_taken_over_requests_is_bounded_oldest_first() -> None:
    open_updates = OpenUpdates(taken_over_memory=2)
    for n in range(3):
        open_updates.begin(f"u{n}", StreamRef(f"{n}-0", n), 0.0)
    open_updates.lost(open_updates.entry_ids(), ())

    assert [open_updates.taken_over(f"u{n}") for n in range(3)] == [False, True, True]
