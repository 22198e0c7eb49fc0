"""The conversation's own reply texts, and :func:`reply`, which addresses a reply to a request.

Why here: every text a user sees lives in ``chat/`` (cards for data, this module for the
conversation's short answers), so the actors only decide *when* to say something.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from chat.alert_notices import fired_notification
from chat.chunking import cap_messages
from chat.html import escape
from messages.chat import Button, ButtonPressed, ChatCommand, ChatReply

__all__ = [
    "ALREADY_RUNNING",
    "BUTTON_NOT_AVAILABLE",
    "CommandResult",
    "LOADING_TEXT",
    "NOT_YOURS",
    "PRIVATE_TEXT",
    "SORRY",
    "fired_notification",
    "needs_storage_text",
    "not_available_text",
    "rate_limited_text",
    "reply",
]

SORRY = "😕 Something went wrong on our side while answering. Please try again in a moment."
"""A worker failed or never answered."""
LOADING_TEXT = "⏳ Working on it…"
"""Shown when an answer takes longer than ~300 ms; the answer then replaces it."""
PRIVATE_TEXT = "Sorry, this bot is private."
"""To users outside ``allowed_users`` (text and button toast alike)."""
BUTTON_NOT_AVAILABLE = "This button is not available."
"""Toast for a valid button whose feature is off (no storage)."""
ALREADY_RUNNING = "⏳ Already on it…"
"""Toast for a press identical to one still running on the same message."""
NOT_YOURS = "This button isn't yours — send the command yourself."
"""Toast for a press on a button made for someone else (groups)."""


class CommandResult(NamedTuple):
    """What a command handler returns: its final replies and how it went."""

    replies: tuple[ChatReply, ...]
    """In order; the conversation sends them (the first may replace a loading message)."""
    outcome: str
    """ok, usage, degraded, unavailable or error (the command log and /stats)."""


def needs_storage_text(name: str) -> str:
    """/alerts and friends on a bot run without a database."""
    return f"/{escape(name)} is not available here: this bot runs without a database."


def rate_limited_text(wait_s: float) -> str:
    """The one warning a user over the rate limit gets before being ignored for a while."""
    return (f"🐢 You're sending commands faster than I can answer. "
            f"I'll listen again in {wait_s:.0f} s.")


def not_available_text(name: str) -> str:
    """The neutral answer to an admin command from someone else (it does not say it exists)."""
    return f"/{escape(name)} is not available."


def reply(request: ChatCommand | ButtonPressed, text: str,
          buttons: tuple[tuple[Button, ...], ...] = (), **fields: Any) -> ChatReply:
    """A reply to ``request``; button presses edit the message that carried the button.

    The text is capped (``chat.chunking.cap_messages``): one command never becomes more than
    ``MAX_REPLY_MESSAGES`` messages, whatever it quotes or lists."""
    text = cap_messages(text)
    if isinstance(request, ButtonPressed):
        fields.setdefault("edit_message_id", request.message_id)
        fields.setdefault("callback_id", request.callback_id)
    return ChatReply(
        request_id=request.request_id,
        chat_id=request.chat_id,
        text=text,
        buttons=buttons,
        chat_type=request.chat_type,
        received_at=request.received_at,
        **fields,
    )
