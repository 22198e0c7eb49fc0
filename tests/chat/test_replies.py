"""The conversation's own texts are built in chat/, ready to send (alert notices:
test_alert_notices.py)."""

from __future__ import annotations

from chat.html import is_balanced
from chat.parsing import read_text
from chat.replies import (
    LOADING_TEXT,
    PRIVATE_TEXT,
    SORRY,
    not_available_text,
    rate_limited_text,
    reply,
)
from messages.chat import ButtonPressed, ChatCommand


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
