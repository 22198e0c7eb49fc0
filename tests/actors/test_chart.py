"""The chart actor: PNGs on request, matplotlib loaded by the first render, paused on low memory."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from actors.chart import PAUSED_REASON, ChartActor, ChartStats
from chat.charts import ChartUnavailable
from market.candles import Candles, load_csv
from messages.charts import RenderChart
from messages.system import MemoryPressure
from supervision.address import Address
from supervision.messages import Describe
from supervision.spec import ChildSpec
from supervision.tree import SupervisionTree

ROOT = Path(__file__).resolve().parents[2]
SOLUSDT_CSV = ROOT / "tests" / "data" / "SOLUSDT_1h.csv"
SOLUSDT = load_csv(SOLUSDT_CSV)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Run in a fresh interpreter: in this one, other tests may have imported matplotlib already.
FRESH_PROCESS_SCRIPT = textwrap.dedent(
    """
    import json, sys

    from actors.chart import ChartActor
    from market.candles import Candles, load_csv
    from messages.charts import RenderChart
    from supervision.spec import ChildSpec
    from supervision.tree import SupervisionTree

    spec = ChildSpec(name="chart", factory=lambda ctx: ChartActor.start(ctx), lazy=True)
    tree = SupervisionTree([spec]).start()
    try:
        before = "matplotlib" in sys.modules
        request = RenderChart("SOLUSDT", "1h", load_csv(sys.argv[1]))
        png = tree.address("chart").ask(request, timeout=60)
        after = "matplotlib" in sys.modules
    finally:
        tree.stop()
    print(json.dumps({"before": before, "after": after, "png": png[:8].hex()}))
    """
)


def pressure(level: str) -> MemoryPressure:
    return MemoryPressure(level, rss_mb=400.0, limit_mb=512.0, target_fraction=0.5)


@pytest.fixture
def chart() -> Iterator[Address]:
    spec = ChildSpec(name="chart", factory=lambda ctx: ChartActor.start(ctx))
    tree = SupervisionTree([spec]).start()
    address = tree.address("chart")
    assert address.wait_until_running(timeout=5)
    yield address
    tree.stop()


def render(address: Address, candles: Candles = SOLUSDT[-200:]) -> bytes:
    png = address.ask(RenderChart("SOLUSDT", "1h", candles, request_id="r1"), timeout=60)
    assert isinstance(png, bytes)
    return png


def stats(address: Address) -> ChartStats:
    figures = address.ask(Describe(), timeout=5).stats
    assert isinstance(figures, ChartStats)
    return figures


def test_matplotlib_is_imported_by_the_first_render_not_by_starting_the_bot() -> None:
    completed = subprocess.run(
        [sys.executable, "-W", "error", "-c", FRESH_PROCESS_SCRIPT, str(SOLUSDT_CSV)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    outcome = json.loads(completed.stdout.strip().splitlines()[-1])
    assert outcome == {"before": False, "after": True, "png": PNG_SIGNATURE.hex()}


def test_a_render_request_is_answered_with_png_bytes_and_counted(chart: Address) -> None:
    assert render(chart).startswith(PNG_SIGNATURE)
    assert render(chart).startswith(PNG_SIGNATURE)
    figures = stats(chart)
    assert figures.renders == 2 and figures.paused is False
    assert figures.first_render_ms is not None and figures.first_render_ms > 0
    assert figures.render_p50_ms is not None and figures.render_p50_ms > 0


def test_no_figure_outlives_its_render(chart: Address) -> None:
    render(chart)
    from matplotlib.figure import Figure

    assert not [thing for thing in gc.get_objects() if isinstance(thing, Figure)]


def test_an_undrawable_chart_is_refused_and_the_actor_keeps_working(chart: Address) -> None:
    with pytest.raises(ChartUnavailable, match="at least 2 candles"):
        render(chart, SOLUSDT[:1])
    assert render(chart).startswith(PNG_SIGNATURE)
    assert stats(chart).failures == 1


def test_critical_memory_pauses_charts_until_memory_is_normal_again(chart: Address) -> None:
    chart.tell(pressure("critical"))
    with pytest.raises(ChartUnavailable) as refused:
        render(chart)
    assert refused.value.reason == PAUSED_REASON
    chart.tell(pressure("warning"))
    with pytest.raises(ChartUnavailable):
        render(chart)
    figures = stats(chart)
    assert figures.paused is True and figures.refused_while_paused == 2
    chart.tell(pressure("normal"))
    assert render(chart).startswith(PNG_SIGNATURE)
    assert stats(chart).paused is False


def test_a_memory_warning_alone_does_not_stop_charts(chart: Address) -> None:
    chart.tell(pressure("warning"))
    assert render(chart).startswith(PNG_SIGNATURE)
    assert stats(chart).paused is False
