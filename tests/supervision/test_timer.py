"""The setup/release helpers around PeriodicTimer: a named clock that ticks, stops on release,
and a release that tolerates a timer that was never started."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from supervision.actor import SupervisedActor
from supervision.context import ChildContext
from supervision.spec import ChildSpec
from supervision.timer import PeriodicTimer, start_periodic, stop_periodic
from supervision.tree import SupervisionTree


@dataclass(frozen=True, slots=True)
class Tick:
    pass


class Ticking(SupervisedActor):
    """Counts the ticks its timer tells it."""

    def __init__(self, ctx: ChildContext, seen: list[str], released: threading.Event,
                 three_ticks: threading.Event | None = None) -> None:
        super().__init__(ctx)
        self._seen = seen
        self._released = released
        self._three_ticks = three_ticks or threading.Event()
        self._timer: PeriodicTimer | None = None

    def setup(self) -> None:
        self._timer = start_periodic(self, Tick(), 0.01)

    def release(self) -> None:
        stop_periodic(self._timer)
        self._timer = None
        self._released.set()

    def handle(self, message: Any) -> Any:
        match message:
            case Tick():
                return self._on_tick()
        return super().handle(message)

    def _on_tick(self) -> None:
        self._seen.append("tick")
        if len(self._seen) >= 3:
            self._three_ticks.set()


def _timer_threads(actor: str) -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == f"timer-{actor}"]


def test_start_periodic_ticks_the_actor_until_released(
    make_tree: Callable[..., SupervisionTree],
) -> None:
    seen: list[str] = []
    released = threading.Event()
    three_ticks = threading.Event()
    spec = ChildSpec(name="ticking", factory=lambda ctx: Ticking.start(ctx, seen, released,
                                                                       three_ticks))
    tree = make_tree([spec])
    assert three_ticks.wait(5)
    assert len(seen) >= 3
    assert _timer_threads("ticking"), "the timer's thread is named after the actor"
    tree.stop(timeout_s=5)
    assert released.wait(5)
    for thread in _timer_threads("ticking"):
        thread.join(2)
    assert not _timer_threads("ticking"), "release() stopped the timer"


def test_stop_periodic_without_a_timer_is_a_no_op() -> None:
    stop_periodic(None)
