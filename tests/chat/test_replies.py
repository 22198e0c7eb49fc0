"""The conversation's own texts and the alert notification are built in chat/, ready to send."""

from __future__ import annotations

from chat.html import is_balanced
from chat.keyboards import alert_fired_keyboard
from chat.parsing import read_text
from chat.replies import (
    LOADING_TEXT,
    PRIVATE_TEXT,
    SORRY,
    fired_notification,
    not_available_text,
    rate_limited_text,
    reply,
)
from messages.chat import ButtonPressed, ChatCommand
from messages.storage import AlertRecord


def test_the_notification_names_the_alert_and_offers_analysis_and_rearm():
    alert = AlertRecord(alert_id=42, user_id=1, chat_id=5, symbol="BTCUSDT", direction="below",
                        price=60_000.0, created_at=1.0, fired_at=2.5, fired_price=59_990.5)
    reply = fired_notification(alert)
    assert (reply.chat_id, reply.request_id) == (5, "alert-42-2500")
    assert reply.text == ("🔔 <b>BTCUSDT</b> is below 60,000.00\n"
                          "Last price: 59,990.50 · alert #42 (now off)")
    assert reply.buttons == alert_fired_keyboard("BTCUSDT", 42, owner=1)


def test_the_short_texts_are_valid_html() -> None:
    for text in (SORRY, LOADING_TEXT, PRIVATE_TEXT, rate_limited_text(12.3),
                 not_available_text("actors")):
        assert is_balanced(text)
    assert rate_limited_text(12.3).endswith("I'll listen again in 12 s.")
    assert not_available_text("actors") == "/actors is not available."


def test_a_reply_to_a_command_is_a_new_message_in_its_chat() -> None:
    command = ChatCommand(request_id="r1", chat_id=5, user_id=7, text="/top",
                          parsed=read_text("/top"), chat_type="group", received_at=3.0)
    answer = reply(command, "hi")
    assert (answer.request_id, answer.chat_id, answer.chat_type, answer.received_at) == (
        "r1", 5, "group", 3.0)
    assert answer.edit_message_id is None and answer.callback_id is None


def test_a_reply_to_a_button_edits_its_message_and_answers_the_press() -> None:
    pressed = ButtonPressed(request_id="r2", chat_id=5, user_id=7, message_id=9,
                            callback_id="cb", data="1|w")
    answer = reply(pressed, "hi")
    assert (answer.edit_message_id, answer.callback_id) == (9, "cb")
