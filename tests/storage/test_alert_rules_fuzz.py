"""Property tests of the alert rules as the last gate after the chat parsers: whatever /alert
accepts can be stored, anything the sweep could not evaluate is refused with InvalidWrite (never
another error), and a stored alert fires exactly when the price reaches its level."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chat.parsing import UsageError, parse_direction, parse_price
from market.errors import InvalidSymbolFormat
from market.symbols import normalize_symbol
from storage.alert_rules import check_alert, reached
from storage.errors import InvalidWrite

words = st.one_of(st.sampled_from(["above", "below", "over", "under", ">", "<", ">=", "<="]),
                  st.text(max_size=8))
prices = st.one_of(st.text(alphabet="0123456789.,_$kmb ", max_size=14), st.text(max_size=10))
anything = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10),
                     st.binary(max_size=4), st.lists(st.integers(), max_size=2))


@given(st.text(max_size=24), words, prices)
def test_whatever_the_alert_command_accepts_can_be_stored(
    coin: str, direction_text: str, price_text: str
) -> None:
    try:
        symbol = normalize_symbol(coin, "USDT")
        direction = parse_direction(direction_text)
        price = parse_price(price_text)
    except (InvalidSymbolFormat, UsageError):
        return
    check_alert(symbol, direction, price)


@given(anything, anything, anything)
def test_a_value_of_any_type_is_stored_or_refused_as_an_invalid_write(
    symbol: object, direction: object, price: object
) -> None:
    try:
        check_alert(symbol, direction, price)  # type: ignore[arg-type]
    except InvalidWrite as error:
        assert str(error)
        return
    assert isinstance(symbol, str) and direction in ("above", "below")
    assert isinstance(price, (int, float)) and not isinstance(price, bool)
    assert math.isfinite(price) and price > 0


@pytest.mark.parametrize("direction", ["above", "below"])
@given(target=st.floats(min_value=1e-12, max_value=1e12),
       last=st.floats(min_value=0, max_value=1e13))
def test_an_alert_fires_exactly_when_the_price_reaches_its_level(
    direction: str, target: float, last: float
) -> None:
    fires = reached(direction, target, last)  # type: ignore[arg-type]
    assert fires == (last >= target if direction == "above" else last <= target)
