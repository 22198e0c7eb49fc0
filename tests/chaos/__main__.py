"""``python -m tests.chaos [--fast] [--quick] [--only TEXT]``: run the fault matrix and print its table.

The fast rows also run in CI (tests/chaos/test_fault_matrix.py); this runs every row (about
20 s each) and exits 1 if any row misses a goal.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict

from tests.chaos.faults import FAULTS
from tests.chaos.matrix import FULL_HOLDS, QUICK_HOLDS, Result, print_results, run_fault


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    parser.add_argument("--fast", action="store_true", help="only the rows CI runs")
    parser.add_argument("--quick", action="store_true",
                        help="the suite's shorter holds (QUICK_HOLDS) instead of 2 + 9 + 2 s")
    parser.add_argument("--only", default="", help="only faults whose name contains this")
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON")
    options = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)  # the table is the output
    results: list[Result] = []
    for fault in FAULTS:
        if (options.fast and not fault.fast) or options.only.lower() not in fault.name.lower():
            continue
        results.append(run_fault(fault, holds=QUICK_HOLDS if options.quick else FULL_HOLDS))
        print(f"{fault.group}: {fault.name}: {'PASS' if results[-1].passed else 'FAIL'}",
              file=sys.stderr, flush=True)
    print(print_results(results))
    if options.json:
        with open(options.json, "w", encoding="utf-8") as out:
            json.dump([asdict(r) | {"passed": r.passed} for r in results], out, indent=2)
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
