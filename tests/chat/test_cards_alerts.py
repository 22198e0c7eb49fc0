"""/alert's confirmation, the /alerts list and one alert's details describe every kind of alert
the same way, with times in the user's zone (and UTC in the details)."""

from __future__ import annotations

import dataclasses

from chat.alert_plan import AlertPlan
from chat.cards_alerts import (
    alert_details_text,
    alert_not_yours_text,
    alert_set_text,
    alerts_list_text,
    is_listed,
    no_base_price_text,
    span,
)
from chat.html import is_balanced, visible_text
from messages.storage import AlertRecord

BERLIN = "Europe/Berlin"
NOW = 1_796_531_400.0  # 2026-12-06 04:30 UTC, 05:30 in Berlin
HOUR, DAY = 3600.0, 86_400.0


def shown(text: str) -> list[str]:
    assert is_balanced(text), text
    return visible_text(text).split("\n")


def record(alert_id: int, **fields: object) -> AlertRecord:
    base: dict[str, object] = {"user_id": 42, "chat_id": 42, "symbol": "BTCUSDT",
                               "direction": "above", "price": 70_000.0, "created_at": NOW}
    return AlertRecord(alert_id=alert_id, **(base | fields))  # type: ignore[arg-type]


PRICE = record(3)
PERCENT = record(4, kind="percent", price=68_250.0, base_price=65_000.0, recurring=True,
                 cooldown_s=HOUR, expires_at=NOW + 7 * DAY)
RSI = record(5, symbol="SOLUSDT", kind="rsi", direction="below", price=30.0, interval="4h")
WAITING = record(6, recurring=True, cooldown_s=1800.0, fired_at=NOW + HOUR,
                 fired_price=70_100.0)
COOLING = record(7, direction="below", price=60_000.0, recurring=True, cooldown_s=HOUR,
                 armed_from=NOW + HOUR)


# --- the confirmation ------------------------------------------------------------------------

def test_a_price_alert_confirmation_mentions_the_current_price_and_its_age() -> None:
    plan = AlertPlan(symbol="BTCUSDT", kind="price", direction="above", level=70_000.0)
    text = alert_set_text(3, plan, zone=BERLIN, now_price=65_000.0, now_age_s=120)
    assert shown(text) == ["✅ Alert #3 saved: BTCUSDT above 70,000.00 (now 65,000.00, 2 min old)"
                           ". I'll message you once when it crosses."]


def test_a_price_alert_already_reached_says_it_fires_at_once() -> None:
    # "/alert btc below 70k" at 65,000 fires at the next sweep: the confirmation said "once
    # when it crosses", and the notice seconds later came as a surprise.
    plan = AlertPlan(symbol="BTCUSDT", kind="price", direction="below", level=70_000.0)
    text = alert_set_text(3, plan, zone="UTC", now_price=65_000.0)
    assert shown(text) == ["✅ Alert #3 saved: BTCUSDT below 70,000.00 (now 65,000.00). "
                           "⚠️ The price is already below 70,000.00: it fires at the next "
                           "check, in a few seconds."]
    above = AlertPlan(symbol="BTCUSDT", kind="price", direction="above", level=70_000.0)
    assert "already" in alert_set_text(4, above, zone="UTC", now_price=70_000.0)
    assert "already" not in alert_set_text(5, above, zone="UTC", now_price=69_999.0)


def test_a_recurring_percent_alert_confirmation_shows_base_level_cool_down_and_local_end(
) -> None:
    plan = AlertPlan(symbol="BTCUSDT", kind="percent", direction="above", level=68_250.0,
                     percent=5.0, base_price=65_000.0, recurring=True, cooldown_s=HOUR,
                     expires_at=NOW + 7 * DAY)
    assert shown(alert_set_text(7, plan, zone=BERLIN)) == [
        "✅ Alert #7 saved: BTCUSDT +5% from 65,000.00 → above 68,250.00 · every time "
        "(cool-down 1 h) · ends 2026-12-13 05:30 Europe/Berlin. I'll message you each time "
        "it crosses."]


def test_a_percent_alert_measured_from_a_cached_price_says_how_old_it_was() -> None:
    plan = AlertPlan(symbol="ETHUSDT", kind="percent", direction="below", level=2700.0,
                     percent=-10.0, base_price=3000.0)
    text = visible_text(alert_set_text(8, plan, zone="UTC", now_age_s=90))
    assert text.startswith("✅ Alert #8 saved: ETHUSDT -10% from 3,000.00 → below 2,700.00 "
                           "(price 2 min old)")


def test_an_rsi_alert_confirmation_names_the_indicator_and_interval() -> None:
    plan = AlertPlan(symbol="SOLUSDT", kind="rsi", direction="below", level=30.0, interval="4h")
    assert shown(alert_set_text(9, plan, zone=BERLIN)) == [
        "✅ Alert #9 saved: SOLUSDT RSI(14) 4h below 30. I'll message you once when it crosses."]


def test_no_price_to_measure_from_is_an_honest_refusal() -> None:
    assert shown(no_base_price_text("BTCUSDT", 5.0)) == [
        "⚠️ I could not get BTCUSDT's price to measure +5% from, so no alert was set; try "
        "again in a moment."]


# --- the list --------------------------------------------------------------------------------

def test_the_list_describes_every_kind_in_the_users_time_zone() -> None:
    text = alerts_list_text([PRICE, PERCENT, RSI, WAITING, COOLING], zone=BERLIN, now=NOW)
    assert shown(text) == [
        "Your alerts (5)",
        "#3 BTCUSDT above 70,000.00 · set 2026-12-06",
        "#4 BTCUSDT +5% from 65,000.00 → above 68,250.00 · every time (cool-down 1 h), armed"
        " · ends 2026-12-13 05:30 Europe/Berlin · set 2026-12-06",
        "#5 SOLUSDT RSI(14) 4h below 30 · set 2026-12-06",
        "#6 BTCUSDT above 70,000.00 · every time (cool-down 30 min), fired, waiting to clear"
        " · set 2026-12-06",
        "#7 BTCUSDT below 60,000.00 · every time (cool-down 1 h), cooling down until 06:30"
        " · set 2026-12-06",
        "Details: /alerts ID · delete: /delalert ID or a button. Times: Europe/Berlin.",
    ]


def test_the_set_date_is_the_users_local_day() -> None:
    late = record(10, created_at=NOW + 19 * HOUR)  # 23:30 UTC is 00:30 the next day in Berlin
    assert "set 2026-12-07" in visible_text(alerts_list_text([late], zone=BERLIN, now=NOW))
    assert "set 2026-12-06" in visible_text(alerts_list_text([late], zone="UTC", now=NOW))


def test_no_alerts_shows_how_to_set_one() -> None:
    assert shown(alerts_list_text([], zone=BERLIN, now=NOW)) == [
        "You have no alerts. Set one with /alert btc above 70k."]


def test_only_live_alerts_are_listed() -> None:
    fired_once = record(11, fired_at=NOW, ended="fired")
    assert [is_listed(r) for r in (PRICE, PERCENT, RSI, WAITING, COOLING)] == [True] * 5
    assert not is_listed(fired_once)
    assert not is_listed(dataclasses.replace(PERCENT, ended="expired"))


def test_a_re_armed_one_shot_alert_waiting_to_clear_is_listed_and_says_so() -> None:
    # Re-armed from its notice, a fired one-shot alert is live again but waits for the price
    # to clear: it counts against the cap, so /alerts must show it (and its delete button).
    re_armed = record(13, fired_at=NOW, notified_at=NOW)
    assert is_listed(re_armed)
    assert shown(alerts_list_text([re_armed], zone="UTC", now=NOW))[1] == (
        "#13 BTCUSDT above 70,000.00 · once, fired, waiting to clear · set 2026-12-06")


def test_a_symbol_is_escaped() -> None:
    text = alerts_list_text([record(12, symbol="<B>USDT")], zone="UTC", now=NOW)
    assert "&lt;B&gt;USDT" in text and is_balanced(text)


# --- the details ----------------------------------------------------------------------------

def test_details_show_each_time_local_and_utc() -> None:
    fired = dataclasses.replace(PERCENT, fired_at=NOW + 2 * HOUR, fired_price=68_300.0)
    assert shown(alert_details_text(fired, zone=BERLIN, now=NOW + 3 * HOUR)) == [
        "Alert #4: BTCUSDT +5% from 65,000.00 → above 68,250.00",
        "Repeats: every time (cool-down 1 h)",
        "State: fired, waiting to clear",
        "Set: 2026-12-06 05:30 Europe/Berlin (2026-12-06 04:30 UTC)",
        "Expires: 2026-12-13 05:30 Europe/Berlin (2026-12-13 04:30 UTC)",
        "Last fired: 2026-12-06 07:30 Europe/Berlin (2026-12-06 06:30 UTC) at 68,300.00",
    ]


def test_details_of_an_rsi_alert_in_utc_say_it_once() -> None:
    assert shown(alert_details_text(RSI, zone="UTC", now=NOW)) == [
        "Alert #5: SOLUSDT RSI(14) 4h below 30",
        "Fires when RSI(14) on closed candles crosses the level.",
        "Repeats: once",
        "State: armed",
        "Set: 2026-12-06 04:30 UTC",
        "Expires: never",
        "Last fired: not yet",
    ]


def test_details_of_a_re_armed_alert_say_when_it_may_fire_again() -> None:
    lines = shown(alert_details_text(COOLING, zone=BERLIN, now=NOW))
    assert "State: cooling down until 06:30" in lines
    assert ("Last fired: before it re-armed; it may fire again from 2026-12-06 06:30 "
            "Europe/Berlin (2026-12-06 05:30 UTC)") in lines


def test_a_cool_down_ending_on_another_day_says_the_day() -> None:
    # A cool-down may last up to 7 days: "until 06:30" read as today when it meant in 3 days.
    later = dataclasses.replace(COOLING, armed_from=NOW + 3 * DAY + HOUR)
    text = visible_text(alerts_list_text([later], zone=BERLIN, now=NOW))
    assert "cooling down until 2026-12-09 06:30 ·" in text
    tomorrow = dataclasses.replace(COOLING, armed_from=NOW + 19 * HOUR)  # 00:30 next day
    assert "cooling down until 2026-12-07 00:30" in visible_text(
        alerts_list_text([tomorrow], zone=BERLIN, now=NOW))


def test_details_of_an_ended_alert_say_how_it_ended() -> None:
    expired = dataclasses.replace(PRICE, ended="expired")
    assert "State: expired" in shown(alert_details_text(expired, zone=BERLIN, now=NOW))


def test_someone_elses_alert_is_not_shown() -> None:
    assert shown(alert_not_yours_text(9)) == ["⚠️ Alert #9 is not one of yours; /alerts lists "
                                              "them."]


def test_spans_read_as_users_write_them() -> None:
    assert [span(s) for s in (45.0, 60.0, 1800.0, HOUR, 5400.0, 30 * HOUR, DAY, 7 * DAY)] == [
        "45 s", "1 min", "30 min", "1 h", "1 h 30 min", "30 h", "1 d", "7 d"]
