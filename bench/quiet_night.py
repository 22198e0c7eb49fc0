"""The alert sweep's outbox during a night of quiet hours: ``python -m bench.quiet_night``
(or ``python -m bench --only quiet``).

10,000 notices held for 5,000 owners whose quiet hours contain the moment (real file, the
production read pool). A timed sweep is what ``AlertsActor`` asks of the outbox each sweep
(``actors.alert_outbox``): ``new_sweep`` (owners seen lately) and the one bounded outbox read
that leaves out the owners known to be held; nothing is deliverable, so nothing is sent.
Baseline, in the same run: the sweep before (the whole outbox read twice, and each owner's
settings read and their quiet hours computed once per read). The first sweep of a new
instance (after a restart), which learns the holds (1,000 rows a sweep), is reported too.
"""

from __future__ import annotations

import json
import logging
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from actors.alert_outbox import OUTBOX_READ_MAX, AlertOutbox
from bench.report import Row, print_table
from storage.connection import open_writer
from storage.read_pool import ReadPool
from users.clock import quiet_until
from users.settings import UserSettings

__all__ = ["run"]

OWNERS = 5_000
HELD = 10_000
SWEEPS = 30


class _NoTransport:
    def tell(self, message: Any) -> None:
        raise AssertionError("nothing is deliverable during the night")


def _fill(path: Path, now: float) -> None:
    hour = datetime.fromtimestamp(now, tz=UTC).hour
    quiet = f"{(hour - 1) % 24:02d}:00-{(hour + 6) % 24:02d}:00"
    conn = open_writer(path)
    conn.execute("BEGIN")
    settings = json.dumps({"quiet": quiet, "timezone": "UTC"})
    conn.executemany("INSERT INTO users (user_id, chat_id, first_seen, last_seen, settings)"
                     " VALUES (?, ?, ?, ?, ?)",
                     [(u, u, now - 86_400, now - 3_600, settings) for u in range(1, OWNERS + 1)])
    conn.executemany(
        "INSERT INTO alerts (user_id, chat_id, symbol, direction, price, created_at, fired_at,"
        " fired_price, kind, ended) VALUES (?, ?, 'BTCUSDT', 'above', 1.0, ?, ?, 1.5, 'price',"
        " 'fired')",
        [(n % OWNERS + 1, n % OWNERS + 1, now - 7_200, now - 600 + n * 0.01)
         for n in range(HELD)])
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


def _before(pool: ReadPool, now: float) -> float:
    """The sweep before this change: the whole outbox twice, each owner's settings each time."""
    started = time.perf_counter()
    for _ in range(2):
        owners = {alert.user_id for alert in pool.unnotified_alerts()}
        for user_id in owners:
            settings = UserSettings.from_pairs(pool.user_settings(user_id))
            assert quiet_until(now, settings.timezone, settings.quiet) is not None
    return (time.perf_counter() - started) * 1000


def _sweep(outbox: AlertOutbox) -> float:
    started = time.perf_counter()
    outbox.new_sweep()
    assert outbox.deliver_outbox(set()) == []
    return (time.perf_counter() - started) * 1000


def run() -> list[Row]:
    now = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "night.sqlite3"
        _fill(path, now)
        pool = ReadPool(path, size=2)
        try:
            before = statistics.median(_before(pool, now) for _ in range(5))
            outbox = AlertOutbox(read_pool=pool, transport=_NoTransport(), wall_clock=time.time)
            learning = [_sweep(outbox) for _ in range(HELD // OUTBOX_READ_MAX + 1)]
            assert outbox.held == HELD, outbox.held
            reads_before = outbox.settings_reads
            steady = statistics.median(_sweep(outbox) for _ in range(SWEEPS))
            assert outbox.settings_reads == reads_before
        finally:
            pool.close()
    return [
        Row(f"outbox part of a sweep, {HELD:,} notices held for {OWNERS:,} owners (p50)",
            "<= 10 ms", steady, "ms", before, steady / before, steady <= 10),
        Row(f"first sweep after a restart (learns {OUTBOX_READ_MAX:,} held notices)", "-",
            learning[0], "ms", None, None, True),
        Row(f"sweeps to relearn every hold after a restart (p50 of them "
            f"{statistics.median(learning):.1f} ms)", "-", len(learning), "sweeps", None, None,
            True),
    ]


if __name__ == "__main__":
    logging.getLogger("storage").setLevel(logging.ERROR)  # the baseline's slow reads
    rows = run()
    print_table("Quiet hours: the outbox at night", rows)
    sys.exit(0 if all(row.passed for row in rows) else 1)
