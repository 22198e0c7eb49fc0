"""Chart rendering: a phone-sized PNG of the real SOLUSDT candles, and a short, safe caption."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest

from chat.chart_caption import CAPTION_LIMIT, caption
from chat.charts import ChartUnavailable, render_chart
from chat.html import html_problem, visible_text
from market.analysis import MarketAnalysis
from market.candles import Candles, load_csv
from market.indicator_set import compute_indicators
from market.trend import summarize_trend

SOLUSDT = load_csv(Path(__file__).resolve().parents[1] / "data" / "SOLUSDT_1h.csv")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def chart() -> bytes:
    return render_chart(SOLUSDT, symbol="SOLUSDT", interval="1h")


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which must come first after the signature."""
    length, kind = struct.unpack(">I4s", png[8:16])
    assert kind == b"IHDR" and length == 13
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def png_text_keys(png: bytes) -> set[bytes]:
    keys, position = set(), 8
    while position < len(png):
        length, kind = struct.unpack(">I4s", png[position : position + 8])
        if kind in (b"tEXt", b"iTXt", b"zTXt"):
            keys.add(png[position + 8 : position + 8 + length].split(b"\0", 1)[0])
        position += 12 + length
    return keys


def analysis(**overrides: object) -> MarketAnalysis:
    indicators = compute_indicators(SOLUSDT)
    fields: dict[str, object] = {
        "symbol": "SOLUSDT",
        "interval": "1h",
        "last_price": 165.46,
        "change_24h_pct": -4.583,
        "high_24h": 175.0,
        "low_24h": 164.9,
        "volume_24h": 3_000_000.0,
        "quote_volume_24h": 500_000_000.0,
        "indicators": indicators,
        "summary": summarize_trend(indicators),
        "as_of_ms": indicators.open_time,
        "computed_at": 1_730_444_400.0,
    }
    fields.update(overrides)
    return MarketAnalysis(**fields)  # type: ignore[arg-type]


def test_a_chart_is_a_png_of_phone_portrait_size(chart: bytes) -> None:
    assert chart.startswith(PNG_SIGNATURE)
    assert png_size(chart) == (1080, 1350)
    assert 30_000 < len(chart) < 1_000_000


def test_the_png_is_complete_and_its_image_data_decompresses(chart: bytes) -> None:
    assert chart.endswith(b"IEND\xaeB`\x82")
    position, image_data = 8, b""
    while position < len(chart):
        length, kind = struct.unpack(">I4s", chart[position : position + 8])
        if kind == b"IDAT":
            image_data += chart[position + 8 : position + 8 + length]
        position += 12 + length
    # One filter byte per row, then four bytes (RGBA) per pixel.
    assert len(zlib.decompress(image_data)) == 1350 * (1 + 1080 * 4)


def test_the_same_candles_give_the_same_bytes(chart: bytes) -> None:
    assert render_chart(SOLUSDT, symbol="SOLUSDT", interval="1h") == chart


def test_the_png_does_not_name_the_library_version(chart: bytes) -> None:
    assert b"Software" not in png_text_keys(chart)


def test_the_size_can_be_chosen() -> None:
    png = render_chart(
        SOLUSDT, symbol="SOLUSDT", interval="1h", width_px=540, height_px=675, dpi=75
    )
    assert png_size(png) == (540, 675)


def changed_pixels(png: bytes, reference: bytes) -> float:
    """Fraction of pixels that differ between two PNGs of the same size."""
    from matplotlib.image import imread

    before, after = (imread(io.BytesIO(image), format="png") for image in (reference, png))
    difference = abs(after - before)
    return float((difference.max(axis=2) > 0).mean())


def test_indicators_are_warmed_up_on_the_whole_series_before_cropping(chart: bytes) -> None:
    # Drawn alone, the last 120 candles have no EMA 50 for their first 49: a visible change.
    alone = render_chart(SOLUSDT[-120:], symbol="SOLUSDT", interval="1h")
    assert changed_pixels(alone, chart) > 0.01
    # With enough history before them, they look as drawn from the whole series (EMA seeds
    # fade, so a few pixels may differ in antialiasing).
    warmed = render_chart(SOLUSDT[-500:], symbol="SOLUSDT", interval="1h")
    assert changed_pixels(warmed, chart) < 0.0001


@pytest.mark.parametrize("count", [0, 1])
def test_fewer_than_two_candles_cannot_be_drawn(count: int) -> None:
    with pytest.raises(ChartUnavailable, match="at least 2 candles"):
        render_chart(SOLUSDT[:count], symbol="SOLUSDT", interval="1h")


def test_two_candles_are_enough() -> None:
    assert render_chart(SOLUSDT[:2], symbol="SOLUSDT", interval="1h").startswith(PNG_SIGNATURE)


@pytest.mark.parametrize("interval", ["1m", "4h", "1d", "1w", "1M", "unknown"])
def test_every_interval_gets_time_labels_and_tiny_prices_render(interval: str) -> None:
    recent = SOLUSDT[-60:]
    scaled = Candles(
        open_time=recent.open_time,
        open=recent.open * 1e-7,
        high=recent.high * 1e-7,
        low=recent.low * 1e-7,
        close=recent.close * 1e-7,
        volume=recent.volume * 1e6,
    )
    assert render_chart(scaled, symbol="SHIBUSDT", interval=interval).startswith(PNG_SIGNATURE)


def test_dollar_signs_in_a_symbol_are_drawn_as_text_not_parsed_as_math() -> None:
    assert render_chart(SOLUSDT[-30:], symbol="$A$_^{", interval="1h").startswith(PNG_SIGNATURE)


def test_an_impossible_geometry_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="cannot draw a chart"):
        render_chart(SOLUSDT, symbol="SOLUSDT", interval="1h", max_candles=1)


def test_the_caption_gives_price_change_verdict_and_time() -> None:
    text = caption(analysis(), "SOLUSDT", "1h")
    assert html_problem(text) is None
    shown = visible_text(text)
    assert shown.startswith("SOLUSDT · 1h")
    assert "165.4600" in shown and "24h -4.58%" in shown
    assert f"trend: {summarize_trend(compute_indicators(SOLUSDT)).verdict}" in shown
    assert "as of 01 Nov 07:00 UTC" in shown


def test_a_caption_without_analysis_still_names_the_chart() -> None:
    text = caption(None, "SOLUSDT", "4h")
    assert html_problem(text) is None
    assert visible_text(text).startswith("SOLUSDT · 4h")


def test_a_stale_analysis_says_so_in_the_caption() -> None:
    stale = analysis(stale=True, age_s=95.0, degraded_reason="exchange is not answering")
    text = caption(stale, "SOLUSDT", "1h")
    assert "data 95 s old: exchange is not answering" in visible_text(text)


def test_hostile_text_is_escaped_and_the_caption_stays_within_telegrams_limit() -> None:
    hostile = "<b>&" * 2_000
    text = caption(
        analysis(
            summary=None,
            indicators_note=hostile,
            stale=True,
            degraded_reason=hostile,
            symbol=hostile,
        ),
        hostile,
        hostile,
    )
    assert len(text) <= CAPTION_LIMIT
    assert html_problem(text) is None
    assert "…" in text
