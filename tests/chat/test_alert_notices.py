"""Alert notices are built in chat/: each kind says what it reached, a recurring alert that it
re-arms, an expiry that it ended; times in the owner's zone; one stable request id per event."""

from __future__ import annotations

import dataclasses

from chat.alert_notices import (
    expired_notification,
    fired_notification,
    held_notices,
    notice_for,
)
from chat.html import is_balanced
from chat.keyboards import alert_fired_keyboard
from messages.storage import AlertRecord

JUNE_NOON = 1_749_988_800.0
"""2025-06-15 12:00:00 UTC, 14:00 in Berlin."""
PRICE = AlertRecord(alert_id=42, user_id=1, chat_id=5, symbol="BTCUSDT", direction="below",
                    price=60_000.0, created_at=1.0, fired_at=2.5, fired_price=59_990.5,
                    ended="fired")


def test_a_price_notice_names_the_level_the_last_price_and_offers_analysis_and_rearm():
    reply = fired_notification(PRICE)
    assert (reply.chat_id, reply.request_id) == (5, "alert-42-2500")
    assert reply.text == ("🔔 <b>BTCUSDT</b> is below 60,000.00\n"
                          "Last price: 59,990.50 at 00:00 UTC · alert #42 (now off)")
    assert reply.buttons == alert_fired_keyboard("BTCUSDT", 42, owner=1)


def test_a_percent_notice_says_the_move_from_the_price_it_was_set_at():
    alert = dataclasses.replace(PRICE, kind="percent", direction="above", price=105.0,
                                base_price=100.0, fired_price=105.5)
    text = fired_notification(alert).text
    assert "moved +5% (above 105.0000 from 100.0000)" in text and is_balanced(text)


def test_an_rsi_notice_names_the_interval_and_shows_the_rsi_not_a_price():
    alert = dataclasses.replace(PRICE, symbol="SOLUSDT", kind="rsi", interval="4h",
                                price=30.0, fired_price=28.46)
    reply = fired_notification(alert)
    assert reply.text.startswith("🔔 <b>SOLUSDT</b> RSI(14) 4h is below 30\nRSI: 28.5 at")
    assert reply.buttons == alert_fired_keyboard("SOLUSDT", 42, "4h", owner=1)


def test_a_recurring_notice_says_it_re_arms_and_offers_no_rearm_button():
    alert = dataclasses.replace(PRICE, recurring=True, ended=None)
    reply = fired_notification(alert)
    assert "(re-arms after it clears)" in reply.text
    assert [button.text for row in reply.buttons for button in row] == ["Analysis"]


def test_times_are_shown_in_the_owners_zone():
    alert = dataclasses.replace(PRICE, fired_at=JUNE_NOON)
    assert "at 14:00 CEST" in fired_notification(alert, "Europe/Berlin").text
    assert "at 08:00 EDT" in fired_notification(alert, "America/New_York").text


def test_an_expiry_says_the_alert_ended_without_firing_once_per_alert():
    alert = dataclasses.replace(PRICE, fired_at=None, fired_price=None, ended="expired",
                                expires_at=JUNE_NOON)
    reply = expired_notification(alert, "UTC")
    assert reply.request_id == "alert-42-expired"
    assert reply.text.startswith("⌛ Alert #42 ended without firing: <b>BTCUSDT</b> below")
    assert "Expired at 12:00 UTC" in reply.text and is_balanced(reply.text)
    assert notice_for(alert) == expired_notification(alert)
    assert notice_for(PRICE) == fired_notification(PRICE)


def test_held_notices_are_one_message_with_a_line_each_and_a_stable_id():
    fired = dataclasses.replace(PRICE, fired_at=JUNE_NOON)
    expired = dataclasses.replace(PRICE, alert_id=43, fired_at=None, ended="expired",
                                  expires_at=JUNE_NOON + 60)
    reply = held_notices([fired, expired], "Europe/Berlin")
    lines = reply.text.splitlines()
    assert lines[0] == "🌙 While your quiet hours were on (2 alerts):"
    assert lines[1].startswith("🔔 14:00 CEST · #42 <b>BTCUSDT</b> below 60,000.00")
    assert lines[2].startswith("⌛ 14:01 CEST · #43") and lines[2].endswith("expired")
    assert reply.chat_id == 5 and is_balanced(reply.text)
    assert reply.request_id == held_notices([fired, expired], "UTC").request_id
    alone = held_notices([fired], "UTC")
    assert alone.request_id != reply.request_id
    assert alone.text.startswith("🌙 While your quiet hours were on (1 alert):")



def test_the_analysis_button_opens_the_owners_default_interval_or_the_rsi_alerts_own():
    assert fired_notification(PRICE, interval="4h").buttons == alert_fired_keyboard(
        "BTCUSDT", 42, "4h", owner=1)
    rsi = dataclasses.replace(PRICE, kind="rsi", interval="15m", price=30.0)
    assert notice_for(rsi, interval="4h").buttons == alert_fired_keyboard(
        "BTCUSDT", 42, "15m", owner=1)
