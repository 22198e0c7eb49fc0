"""What a reply turns into on Telegram: the calls to make, and the messages its slots became.

Why apart from the scheduler (``chat.outbound``): planning a reply (text chunks, a photo with
its caption, an edit of a remembered message) is a pure function of the reply, while the
scheduler decides *when* each call may go. :func:`plan_reply` turns a
:class:`~messages.chat.ChatReply` into :class:`OutboundStep`\\ s, and :class:`SlotMap`
remembers which Telegram message a reply slot became, for later edits.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from messages.chat import Button, ChatReply

__all__ = ["OutboundStep", "SlotMap", "StepKind", "plan_reply"]


class SlotMap:
    """(chat, slot name) -> Telegram message id, forgetting the least recently used."""

    def __init__(self, capacity: int = 4096) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self._capacity = capacity
        self._ids: OrderedDict[tuple[int, str], int] = OrderedDict()

    def remember(self, chat_id: int, slot: str, message_id: int) -> None:
        key = (chat_id, slot)
        self._ids[key] = message_id
        self._ids.move_to_end(key)
        while len(self._ids) > self._capacity:
            self._ids.popitem(last=False)

    def lookup(self, chat_id: int, slot: str) -> int | None:
        key = (chat_id, slot)
        message_id = self._ids.get(key)
        if message_id is not None:
            self._ids.move_to_end(key)
        return message_id

    def __len__(self) -> int:
        return len(self._ids)


class StepKind(Enum):
    """The Bot API call a step becomes."""

    TEXT = "text"
    """sendMessage, or editMessageText when the step has an edit target."""
    PHOTO = "photo"
    """sendPhoto with the text as caption."""
    DOCUMENT = "document"
    """sendDocument with the text as caption."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboundStep:
    """One Telegram call of a reply; the first carries the slot and edit, the last the keyboard."""

    kind: StepKind
    """What to call."""
    text: str
    """HTML text or caption (may be empty for a photo)."""
    buttons: tuple[tuple[Button, ...], ...] = ()
    """Inline keyboard (only on the last step)."""
    photo: bytes | None = None
    """Image bytes for PHOTO steps."""
    document: bytes | None = None
    """File bytes for DOCUMENT steps."""
    filename: str = "document"
    """The DOCUMENT step's file name."""
    edit_slot: str | None = None
    """Edit the message remembered under this slot (TEXT, first step only)."""
    edit_message_id: int | None = None
    """Edit this message (TEXT, first step only)."""
    remember_slot: str | None = None
    """Remember the resulting message id under this slot (first step only)."""
    index: int = 0
    """Position among the reply's steps."""
    total: int = 1
    """Number of steps of the reply."""

    @property
    def is_edit(self) -> bool:
        return self.edit_slot is not None or self.edit_message_id is not None

    @property
    def is_last(self) -> bool:
        return self.index == self.total - 1


Splitter = Callable[[str, int], list[str]]
"""``chat.chunking.split_html``: HTML into well-formed chunks of at most ``limit``."""


def plan_reply(
    reply: ChatReply, split: Splitter, *, text_limit: int = 4096, caption_limit: int = 1024
) -> tuple[OutboundStep, ...]:
    """The calls that deliver ``reply`` (not counting its callback answer), in order.

    Long texts become several messages; a long caption stays with the photo up to
    ``caption_limit`` and the rest follows as messages; a document's caption likewise. A photo
    or a document is always sent new (a text edit cannot change one). Empty when there is
    nothing to show.
    """
    if reply.photo is not None or reply.document is not None:
        captions = split(reply.text, caption_limit) if reply.text else []
        rest = split("\n".join(captions[1:]), text_limit) if len(captions) > 1 else []
        texts = [captions[0] if captions else "", *rest]
        first = StepKind.PHOTO if reply.photo is not None else StepKind.DOCUMENT
        kinds = [first] + [StepKind.TEXT] * len(rest)
        edit_slot, edit_message_id = None, None
    else:
        texts = split(reply.text, text_limit) if reply.text else []
        kinds = [StepKind.TEXT] * len(texts)
        edit_slot, edit_message_id = reply.edit_slot, reply.edit_message_id
    total = len(texts)
    return tuple(
        OutboundStep(
            kind=kind,
            text=text,
            buttons=reply.buttons if index == total - 1 else (),
            photo=reply.photo if kind is StepKind.PHOTO else None,
            document=reply.document if kind is StepKind.DOCUMENT else None,
            filename=reply.filename,
            edit_slot=edit_slot if index == 0 else None,
            edit_message_id=edit_message_id if index == 0 else None,
            remember_slot=reply.slot if index == 0 else None,
            index=index,
            total=total,
        )
        for index, (kind, text) in enumerate(zip(kinds, texts, strict=True))
    )
