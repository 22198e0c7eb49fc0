"""One fault at a time on the whole bot under load: inject, hold, clear, measure.

For each fault the run records what the issue asks for: commands sent, answers received,
answers labelled degraded, market answers that showed a number without a label while the
exchange could not be reached (must be 0), acknowledged writes lost (must be 0), restarts,
whether a supervisor gave up (restart intensity exceeded), and the time from clearing the
fault until a fresh probe answer arrives and the health verdict is ok again.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.chaos.load import Command, Load
from tests.chaos.rig import ChaosRig

__all__ = ["FULL_HOLDS", "QUICK_HOLDS", "Fault", "Holds", "Result", "print_results", "run_fault"]

STALE_AFTER_S = 5.0 + 3.0
"""Ticker TTL (market.cache.TICKER_TTL_S) plus slack: after this long into an exchange
outage, every price the bot shows must be labelled stale or missing. The slack covers a
response the exchange sent just before the fault that the bot, on two busy cores, received
and cached (starting its TTL) a moment later."""
OUTAGE_WINDOW_S = 4.0
"""How long a fault that cuts the exchange off is held past STALE_AFTER_S. At 1 s (a 9 s hold)
the window was often empty: answers slowed by the failing exchange arrived only after the fault
cleared, so the unlabelled-figure check counted nothing."""
PROBE_CHAT = 900
RECOVERY_LIMIT_S = 60.0
RECOVERY_GOAL_S = 10.0
"""The issue's "within a few seconds of the fault clearing"."""


@dataclass(frozen=True)
class Holds:
    """How long the load runs before, during and after a fault."""

    before_s: float
    """Load before the fault (the bot warms its caches)."""
    during_s: float
    """Fault held; rows that cut the exchange off hold at least STALE_AFTER_S + OUTAGE_WINDOW_S, so some
    answers fall in the window where every figure must be labelled."""
    after_s: float
    """Load after recovery was measured."""

    def during(self, fault: Fault) -> float:
        if fault.blocks_exchange:
            return max(self.during_s, STALE_AFTER_S + OUTAGE_WINDOW_S)
        return self.during_s


FULL_HOLDS = Holds(before_s=2.0, during_s=9.0, after_s=2.0)
"""``python -m tests.chaos``: each fault held 9 s, as the reliability issue specified."""
QUICK_HOLDS = Holds(before_s=0.5, during_s=3.0, after_s=0.5)
"""The default suite: the same checks with shorter idle phases (the matrix's fast rows idled
about 104 s in hold phases at full length)."""


@dataclass(frozen=True)
class Fault:
    """One row of the matrix."""

    name: str
    group: str
    inject: Callable[[ChaosRig], None]
    clear: Callable[[ChaosRig], None]
    blocks_exchange: bool = False
    """While on, no fresh market data can arrive (so shown figures must be labelled)."""
    probe: str = "/price btc"
    """Sent after the fault clears until it gets a fresh, unlabelled answer."""
    probe_ok: Callable[[str], bool] = lambda reply: "BTCUSDT" in reply and "⚠️" not in reply
    fast: bool = False
    """Part of the CI run (the rest runs with ``python -m tests.chaos``)."""


@dataclass(frozen=True)
class Result:
    fault: str
    group: str
    sent: int
    answered: int
    labelled: int
    unlabelled_outage: int
    acked_writes: int
    acked_lost: int
    restarts: int
    gave_up: bool
    recovery_s: float | None
    outage_answers: int = 0
    """Market answers that fell in the must-be-labelled window (0 for faults that do not cut
    the exchange off)."""
    problems: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return (self.answered == self.sent and self.unlabelled_outage == 0
                and self.acked_lost == 0 and not self.gave_up and self.recovery_s is not None
                and self.recovery_s <= RECOVERY_GOAL_S and not self.problems)


class _Events(logging.Handler):
    """Counts the supervision events that say a supervisor gave up."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.gave_up = 0

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "event", None) in ("supervisor.escalated", "supervision.root_failed"):
            self.gave_up += 1


def run_fault(fault: Fault, *, holds: Holds = FULL_HOLDS, users: int = 24) -> Result:
    events = _Events()
    logging.getLogger().addHandler(events)
    phase = threading.Event()  # never set: holds each load phase for its length
    with tempfile.TemporaryDirectory(prefix="chaos-") as scratch:
        rig = ChaosRig(Path(scratch), user_rate_limit_count=600).start()
        try:
            load = Load(rig.telegram, users=users).start()
            phase.wait(holds.before_s)
            restarts_before = rig.restarts()
            fault_at = time.monotonic()
            fault.inject(rig)
            phase.wait(holds.during(fault))
            fault.clear(rig)
            cleared_at = time.monotonic()
            recovery_s = _recovery(rig, fault, cleared_at)
            phase.wait(holds.after_s)
            load.stop()
            restarts = rig.restarts() - restarts_before
            lost, acked = _lost_writes(rig, load)
        finally:
            rig.stop()
            logging.getLogger().removeHandler(events)
    commands = load.commands
    outage = [c for c in commands if fault.blocks_exchange and c.market and c.reply is not None
              and c.sent_at >= fault_at + STALE_AFTER_S and (c.answered_at or 0) <= cleared_at]
    problems = tuple(f"no answer to {c.text!r} (chat {c.chat})" for c in commands
                     if c.reply is None)[:3]
    problems += tuple(f"unlabelled during the outage, {c.sent_at - fault_at:.1f} s in: "
                      f"{c.text!r} -> {(c.reply or '')[:160]!r}"
                      for c in outage if not _shows_no_fresh_number(c))[:3]
    return Result(
        fault=fault.name, group=fault.group, sent=len(commands),
        answered=sum(c.reply is not None for c in commands),
        labelled=sum(c.labelled for c in commands),
        unlabelled_outage=sum(not _shows_no_fresh_number(c) for c in outage),
        acked_writes=acked, acked_lost=lost, restarts=restarts, gave_up=events.gave_up > 0,
        recovery_s=recovery_s, outage_answers=len(outage), problems=problems)


def _shows_no_fresh_number(command: Command) -> bool:
    """A market answer during an outage is honest if it is labelled or shows no figure."""
    reply = command.reply or ""
    return command.labelled or not any(ch.isdigit() for ch in reply.replace("24h", ""))


def _recovery(rig: ChaosRig, fault: Fault, cleared_at: float) -> float | None:
    """Seconds from clearing the fault until a probe is answered fresh and health is ok."""
    pace = threading.Event()  # never set: spaces the probes
    while time.monotonic() - cleared_at < RECOVERY_LIMIT_S:
        before = len(rig.telegram.sent(chat_id=PROBE_CHAT))
        rig.telegram.push_message(PROBE_CHAT, PROBE_CHAT, fault.probe)
        answered = rig.telegram.wait_for(
            lambda: len(rig.telegram.sent(chat_id=PROBE_CHAT)) > before, 30)
        replies = rig.telegram.sent(chat_id=PROBE_CHAT)[before:]
        if answered and fault.probe_ok(replies[-1].text or "") and rig.healthy():
            return time.monotonic() - cleared_at
        pace.wait(0.2)
    return None


def _lost_writes(rig: ChaosRig, load: Load) -> tuple[int, int]:
    """Acknowledged writes whose effect is not in the database, and how many were acked."""
    alerts = load.expected_alerts()
    present = {row[0] for row in rig.rows("SELECT id FROM alerts")}
    lost = sum((alert in present) != alive for alert, alive in alerts.items())
    watched = load.expected_watchlist()
    rows = {(user, symbol) for user, symbol in rig.rows("SELECT user_id, symbol FROM watchlist")}
    lost += sum((key in rows) != alive for key, alive in watched.items())
    return lost, len(alerts) + len(watched)


def print_results(results: list[Result]) -> str:
    header = (f"{'group':<9} {'fault':<30} {'sent':>5} {'answered':>8} {'labelled':>8} "
              f"{'outage':>6} {'unlabelled':>10} {'acked':>6} {'lost':>5} {'restarts':>8} {'gave up':>7} "
              f"{'recovery':>9}  result")
    lines = [header, "-" * len(header)]
    for r in results:
        recovery = "never" if r.recovery_s is None else f"{r.recovery_s:.1f} s"
        lines.append(
            f"{r.group:<9} {r.fault:<30} {r.sent:>5} {r.answered:>8} {r.labelled:>8} "
            f"{r.outage_answers:>6} {r.unlabelled_outage:>10} {r.acked_writes:>6} {r.acked_lost:>5} {r.restarts:>8} "
            f"{'yes' if r.gave_up else 'no':>7} {recovery:>9}  "
            f"{'PASS' if r.passed else 'FAIL'}")
        lines += [f"    {problem}" for problem in r.problems]
    return "\n".join(lines)
