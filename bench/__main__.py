"""Every benchmark in one run:
``python -m bench [--only actors,chat] [--json PATH] [--soak S] [--scale [1|2]]``.

Each section measures its own baseline in the same run (raw pykka, TA-Lib, direct HTTP calls,
sqlite-utils, the fake server's own round trip), prints its table as it finishes, and then one
summary table over all sections ends with "N of M goals met". The same figures go to JSON.
A section that raises becomes one FAIL row and the others still run. Exit status 0 only when
every row passed. The soak (10+ minutes) runs only when asked for with ``--soak SECONDS``, and
the scale section (``bot.py run`` processes on PostgreSQL and Redis, about a minute) only with
``--scale`` (one vs two instances; ``--scale 1``: the one-instance run alone).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pykka

from bench.report import (
    Row, SectionResult, error_row, format_summary, print_table, results_document, write_json,
)

DEFAULT_JSON = Path(__file__).resolve().parent / "results.json"


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    module: str
    # actors crashes workers on purpose (pykka logs each at ERROR); storage's naive baseline
    # is logged as a slow query (WARNING). Neither is news in a benchmark table.
    quiet_below: int = logging.WARNING


SECTIONS: dict[str, Section] = {
    "actors": Section("supervision overhead vs raw pykka", "bench.actors", logging.CRITICAL),
    "indicators": Section("indicators vs TA-Lib", "bench.indicators_bench"),
    "market": Section("the market data path", "bench.market"),
    "chat": Section("Telegram path end to end", "bench.chat"),
    "storage": Section("SQLite through the db_writer and the read pool", "bench.storage"),
    # The baseline (the sweep before) logs its whole-outbox reads as slow queries.
    "quiet": Section("the alert outbox during a night of quiet hours", "bench.quiet_night",
                     logging.ERROR),
}
SOAK = Section("steady load on python bot.py run", "bench.soak")
SCALE = Section("one instance vs two sharing one token", "bench.scale")


def run_section(name: str, run: Callable[[], Sequence[Row]]) -> SectionResult:
    """Run one section; whatever it raises becomes a FAIL row instead of ending the whole run."""
    started = time.perf_counter()
    try:
        rows = tuple(run())
        if not rows:
            raise RuntimeError("the section returned no rows")
    except Exception as error:  # broad on purpose: one broken section must not hide the rest
        rows = (error_row(name, error),)
    return SectionResult(name, time.perf_counter() - started, rows)


def _runner(section: Section, *args: float) -> Callable[[], Sequence[Row]]:
    def run() -> Sequence[Row]:
        # Imported here so a missing dependency (TA-Lib, psutil) fails only its own section.
        module = importlib.import_module(section.module)
        rows: Sequence[Row] = module.run(*args)
        return rows

    return run


def _stop_actors_not_in(before: set[str]) -> None:
    """A section that raised may have left actors running; they must not load the next one."""
    for ref in reversed(pykka.ActorRegistry.get_all()):  # last started, first stopped
        if ref.actor_urn not in before:
            with contextlib.suppress(pykka.Timeout):
                ref.stop(block=True, timeout=5)


def machine() -> dict[str, object]:
    load = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
    return {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        # Latency figures depend on what else the machine is doing; this says how busy it was.
        "load_average_1m_at_start": load,
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Run every benchmark with its same-run baseline; print and save one table.",
    )
    parser.add_argument(
        "--only", metavar="NAME[,NAME]", type=lambda text: [n for n in text.split(",") if n],
        help=f"run only these sections, of: {', '.join([*SECTIONS, 'soak', 'scale'])}",
    )
    parser.add_argument("--json", metavar="PATH", type=Path, default=DEFAULT_JSON,
                        help="where to write the results (default: %(default)s)")
    parser.add_argument("--soak", metavar="SECONDS", type=float, default=None,
                        help="also run the soak for SECONDS (it takes 10+ minutes for a "
                             "meaningful run; a fifth of it is warm-up); off by default")
    parser.add_argument("--scale", metavar="INSTANCES", type=int, nargs="?", const=2,
                        default=None, choices=(1, 2),
                        help="also run the scale section: one vs two bot.py run instances on "
                             "PostgreSQL and Redis (docs/scaling.md; 1: the one-instance run "
                             "alone); off by default")
    options = parser.parse_args(argv)
    known = [*SECTIONS, "soak", "scale"]
    if options.only is not None and (unknown := sorted(set(options.only) - set(known))):
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(known)}")
    if options.only is not None and "soak" in options.only and options.soak is None:
        parser.error("--only soak needs --soak SECONDS")
    if options.only is not None and "scale" in options.only and options.scale is None:
        parser.error("--only scale needs --scale")
    if options.soak is not None and options.soak <= 0:
        parser.error("--soak needs a positive number of seconds")
    return options


def plan(options: argparse.Namespace) -> list[tuple[str, Section, tuple[float, ...]]]:
    """The sections to run, in order, with the soak's and the scale section's arguments when
    they were asked for."""
    chosen = options.only if options.only is not None else [*SECTIONS, "soak", "scale"]
    steps: list[tuple[str, Section, tuple[float, ...]]] = [
        (name, SECTIONS[name], ()) for name in SECTIONS if name in chosen
    ]
    if options.soak is not None and "soak" in chosen:
        steps.append(("soak", SOAK, (options.soak, options.soak / 5)))
    if options.scale is not None and "scale" in chosen:
        steps.append(("scale", SCALE, (float(options.scale),)))
    return steps


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    about = machine()
    print(f"python -m bench, started {started}: {about['cpu_count']} CPUs, Python "
          f"{about['python']}, {about['platform']}, 1-minute load average at start "
          f"{about['load_average_1m_at_start']} (other work makes latency figures noisier)",
          flush=True)
    results: list[SectionResult] = []
    for name, section, args in plan(options):
        print(f"\n[{name}] running ...", flush=True)
        actors_before = {ref.actor_urn for ref in pykka.ActorRegistry.get_all()}
        logging.disable(section.quiet_below)
        try:
            result = run_section(name, _runner(section, *args))
            _stop_actors_not_in(actors_before)
        finally:
            logging.disable(logging.NOTSET)
        results.append(result)
        print_table(f"[{name}] {section.title} ({result.seconds:.1f} s)", result.rows)
    write_json(options.json, results_document(started, about, results))
    footer = [f"JSON: {options.json}"]
    if options.soak is None:
        footer.append("The soak was not run: opt in with --soak SECONDS (600 is the issue's run).")
    if options.scale is None:
        footer.append("The scale section was not run: opt in with --scale.")
    print(format_summary(results, footer), flush=True)
    return 0 if all(row.passed for result in results for row in result.rows) else 1


if __name__ == "__main__":
    sys.exit(main())
