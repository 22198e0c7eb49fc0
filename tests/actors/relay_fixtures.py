"""Several instances of the Telegram transport in one process, sharing one fake Bot API and one
Redis: each a real TelegramIO (real PTB, real relay threads) in its own SupervisionTree with a
conversation that answers and closes every command the way the real one does with Redis.

Import the fixtures you use into the test module (pytest finds them under their names there).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pykka
import pytest

from actors.telegram_io import TelegramIO
from actors.telegram_loop import TelegramLoop, TransportTuning
from actors.telegram_stats import StreamStats, TransportStats
from actors.update_settings import RelayTuning
from chat.html import escape
from core.config import BotConfig
from fakes.telegram.bot_api import FakeBotApi
from messages.chat import ChatCommand, ChatReply, ReplyFailed, RequestClosed
from supervision.actor import SupervisedActor
from supervision.context import ChildContext
from supervision.spec import ChildSpec
from supervision.tree import SupervisionTree
from tests.actors.telegram_fixtures import FAST, TOKEN, WAIT_S, Journal

# Production timings divided by about five to ten, so a takeover takes well under a second.
RELAY = RelayTuning(lease_ttl_ms=600, renew_every_s=0.1, read_block_ms=50,
                    claim_dead_idle_ms=100, autoclaim_idle_ms=5_000, reclaim_every_s=0.1,
                    conflict_backoff_s=0.5, join_timeout_s=3.0)
SHARED = dataclasses.replace(FAST, poll_timeout_s=1, relay=RELAY)
HOOK_URL = "https://bot.example.org/telegram/hook"


def eventually(predicate: Callable[[], bool], timeout_s: float = WAIT_S) -> bool:
    """Re-check ``predicate`` until it holds or the deadline passes (for figures that nobody
    signals: the relay's counters, Redis TTLs running out)."""
    beat = threading.Event()
    for _ in range(int(timeout_s / 0.02)):
        if predicate():
            return True
        beat.wait(0.02)
    return predicate()


class ClosingConversation(SupervisedActor):
    """Answers each command with one echo and then closes it, as the real conversation does
    with Redis; with ``hold`` it never answers ``/hold ...`` (a command still running when its
    instance dies)."""

    def __init__(self, ctx: ChildContext, *, journal: Journal, hold: bool) -> None:
        super().__init__(ctx)
        self._journal = journal
        self._hold = hold
        self._transport = ctx.directory["transport"]

    def handle(self, message: Any) -> Any:
        match message:
            case ChatCommand():
                self._journal.add(message)
                if self._hold and message.text.startswith("/hold"):
                    return None
                self._transport.tell(ChatReply(request_id=message.request_id,
                                               chat_id=message.chat_id,
                                               text=f"echo: {escape(message.text)}"))
                return self._transport.tell(RequestClosed(request_id=message.request_id))
            case ReplyFailed():
                return self._journal.add(message)
        return super().handle(message)


class CapturedIO(TelegramIO):
    """The production transport, which lets the test reach its loop (to kill it)."""

    def __init__(self, ctx: ChildContext, *, loops: list[TelegramLoop], **kwargs: Any) -> None:
        super().__init__(ctx, **kwargs)
        self._captured = loops

    def setup(self) -> None:
        super().setup()
        assert self._loop is not None
        self._captured.append(self._loop)


@dataclass
class Instance:
    name: str
    tree: SupervisionTree
    config: BotConfig
    journal: Journal = field(default_factory=Journal)
    loops: list[TelegramLoop] = field(default_factory=list)

    def stream(self) -> StreamStats:
        node = self.tree.snapshot(timeout_s=5).find("transport")
        assert node is not None and isinstance(node.stats, TransportStats)
        assert node.stats.stream is not None
        return node.stats.stream

    def restarts(self) -> int:
        node = self.tree.snapshot(timeout_s=5).find("transport")
        assert node is not None
        return node.restarts

    def kill(self) -> None:
        """What kill -9 does to this instance's transport: everything stops, nothing is
        released, acked or sent any more."""
        self.loops[-1].kill()

    def commands(self) -> list[ChatCommand]:
        return self.journal.of(ChatCommand)


@pytest.fixture
def make_instance(fake: FakeBotApi, redis_url: str) -> Iterator[Callable[..., Instance]]:
    trees: list[SupervisionTree] = []

    def make(name: str, *, hold: bool = False, webhook_port: int | None = None,
             tuning: TransportTuning = SHARED) -> Instance:
        overrides: dict[str, object] = {}
        if webhook_port is not None:
            overrides = {"telegram_mode": "webhook", "webhook_url": HOOK_URL,
                         "webhook_listen": "127.0.0.1", "webhook_port": webhook_port}
        config = BotConfig().with_overrides(telegram_token=TOKEN, telegram_api_url=fake.base_url,
                                            redis_url=redis_url, instance_name=name, **overrides)
        journal, loops = Journal(), []
        specs = [
            ChildSpec(name="conversation", factory=lambda ctx: ClosingConversation.start(
                ctx, journal=journal, hold=hold)),
            ChildSpec(name="transport", depends_on=("conversation",),
                      factory=lambda ctx: CapturedIO.start(ctx, loops=loops, config=config,
                                                           tuning=tuning)),
        ]
        tree = SupervisionTree(specs).start()
        trees.append(tree)
        return Instance(name, tree, config, journal, loops)

    yield make
    for tree in trees:
        tree.stop(timeout_s=15)
    assert pykka.ActorRegistry.get_all() == []
