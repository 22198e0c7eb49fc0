"""What the fake Bot API tells its tests: every accepted outgoing call and every received call.

Kept apart so tests, the bench and the control API share one immutable record shape.
"""

from __future__ import annotations

from dataclasses import dataclass

from fakes.telegram.rules import Rows

__all__ = ["CallRecord", "InlineAnswerRecord", "InlineResultRecord", "SentRecord"]


@dataclass(frozen=True, slots=True)
class SentRecord:
    """One accepted outgoing call of the bot (what a user would see happen)."""

    method: str
    """Bot API method, e.g. "sendMessage"."""
    chat_id: int | None
    """Target chat (None for answerCallbackQuery)."""
    text: str | None
    """Text or caption as sent (HTML source), or the callback answer's text."""
    buttons: Rows
    """Inline keyboard as rows of (label, callback_data or url)."""
    message_id: int | None
    """The message created or edited."""
    photo_bytes: int
    """Size of an uploaded photo (0 otherwise)."""
    parse_mode: str | None
    """Parse mode of the text, if any."""
    callback_query_id: str | None
    """Answered callback query."""
    action: str | None
    """sendChatAction's action."""
    at: float
    """Server clock when it was accepted."""
    document: bytes | None = None
    """sendDocument: the uploaded file's bytes (empty for a file_id); None otherwise."""
    filename: str | None = None
    """sendDocument: the name the file was uploaded under."""


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One received call, accepted or not."""

    method: str
    """Method as named in the URL."""
    status: int
    """HTTP status answered; 0 when the connection was dropped."""
    chat_id: int | None
    """chat_id parameter, when given and numeric."""
    description: str | None
    """Error description for rejected calls."""
    fault: str | None
    """Injected fault mode that answered it, if any."""
    at: float
    """Server clock when it was answered."""


@dataclass(frozen=True, slots=True)
class InlineResultRecord:
    """One result of an accepted answerInlineQuery (only articles are modelled)."""

    result_id: str
    """The result's id, unique within its answer."""
    type: str
    """Result type, "article"."""
    title: str
    """Title shown in the results list."""
    description: str | None
    """Line below the title."""
    text: str
    """input_message_content.message_text: what is sent when the user picks it."""
    parse_mode: str | None
    """Parse mode of ``text``."""
    buttons: Rows
    """The result's inline keyboard, if any."""


@dataclass(frozen=True, slots=True)
class InlineAnswerRecord:
    """One accepted answerInlineQuery: what the user would see under the message box."""

    query_id: str
    """The inline query answered."""
    user_id: int
    """Who typed it."""
    query: str
    """What they had typed."""
    results: tuple[InlineResultRecord, ...]
    """The results offered, in order."""
    cache_time: int
    """Seconds Telegram may reuse the answer (300 when not given)."""
    is_personal: bool
    """Whether the answer may be reused only for this user."""
    next_offset: str
    """Pagination offset asked for ("" for none)."""
    at: float
    """Server clock when it was accepted."""
