"""Chaos: many children under a steady message stream while random children crash many times.

Afterwards every message not declared poison was handled exactly once (at most redelivered
once), poison messages went to the dead letters after two attempts, restarts stayed within
intensity, and shutdown left no actor thread behind.
"""

from __future__ import annotations

import dataclasses
import random
import threading

import pykka

from supervision.supervisor import SupervisorStats
from supervision.strategies import Strategy
from supervision.supervisor import supervisor_spec
from tests.supervision.workers import FAST, Work, worker_spec

MESSAGES = 3000
CRASHES = 120
POISON_EVERY = 101


def test_random_crashes_under_load_lose_no_message_and_leave_no_thread(make_tree, journal):
    rng = random.Random(1234)
    settings = dataclasses.replace(FAST, max_restarts=1000, period_s=60)
    inner = dataclasses.replace(settings, strategy=Strategy.REST_FOR_ONE)
    names = ["a", "b", "c", "d", "e"]
    specs = [
        worker_spec("a", journal),
        worker_spec("b", journal),
        supervisor_spec("pipeline", [worker_spec(n, journal) for n in ("c", "d", "e")], inner),
    ]
    tree = make_tree(specs, settings)
    stream_done = threading.Event()

    def inject_crashes() -> None:
        pacing = threading.Event()
        for _ in range(CRASHES):
            with journal.lock:
                journal.crash_next.add(rng.choice(names))
            if pacing.wait(0.002) or stream_done.is_set():
                return

    chaos = threading.Thread(target=inject_crashes, name="chaos")
    chaos.start()
    sent: dict[tuple[str, int], bool] = {}
    for seq in range(MESSAGES):
        name = names[seq % len(names)]
        poison = seq % POISON_EVERY == 0
        sent[(name, seq)] = poison
        tree.address(name).tell(Work(seq, poison=poison))
    chaos.join(timeout=30)
    stream_done.set()

    healthy = [key for key, poison in sent.items() if not poison]
    poisoned = [key for key, poison in sent.items() if poison]
    assert journal.wait_for(
        lambda: all(journal.completed[k] for k in healthy)
        and all(journal.attempts[k] == 2 for k in poisoned),
        timeout=60,
    ), "some messages were never handled"

    snapshot = tree.snapshot(timeout_s=5)
    assert not tree.failed.is_set()
    with journal.lock:
        assert all(journal.completed[k] == 1 for k in healthy), "a message was handled twice"
        assert all(journal.attempts[k] in (1, 2) for k in healthy)
        assert all(journal.completed[k] == 0 for k in poisoned)
        redelivered = sum(1 for k in healthy if journal.attempts[k] == 2)
    restarts = sum(node.restarts for node in snapshot.walk())
    print(f"redelivered={redelivered} restarts={restarts} poisoned={len(poisoned)}")
    assert redelivered > 10, "the chaos did not hit enough messages to mean anything"
    assert restarts >= redelivered
    assert isinstance(snapshot.stats, SupervisorStats)
    assert snapshot.stats.recent_restarts <= settings.max_restarts

    assert tree.stop(timeout_s=10)
    assert pykka.ActorRegistry.get_all() == []
    assert [t.name for t in threading.enumerate() if not t.daemon] == ["MainThread"]
