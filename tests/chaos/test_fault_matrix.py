"""The fast rows of the fault matrix, on the whole bot under load (the rest: python -m tests.chaos).

The suite holds each fault for QUICK_HOLDS (shorter idle phases than the full matrix's 2 + 9 + 2 s,
but long enough for the outage window to be checked); ``python -m tests.chaos`` runs every row at
FULL_HOLDS.

Each row must show: every command answered, no unlabelled figure while the exchange was
unreachable, no acknowledged write lost, no supervisor giving up, and recovery within
RECOVERY_GOAL_S of the fault clearing.
"""

from __future__ import annotations

import pytest

from tests.chaos.faults import FAULTS
from tests.chaos.matrix import QUICK_HOLDS, RECOVERY_GOAL_S, Fault, print_results, run_fault

FAST = [fault for fault in FAULTS if fault.fast]


@pytest.mark.timeout(180)
@pytest.mark.parametrize("fault", FAST, ids=[f"{f.group}: {f.name}" for f in FAST])
def test_under_load_the_bot_answers_everyone_labels_degraded_answers_and_loses_no_write(
        fault: Fault) -> None:
    result = run_fault(fault, holds=QUICK_HOLDS)
    table = print_results([result])
    assert result.sent > 0 and result.answered == result.sent, table
    if fault.blocks_exchange:
        assert result.outage_answers > 0, f"no answer fell in the outage window\n{table}"
    assert result.unlabelled_outage == 0, table
    assert result.acked_writes > 0 and result.acked_lost == 0, table
    assert not result.gave_up, table
    assert result.recovery_s is not None and result.recovery_s <= RECOVERY_GOAL_S, table
    assert result.passed, table


def test_every_fault_the_issue_names_is_in_the_matrix() -> None:
    groups = {fault.group for fault in FAULTS}
    assert groups == {"exchange", "telegram", "actors", "storage", "memory"}
    assert len({fault.name for fault in FAULTS}) == len(FAULTS)
