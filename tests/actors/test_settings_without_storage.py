"""A bot run without a database has no settings to keep: /settings says so, and every command
uses the defaults (the 1h interval, the compact card, UTC)."""

from __future__ import annotations

from chat.callbacks import SettingButton, encode
from chat.html import visible_text
from messages.chat import ChatReply
from tests.actors.chat_fixtures import USER, make_chat  # noqa: F401 (fixture)


def text_of(replies: list[ChatReply]) -> str:
    return "\n".join(visible_text(r.text) for r in replies if r.final)


def test_settings_are_not_available_and_analysis_uses_the_defaults(make_chat):
    chat = make_chat()
    assert "not available here" in text_of(chat.ask("/settings"))
    assert "not available here" in text_of(chat.ask("/settings interval 4h"))
    card = text_of(chat.ask("/analysis btc"))
    assert "BTCUSDT · 1h" in card and "UTC" in card and "Support" not in card


def test_a_settings_button_is_not_available_either(make_chat):
    chat = make_chat()
    replies = chat.press(encode(SettingButton("interval", "4h"), USER))
    assert [r.toast for r in replies if r.toast] == ["This button is not available."]


def test_a_bad_setting_is_refused_before_any_worker_is_asked(make_chat):
    chat = make_chat()
    answer = text_of(chat.ask("/settings style loud"))
    assert "compact or detailed" in answer and "Example: /settings style detailed" in answer
