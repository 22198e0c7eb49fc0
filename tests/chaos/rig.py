"""The whole bot in this process, on real parts, with a switch for every fault.

Real python-telegram-bot talks to the fake Bot API server, the fetch workers talk to two
exchange simulators (two base URLs, as in production), the writer commits to a real SQLite
file. Faults are injected where they happen for real: in the simulators' and the fake
Telegram server's HTTP answers, by closing a listening socket, by holding SQLite's write lock
from a second connection, by allocating real memory, by telling actors ``InjectCrash``. Only
a read-only file and a full disk go through the writer's fault seam, because this process
runs as root (chmod does not stop root) and cannot mount a small filesystem; the seam raises
the same ``sqlite3.OperationalError`` SQLite raises in those cases, with the same error code.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from pathlib import Path
from typing import Any

import psutil

from actors.telegram_io import TelegramIO
from bot import CryptoBot
from fakes.telegram.bot_api import FakeBotApi
from core.config import BotConfig
from fakes.exchange.simulator import ExchangeSimulator
from ops.health import assess
from supervision.snapshot import ActorSnapshot

__all__ = ["ADMIN", "TOKEN", "ChaosRig", "StorageFault"]

TOKEN = "123456789:AAEhBP0av28ntIfnmYsaRgCc3dS5Xl0XvYs"
ADMIN = 1
_SQLITE_READONLY = 8
_SQLITE_FULL = 13


class StorageFault:
    """The writer's fault seam: raises SQLite's own error while a fault is switched on."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._error: tuple[str, int] | None = None

    def switch_on(self, kind: str) -> None:
        messages = {"read_only": ("attempt to write a readonly database", _SQLITE_READONLY),
                    "disk_full": ("database or disk is full", _SQLITE_FULL)}
        with self._lock:
            self._error = messages[kind]

    def switch_off(self) -> None:
        with self._lock:
            self._error = None

    def __call__(self, point: str) -> None:
        with self._lock:
            error = self._error if point == "applied" else None
        if error is not None:
            failure = sqlite3.OperationalError(error[0])
            failure.sqlite_errorcode = error[1]  # what the sqlite3 module sets for a real one
            raise failure


class ChaosRig:
    """Simulators, the fake Bot API and the bot, started together and stopped together."""

    def __init__(self, directory: Path, **overrides: Any) -> None:
        self.db_path = directory / "chaos.sqlite3"
        self.exchanges = [ExchangeSimulator().start(), ExchangeSimulator().start()]
        self.telegram = FakeBotApi(token=TOKEN).start()
        self.storage_fault = StorageFault()
        self.config = BotConfig().with_overrides(**{
            "exchange_urls": tuple(sim.base_url for sim in self.exchanges),
            "telegram_token": TOKEN, "telegram_api_url": self.telegram.base_url,
            "db_path": str(self.db_path), "admin_ids": (ADMIN,), "status_port": 0,
            "alert_sweep_interval_s": 1.0, "memory_sample_interval_s": 0.5,
            "max_memory_mb": int(psutil.Process().memory_info().rss / 2**20) + 400,
            **overrides})
        config = self.config
        self.bot = CryptoBot(config, storage_fault=self.storage_fault,
                             transport_factory=lambda ctx: TelegramIO.start(ctx, config=config))
        self._lock_holder: sqlite3.Connection | None = None
        self._ballast: bytearray | None = None

    def start(self) -> ChaosRig:
        self.bot.start()
        assert self.bot.address("transport").wait_until_running(timeout=30)
        return self

    def stop(self) -> None:
        self.release_db_lock()
        self.bot.stop()
        self.telegram.stop()
        for sim in self.exchanges:
            sim.stop()

    # -- introspection ---------------------------------------------------------------------

    def snapshot(self) -> ActorSnapshot:
        return self.bot.status(timeout_s=2.0)

    def restarts(self) -> int:
        return sum(node.restarts for node in self.snapshot().walk())

    def healthy(self) -> bool:
        return assess(self.snapshot()).ok

    def actor_names(self) -> list[str]:
        """Every actor below the root that runs now (lazy ones would be started by a crash)."""
        return [node.name for node in self.snapshot().walk()
                if node.name != "root" and node.state in ("running", "busy")]

    def rows(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        with closing(sqlite3.connect(self.db_path, timeout=10)) as db:
            return db.execute(sql, params).fetchall()

    # -- faults ----------------------------------------------------------------------------

    def exchange_fault(self, mode: str, *, urls: tuple[int, ...] = (0, 1),
                       **options: object) -> None:
        for index in urls:
            self.exchanges[index].inject(mode, **options)

    def clear_exchange_faults(self) -> None:
        for sim in self.exchanges:
            sim.clear_faults()

    def refuse_connections(self, index: int) -> None:
        """Close exchange ``index``'s listening socket: connection refused, for real."""
        self.exchanges[index].stop()

    def accept_connections(self, index: int) -> None:
        port = int(self.config.exchange_urls[index].rsplit(":", 1)[1].split("/")[0])
        self.exchanges[index] = ExchangeSimulator(port=port).start()

    def hold_db_lock(self) -> None:
        """Another process's long write transaction: SQLITE_BUSY for the writer."""
        holder = sqlite3.connect(self.db_path, timeout=10, isolation_level=None,
                                 check_same_thread=False)
        holder.execute("BEGIN EXCLUSIVE")
        self._lock_holder = holder

    def release_db_lock(self) -> None:
        if self._lock_holder is not None:
            self._lock_holder.execute("ROLLBACK")
            self._lock_holder.close()
            self._lock_holder = None

    def allocate(self, megabytes: int) -> None:
        """Real resident memory (every page touched), to push the process over its limit."""
        ballast = bytearray(megabytes * 2**20)
        ballast[::4096] = b"\x01" * len(range(0, len(ballast), 4096))
        self._ballast = ballast

    def free(self) -> None:
        self._ballast = None
