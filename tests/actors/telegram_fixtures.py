"""The Telegram transport's test harness: the real actor in a SupervisionTree, PTB against the
fake Bot API on loopback, and a conversation that echoes and records.

Import the fixtures you use into the test module (pytest finds them under their names there).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pykka
import pytest

from actors.telegram_io import TelegramIO
from actors.telegram_loop import TransportTuning
from chat.html import escape
from chat.outbound import DeliveryPolicy, OutboundLimits
from core.config import BotConfig
from fakes.telegram.bot_api import FakeBotApi, FloodRules, SentRecord
from messages.chat import (
    Button,
    ButtonPressed,
    ChatAction,
    ChatCommand,
    ChatReply,
    ReplyFailed,
)
from supervision.actor import SupervisedActor
from supervision.context import ChildContext
from supervision.snapshot import ActorSnapshot
from supervision.spec import ChildSpec
from supervision.tree import SupervisionTree

TOKEN = "123456789:AAEhBP0av28ntIfnmYsaRgCc3dS5Xl0XvYs"
CHAT = 42
USER = 7
WAIT_S = 15.0
# A 1x1 PNG: the fake checks the signature and reads the size from IHDR.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082"
)
# Ten times Telegram's pace on both sides, so a 20-message burst takes 2 s instead of 20.
FAST = TransportTuning(
    limits=OutboundLimits().scaled(0.1),
    delivery=DeliveryPolicy(max_attempts=3, retry_window_s=0.0, backoff_base_s=0.05,
                            backoff_cap_s=0.2),
    startup_retry_base_s=0.05,
    startup_retry_cap_s=0.2,
    lifecycle_timeout_s=10.0,
)


class Journal:
    """What the test conversation received, with a condition to wait on."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.messages: list[object] = []

    def add(self, message: object) -> None:
        with self.changed:
            self.messages.append(message)
            self.changed.notify_all()

    def of(self, kind: type) -> list[Any]:
        with self.changed:
            return [message for message in self.messages if isinstance(message, kind)]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = WAIT_S) -> bool:
        with self.changed:
            return self.changed.wait_for(predicate, timeout)


LONG_TEXT = "\n".join(f"<b>line {n}</b> " + "x" * 90 for n in range(100))


class EchoConversation(SupervisedActor):
    """Records what arrives and answers each command the way the real conversation would."""

    def __init__(self, ctx: ChildContext, *, journal: Journal) -> None:
        super().__init__(ctx)
        self._journal = journal
        self._transport = ctx.directory["transport"]

    def handle(self, message: Any) -> Any:
        match message:
            case ChatCommand():
                self._journal.add(message)
                return self._answer(message)
            case ButtonPressed():
                self._journal.add(message)
                return self._transport.tell(ChatReply(
                    request_id=message.request_id, chat_id=message.chat_id,
                    text=f"pressed {escape(message.data)}", edit_message_id=message.message_id,
                    callback_id=message.callback_id, toast="ok"))
            case ReplyFailed():
                return self._journal.add(message)
        return super().handle(message)

    def _answer(self, command: ChatCommand) -> None:
        word, _, rest = command.text.partition(" ")
        for reply in self._replies(word, rest, command):
            self._transport.tell(reply)

    def _replies(self, word: str, rest: str, command: ChatCommand) -> list[ChatReply | ChatAction]:
        def reply(text: str = "", **extra: Any) -> ChatReply:
            return ChatReply(request_id=command.request_id, chat_id=command.chat_id, text=text,
                             chat_type=command.chat_type, received_at=command.received_at,
                             **extra)

        slot = f"loading:{command.request_id}"
        match word:
            case "/long":
                return [reply(LONG_TEXT)]
            case "/slow":
                return [reply("Loading…", slot=slot, final=False),
                        reply("<b>Done</b>", edit_slot=slot)]
            case "/same":
                return [reply("Same", slot=slot, final=False), reply("Same", edit_slot=slot)]
            case "/photo":
                return [ChatAction(chat_id=command.chat_id, action="upload_photo"),
                        reply("<i>BTC 1h</i>", photo=PNG)]
            case "/burst":
                return [reply(f"n{n}") for n in range(int(rest))]
            case "/document":
                return [reply("<b>Your data</b>", document=b'{"schema": 1}',
                              filename="export.json")]
            case "/keyboard":
                return [reply("Pick", buttons=((Button("Refresh", "refresh:1"),),))]
            case "/badbutton":
                return [reply("Pick", buttons=((Button("Too long", "x" * 65),),))]
            case "/badhtml":
                return [reply("1 < 2 <b>bold")]
            case "/editgone":
                return [reply("fresh", edit_message_id=999)]
        return [reply(f"echo: {escape(command.text)}")]


@dataclass
class Bot:
    fake: FakeBotApi
    tree: SupervisionTree
    journal: Journal = field(default_factory=Journal)

    def say(self, text: str) -> None:
        self.fake.push_message(CHAT, USER, text, username="ann")

    def sent(self, method: str) -> list[SentRecord]:
        return self.fake.sent(CHAT, method)

    def texts(self) -> list[str | None]:
        return [record.text for record in self.sent("sendMessage")]

    def wait_until(self, predicate: Callable[[], bool]) -> None:
        assert self.fake.wait_for(predicate, WAIT_S), "the fake never saw it"

    def wait_for_texts(self, count: int) -> list[str | None]:
        self.wait_until(lambda: len(self.texts()) >= count)
        return self.texts()

    def transport(self) -> ActorSnapshot:
        node = self.tree.snapshot(timeout_s=5).find("transport")
        assert node is not None
        return node


@pytest.fixture
def fake() -> Iterator[FakeBotApi]:
    with FakeBotApi(token=TOKEN, flood=FloodRules().scaled(0.1)) as server:
        yield server


@pytest.fixture
def make_bot(fake: FakeBotApi) -> Iterator[Callable[..., Bot]]:
    trees: list[SupervisionTree] = []

    def make(tuning: TransportTuning = FAST, admin_ids: tuple[int, ...] = ()) -> Bot:
        config = BotConfig().with_overrides(telegram_token=TOKEN, telegram_api_url=fake.base_url,
                                            admin_ids=admin_ids)
        journal = Journal()
        specs = [
            ChildSpec(name="conversation",
                      factory=lambda ctx: EchoConversation.start(ctx, journal=journal)),
            ChildSpec(name="transport", depends_on=("conversation",),
                      factory=lambda ctx: TelegramIO.start(ctx, config=config, tuning=tuning)),
        ]
        tree = SupervisionTree(specs).start()
        trees.append(tree)
        assert fake.wait_for(lambda: fake.polling() > 0, WAIT_S), "the bot never started polling"
        return Bot(fake, tree, journal)

    yield make
    for tree in trees:
        tree.stop(timeout_s=15)
    assert pykka.ActorRegistry.get_all() == []


@pytest.fixture
def bot(make_bot: Callable[..., Bot]) -> Bot:
    return make_bot()
