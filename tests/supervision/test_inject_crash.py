"""InjectCrash makes any supervised actor die like a real bug would, for the fault matrix."""

from __future__ import annotations

from supervision.messages import InjectCrash
from tests.supervision.workers import Echo, Work, worker_spec

TIMEOUT = 5.0


def test_an_injected_crash_restarts_the_actor_with_the_reason_as_its_last_failure(
        make_tree, journal):
    tree = make_tree([worker_spec("a", journal)])
    assert journal.wait_for(lambda: journal.starts["a"] == 1)
    tree.address("a").tell(InjectCrash("chaos: a"))
    assert tree.address("a").wait_until_running(generation=2, timeout=TIMEOUT)
    node = tree.snapshot(TIMEOUT).find("a")
    assert node is not None and node.restarts == 1
    assert "chaos: a" in (node.last_failure or "")
    assert tree.address("a").ask(Echo("still answers"), timeout=TIMEOUT) == "still answers"


def test_an_armed_crash_hits_the_next_message_which_is_redelivered_and_done_once(
        make_tree, journal):
    tree = make_tree([worker_spec("a", journal)])
    assert journal.wait_for(lambda: journal.starts["a"] == 1)
    tree.address("a").tell(InjectCrash("chaos: mid-request", armed=True))
    tree.address("a").tell(Work(1))
    assert journal.wait_for(lambda: journal.completed[("a", 1)] == 1, TIMEOUT)
    assert journal.starts["a"] == 2  # it did crash, and the new instance did the work
    assert journal.attempts[("a", 1)] == 1  # the crash came before the handler ran
