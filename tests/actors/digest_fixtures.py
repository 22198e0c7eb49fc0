"""The digest world: a db_writer on a file, the market subtree on the exchange simulator, a
recording transport and the digest actor, the writer and the digest on one fake wall clock.

Import the fixture into the test module (``make_digest_world = digest_fixtures.make_digest_world``).
Calling ``make_digest_world`` again with the same ``db_name`` after ``world.stop()`` starts a
whole new tree on the same database (a restart of the bot).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pykka
import pytest

from actors.digest import DigestActor, DigestStats
from actors.market_tree import market_spec
from core.config import BotConfig
from fakes.exchange.simulator import ExchangeSimulator
from messages.chat import ChatReply
from messages.digest import DigestDue, SetDigest
from messages.storage import SaveSettings, Watch
from storage.read_pool import ReadPool
from supervision.address import Address
from supervision.messages import Describe
from supervision.snapshot import ActorReport
from supervision.spec import ChildSpec, Priority
from supervision.tree import SupervisionTree
from tests.actors.storage_fixtures import (
    SETTINGS,
    TIMEOUT,
    Probe,
    RecordingTransport,
    Replies,
    StorageWorld,
    writer_spec,
)
from tests.market.conftest import ManualClock

__all__ = ["CrashOnce", "DigestWorld", "make_digest_world"]


class CrashOnce:
    """An ``after_step`` hook that crashes the digest actor once, at ``step``, when armed."""

    def __init__(self, step: str) -> None:
        self.step = step
        self.armed = threading.Event()
        self.crashed = threading.Event()

    def __call__(self, step: str) -> None:
        if step == self.step and self.armed.is_set() and not self.crashed.is_set():
            self.crashed.set()
            raise RuntimeError(f"crash after step {step!r}")


@dataclass
class DigestWorld:
    storage: StorageWorld
    simulator: ExchangeSimulator
    clock: ManualClock
    replies: Replies

    @property
    def digest(self) -> Address:
        return self.storage.tree.address("digest")

    def round(self) -> None:
        """Run one digest round at the clock's time and wait until it is over and the
        transport has taken in what it was told (an ask queues behind earlier tells)."""
        self.digest.ask(DigestDue(), timeout=TIMEOUT * 3)
        self.settle_transport()

    def settle_transport(self) -> None:
        self.storage.tree.address("transport").ask(Describe(), timeout=TIMEOUT)

    def at(self, moment: float) -> None:
        """Move the fake wall clock to ``moment`` (epoch s) and run a round there."""
        self.clock.advance(moment - self.clock())
        self.round()

    def set_digest(self, user_id: int, minute: int, *, zone: str | None = None,
                   watch: tuple[str, ...] = ()) -> None:
        if zone is not None:
            self.storage.write(SaveSettings, request_id=f"tz{user_id}", user_id=user_id,
                               chat_id=user_id, settings=(("timezone", zone),))
        for symbol in watch:
            self.storage.write(Watch, request_id=f"w{user_id}{symbol}", user_id=user_id,
                               symbol=symbol)
        self.storage.write(SetDigest, request_id=f"d{user_id}", user_id=user_id,
                           chat_id=user_id, minute=minute)

    def fired(self, user_id: int, *rows: tuple[int, float, str, float]) -> None:
        """Log alert crossings (alert_id, fired_at, symbol, price) as the sweep would."""
        conn = sqlite3.connect(self.storage.db_path, timeout=TIMEOUT)
        try:
            with conn:
                conn.executemany(
                    "INSERT INTO alert_firings (alert_id, fired_at, user_id, symbol, kind, value)"
                    " VALUES (?, ?, ?, ?, 'price', ?)",
                    [(alert_id, at, user_id, symbol, value) for alert_id, at, symbol, value in rows])
        finally:
            conn.close()

    def digests_to(self, chat_id: int) -> list[ChatReply]:
        return [r for r in self.replies.all()
                if r.chat_id == chat_id and r.request_id.startswith("digest-")]

    def stats(self) -> DigestStats:
        report = self.digest.ask(Describe(), timeout=TIMEOUT)
        assert isinstance(report, ActorReport) and isinstance(report.stats, DigestStats)
        return report.stats

    def stop(self) -> None:
        self.storage.tree.stop(timeout_s=10)


@pytest.fixture
def make_digest_world(tmp_path: Path) -> Iterator[Callable[..., DigestWorld]]:
    """``make_digest_world(start_s, after_step=..., db_name=..., write_timeout_s=...)``: the digest on a fake wall
    clock starting at ``start_s``; the exchange simulator keeps its own clock."""
    started: list[tuple[SupervisionTree, ReadPool, ExchangeSimulator]] = []

    def make(start_s: float, *, after_step: Callable[[str], None] = lambda step: None,
             db_name: str = "digest.sqlite3", write_timeout_s: float = TIMEOUT) -> DigestWorld:
        clock = ManualClock(start_s)
        simulator = ExchangeSimulator(clock=ManualClock()).start()
        config = BotConfig().with_overrides(
            exchange_urls=(simulator.base_url,), http_connect_timeout_s=0.5,
            http_read_timeout_s=2.0, lazy_indicator=False)
        db_path = tmp_path / db_name
        probe, pool, replies = Probe(), ReadPool(db_path, size=2), Replies()
        digest_options: dict[str, Any] = {
            "read_pool": pool, "interval_s": 3600.0, "fetch_timeout_s": TIMEOUT,
            "write_timeout_s": write_timeout_s, "wall_clock": clock, "after_step": after_step}
        specs = [
            writer_spec(db_path, probe, pool, wall_clock=clock),
            market_spec(config, SETTINGS),
            ChildSpec(name="transport", factory=lambda ctx: RecordingTransport.start(ctx, replies)),
            ChildSpec(name="digest", factory=lambda ctx: DigestActor.start(ctx, **digest_options),
                      priority=Priority.LOW),
        ]
        tree = SupervisionTree(specs, SETTINGS).start()
        started.append((tree, pool, simulator))
        for name in ("db_writer", "fetcher", "transport", "digest"):
            assert tree.address(name).wait_until_running(timeout=TIMEOUT), name
        world = DigestWorld(StorageWorld(tree, db_path, pool, probe), simulator, clock, replies)
        world.storage.stats()  # answered after setup() has opened and migrated the file
        world.round()  # the start-up round has run before the test begins
        return world

    yield make
    for tree, pool, simulator in started:
        tree.stop(timeout_s=10)
        pool.close()
        simulator.stop()
    assert pykka.ActorRegistry.get_all() == []
