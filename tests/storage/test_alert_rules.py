"""The alert rules shared by the writer's checks and the sweep's SQL."""

from __future__ import annotations

import pytest

from storage.alert_rules import check_alert, is_direction, reached
from storage.errors import InvalidWrite


@pytest.mark.parametrize(("direction", "target", "price", "fires"), [
    ("above", 100.0, 99.99, False), ("above", 100.0, 100.0, True), ("above", 100.0, 150.0, True),
    ("below", 100.0, 100.01, False), ("below", 100.0, 100.0, True), ("below", 100.0, 1.0, True),
])
def test_an_alert_fires_once_the_price_reaches_its_level(direction, target, price, fires):
    assert reached(direction, target, price) is fires


def test_only_above_and_below_are_directions():
    assert is_direction("above") and is_direction("below")
    assert not is_direction("ABOVE") and not is_direction(">")


def test_a_valid_alert_passes():
    check_alert("BTCUSDT", "below", 0.00002)


@pytest.mark.parametrize(("symbol", "direction", "price", "says"), [
    ("BTC/USDT", "above", 1.0, "not an exchange symbol"),
    ("BTCUSDT", "over", 1.0, "above or below"),
    ("BTCUSDT", "above", True, "must be a number"),
    ("BTCUSDT", "above", "5", "must be a number"),
    ("BTCUSDT", "above", 0, "positive"),
])
def test_an_alert_the_sweep_cannot_evaluate_is_refused(symbol, direction, price, says):
    with pytest.raises(InvalidWrite, match=says):
        check_alert(symbol, direction, price)
