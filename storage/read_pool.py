"""A small pool of read-only connections that any thread may use while the writer writes.

Why an object and not a pool of reader actors: every hot read is an indexed lookup that takes
tens of microseconds, less than one actor round trip, and WAL gives each read a consistent
snapshot without blocking the writer. So the reading thread (a chat worker, the alerts actor)
runs the query itself on a borrowed connection; the pool only bounds how many run at once
(``db_read_pool_size``) and times them. A connection is used by one thread at a time (the queue
hands it out), which is what ``check_same_thread=False`` requires.

Connections open lazily, so the pool can be built before the writer has created and migrated
the file; one that fails is closed and reopened on its next use.
"""

from __future__ import annotations

import os
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, TypeVar

from core.config import BotConfig
from messages.digest import DigestRecord, FiringRecord
from messages.storage import AlertRecord, CandleRow, CommandStat
from messages.user_data import UserData, UserDataCounts
from storage import digest_queries, queries, user_data
from storage.connection import open_read_only
from storage.engine import Connection, db_errors, is_postgres_url
from storage.errors import StorageUnavailable
from storage.timing import QueryTimer

__all__ = ["ReadPool", "ReadPoolStats"]

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ReadPoolStats:
    """The read pool's connections (its query timings are ``ReadPool.timer.stats()``)."""

    size: int
    """Connections allowed."""
    idle: int
    """Connections (or free slots) waiting to be borrowed now."""
    opened: int
    """Connections opened since start."""


class ReadPool:
    """Thread-safe, bounded access to read-only connections, with per-query timings."""

    def __init__(self, path: str | os.PathLike[str], size: int, *, timeout_s: float = 2.0,
                 slow_query_ms: float = 50.0) -> None:
        self.path = os.fspath(path)
        self.size = size
        self.timeout_s = timeout_s
        self.timer = QueryTimer(slow_query_ms)
        # LIFO: the most recently used (warm, already open) connection goes out first.
        self._idle: queue.LifoQueue[Connection | None] = queue.LifoQueue()
        for _ in range(size):
            self._idle.put(None)
        self._lock = threading.Lock()
        self._closed = False
        self._opened = 0
        self._pg = None
        if is_postgres_url(self.path):  # PostgreSQL: psycopg_pool does the pooling
            from storage.pg import PgReadPool

            self._pg = PgReadPool(self.path, size, timeout_s)

    @classmethod
    def from_config(cls, config: BotConfig) -> ReadPool:
        """``db_read_pool_size`` connections to ``database_url`` (else the file ``db_path``),
        slow above ``db_slow_query_ms``."""
        return cls(config.database_url or config.db_path, config.db_read_pool_size,
                   slow_query_ms=config.db_slow_query_ms)

    # -- the read API ---------------------------------------------------------------------------

    def alert_by_id(self, alert_id: int) -> AlertRecord | None:
        return self.run("alert_by_id", queries.alert_by_id, alert_id)

    def alerts_of(self, user_id: int) -> tuple[AlertRecord, ...]:
        return self.run("alerts_of", queries.alerts_of, user_id)

    def alert_symbols(self) -> tuple[str, ...]:
        return self.run("alert_symbols", queries.alert_symbols)

    def rsi_pairs(self) -> tuple[tuple[str, str], ...]:
        return self.run("rsi_pairs", queries.rsi_pairs)

    def newest_alert_id(self) -> int:
        return self.run("newest_alert_id", queries.newest_alert_id)

    def next_expiry(self) -> float | None:
        return self.run("next_expiry", queries.next_expiry)

    def unnotified_alerts(self) -> tuple[AlertRecord, ...]:
        return self.run("unnotified_alerts", queries.unnotified_alerts)

    def outbox(self, held_owners: Iterable[int], limit: int) -> tuple[AlertRecord, ...]:
        return self.run("outbox", queries.outbox, held_owners, limit)

    def users_seen_since(self, since: float, now: float) -> tuple[int, ...]:
        return self.run("users_seen_since", queries.users_seen_since, since, now)

    def watchlist_of(self, user_id: int) -> tuple[str, ...]:
        return self.run("watchlist_of", queries.watchlist_of, user_id)

    def command_stats(self, since: float) -> tuple[CommandStat, ...]:
        return self.run("command_stats", queries.command_stats, since)

    def active_users(self, since: float) -> int:
        return self.run("active_users", queries.active_users, since)

    def user_settings(self, user_id: int) -> tuple[tuple[str, str], ...]:
        return self.run("user_settings", queries.user_settings, user_id)

    def user_data(self, user_id: int) -> UserData:
        """Everything stored about one user, in one snapshot (/export)."""
        return self.run("user_data", user_data.read_user_data, user_id)

    def user_data_counts(self, user_id: int) -> UserDataCounts:
        """Rows per table of one user, in one snapshot (the /forget preview)."""
        return self.run("user_data_counts", user_data.count_user_data, user_id)

    def candles_between(self, symbol: str, interval: str, start_ms: int,
                        end_ms: int) -> tuple[CandleRow, ...]:
        return self.run("candles_between", queries.candles_between, symbol, interval, start_ms,
                        end_ms)

    def latest_candles(self, symbol: str, interval: str, limit: int) -> tuple[CandleRow, ...]:
        return self.run("latest_candles", queries.latest_candles, symbol, interval, limit)

    def due_digests(self, now: float, limit: int) -> tuple[DigestRecord, ...]:
        return self.run("due_digests", digest_queries.due_digests, now, limit)

    def digest_of(self, user_id: int) -> DigestRecord | None:
        return self.run("digest_of", digest_queries.digest_of, user_id)

    def firings_since(self, user_id: int, since: float) -> tuple[FiringRecord, ...]:
        return self.run("firings_since", digest_queries.firings_since, user_id, since)

    # -- plumbing -------------------------------------------------------------------------------

    def run(self, kind: str, query: Callable[Concatenate[Any, P], T],
            *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``query(connection, ...)`` on a pooled connection, timed as ``kind``.

        Raises :class:`StorageUnavailable` when no connection frees up within ``timeout_s`` or
        the database fails. (``query`` takes an ``Any`` connection so that functions typed for
        ``sqlite3.Connection`` alone, the benches', still fit.)
        """
        with self.connection() as conn, self.timer.measure(kind):
            try:
                return query(conn, *args, **kwargs)
            except db_errors() as exc:
                raise StorageUnavailable(f"reading {kind} failed") from exc

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """Borrow a connection; it goes back (or is replaced, after an error) on exit."""
        if self._closed:
            raise StorageUnavailable("the read pool is closed")
        if self._pg is not None:
            with self._pg_connection() as borrowed:
                yield borrowed
            return
        try:
            conn = self._idle.get(timeout=self.timeout_s)
        except queue.Empty:
            raise StorageUnavailable(f"all {self.size} read connections are busy") from None
        healthy = False
        try:
            if self._closed:
                raise StorageUnavailable("the read pool is closed")
            if conn is None:
                conn = self._open()
            yield conn
            healthy = True
        finally:
            if not healthy and conn is not None:
                conn.close()  # it may be broken; the next borrower opens a fresh one
                conn = None
            self._give_back(conn)

    @contextmanager
    def _pg_connection(self) -> Iterator[Connection]:
        assert self._pg is not None
        from psycopg_pool import PoolTimeout

        with ExitStack() as stack:
            try:
                conn = stack.enter_context(self._pg.connection())
            except PoolTimeout:
                raise StorageUnavailable(f"all {self.size} read connections are busy") from None
            except db_errors() as exc:
                raise StorageUnavailable("the database cannot be reached for reading") from exc
            yield conn  # an error in the body goes back through psycopg_pool's own exit

    def close(self) -> None:
        """Close idle connections now and borrowed ones as they come back."""
        with self._lock:
            self._closed = True
        if self._pg is not None:
            self._pg.close()
        while True:
            try:
                conn = self._idle.get(block=False)
            except queue.Empty:
                return
            if conn is not None:
                conn.close()

    def stats(self) -> ReadPoolStats:
        if self._pg is not None:
            idle, opened = self._pg.stats()
            return ReadPoolStats(size=self.size, idle=idle, opened=opened)
        return ReadPoolStats(size=self.size, idle=self._idle.qsize(), opened=self._opened)

    def _open(self) -> Connection:
        try:
            conn = open_read_only(self.path, timeout_s=self.timeout_s)
        except sqlite3.Error as exc:
            raise StorageUnavailable("the database cannot be opened for reading") from exc
        with self._lock:
            self._opened += 1
        return conn

    def _give_back(self, conn: Connection | None) -> None:
        with self._lock:
            closed = self._closed
        if closed and conn is not None:
            conn.close()
            return
        self._idle.put(conn)
