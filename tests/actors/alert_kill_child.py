"""The process test_alert_kill9 kills: the alert sweep on the exchange simulator and a file.

Usage: ``python -m tests.actors.alert_kill_child DB_PATH PHASE``. ALRTUSDT costs
``PRICES[n]`` during minute ``n`` of a clock that only the script moves.

* ``fire``: at minute 0 add a recurring alert "above 110" with a 150 s cool-down, print
  ``alert <id>``, move to minute 1 (the price crosses) and sweep; the ``after_step`` hook kills
  the whole process with SIGKILL at "fired" - after the firing committed, before any send.
* ``resume``: start again at minute 1 on the same file and sweep once a minute up to minute 4
  (the price clears at 2, crosses again at 3 inside the cool-down and at 4 after it), printing
  ``sent <request_id>`` for every notification the transport receives, then ``done``.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import pykka

from actors.alerts import AlertsActor
from actors.market_tree import market_spec
from core.config import BotConfig
from fakes.exchange.catalog import INTERVALS
from fakes.exchange.simulator import ExchangeSimulator
from messages.chat import ChatReply
from messages.storage import AddAlert, SweepDue
from storage.read_pool import ReadPool
from supervision.actor import SupervisedActor
from supervision.spec import ChildSpec, Priority
from supervision.tree import SupervisionTree
from tests.actors.storage_fixtures import (
    SETTINGS,
    SYMBOL,
    TIMEOUT,
    Probe,
    price_path_csv,
    writer_spec,
)
from tests.market.conftest import START_S, ManualClock

__all__ = ["PRICES", "main"]

PRICES = [100.0, 120.0, 90.0, 120.0, 120.0]
COOLDOWN_S = 150.0
_lock = threading.Lock()


def say(line: str) -> None:
    with _lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


class PrintingTransport(SupervisedActor):
    """Stands in for telegram_io: prints each notification's request id."""

    def handle(self, message: Any) -> Any:
        match message:
            case ChatReply():
                return say(f"sent {message.request_id}")
        return super().handle(message)


class KillAtFired:
    """SIGKILL this process at the step "fired" once armed."""

    def __init__(self) -> None:
        self.armed = threading.Event()

    def __call__(self, step: str) -> None:
        if step == "fired" and self.armed.is_set():
            say("killing")
            os.kill(os.getpid(), signal.SIGKILL)


def main(argv: list[str]) -> int:
    db_path, phase = Path(argv[0]), argv[1]
    clock = ManualClock(START_S if phase == "fire" else START_S + 60)
    simulator = ExchangeSimulator(clock=clock).start()
    simulator.market.add_csv(SYMBOL, price_path_csv(PRICES), INTERVALS["1m"])
    config = BotConfig().with_overrides(exchange_urls=(simulator.base_url,),
                                        http_connect_timeout_s=0.5, http_read_timeout_s=2.0)
    hook = KillAtFired()
    pool = ReadPool(db_path, size=2)
    tree = SupervisionTree([
        writer_spec(db_path, Probe(), pool),
        market_spec(config, SETTINGS),
        ChildSpec(name="transport", factory=lambda ctx: PrintingTransport.start(ctx)),
        ChildSpec(name="alerts", factory=lambda ctx: AlertsActor.start(
            ctx, read_pool=pool, interval_s=3600.0, min_gap_s=0.0, fetch_timeout_s=TIMEOUT,
            write_timeout_s=TIMEOUT, after_step=hook, wall_clock=clock),
            priority=Priority.LOW),
    ], SETTINGS).start()
    try:
        for name in ("db_writer", "fetcher", "transport", "alerts"):
            if not tree.address(name).wait_until_running(timeout=TIMEOUT):
                return 1
        alerts = tree.address("alerts")
        alerts.ask(SweepDue(), timeout=TIMEOUT * 3)
        if phase == "fire":
            saved: pykka.ThreadingFuture[Any] = pykka.ThreadingFuture()
            tree.address("db_writer").tell(AddAlert(
                request_id="kill-1", user_id=7, chat_id=7, symbol=SYMBOL, direction="above",
                price=110.0, recurring=True, cooldown_s=COOLDOWN_S, reply_to=saved))
            say(f"alert {saved.get(timeout=TIMEOUT).alert_id}")
            alerts.ask(SweepDue(), timeout=TIMEOUT * 3)  # minute 0: below the level
            clock.advance(60)
            hook.armed.set()
            alerts.ask(SweepDue(), timeout=TIMEOUT * 3)  # never returns: killed at "fired"
            say("survived")
            return 2
        for _ in range(3):
            clock.advance(60)
            alerts.ask(SweepDue(), timeout=TIMEOUT * 3)
            alerts.ask(SweepDue(), timeout=TIMEOUT * 3)
        say("done")
        return 0
    finally:
        tree.stop(timeout_s=10)
        pool.close()
        simulator.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
