"""The process test_durability kills: a supervised db_writer and a stream of alert writes.

Usage: ``python -m tests.storage.durability_child DB_PATH|POSTGRES_URL [CRASH_AT_BATCH]``.
Four threads add alerts as fast as the writer acknowledges them and print ``ack <request_id>
<alert_id>`` for each, only after its future resolved (so the parent knows every line it read
was committed), or ``refused <request_id>`` for a ``NotSaved``. With CRASH_AT_BATCH the writer actor crashes
once, just before the COMMIT of that batch. The parent ends the process with SIGKILL.
"""

from __future__ import annotations

import sys
import threading
import time

import pykka

from actors.db_writer import storage_spec
from core.config import BotConfig
from messages.storage import AddAlert, Saved, StoreCandles
from storage.errors import NotSaved
from supervision.supervisor import SupervisorSettings
from supervision.tree import SupervisionTree

__all__ = ["main"]

THREADS = 4
RUN_FOR_S = 60.0
"""Exit on our own if the parent never kills us."""


class InjectedCrash(Exception):
    """Raised inside the writer to crash it mid-batch."""


class CrashOnce:
    def __init__(self, batch: int | None) -> None:
        self._batch = batch
        self._begun = 0

    def __call__(self, point: str) -> None:
        if point == "begin":
            self._begun += 1
        elif point == "applied" and self._begun == self._batch:
            say("crash")
            raise InjectedCrash(f"crash before the commit of batch {self._batch}")


_print_lock = threading.Lock()


def say(line: str) -> None:
    with _print_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def stream(tree: SupervisionTree, worker: int, deadline: float) -> None:
    writer = tree.address("db_writer")
    n = 0
    while time.monotonic() < deadline:
        n += 1
        request_id = f"w{worker}-{n}"
        future: pykka.ThreadingFuture[Saved] = pykka.ThreadingFuture()
        writer.tell(AddAlert(request_id=request_id, user_id=worker, chat_id=worker,
                             symbol="BTCUSDT", direction="above", price=float(n),
                             reply_to=future))
        writer.tell(StoreCandles(symbol="BTCUSDT", interval="1m",
                                 rows=((n * 60_000, 1.0, 2.0, 0.5, 1.5, float(worker)),)))
        try:
            saved = future.get(timeout=10)
        except NotSaved:
            say(f"refused {request_id}")
            continue
        say(f"ack {request_id} {saved.alert_id}")


def main(argv: list[str]) -> int:
    db_path = argv[0]
    crash_at = int(argv[1]) if len(argv) > 1 else None
    where = ({"database_url": db_path} if db_path.startswith("postgresql://")
             else {"db_path": db_path})
    config = BotConfig().with_overrides(**where, max_alerts_per_user=10_000_000,
                                        db_flush_interval_ms=20)
    tree = SupervisionTree([storage_spec(config, SupervisorSettings(),
                                         fault=CrashOnce(crash_at))]).start()
    if not tree.address("db_writer").wait_until_running(timeout=10):
        return 1
    say("ready")
    deadline = time.monotonic() + RUN_FOR_S
    threads = [threading.Thread(target=stream, args=(tree, worker, deadline), daemon=True)
               for worker in range(1, THREADS + 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(RUN_FOR_S + 10)
    tree.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
