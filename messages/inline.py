"""Messages of inline mode: ``@thebot btc`` typed in any chat, and the results offered back.

A module of its own (not ``messages.chat``): an inline query is neither a message in a chat
nor a button press. It has no chat to answer in, it is answered exactly once with a list of
results (``answerInlineQuery``), and Telegram sends one per keystroke, so most of them are
superseded before they are worth any work. Flow: transport -> :class:`InlineQueryReceived` ->
conversation (coalescing, rate limit: ``chat.inline_policy``) -> :class:`RunInline` -> command
worker -> :class:`InlineDone` -> conversation -> :class:`InlineAnswer` -> transport.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chat.inline_query import InlineReading

__all__ = ["InlineAnswer", "InlineArticle", "InlineDone", "InlineQueryReceived", "RunInline"]


@dataclass(frozen=True, slots=True, kw_only=True)
class InlineQueryReceived:
    """A user typed ``@thebot <query>`` somewhere; Telegram waits for the results."""

    request_id: str
    """Correlates every log line about this query."""
    query_id: str
    """Telegram's inline query id, answered at most once."""
    user_id: int
    """Who is typing (rate limits, coalescing)."""
    query: str
    """The text after the bot's username (at most 256 characters)."""
    offset: str = ""
    """Telegram's pagination offset (the bot never sets next_offset, so always "")."""
    chat_type: str | None = None
    """Where the user is typing: "sender" (their chat with the bot), private, group,
    supergroup, channel; None when Telegram does not say (e.g. secret chats)."""
    received_at: float = 0.0
    """Monotonic time the transport received it (end-to-end latency)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class InlineArticle:
    """One result offered: a title and description in the list, a message when picked."""

    result_id: str
    """Unique within the answer, 1-64 bytes."""
    title: str
    """Plain text shown in bold in the results list."""
    description: str
    """Plain text shown below the title."""
    html: str
    """The message sent to the chat when the user picks it (HTML, escaped, <= 4096 chars)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class InlineAnswer:
    """What to answer one inline query with (answerInlineQuery)."""

    request_id: str
    """The query answered (logs)."""
    query_id: str
    """Telegram's inline query id."""
    results: tuple[InlineArticle, ...]
    """At most 50, never empty (an empty or unknown query gets help)."""
    cache_time_s: int
    """How long Telegram may serve these results again for the same query."""
    is_personal: bool
    """True when the results are for this user only (a rate-limit warning); market answers
    are the same for everyone, so Telegram may reuse them for other users."""
    received_at: float = 0.0
    """Copied from the query, for end-to-end latency."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RunInline:
    """Conversation to a command worker: prepare the results of one inline query."""

    query: InlineQueryReceived
    """The query, as received."""
    reading: InlineReading
    """What it asks for, read once by the conversation (``chat.inline_query``)."""

    @property
    def request_id(self) -> str:
        return self.query.request_id


@dataclass(frozen=True, slots=True, kw_only=True)
class InlineDone:
    """Command worker to conversation: the results of one inline query, ready to send."""

    request_id: str
    """The query answered."""
    user_id: int
    """Whose query it was (frees their slot)."""
    answer: InlineAnswer
    """What to send."""
    outcome: str
    """ok, degraded (stale data), unknown (help for an unknown coin), unavailable, error."""
    worker: str = ""
    """Which command worker did it (load accounting)."""
