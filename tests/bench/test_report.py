"""The benchmark tables, the JSON document and the section runner, on made-up rows."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bench import __main__ as runner
from bench.report import (
    Row, SectionResult, count_goals, error_row, format_summary, format_table, results_document,
    write_json,
)

FAST = Row("ask round trip", "<= 1.25x raw", 41.5, "us", 40.0, 1.0375, True)
SLOW = Row("restart latency p99", "<= 20 ms", 31.25, "ms", None, None, False)
INFO = Row("replies sent", "(info)", 120.0, "", None, None, True)
MACHINE = {"cpu_count": 2, "python": "3.11.7", "platform": "Linux"}


def _lines_with(text: str, needle: str) -> list[str]:
    return [line for line in text.splitlines() if needle in line]


def test_a_table_shows_each_row_with_two_decimals_a_dash_for_no_baseline_and_its_result() -> None:
    table = format_table("actors", [FAST, SLOW])

    [fast] = _lines_with(table, "ask round trip")
    [slow] = _lines_with(table, "restart latency p99")
    assert fast.split() == ["ask", "round", "trip", "<=", "1.25x", "raw", "41.50", "us", "40.00",
                            "1.04", "PASS"]
    assert slow.split()[-5:] == ["31.25", "ms", "-", "-", "FAIL"]
    assert table.splitlines()[1] == "actors"


def test_a_table_lines_up_its_columns_however_long_a_metric_is() -> None:
    long = Row("compute_indicators, 1,000 candles, + VWAP and levels, and more", "(info)", 7.0,
               "us", None, None, True)
    lines = format_table("t", [FAST, long]).splitlines()[2:]

    header, rows = lines[0], lines[2:]
    result_column = header.index("result")
    assert [line[result_column:] for line in rows] == ["PASS", "info"]
    measured_end = header.index("measured") + len("measured")
    assert [line[measured_end - 5:measured_end] for line in rows] == ["41.50", " 7.00"]


def test_an_empty_section_still_prints_a_header() -> None:
    assert "metric" in format_table("nothing measured", [])


def test_the_summary_names_each_rows_section_and_ends_with_the_goals_met() -> None:
    results = [SectionResult("actors", 1.5, (FAST, SLOW)), SectionResult("soak", 0.1, (INFO,))]

    summary = format_summary(results, ["The soak was not run."])

    assert _lines_with(summary, "ask round trip")[0].split()[0] == "actors"
    assert _lines_with(summary, "restart latency")[0].split()[0] == "actors"
    assert _lines_with(summary, "replies sent")[0].split()[0] == "soak"
    assert summary.splitlines()[-2:] == ["The soak was not run.", "1 of 2 goals met"]


def test_rows_without_a_goal_are_context_and_not_counted_as_goals() -> None:
    unstated = Row("restart latency p50", "-", 0.3, "ms", None, None, True)
    assert count_goals([FAST, SLOW, INFO, unstated]) == (1, 2)
    assert [line.split()[-1] for line in format_table("t", [INFO, unstated]).splitlines()[-2:]] \
        == ["info", "info"]


def test_a_section_that_raises_becomes_one_fail_row_with_the_first_line_of_its_error() -> None:
    def broken() -> list[Row]:
        raise ConnectionError("simulator did not start\nTraceback detail nobody needs")

    result = runner.run_section("market", broken)

    [row] = result.rows
    assert not row.passed
    assert row.metric == "market raised ConnectionError: simulator did not start"
    assert result.name == "market" and result.seconds >= 0
    assert count_goals(result.rows) == (0, 1)
    assert "FAIL" in format_table("market", result.rows)


def test_a_section_that_returns_no_rows_fails_rather_than_passing_silently() -> None:
    [row] = runner.run_section("storage", list).rows
    assert not row.passed and "returned no rows" in row.metric


def test_a_section_that_measures_keeps_its_rows_as_they_are() -> None:
    assert runner.run_section("actors", lambda: [FAST, SLOW]).rows == (FAST, SLOW)


def test_an_error_row_never_carries_a_bot_token() -> None:
    token = "123456789:AAEhBP0av28ntIfnmYsaRgCc3dS5Xl0XvYs"
    row = error_row("chat", OSError(f"POST http://127.0.0.1:8081/bot{token}/getMe refused"))
    assert token not in row.metric and "getMe refused" in row.metric


def test_the_json_document_holds_the_machine_each_section_and_the_goal_counts() -> None:
    results = [SectionResult("actors", 2.25, (FAST, SLOW)), SectionResult("chat", 3.0, (INFO,))]

    document = results_document("2024-05-01T12:00:00+00:00", MACHINE, results)

    assert document["started"] == "2024-05-01T12:00:00+00:00"
    assert document["machine"] == MACHINE
    assert document["sections"] == {
        "actors": {"seconds": 2.25, "rows": [FAST.as_dict(), SLOW.as_dict()]},
        "chat": {"seconds": 3.0, "rows": [INFO.as_dict()]},
    }
    assert (document["passed"], document["total"]) == (1, 2)


def test_the_json_file_is_strict_json_with_null_for_a_figure_that_is_not_a_number(
    tmp_path: Path,
) -> None:
    crashed = runner.run_section("chat", lambda: [][0])
    assert math.isnan(crashed.rows[0].measured)
    path = tmp_path / "nested" / "results.json"

    write_json(path, results_document("t", MACHINE, [crashed]))

    loaded = json.loads(path.read_text(encoding="utf-8"), parse_constant=pytest.fail)
    [row] = loaded["sections"]["chat"]["rows"]
    assert row["measured"] is None and row["passed"] is False
    assert (loaded["passed"], loaded["total"]) == (0, 1)


def test_the_soak_runs_only_when_asked_for_with_a_fifth_of_it_as_warm_up() -> None:
    default = runner.plan(runner.parse_args([]))
    soaked = runner.plan(runner.parse_args(["--soak", "600"]))

    assert [name for name, _, _ in default] == ["actors", "indicators", "market", "chat", "storage", "quiet"]
    assert soaked[-1][0] == "soak" and soaked[-1][2] == (600.0, 120.0)


def test_only_picks_sections_in_the_usual_order_and_rejects_unknown_names() -> None:
    chosen = runner.plan(runner.parse_args(["--only", "storage,actors"]))
    assert [name for name, _, _ in chosen] == ["actors", "storage"]
    with pytest.raises(SystemExit):
        runner.parse_args(["--only", "actors,nonsense"])


@pytest.mark.parametrize(
    ("sections", "status", "goals"),
    [
        ({"good": "tests.bench.sample_section"}, 0, "1 of 1 goals met"),
        ({"good": "tests.bench.sample_section", "gone": "tests.bench.no_such_module"}, 1,
         "1 of 2 goals met"),
    ],
)
def test_a_run_reports_every_section_and_exits_nonzero_when_any_goal_is_missed(
    sections: dict[str, str], status: int, goals: str, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(runner, "SECTIONS", {
        name: runner.Section(name, module) for name, module in sections.items()
    })
    path = tmp_path / "results.json"

    assert runner.main(["--json", str(path)]) == status

    output = capsys.readouterr().out
    assert output.rstrip().splitlines()[-1] == goals
    assert "The soak was not run" in output
    assert set(json.loads(path.read_text(encoding="utf-8"))["sections"]) == set(sections)
