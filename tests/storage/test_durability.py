"""Durability, with a real process killed by SIGKILL: every acknowledged write is on disk.

The child (``durability_child``) prints a write's id only after its future resolved; the
parent reads those lines, kills the child mid-stream, reopens the file and looks for each one.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from storage.connection import open_read_only

ROOT = Path(__file__).resolve().parents[2]
ACKS_BEFORE_KILL = 300


def run_child_and_kill(db_path: Path | str,
                       *extra: str) -> tuple[dict[str, int], set[str], list[str]]:
    """Start the child, kill -9 it after ACKS_BEFORE_KILL acks; (acks, refusals, other lines)."""
    command = [sys.executable, "-m", "tests.storage.durability_child", str(db_path), *extra]
    acks: dict[str, int] = {}
    refused: set[str] = set()
    other: list[str] = []

    def take(line: str) -> None:
        kind, _, rest = line.strip().partition(" ")
        if kind == "ack":
            request_id, alert_id = rest.split()
            acks[request_id] = int(alert_id)
        elif kind == "refused":
            refused.add(rest)
        elif line.strip():
            other.append(line.strip())

    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as child:
        assert child.stdout is not None and child.stderr is not None
        deadline = time.monotonic() + 60
        while len(acks) < ACKS_BEFORE_KILL:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([child.stdout], [], [], max(0.0, remaining))
            assert ready, f"child too slow: {len(acks)} acks, lines {other[-5:]}"
            line = child.stdout.readline()
            assert line, f"child exited early: {child.wait(5)} {child.stderr.read()[-2000:]}"
            take(line)
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL
        for line in child.stdout.read().splitlines():  # acks still in the pipe count too
            take(line)
    return acks, refused, other


def stored_alerts(db_path: Path | str) -> dict[str, int]:
    conn = open_read_only(db_path, timeout_s=5.0)
    try:
        return dict(conn.execute("SELECT request_key, id FROM alerts"))
    finally:
        conn.close()


@pytest.mark.slow
def test_every_acknowledged_alert_survives_a_kill_9(database):
    """On PostgreSQL too: an acknowledgement follows the server's COMMIT (synchronous_commit
    on, the default), so the bot process dying loses nothing it acknowledged."""
    db_path = database
    acks, refused, _ = run_child_and_kill(db_path)
    stored = stored_alerts(db_path)
    missing = {key: alert_id for key, alert_id in acks.items() if stored.get(key) != alert_id}
    assert not missing, f"{len(missing)} acknowledged alerts lost"
    assert not refused


@pytest.mark.slow
def test_killing_the_writer_actor_mid_batch_loses_nothing_acknowledged(database):
    db_path = database
    acks, refused, other = run_child_and_kill(db_path, "40")
    assert "crash" in other, "the writer was not crashed mid-batch"
    stored = stored_alerts(db_path)
    assert all(stored.get(key) == alert_id for key, alert_id in acks.items())
    # A refusal means "nothing changed": none of the refused requests was stored.
    assert not refused & set(stored)
