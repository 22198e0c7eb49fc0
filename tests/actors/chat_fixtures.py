"""A chat subtree on the real market subtree, with a transport that records what it is sent."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pykka
import pytest

from actors.chat_tree import chat_spec
from actors.market_access import MarketAccess
from actors.market_tree import market_spec
from chat.parsing import read_text
from core.config import BotConfig
from core.logs import new_request_id
from fakes.exchange.simulator import ExchangeSimulator
from messages.chat import ButtonPressed, ChatAction, ChatCommand, ChatReply, RequestClosed
from supervision.actor import SupervisedActor
from supervision.address import Directory
from supervision.context import ChildContext
from supervision.supervisor import SupervisorSettings
from supervision.tree import SupervisionTree

ADMIN = 1
USER = 2


@dataclass
class Outbox:
    """Everything the transport was told, in order; tests wait on it instead of sleeping."""

    replies: list[ChatReply] = field(default_factory=list)
    actions: list[ChatAction] = field(default_factory=list)
    told: list[object] = field(default_factory=list)
    """Replies, actions and closed requests, in the order the transport got them."""
    changed: threading.Condition = field(default_factory=threading.Condition)

    def add(self, message: object) -> None:
        with self.changed:
            self.told.append(message)
            if isinstance(message, ChatReply):
                self.replies.append(message)
            elif isinstance(message, ChatAction):
                self.actions.append(message)
            self.changed.notify_all()

    def final_for(self, request_id: str, timeout: float = 15.0) -> list[ChatReply]:
        with self.changed:
            self.changed.wait_for(
                lambda: any(r.request_id == request_id and r.final for r in self.replies), timeout)
            return [r for r in self.replies if r.request_id == request_id]


class RecordingTransport(SupervisedActor):
    def __init__(self, ctx: ChildContext, *, outbox: Outbox) -> None:
        super().__init__(ctx)
        self.outbox = outbox

    def handle(self, message: Any) -> Any:
        match message:
            case ChatReply() | ChatAction() | RequestClosed():
                return self.outbox.add(message)
        return super().handle(message)


@dataclass
class Chat:
    tree: SupervisionTree
    outbox: Outbox
    simulator: ExchangeSimulator

    def send(self, text: str, *, user: int = USER, chat_type: str = "private") -> str:
        request_id = new_request_id()
        self.tree.address("conversation").tell(ChatCommand(
            request_id=request_id, chat_id=user, user_id=user, text=text, parsed=read_text(text),
            chat_type=chat_type))
        return request_id

    def ask(self, text: str, **options: Any) -> list[ChatReply]:
        return self.outbox.final_for(self.send(text, **options))

    def press(self, data: str, *, message_id: int = 7, user: int = USER) -> list[ChatReply]:
        request_id = new_request_id()
        self.tree.address("conversation").tell(ButtonPressed(
            request_id=request_id, chat_id=user, user_id=user, message_id=message_id,
            callback_id=f"cb-{request_id}", data=data))
        return self.outbox.final_for(request_id)


@pytest.fixture
def make_chat(simulator: ExchangeSimulator) -> Iterator[Callable[..., Chat]]:
    trees: list[SupervisionTree] = []

    def make(**overrides: Any) -> Chat:
        config = BotConfig().with_overrides(**{
            "exchange_urls": (simulator.base_url,), "admin_ids": (ADMIN,),
            "http_read_timeout_s": 1.0, "lazy_indicator": False, **overrides})
        settings = dataclasses.replace(SupervisorSettings(), heartbeat_interval_s=0.5)
        directory = Directory()
        market = MarketAccess(directory, deadline_s=10.0)
        outbox = Outbox()
        specs = [
            market_spec(config, settings),
            chat_spec(config, settings, market=market, directory=directory,
                      transport_factory=lambda ctx: RecordingTransport.start(ctx, outbox=outbox)),
        ]
        tree = SupervisionTree(specs, settings, directory=directory).start()
        trees.append(tree)
        assert tree.address("transport").wait_until_running(timeout=10)
        return Chat(tree, outbox, simulator)

    yield make
    for tree in trees:
        tree.stop(timeout_s=10)
    assert pykka.ActorRegistry.get_all() == []
