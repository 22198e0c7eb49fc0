"""Fixtures for the storage actors: a supervised db_writer on a temporary file, and the alert
world (writer, market subtree on the exchange simulator, a recording transport, alerts).

Import the fixtures you use into the test module (``from tests.actors.storage_fixtures import
make_storage``); pytest then finds them there.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pykka
import pytest

from actors.alerts import AlertsActor
from actors.db_writer import DbWriter
from storage.stats import DbWriterStats
from actors.market_tree import market_spec
from core.config import BotConfig
from fakes.exchange.catalog import INTERVALS
from fakes.exchange.simulator import ExchangeSimulator
from messages.chat import ChatReply
from messages.storage import AddAlert, SweepDue
from storage.connection import open_read_only
from storage.read_pool import ReadPool
from supervision.actor import SupervisedActor
from supervision.address import Address
from supervision.context import ChildContext
from supervision.messages import Describe
from supervision.snapshot import ActorReport
from supervision.spec import ChildSpec, Priority
from supervision.supervisor import SupervisorSettings, supervisor_spec
from supervision.tree import SupervisionTree
from tests.market.conftest import START_S, ManualClock

__all__ = ["AlertWorld", "Probe", "Replies", "StorageWorld", "make_alert_world", "make_storage",
           "price_path_csv"]

TIMEOUT = 5.0
SETTINGS = dataclasses.replace(SupervisorSettings(), heartbeat_interval_s=0.5,
                               backoff_base_s=0.01)


class Probe:
    """The writer's fault seam for tests: records every point reached, can hold the writer at a
    point until released, and can raise there."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.points: list[str] = []
        self._holds: dict[str, threading.Event] = {}
        self._failures: dict[str, list[Exception | None]] = {}

    def hold(self, point: str) -> threading.Event:
        """Block the writer the next time it reaches ``point``; set the event to let it go."""
        release = threading.Event()
        with self._changed:
            self._holds[point] = release
        return release

    def fail(self, point: str, *errors: Exception | None) -> None:
        """Raise these errors, one per arrival, at ``point`` (None: let that arrival pass)."""
        with self._changed:
            self._failures.setdefault(point, []).extend(errors)

    def wait_for(self, point: str, count: int = 1, timeout: float = TIMEOUT) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self.points.count(point) >= count, timeout)

    def __call__(self, point: str) -> None:
        with self._changed:
            self.points.append(point)
            self._changed.notify_all()
            release = self._holds.pop(point, None)
            failures = self._failures.get(point)
            error = failures.pop(0) if failures else None
        if release is not None:
            assert release.wait(TIMEOUT), f"the test never released {point}"
        if error is not None:
            raise error


@dataclass
class StorageWorld:
    tree: SupervisionTree
    db_path: Path | str
    pool: ReadPool
    probe: Probe

    @property
    def writer(self) -> Address:
        return self.tree.address("db_writer")

    def send(self, message_type: type, **fields: Any) -> pykka.ThreadingFuture[Any]:
        """Tell the writer an acknowledged write; the future is its answer."""
        future: pykka.ThreadingFuture[Any] = pykka.ThreadingFuture()
        self.writer.tell(message_type(reply_to=future, **fields))
        return future

    def write(self, message_type: type, **fields: Any) -> Any:
        return self.send(message_type, **fields).get(timeout=TIMEOUT)

    def add_alert(self, key: str, *, user_id: int = 1, symbol: str = "BTCUSDT",
                  direction: str = "above", price: float = 100.0, **fields: Any) -> Any:
        """``fields``: more AddAlert fields (kind, interval, recurring, expires_at...)."""
        return self.write(AddAlert, request_id=key, user_id=user_id, chat_id=user_id,
                          symbol=symbol, direction=direction, price=price, **fields)

    def stats(self) -> DbWriterStats:
        report = self.writer.ask(Describe(), timeout=TIMEOUT)
        assert isinstance(report, ActorReport) and isinstance(report.stats, DbWriterStats)
        return report.stats

    def query(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        """Read with a connection of its own: what any reader would see right now."""
        conn = open_read_only(self.db_path, timeout_s=TIMEOUT)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()


def writer_spec(db_path: Path | str, probe: Probe, pool: ReadPool, **options: Any) -> ChildSpec:
    settings = {"batch_size": 500, "flush_interval_s": 0.05, "slow_query_ms": 1000.0,
                "busy_timeout_ms": 20, **options}
    writer = ChildSpec(
        name="db_writer",
        factory=lambda ctx: DbWriter.start(ctx, path=db_path, read_pool=pool, fault=probe,
                                           **settings),
        priority=Priority.CRITICAL,
    )
    return supervisor_spec("storage", [writer], SETTINGS, priority=Priority.CRITICAL)


@pytest.fixture
def make_storage(tmp_path: Path) -> Iterator[Callable[..., StorageWorld]]:
    """``make_storage(**DbWriter options)``: a running writer on a fresh file."""
    worlds: list[StorageWorld] = []

    def make(**options: Any) -> StorageWorld:
        db_path = tmp_path / f"bot{len(worlds)}.sqlite3"
        probe = Probe()
        pool = ReadPool(db_path, size=2)
        tree = SupervisionTree([writer_spec(db_path, probe, pool, **options)], SETTINGS).start()
        world = StorageWorld(tree, db_path, pool, probe)
        worlds.append(world)
        assert world.writer.wait_until_running(timeout=TIMEOUT)
        world.stats()  # answered after setup() has opened and migrated the file
        return world

    yield make
    for world in worlds:
        world.tree.stop(timeout_s=10)
        world.pool.close()
    assert pykka.ActorRegistry.get_all() == []


# -- the alert world -----------------------------------------------------------------------


class Replies:
    """What the stand-in transport received, in order; thread-safe."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._replies: list[ChatReply] = []

    def add(self, reply: ChatReply) -> None:
        with self._changed:
            self._replies.append(reply)
            self._changed.notify_all()

    def all(self) -> list[ChatReply]:
        with self._changed:
            return list(self._replies)

    def wait_for_count(self, count: int, timeout: float = TIMEOUT) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: len(self._replies) >= count, timeout)

    def about(self, alert_id: int) -> list[ChatReply]:
        return [r for r in self.all() if r.request_id.startswith(f"alert-{alert_id}-")]


class RecordingTransport(SupervisedActor):
    """Stands in for telegram_io: keeps every ChatReply."""

    def __init__(self, ctx: ChildContext, replies: Replies) -> None:
        super().__init__(ctx)
        self._replies = replies

    def handle(self, message: Any) -> Any:
        match message:
            case ChatReply():
                return self._replies.add(message)
        return super().handle(message)


SYMBOL = "ALRTUSDT"
"""A replayed symbol whose price the test scripts minute by minute."""


def price_path_csv(prices: list[float], start_s: float = START_S) -> str:
    """One flat 1m candle per price, the first containing ``start_s``."""
    first = int(start_s // 60 * 60)
    rows = ["time,Open,High,Low,Close,Volume"]
    for minute, price in enumerate(prices):
        moment = dt.datetime.fromtimestamp(first + 60 * minute, dt.timezone.utc)
        rows.append(f"{moment:%Y-%m-%d %H:%M:%S},{price},{price},{price},{price},1")
    return "\n".join(rows)


@dataclass
class AlertWorld:
    storage: StorageWorld
    simulator: ExchangeSimulator
    clock: ManualClock
    replies: Replies

    @property
    def alerts(self) -> Address:
        return self.storage.tree.address("alerts")

    def sweep(self) -> None:
        """Run one sweep and wait until it is over (an ask returns when the handler does)."""
        self.alerts.ask(SweepDue(), timeout=TIMEOUT * 3)

    def next_minute(self) -> None:
        self.clock.advance(60)


@pytest.fixture
def make_alert_world(tmp_path: Path) -> Iterator[Callable[..., AlertWorld]]:
    """``make_alert_world(prices, after_step=..., history=..., transport=...)``: the sweep
    against the simulator, where ALRTUSDT costs ``prices[n]`` during minute ``n`` (``history``:
    the closed 1m candles before minute 0, for RSI). The sweep's wall clock is the simulator's.
    ``transport`` replaces the recording transport (e.g. with TelegramIO and a fake Bot API).
    ``database``: a PostgreSQL URL instead of a fresh file (two worlds on one URL are two
    instances sharing a database; ``claimant`` names each one's notice claims)."""
    stack: list[tuple[SupervisionTree, ReadPool, ExchangeSimulator]] = []

    def make(prices: list[float], *,
             after_step: Callable[[str], None] = lambda step: None,
             history: Sequence[float] = (),
             transport: Callable[[ChildContext], Any] | None = None,
             database: Path | str | None = None, claimant: str | None = None) -> AlertWorld:
        clock = ManualClock()
        simulator = ExchangeSimulator(clock=clock).start()
        simulator.market.add_csv(SYMBOL, price_path_csv([*history, *prices],
                                                        START_S - 60 * len(history)),
                                 INTERVALS["1m"])
        config = BotConfig().with_overrides(
            exchange_urls=(simulator.base_url,), http_connect_timeout_s=0.5,
            http_read_timeout_s=2.0, lazy_indicator=False)
        db_path = database if database is not None else tmp_path / "alerts.sqlite3"
        probe, pool, replies = Probe(), ReadPool(db_path, size=2), Replies()
        specs = [
            writer_spec(db_path, probe, pool),
            market_spec(config, SETTINGS),
            ChildSpec(name="transport", factory=transport or (
                lambda ctx: RecordingTransport.start(ctx, replies))),
            ChildSpec(name="alerts", factory=lambda ctx: AlertsActor.start(
                ctx, read_pool=pool, interval_s=3600.0, min_gap_s=0.0, fetch_timeout_s=TIMEOUT,
                write_timeout_s=TIMEOUT, after_step=after_step, wall_clock=clock,
                claimant=claimant),
                priority=Priority.LOW),
        ]
        tree = SupervisionTree(specs, SETTINGS).start()
        stack.append((tree, pool, simulator))
        for name in ("db_writer", "fetcher", "transport", "alerts"):
            assert tree.address(name).wait_until_running(timeout=TIMEOUT), name
        storage = StorageWorld(tree, db_path, pool, probe)
        world = AlertWorld(storage, simulator, clock, replies)
        world.sweep()  # the start-up sweep has run before the test begins
        return world

    yield make
    for tree, pool, simulator in stack:
        tree.stop(timeout_s=10)
        pool.close()
        simulator.stop()
    assert pykka.ActorRegistry.get_all() == []
