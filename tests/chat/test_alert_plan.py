"""What /alert stores follows from the request, the user's settings and the price when set:
a percentage becomes a level measured from that price, RSI takes the user's interval when none
is given, ``every`` takes the user's cool-down and ``for`` becomes an end time."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chat.alert_plan import AlertPlan, NoBasePrice, plan_alert
from chat.arguments import AlertRequest
from messages.storage import AddAlert
from users.settings import UserSettings

NOW = 1_796_531_400.0
SETTINGS = UserSettings(interval="4h", cooldown_s=1800.0, timezone="Europe/Berlin")


def test_a_price_alert_is_stored_as_its_level_once_and_forever() -> None:
    plan = plan_alert(AlertRequest("btc", "above", 70_000.0), "BTCUSDT", SETTINGS, now=NOW)
    assert plan == AlertPlan(symbol="BTCUSDT", kind="price", direction="above", level=70_000.0)


def test_a_rise_in_percent_becomes_a_level_above_the_price_when_set() -> None:
    plan = plan_alert(AlertRequest("btc", "above", 5.0, "percent"), "BTCUSDT", SETTINGS,
                      now=NOW, price=65_000.0)
    assert plan.kind == "percent" and plan.direction == "above"
    assert plan.level == pytest.approx(68_250.0)
    assert plan.percent == 5.0 and plan.base_price == 65_000.0


def test_a_fall_in_percent_becomes_a_level_below_it() -> None:
    plan = plan_alert(AlertRequest("eth", "below", 10.0, "percent"), "ETHUSDT", SETTINGS,
                      now=NOW, price=3000.0)
    assert plan.level == pytest.approx(2700.0) and plan.percent == -10.0


@pytest.mark.parametrize("price", [None, 0.0])
def test_a_percentage_without_a_price_to_measure_from_is_refused(price: float | None) -> None:
    with pytest.raises(NoBasePrice):
        plan_alert(AlertRequest("btc", "above", 5.0, "percent"), "BTCUSDT", SETTINGS, now=NOW,
                   price=price)


def test_rsi_without_an_interval_takes_the_users_default_and_keeps_one_given() -> None:
    default = plan_alert(AlertRequest("sol", "below", 30.0, "rsi"), "SOLUSDT", SETTINGS, now=NOW)
    given_one = plan_alert(AlertRequest("sol", "below", 30.0, "rsi", "1d"), "SOLUSDT", SETTINGS,
                           now=NOW)
    assert (default.kind, default.level, default.interval) == ("rsi", 30.0, "4h")
    assert given_one.interval == "1d"


def test_every_takes_the_users_cool_down_and_for_an_end_time() -> None:
    plan = plan_alert(AlertRequest("btc", "above", 70_000.0, recurring=True,
                                   expires_in_s=7 * 86_400.0), "BTCUSDT", SETTINGS, now=NOW)
    assert plan.recurring and plan.cooldown_s == 1800.0
    assert plan.expires_at == NOW + 7 * 86_400.0


def test_the_writers_message_carries_every_field() -> None:
    plan = plan_alert(AlertRequest("btc", "above", 5.0, "percent", None, True, 3600.0),
                      "BTCUSDT", SETTINGS, now=NOW, price=100.0)
    message = plan.message(request_id="r1", user_id=7, chat_id=8, reply_to=None)
    assert message == AddAlert(request_id="r1", user_id=7, chat_id=8, symbol="BTCUSDT",
                               direction="above", price=pytest.approx(105.0), kind="percent",
                               interval=None, base_price=100.0, recurring=True,
                               cooldown_s=1800.0, expires_at=NOW + 3600.0)


@given(st.floats(min_value=1e-8, max_value=1e9), st.floats(min_value=0.01, max_value=1000),
       st.booleans())
def test_a_percent_level_is_always_on_the_side_of_the_move_and_above_zero(
        price: float, percent: float, rising: bool) -> None:
    if not rising:
        percent = min(percent, 99.99)
    plan = plan_alert(AlertRequest("x", "above" if rising else "below", percent, "percent"),
                      "XUSDT", SETTINGS, now=NOW, price=price)
    assert plan.level > 0
    assert plan.level > price if rising else plan.level < price
