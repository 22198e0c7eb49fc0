"""One row format, its tables and its JSON document, for every benchmark."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from core.logs import Redactor

__all__ = [
    "Row", "SectionResult", "count_goals", "error_row", "format_summary", "format_table",
    "print_table", "results_document", "write_json",
]

# Rows with these goals are context for the reader, not goals that can be missed.
INFO_GOALS = frozenset({"", "-", "(info)"})


@dataclass(frozen=True, slots=True)
class Row:
    """One measured figure against its goal and the baseline measured in the same run."""

    metric: str
    goal: str
    measured: float
    unit: str
    baseline: float | None
    ratio: float | None
    passed: bool

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    @property
    def is_goal(self) -> bool:
        return self.goal not in INFO_GOALS


@dataclass(frozen=True, slots=True)
class SectionResult:
    """One benchmark module's rows and how long it took to produce them."""

    name: str
    seconds: float
    rows: tuple[Row, ...]


def error_row(section: str, error: BaseException) -> Row:
    """A FAIL row standing for a section that raised, so the other sections still report."""
    lines = str(error).strip().splitlines()
    detail = type(error).__name__ + (f": {lines[0]}" if lines else "")
    # The chat bench talks to a fake Bot API with a token-shaped secret in its URLs.
    detail = Redactor().redact(detail)
    return Row(f"{section} raised {detail}", "runs to the end", math.nan, "", None, None, False)


def count_goals(rows: Iterable[Row]) -> tuple[int, int]:
    """(met, total) over the rows that carry a goal; a raised section counts as a missed goal."""
    goals = [row for row in rows if row.is_goal]
    return sum(row.passed for row in goals), len(goals)


def _number(value: float | None) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.2f}"


def _result(row: Row) -> str:
    # "info" rather than PASS, so the PASS lines add up to the "N of M goals met" count.
    return ("PASS" if row.passed else "FAIL") if row.is_goal else "info"


def format_table(title: str, rows: Iterable[Row], sections: Iterable[str] | None = None) -> str:
    """A fixed-column table; with ``sections`` (one name per row) it gains a section column."""
    rows = list(rows)
    names = list(sections) if sections is not None else None
    cells = [
        [row.metric, row.goal, _number(row.measured), row.unit, _number(row.baseline),
         _number(row.ratio), _result(row)]
        for row in rows
    ]
    header = ["metric", "goal", "measured", "unit", "baseline", "ratio", "result"]
    if names is not None:
        header.insert(0, "section")
        cells = [[name, *line] for name, line in zip(names, cells, strict=True)]
    widths = [max([len(name), *(len(line[i]) for line in cells)]) for i, name in enumerate(header)]
    # Text columns align left, figures right; counted from the end, past the section column.
    numeric = {len(header) - 5, len(header) - 3, len(header) - 2}

    def render(line: list[str]) -> str:
        return "  ".join(
            cell.rjust(width) if i in numeric else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(line, widths))
        ).rstrip()

    rule = "-" * len(render(header))
    return "\n".join([f"\n{title}", render(header), rule, *(render(line) for line in cells)])


def print_table(title: str, rows: Iterable[Row]) -> None:
    print(format_table(title, rows), flush=True)


def format_summary(results: Iterable[SectionResult], footer: Iterable[str] = ()) -> str:
    """All sections in one table with a section column, the footer, and the goal count last."""
    results = list(results)
    rows = [row for result in results for row in result.rows]
    sections = [result.name for result in results for _ in result.rows]
    met, total = count_goals(rows)
    table = format_table("Summary", rows, sections)
    return "\n".join([table, "", *footer, f"{met} of {total} goals met"])


def _finite(value: object) -> object:
    """JSON has no NaN or infinity; a figure that is not a number is recorded as null."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def results_document(
    started: str, machine: Mapping[str, object], results: Iterable[SectionResult]
) -> dict[str, object]:
    results = list(results)
    met, total = count_goals(row for result in results for row in result.rows)
    return {
        "started": started,
        "machine": dict(machine),
        "sections": {
            result.name: {
                "seconds": round(result.seconds, 3),
                "rows": [{key: _finite(value) for key, value in row.as_dict().items()}
                         for row in result.rows],
            }
            for result in results
        },
        "passed": met,
        "total": total,
    }


def write_json(path: Path, document: Mapping[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, allow_nan=False) + "\n", encoding="utf-8")
