"""A fault no restart can fix (core.errors.PermanentFault) makes the tree give up at once."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pykka

from core.errors import PermanentFault
from supervision.actor import SupervisedActor
from supervision.spec import ChildSpec
from supervision.supervisor import supervisor_spec
from tests.supervision.workers import FAST

TIMEOUT = 5.0


class Unfixable(PermanentFault):
    pass


class FailsForGood(SupervisedActor):
    starts = 0
    lock = threading.Lock()

    def setup(self) -> None:
        with FailsForGood.lock:
            FailsForGood.starts += 1
        raise Unfixable("the widget file is a directory; point WIDGET_PATH at a file")

    def handle(self, message: Any) -> Any:
        return None


def test_a_permanent_fault_in_setup_gives_up_the_whole_tree_without_a_restart(make_tree, caplog):
    FailsForGood.starts = 0
    spec = ChildSpec(name="widget", factory=lambda ctx: FailsForGood.start(ctx))
    with caplog.at_level(logging.DEBUG):
        tree = make_tree([supervisor_spec("inner", [spec], FAST)], FAST)
        assert tree.failed.wait(TIMEOUT)
    assert FailsForGood.starts == 1  # FAST allows 50 restarts: none was tried
    assert tree.failure is not None
    assert tree.failure.permanent == "the widget file is a directory; point WIDGET_PATH at a file"
    # pykka's traceback for it is filtered: the supervisors say it in one line each.
    assert not [r for r in caplog.records if r.name == "pykka" and r.exc_info]
    assert [getattr(r, "event", None) for r in caplog.records].count(
        "supervisor.permanent_fault") == 2


def test_an_ordinary_failure_is_still_not_permanent(make_tree):
    class Boom(SupervisedActor):
        def setup(self) -> None:
            raise RuntimeError("transient")

    settings = FAST.__class__(backoff_base_s=0.0, heartbeat_interval_s=0.05, max_restarts=1)
    tree = make_tree([ChildSpec(name="boom", factory=lambda ctx: Boom.start(ctx))], settings)
    assert tree.failed.wait(TIMEOUT)
    assert tree.failure is not None and tree.failure.permanent is None
    pykka.ActorRegistry.stop_all(timeout=TIMEOUT)
