"""Numbers, ages and times read the same on every card."""

from __future__ import annotations

import math

import pytest

from chat.cards_format import (
    arrow,
    format_age,
    format_compact,
    format_date,
    format_percent,
    format_price,
    format_signed,
    format_time,
)


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0 s"), (40.4, "40 s"), (89, "89 s"), (90, "2 min"), (720, "12 min"),
    (5_340, "89 min"), (5_400, "1 h 30 min"), (7_200, "2 h"), (3 * 86_400, "3 d"), (-5, "0 s"),
])
def test_ages_use_the_largest_sensible_unit(seconds: float, text: str) -> None:
    assert format_age(seconds) == text


@pytest.mark.parametrize(("value", "text"), [
    (950.123, "950.12"), (12_345.6, "12.35K"), (-45_600, "-45.60K"), (1_234_567, "1.23M"),
    (8e9, "8.00B"), (2e12, "2.00T"), (math.nan, "n/a"),
])
def test_large_amounts_are_compact(value: float, text: str) -> None:
    assert format_compact(value) == text


@pytest.mark.parametrize(("value", "text"), [
    (12.34, "+12.3400"), (-0.16381841, "-0.1638"), (0.0, "0"), (-65_000.0, "-65,000.00"),
    (math.inf, "n/a"),
])
def test_signed_values_keep_their_sign(value: float, text: str) -> None:
    assert format_signed(value) == text


def test_changes_get_arrows_and_signed_percentages() -> None:
    assert (arrow(1.0), arrow(-1.0), arrow(0.0)) == ("▲", "▼", "•")
    assert (format_percent(2.345), format_percent(-0.4)) == ("+2.35%", "-0.40%")


def test_times_are_utc_with_the_date_for_daily_candles() -> None:
    moment_ms = 1_714_572_000_000  # 2024-05-01 14:00 UTC
    assert format_time(moment_ms) == "14:00 UTC"
    assert format_time(moment_ms, "4h") == "14:00 UTC"
    assert format_time(moment_ms, "1d") == "2024-05-01 UTC"
    assert format_time(moment_ms, "1w") == "2024-05-01 UTC"
    assert format_date(1_714_521_600.0) == "2024-05-01"


@pytest.mark.parametrize(("value", "text"), [
    (95000.0, "95,000.00"), (1234.5, "1,234.50"), (1.5, "1.5000"), (0.000022, "0.000022"),
    (0.0, "0"),
])
def test_prices_read_well_from_bitcoin_to_shiba(value: float, text: str) -> None:
    assert format_price(value) == text
