"""kill -9 between firing and notifying a recurring alert, with a real process: the crossing
is notified exactly once after the restart, and the alert still re-arms and fires again.

The child (``alert_kill_child``) is killed by its own ``after_step`` hook right after the
firing committed and before anything was sent; a second child resumes on the same file.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.actors.alert_kill_child import COOLDOWN_S
from tests.market.conftest import START_S

ROOT = Path(__file__).resolve().parents[2]
CHILD_TIMEOUT_S = 60.0


def run_child(db_path: Path, phase: str) -> tuple[int, list[str], str]:
    command = [sys.executable, "-m", "tests.actors.alert_kill_child", str(db_path), phase]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                          timeout=CHILD_TIMEOUT_S, check=False)
    return done.returncode, done.stdout.splitlines(), done.stderr[-3000:]


def query(db_path: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.mark.slow
def test_a_recurring_alert_killed_between_fire_and_send_notifies_each_crossing_once(tmp_path):
    db_path = tmp_path / "bot.sqlite3"
    code, lines, errors = run_child(db_path, "fire")
    assert code == -signal.SIGKILL, (code, lines, errors)
    assert "killing" in lines and not any(line.startswith("sent") for line in lines)
    alert_id = int(next(line for line in lines if line.startswith("alert ")).split()[1])
    first_ms = int((START_S + 60) * 1000)
    # The firing committed before the kill; nobody was told.
    assert query(db_path, "SELECT fired_at, notified_at, ended FROM alerts") == [
        (START_S + 60, None, None)]
    assert query(db_path, "SELECT alert_id, fired_at FROM alert_firings") == [
        (alert_id, START_S + 60)]

    code, lines, errors = run_child(db_path, "resume")
    assert code == 0 and lines[-1] == "done", (code, lines, errors)
    second_s = START_S + 60 + 3 * 60  # the first minute past fired_at + the cool-down
    assert second_s >= START_S + 60 + COOLDOWN_S
    assert [line for line in lines if line.startswith("sent")] == [
        f"sent alert-{alert_id}-{first_ms}", f"sent alert-{alert_id}-{int(second_s * 1000)}"]
    assert query(db_path, "SELECT fired_at FROM alert_firings ORDER BY fired_at") == [
        (START_S + 60,), (second_s,)]
    assert query(db_path, "SELECT notified_at IS NOT NULL, ended FROM alerts") == [(1, None)]
