"""The console transport: the demo's stand-in for Telegram, same conversation behind it.

A :class:`ConsoleSession` (created by ``bot.py demo``, outside the tree) reads stdin on its own
thread and turns each line into a ``ChatCommand`` (its meaning read once, as Telegram's
transport does) — or, when the line is a number shown next to
a button, into a ``ButtonPressed`` — and sends it to the conversation's address. The
:class:`ConsoleIO` actor (registered as ``transport``) prints every reply as plain text, with
its buttons as numbered choices. The session keeps the reader thread and the count of
unanswered requests, so a restart of the actor loses neither; at end of input the demo waits
for every answer before it shuts down.
"""

from __future__ import annotations

import html
import re
import threading
from dataclasses import dataclass
from typing import Any, TextIO

from chat.parsing import read_text
from core.logs import new_request_id
from messages.chat import (
    Button,
    ButtonPressed,
    ChatAction,
    ChatCommand,
    ChatReply,
    RequestClosed,
)
from supervision.actor import SupervisedActor
from supervision.address import Address
from supervision.context import ChildContext
from core.stats import ActorStats

__all__ = ["DEMO_USER_ID", "ConsoleIO", "ConsoleSession", "ConsoleStats", "plain_text"]

_TAG = re.compile(r"<[^>]+>")
ANSWER_WAIT_S = 60.0
DEMO_CHAT_ID = 1
DEMO_USER_ID = 1


def plain_text(markup: str) -> str:
    """Telegram HTML as console text: tags dropped, entities decoded."""
    return html.unescape(_TAG.sub("", markup))


class ConsoleSession:
    """Reads commands from ``source`` and tracks which ones still wait for an answer."""

    def __init__(self, source: TextIO, sink: TextIO, *, echo: bool) -> None:
        self.sink = sink
        self._source = source
        self._echo = echo
        self._lock = threading.Lock()
        self._settled = threading.Condition(self._lock)
        self._outstanding: set[str] = set()
        self._buttons: list[Button] = []
        self._button_message_id = 0
        self._message_ids = 0
        self.input_closed = threading.Event()
        self._reader: threading.Thread | None = None

    # -- the reader (its own thread) -----------------------------------------------------------

    def start(self, conversation: Address, stop: threading.Event) -> None:
        self._reader = threading.Thread(
            target=self._read, args=(conversation, stop), name="console-reader", daemon=True)
        self._reader.start()

    def _read(self, conversation: Address, stop: threading.Event) -> None:
        for line in self._source:
            if stop.is_set():
                break
            text = line.strip()
            if not text:
                continue
            if text.lower() in ("/quit", "/exit"):
                break
            if self._echo:
                self.print(f"> {text}")
            message = self._to_message(text)
            conversation.tell(message)
            # Like a person, wait for the answer before the next line: piped transcripts then
            # read in order, and a number typed next refers to the buttons just shown.
            with self._settled:
                self._settled.wait_for(
                    lambda: message.request_id not in self._outstanding or stop.is_set(),
                    ANSWER_WAIT_S,
                )
        self.input_closed.set()
        with self._settled:
            self._settled.notify_all()

    def _to_message(self, text: str) -> ChatCommand | ButtonPressed:
        request_id = new_request_id()
        with self._lock:
            self._outstanding.add(request_id)
            if text.isdigit() and 1 <= int(text) <= len(self._buttons):
                button = self._buttons[int(text) - 1]
                return ButtonPressed(request_id=request_id, chat_id=DEMO_CHAT_ID,
                                     user_id=DEMO_USER_ID, message_id=self._button_message_id,
                                     callback_id=request_id, data=button.data)
        return ChatCommand(request_id=request_id, chat_id=DEMO_CHAT_ID, user_id=DEMO_USER_ID,
                           text=text, parsed=read_text(text), username="demo")

    # -- called by the actor ---------------------------------------------------------------------

    def print(self, text: str) -> None:
        with self._lock:
            self.sink.write(text + "\n")
            self.sink.flush()

    def next_message_id(self) -> int:
        with self._lock:
            self._message_ids += 1
            return self._message_ids

    def offer_buttons(self, message_id: int, buttons: list[Button]) -> None:
        with self._lock:
            self._buttons, self._button_message_id = buttons, message_id

    def answered(self, request_id: str) -> None:
        with self._settled:
            self._outstanding.discard(request_id)
            self._settled.notify_all()

    def wait_until_done(self, timeout_s: float, abort: threading.Event) -> bool:
        """After end of input, wait until every command got its final answer."""
        with self._settled:
            return self._settled.wait_for(
                lambda: abort.is_set() or (self.input_closed.is_set() and not self._outstanding),
                timeout_s,
            )


@dataclass(frozen=True, slots=True)
class ConsoleStats(ActorStats):
    """The console transport's figures."""

    printed: int
    """Replies printed."""


class ConsoleIO(SupervisedActor):
    """Prints replies for the console session (the demo's ``transport``)."""

    def __init__(self, ctx: ChildContext, *, session: ConsoleSession) -> None:
        super().__init__(ctx)
        self._session = session
        self._slots: dict[str, int] = {}
        self._printed = 0

    def handle(self, message: Any) -> Any:
        match message:
            case ChatReply():
                return self._on_reply(message)
            case ChatAction():
                return None  # a console has no "typing…" indicator
            case RequestClosed():
                return None  # nothing to ack: a console reads no shared update stream
        return super().handle(message)

    def stats(self) -> ConsoleStats:
        return ConsoleStats(printed=self._printed)

    def _on_reply(self, reply: ChatReply) -> None:
        session = self._session
        edited = reply.edit_slot is not None or reply.edit_message_id is not None
        if reply.toast:
            session.print(f"({reply.toast})")
        if reply.text or reply.photo is not None:
            message_id = self._slots.get(reply.edit_slot or "", 0) or reply.edit_message_id
            if not message_id:
                message_id = session.next_message_id()
            if reply.slot is not None:
                self._slots[reply.slot] = message_id
            lines = []
            if reply.photo is not None:
                lines.append(f"[chart: {len(reply.photo) // 1024} KB PNG]")
            lines.append(plain_text(reply.text))
            if reply.buttons:
                flat = [button for row in reply.buttons for button in row]
                session.offer_buttons(message_id, flat)
                lines.append("  ".join(f"[{n}] {b.text}" for n, b in enumerate(flat, 1)))
            prefix = "(updated) " if edited and reply.final else ""
            session.print(prefix + "\n".join(lines))
            self._printed += 1
        if reply.final:
            session.answered(reply.request_id)
