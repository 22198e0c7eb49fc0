"""Messages of the chat conversation: what transports hand in and what goes back out.

A transport (Telegram, the console) turns each update into a :class:`ChatCommand` or
:class:`ButtonPressed` for the conversation actor, and sends every :class:`ChatReply` it gets
back. Texts are HTML (Telegram's parse mode) with everything dynamic already escaped.

The loading-then-edit flow uses *slots*: a reply with ``slot="r1"`` makes the transport remember
the message id it got; a later reply with ``edit_slot="r1"`` edits that message in place. The
conversation never needs to know Telegram's message ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chat.parsing import Invocation, Reading

__all__ = [
    "Button",
    "ButtonPressed",
    "ChatAction",
    "ChatCommand",
    "ChatReply",
    "CommandDone",
    "LoadingCheck",
    "ReplyFailed",
    "RequestClosed",
    "RunCommand",
]


@dataclass(frozen=True, slots=True)
class Button:
    """One inline keyboard button."""

    text: str
    """Label shown to the user."""
    data: str
    """callback_data (encoded by chat.callbacks; at most 64 bytes)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatCommand:
    """A text message from a user (a command or plain text)."""

    request_id: str
    """Correlates every log line and reply caused by this update."""
    chat_id: int
    """Where to answer."""
    user_id: int
    """Who sent it (access control, rate limits, ownership of alerts): the user's id, or for a
    message sent on behalf of a chat (an anonymous group admin, a post as a channel) that
    chat's id, which is negative and so never any user's (docs/security.md)."""
    text: str
    """The message text as typed."""
    parsed: Reading
    """What the text means, read once by the transport (``chat.parsing.read_text``)."""
    chat_type: str = "private"
    """private, group, supergroup or channel (outbound limits differ)."""
    username: str | None = None
    """@username, for display only."""
    message_id: int | None = None
    """Telegram's id of the user's message (to reply to it)."""
    received_at: float = 0.0
    """Monotonic time the transport received it (end-to-end latency)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ButtonPressed:
    """A user pressed an inline button; must always be answered (CallbackAnswer)."""

    request_id: str
    """Correlates logs and replies."""
    chat_id: int
    """Chat of the message carrying the keyboard."""
    user_id: int
    """Who pressed it."""
    message_id: int
    """The message carrying the keyboard (edited in place by most buttons)."""
    callback_id: str
    """Telegram's callback query id, to answer it."""
    data: str
    """Raw callback_data as received (validated by chat.callbacks)."""
    chat_type: str = "private"
    """Chat kind, for outbound limits."""
    received_at: float = 0.0
    """Monotonic receive time."""
    data_on_message: bool = False
    """Whether ``data`` is one of the message's own buttons, as Telegram's copy of the message
    shows. A client may send any data for any message, so in a group only data that is on
    the message tells whom the message was made for (the owner encoded in it)."""
    message_date: float | None = None
    """Epoch seconds Telegram sent the message carrying the button (its own date, which an
    edit keeps; 0 for a message Telegram no longer shows the bot); None when not known."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatReply:
    """Something to show a user: a new message, an edit, a photo, a document, or a callback
    answer."""

    request_id: str
    """The request it answers."""
    chat_id: int
    """Destination chat."""
    text: str = ""
    """HTML text (or the photo caption); the transport splits texts over 4096 characters."""
    buttons: tuple[tuple[Button, ...], ...] = ()
    """Inline keyboard rows."""
    photo: bytes | None = None
    """PNG to send as a photo, with ``text`` as caption."""
    document: bytes | None = None
    """A file to send as a document (sendDocument) with ``text`` as caption; not with ``photo``."""
    filename: str = "document"
    """The document's file name as the user sees it (with ``document``)."""
    slot: str | None = None
    """Remember the sent message under this name (for a later edit)."""
    edit_slot: str | None = None
    """Edit the message remembered under this name instead of sending a new one."""
    edit_message_id: int | None = None
    """Edit this message (button presses know the id)."""
    callback_id: str | None = None
    """Answer this callback query (with ``toast`` as its text)."""
    toast: str | None = None
    """Short text shown by the callback answer."""
    chat_type: str = "private"
    """Chat kind, for outbound limits."""
    final: bool = True
    """False for interim messages (loading); latency is measured at the final one."""
    received_at: float = 0.0
    """Copied from the request, for end-to-end latency."""
    keep: bool = False
    """The outcome of a write the user asked for (saved, deleted, watched, refused, unconfirmed):
    a full outbound queue never drops it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatAction:
    """Show "typing…" or "sending photo…" while a slow answer is prepared."""

    chat_id: int
    """Destination chat."""
    action: str
    """typing or upload_photo."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplyFailed:
    """Transport to conversation: a reply could not be delivered after all retries."""

    request_id: str
    """The request whose reply failed."""
    chat_id: int
    """Destination chat."""
    reason: str
    """Why (never contains the token)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestClosed:
    """Conversation to transport: every reply of this request has been handed over (or none
    is due), so once those are delivered its update may be acked (the shared update stream)."""

    request_id: str
    """The request closed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RunCommand:
    """Conversation to a command worker: do the slow part of one request."""

    request: ChatCommand | ButtonPressed
    """The update being answered."""
    invocation: Invocation | None = None
    """The command with its typed arguments; None for a button press (its data says what)."""

    @property
    def request_id(self) -> str:
        return self.request.request_id

    @property
    def command(self) -> str:
        """Command name from the table, or "button" for a press (logs and /stats)."""
        return "button" if self.invocation is None else self.invocation.name


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandDone:
    """Command worker to conversation: the final replies of one request."""

    request_id: str
    """The request answered."""
    replies: tuple[ChatReply, ...]
    """Final replies, in order."""
    command: str
    """Command name (for the command log and /stats)."""
    outcome: str
    """ok, usage, degraded, unavailable, error."""
    worker: str = ""
    """Which command worker did it (load accounting)."""
    user_id: int | None = None
    """Who asked (the command log's ``user_id``, so /forget and /export can find the rows)."""


@dataclass(frozen=True, slots=True)
class LoadingCheck:
    """Conversation's own timer: show a loading message for requests still running."""
