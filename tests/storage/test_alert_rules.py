"""The alert rules shared by the writer's checks and the sweep's SQL."""

from __future__ import annotations

import pytest

from storage.alert_rules import (
    check_alert,
    check_alert_fields,
    cleared,
    is_direction,
    reached,
)
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


@pytest.mark.parametrize(("direction", "value", "clears"), [
    ("above", 99.99, True), ("above", 100.0, False), ("above", 150.0, False),
    ("below", 100.01, True), ("below", 100.0, False), ("below", 1.0, False),
])
def test_a_fired_recurring_alert_clears_once_its_value_is_back_across_the_level(
    direction, value, clears
):
    assert cleared(direction, 100.0, value) is clears


@pytest.mark.parametrize("fields", [
    {"kind": "price"},
    {"kind": "percent", "base_price": 100.0},
    {"kind": "rsi", "price": 30.0, "interval": "4h"},
    {"kind": "price", "cooldown_s": 3600.0, "expires_at": 1e9},
])
def test_every_kind_with_its_fields_passes(fields):
    check_alert_fields(**{"kind": "price", "price": 50.0, "interval": None, "base_price": None,
                          "cooldown_s": 0.0, "expires_at": None, **fields})


@pytest.mark.parametrize(("fields", "says"), [
    ({"kind": "volume"}, "price, percent or rsi"),
    ({"kind": "rsi"}, "needs a kline interval"),
    ({"kind": "rsi", "interval": "4h", "price": 100.0}, "between 0 and 100"),
    ({"kind": "percent"}, "positive price it was set at"),
    ({"interval": "1h"}, "only RSI alerts"),
    ({"base_price": 1.0}, "only percent alerts"),
    ({"cooldown_s": float("inf")}, "cool-down"),
    ({"expires_at": float("nan")}, "expiry"),
])
def test_kind_specific_fields_the_sweep_cannot_evaluate_are_refused(fields, says):
    with pytest.raises(InvalidWrite, match=says):
        check_alert_fields(**{"kind": "price", "price": 50.0, "interval": None,
                              "base_price": None, "cooldown_s": 0.0, "expires_at": None,
                              **fields})
