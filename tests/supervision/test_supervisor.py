"""Supervisor behaviour with real pykka threads: strategies, restart types, intensity,
escalation, failure detection, redelivery and lifecycle order."""

from __future__ import annotations

import dataclasses
import logging
import threading

import pykka
import pytest

from supervision.address import AddressState
from supervision.errors import ChildUnavailable
from supervision.spec import ChildSpec, Priority, RestartType
from supervision.supervisor import SupervisorStats
from supervision.strategies import Strategy
from supervision.supervisor import supervisor_spec
from tests.supervision.workers import (
    FAST,
    Block,
    Crash,
    Echo,
    RaiseCancelled,
    StopSelf,
    Work,
    worker_spec,
)

TIMEOUT = 5.0


def wait_generation(tree, name: str, generation: int) -> None:
    address = tree.address(name)
    assert address.wait_until_running(generation=generation, timeout=TIMEOUT), address


def wait_state(tree, name: str, state: AddressState) -> None:
    address = tree.address(name)
    assert address.wait_until_state(state, timeout=TIMEOUT), address


class TestStrategies:
    def test_one_for_one_restarts_only_the_failed_child(self, make_tree, journal):
        tree = make_tree([worker_spec(n, journal) for n in ("a", "b", "c")])
        assert journal.wait_for(lambda: len(journal.starts) == 3)
        tree.address("b").tell(Crash())
        wait_generation(tree, "b", 2)
        assert tree.address("b").ask(Echo("ok"), timeout=TIMEOUT) == "ok"
        assert journal.starts == {"a": 1, "b": 2, "c": 1}

    def test_one_for_all_restarts_every_child(self, make_tree, journal):
        settings = dataclasses.replace(FAST, strategy=Strategy.ONE_FOR_ALL)
        tree = make_tree([worker_spec(n, journal) for n in ("a", "b", "c")], settings)
        assert journal.wait_for(lambda: len(journal.starts) == 3)
        tree.address("b").tell(Crash())
        assert journal.wait_for(lambda: journal.starts == {"a": 2, "b": 2, "c": 2})
        for name in ("a", "b", "c"):
            wait_generation(tree, name, 2)

    def test_rest_for_one_restarts_the_failed_child_and_those_started_after_it(
        self, make_tree, journal
    ):
        settings = dataclasses.replace(FAST, strategy=Strategy.REST_FOR_ONE)
        tree = make_tree([worker_spec(n, journal) for n in ("a", "b", "c")], settings)
        assert journal.wait_for(lambda: len(journal.starts) == 3)
        tree.address("b").tell(Crash())
        assert journal.wait_for(lambda: journal.starts == {"a": 1, "b": 2, "c": 2})
        wait_generation(tree, "c", 2)
        assert tree.address("a").generation == 1

    def test_siblings_stopped_for_a_restart_finish_their_queued_messages(self, make_tree, journal):
        settings = dataclasses.replace(FAST, strategy=Strategy.ONE_FOR_ALL)
        tree = make_tree([worker_spec(n, journal) for n in ("a", "b")], settings)
        release = threading.Event()
        tree.address("a").tell(Block(release))
        for seq in range(5):
            tree.address("a").tell(Work(seq))
        tree.address("b").tell(Crash())
        release.set()
        assert journal.wait_for(lambda: sum(journal.completed.values()) == 5)
        assert all(count == 1 for count in journal.completed.values())


class TestRestartTypes:
    def test_temporary_child_is_not_restarted_and_its_address_refuses_asks(
        self, make_tree, journal
    ):
        tree = make_tree([worker_spec("t", journal, restart=RestartType.TEMPORARY)])
        tree.address("t").tell(Crash())
        wait_state(tree, "t", AddressState.STOPPED)
        with pytest.raises(ChildUnavailable):
            tree.address("t").ask(Echo(1), timeout=TIMEOUT)
        assert journal.starts["t"] == 1

    def test_transient_child_is_restarted_after_a_failure(self, make_tree, journal):
        tree = make_tree([worker_spec("t", journal, restart=RestartType.TRANSIENT)])
        tree.address("t").tell(Crash())
        wait_generation(tree, "t", 2)

    def test_transient_child_that_exits_normally_is_not_restarted(self, make_tree, journal):
        tree = make_tree([worker_spec("t", journal, restart=RestartType.TRANSIENT)])
        tree.address("t").tell(StopSelf())
        wait_state(tree, "t", AddressState.STOPPED)
        assert journal.starts["t"] == 1


class TestIntensityAndEscalation:
    def test_exceeding_intensity_at_the_root_sets_failed_and_stops_children_in_reverse(
        self, make_tree, journal, caplog
    ):
        settings = dataclasses.replace(FAST, max_restarts=1)
        tree = make_tree([worker_spec(n, journal) for n in ("a", "b")], settings)
        assert journal.wait_for(lambda: len(journal.starts) == 2)
        with caplog.at_level(logging.INFO):
            tree.address("b").tell(Crash())
            wait_generation(tree, "b", 2)
            tree.address("b").tell(Crash())
            assert tree.failed.wait(TIMEOUT)
            assert journal.wait_for(lambda: journal.order("release")[-2:] == ["b", "a"])
        events = [getattr(r, "event", None) for r in caplog.records]
        assert "supervisor.escalated" in events
        assert "supervision.root_failed" in events
        assert tree.failure is not None and "MaxRestartsExceeded" in tree.failure.error

    def test_intensity_is_counted_per_child_so_single_crashes_of_siblings_do_not_add_up(
        self, make_tree, journal
    ):
        settings = dataclasses.replace(FAST, max_restarts=1)
        tree = make_tree([worker_spec(n, journal) for n in ("a", "b", "c")], settings)
        assert journal.wait_for(lambda: len(journal.starts) == 3)
        for name in ("a", "b", "c"):
            tree.address(name).tell(Crash())
            wait_generation(tree, name, 2)
        assert not tree.failed.is_set()
        stats = tree.snapshot(TIMEOUT).stats
        assert isinstance(stats, SupervisorStats) and stats.recent_restarts == 3

    def test_a_nested_supervisor_that_gives_up_is_restarted_by_its_parent(self, make_tree, journal):
        inner = dataclasses.replace(FAST, max_restarts=0)
        specs = [
            worker_spec("outside", journal),
            supervisor_spec("inner", [worker_spec("w", journal)], inner),
        ]
        tree = make_tree(specs)
        assert journal.wait_for(lambda: journal.starts["w"] == 1)
        tree.address("w").tell(Crash())
        assert journal.wait_for(lambda: journal.starts["w"] == 2)
        wait_generation(tree, "inner", 2)
        wait_generation(tree, "w", 2)
        assert tree.address("w").ask(Echo("back"), timeout=TIMEOUT) == "back"
        assert not tree.failed.is_set()
        assert journal.starts["outside"] == 1

    def test_a_restart_in_backoff_does_not_block_the_supervisor(self, make_tree, journal):
        slow = dataclasses.replace(FAST, backoff_base_s=60.0, backoff_cap_s=60.0)
        tree = make_tree([worker_spec("w", journal)], slow, rng=lambda: 1.0)
        assert journal.wait_for(lambda: journal.starts["w"] == 1)
        tree.address("w").tell(Crash())
        wait_state(tree, "w", AddressState.RESTARTING)
        snapshot = tree.snapshot(timeout_s=TIMEOUT)  # the supervisor still answers at once
        assert snapshot.find("w").state == "restarting"
        with pytest.raises(ChildUnavailable):
            tree.address("w").ask(Echo(1), timeout=TIMEOUT)
        tree.address("w").tell(Work(7))
        # Kept for the next instance: the crashing message (to be redelivered once) and Work(7).
        assert tree.address("w").buffered == 2


class TestFailureDetection:
    def test_a_failing_setup_is_reported_and_restarted(self, make_tree, journal):
        journal.fail_setup["w"] = 1
        tree = make_tree([worker_spec("w", journal)])
        wait_generation(tree, "w", 2)
        assert tree.address("w").ask(Echo("up"), timeout=TIMEOUT) == "up"
        assert tree.snapshot().find("w").last_failure.startswith("start:")

    def test_a_thread_that_ends_silently_is_found_by_the_sweep(self, make_tree, journal):
        tree = make_tree([worker_spec("w", journal)])
        tree.address("w").tell(StopSelf())
        wait_generation(tree, "w", 2)
        assert tree.snapshot().find("w").last_failure.startswith("dead:")

    def test_a_hung_child_is_replaced_and_its_queued_messages_move_to_the_new_one(
        self, make_tree, journal
    ):
        tree = make_tree([worker_spec("w", journal, hang_timeout_s=0.3)])
        release = threading.Event()
        try:
            tree.address("w").tell(Block(release))
            tree.address("w").tell(Work(1))
            assert journal.wait_for(lambda: journal.completed[("w", 1)] == 1)
            assert tree.snapshot().find("w").last_failure.startswith("hang:")
        finally:
            release.set()

    def test_a_cancelled_error_from_a_library_restarts_one_actor_not_all(
        self, make_tree, journal
    ):
        tree = make_tree([worker_spec(n, journal) for n in ("a", "b")])
        assert journal.wait_for(lambda: len(journal.starts) == 2)
        tree.address("a").tell(RaiseCancelled())
        wait_generation(tree, "a", 2)
        assert tree.address("b").ask(Echo("alive"), timeout=TIMEOUT) == "alive"
        assert tree.address("b").generation == 1


class TestNoMessageLost:
    def test_the_message_that_crashed_is_redelivered_once_and_queued_ones_survive(
        self, make_tree, journal
    ):
        tree = make_tree([worker_spec("w", journal)])
        journal.crash_next.add("w")
        for seq in range(10):
            tree.address("w").tell(Work(seq))
        assert journal.wait_for(lambda: sum(journal.completed.values()) == 10)
        assert journal.attempts[("w", 0)] == 2
        assert all(journal.completed[("w", seq)] == 1 for seq in range(10))

    def test_a_message_that_crashes_twice_goes_to_the_dead_letters(
        self, make_tree, journal, caplog
    ):
        tree = make_tree([worker_spec("w", journal)])
        with caplog.at_level(logging.INFO):
            tree.address("w").tell(Work(1, poison=True, request_id="req-7"))
            tree.address("w").tell(Work(2))
            assert journal.wait_for(lambda: journal.completed[("w", 2)] == 1)
        assert journal.attempts[("w", 1)] == 2
        dead = [r for r in caplog.records if getattr(r, "event", None) == "actor.dead_letter"]
        assert len(dead) == 1 and dead[0].request_id == "req-7"

    def test_asks_queued_behind_a_crash_fail_fast_with_a_typed_error(self, make_tree, journal):
        tree = make_tree([worker_spec("w", journal)])
        release = threading.Event()
        address = tree.address("w")
        address.tell(Block(release))
        address.tell(Crash())
        pending = address.ask_future(Echo("never"))
        release.set()
        with pytest.raises(ChildUnavailable):
            pending.get(timeout=TIMEOUT)


class TestLifecycle:
    def test_children_start_by_dependency_then_priority_and_stop_in_reverse(
        self, make_tree, journal
    ):
        specs = [
            worker_spec("background", journal, priority=Priority.BACKGROUND),
            worker_spec("needs_db", journal, priority=Priority.CRITICAL, depends_on=("db",)),
            worker_spec("db", journal, priority=Priority.HIGH),
            worker_spec("critical", journal, priority=Priority.CRITICAL),
        ]
        tree = make_tree(specs)
        assert journal.wait_for(lambda: len(journal.order("start")) == 4)
        assert journal.order("start") == ["critical", "db", "needs_db", "background"]
        tree.address("db").tell(Crash())  # a restart must not change the stop order
        wait_generation(tree, "db", 2)
        assert tree.stop(timeout_s=TIMEOUT)
        assert journal.order("release")[-4:] == ["background", "needs_db", "db", "critical"]

    def test_a_lazy_child_starts_on_its_first_message(self, make_tree, journal):
        tree = make_tree([worker_spec("lazy", journal, lazy=True), worker_spec("eager", journal)])
        assert journal.wait_for(lambda: journal.starts["eager"] == 1)
        assert journal.starts["lazy"] == 0
        assert tree.snapshot().find("lazy").state == "lazy"
        assert tree.address("lazy").ask(Echo("woke"), timeout=TIMEOUT) == "woke"
        assert journal.starts["lazy"] == 1

    def test_stopping_the_tree_leaves_no_actor_thread(self, make_tree, journal):
        tree = make_tree([supervisor_spec("sub", [worker_spec("w", journal)], FAST)])
        assert tree.address("w").ask(Echo(1), timeout=TIMEOUT) == 1
        assert tree.stop(timeout_s=TIMEOUT)
        assert pykka.ActorRegistry.get_all() == []
        assert [t.name for t in threading.enumerate() if not t.daemon] == ["MainThread"]

    def test_messages_sent_after_shutdown_become_dead_letters(self, make_tree, journal, caplog):
        tree = make_tree([worker_spec("w", journal)])
        tree.stop(timeout_s=TIMEOUT)
        with caplog.at_level(logging.WARNING):
            tree.address("w").tell(Work(1))
        assert any(getattr(r, "event", None) == "actor.dead_letter" for r in caplog.records)


def test_specs_reject_unknown_dependencies():
    from supervision.spec import SpecError, start_order

    spec = ChildSpec(name="a", factory=lambda ctx: None, depends_on=("ghost",))  # type: ignore[arg-type,return-value]
    with pytest.raises(SpecError, match="ghost"):
        start_order([spec])


def test_errors_returned_counts_the_errors_answered_to_askers_only(journal):
    """An asked error leaves the actor running and is counted; a told one kills the instance."""
    from supervision.actor import InjectedCrash
    from supervision.address import Directory
    from supervision.context import ChildContext
    from supervision.messages import ChildFailed, InjectCrash
    from tests.supervision.workers import Worker

    directory = Directory()
    reports: list[ChildFailed] = []
    died = threading.Event()
    ctx = ChildContext(name="w", generation=1, address=directory["w"], directory=directory,
                       supervisor=None, on_escalate=lambda report: (reports.append(report), died.set()))
    ref = Worker.start(ctx, journal)
    with pytest.raises(RuntimeError, match="crash on purpose"):
        ref.ask(Crash(times=1), timeout=TIMEOUT)
    with pytest.raises(InjectedCrash):
        ref.ask(InjectCrash(), timeout=TIMEOUT)
    assert ref.ask(Echo("alive"), timeout=TIMEOUT) == "alive"
    assert ctx.errors_returned == 2
    assert ctx.last_error == "RuntimeError('crash on purpose')"
    ref.tell(Crash(times=1))
    assert died.wait(TIMEOUT)
    assert ctx.errors_returned == 2
    assert reports[0].phase == "message"
