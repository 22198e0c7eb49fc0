"""One row format and one table printer for every benchmark."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

__all__ = ["Row", "print_table"]


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


def print_table(title: str, rows: Iterable[Row]) -> None:
    rows = list(rows)
    header = f"{'metric':<46} {'goal':<16} {'measured':>12} {'baseline':>12} {'ratio':>7}  result"
    print(f"\n{title}\n{header}\n{'-' * len(header)}")
    for row in rows:
        baseline = f"{row.baseline:.2f}" if row.baseline is not None else "-"
        ratio = f"{row.ratio:.2f}" if row.ratio is not None else "-"
        print(
            f"{row.metric:<46} {row.goal:<16} {row.measured:>9.2f} {row.unit:<2} {baseline:>12} "
            f"{ratio:>7}  {'PASS' if row.passed else 'FAIL'}"
        )
