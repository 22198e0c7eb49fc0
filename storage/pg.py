"""PostgreSQL through psycopg 3: the writer's connection, the read pool's, and their faults.

:class:`PgConnection` gives a psycopg connection the shape the storage functions use
(``storage.engine``): ``execute``/``executemany`` taking SQLite-spelled SQL (translated once
per text by :func:`storage.engine.pg_sql`), ``in_transaction``, ``close``. It runs in
autocommit mode, so every transaction is the explicit ``BEGIN`` ... ``COMMIT`` of the caller,
exactly as on SQLite.

The writer's connection reconnects by itself: a ``BEGIN`` on a connection the server closed
(a restart, a failover, ``pg_terminate_backend``) opens a new one first. So a PostgreSQL
restart costs the batches that were in flight ("not saved", retried by the user or the next
sweep), and the next batch commits on a fresh connection; no actor restarts.

Every blocking call has a bound: ``connect_timeout`` on connecting, ``statement_timeout`` on
every statement, the pool's ``timeout`` on borrowing, TCP keepalives and ``tcp_user_timeout``
for a server host that goes silent. A URL no retry can fix (bad host name,
wrong password, no such database, not PostgreSQL) raises
:class:`~storage.errors.DatabaseUnusable` with the URL's password masked: the bot exits 2 with
one line instead of restarting in a loop.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from core.logs import log_event
from storage.engine import pg_sql
from storage.errors import DatabaseUnusable, SchemaError

__all__ = ["CONNECT_TIMEOUT_S", "STATEMENT_TIMEOUT_MS", "PgConnection", "connect", "masked_url",
           "open_pg_writer"]

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5
"""How long opening a connection may take (libpq's ``connect_timeout``)."""
STATEMENT_TIMEOUT_MS = 10_000
"""The longest any one statement may run before the server cancels it."""
LOCK_TIMEOUT_MS = 5_000
"""The longest a statement waits for a row or table lock (a stuck instance's transaction)."""
TCP_LIVENESS: dict[str, Any] = {"keepalives": 1, "keepalives_idle": 10,
                                "keepalives_interval": 5, "keepalives_count": 3,
                                "tcp_user_timeout": 30_000}
"""libpq's TCP probes: a server host that vanishes without closing the connection (power
loss, a partition) is noticed within about 30 s, where the server's statement_timeout cannot
help (it never hears from us) and the kernel default would block a COMMIT for hours. Ignored
on Unix sockets."""
IDLE_IN_TRANSACTION_TIMEOUT_MS = 15_000
"""The longest a session may sit inside a transaction between two statements before the server
ends it. A writer's transaction is one batch (milliseconds between statements); one that stops
there (SIGSTOP, a frozen VM) would otherwise hold the sweep's lock, and its rows and users'
locks, until it wakes: no instance would sweep meanwhile."""

_FIX_URL = "check CRYPTOBOT_DATABASE_URL (host, port, user, password, database name)"
# SQLSTATEs no reconnecting changes: wrong password, unknown role or database, no permission.
_PERMANENT_SQLSTATES = frozenset({"28P01", "28000", "3D000", "42501", "08004"})
# What no reconnecting changes even for a server reached before (a revoked password, a dropped
# database); a host name that does not resolve then is a DNS hiccup, retried like an outage.
_PERMANENT_PHRASES = ("password authentication failed", "does not exist",
                      "no password supplied", "invalid connection option", "invalid URI",
                      "invalid dsn", "missing \"=\"")


_QUERY_PASSWORD = re.compile(r"(?i)(\bpassword=)([^&\s]*)")


def _passwords(url: str) -> list[str]:
    """Every password written in ``url``: after the user name, and a ``password=`` parameter."""
    found = [match.group(2) for match in _QUERY_PASSWORD.finditer(url) if match.group(2)]
    try:
        in_netloc = urlsplit(url).password
    except ValueError:
        in_netloc = None
    return [*found, *([in_netloc] if in_netloc else [])]


def masked_url(url: str) -> str:
    """``url`` with its passwords replaced by ``***`` (safe for logs and exception text)."""
    masked = _QUERY_PASSWORD.sub(lambda m: m.group(1) + ("***" if m.group(2) else ""), url)
    try:
        parts = urlsplit(masked)
        password = parts.password
    except ValueError:
        return "postgresql://***"
    if password is None:
        return masked
    netloc = parts.netloc.replace(f":{password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _scrub(text: str, url: str) -> str:
    for password in sorted(_passwords(url), key=len, reverse=True):
        text = text.replace(password, "***")
    return text


_reached: set[str] = set()
"""URLs this process has connected to once: failing to reach one later is an outage."""


def connect(url: str, *, application_name: str = "cryptobot", read_only: bool = False) -> Any:
    """A psycopg connection in autocommit mode with the timeouts set.

    Raises :class:`DatabaseUnusable` for a URL no retry can fix (a malformed URL, an unknown
    host, a refused login, no such database) and for a server this process has never reached
    (refused or silent at start: a wrong host or port, most likely); psycopg's error otherwise
    (an outage of a server that answered before: the caller retries)."""
    import psycopg

    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S,
                               application_name=application_name, **TCP_LIVENESS,
                               options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"
                                       f" -c lock_timeout={LOCK_TIMEOUT_MS}"
                                       " -c idle_in_transaction_session_timeout="
                                       f"{IDLE_IN_TRANSACTION_TIMEOUT_MS}"
                                       + (" -c default_transaction_read_only=on"
                                          if read_only else ""))
    except psycopg.ProgrammingError as exc:  # a malformed URL
        raise _unusable(url, exc) from None
    except psycopg.OperationalError as exc:
        if url not in _reached or exc.sqlstate in _PERMANENT_SQLSTATES or any(
                phrase in str(exc) for phrase in _PERMANENT_PHRASES):
            raise _unusable(url, exc) from None
        raise
    _reached.add(url)
    return conn


def _unusable(url: str, exc: Exception) -> DatabaseUnusable:
    # Only the first line: libpq repeats itself per address tried.
    cause = _scrub(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
                   url)
    return DatabaseUnusable(masked_url(url), f"PostgreSQL refused it ({cause})", _FIX_URL)


class PgConnection:
    """A psycopg connection in the shape of ``sqlite3.Connection`` that storage uses."""

    dialect = "postgres"

    def __init__(self, conn: Any, url: str | None = None) -> None:
        self.raw = conn
        self._url = url
        """Set for the writer's connection: a broken one is replaced at the next BEGIN."""

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return bool(self.raw.info.transaction_status != TransactionStatus.IDLE)

    @property
    def broken(self) -> bool:
        return bool(self.raw.closed or self.raw.broken)

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> Any:
        if self._url is not None and self.broken and sql.lstrip().upper().startswith("BEGIN"):
            self._reconnect()
        if params is None or len(params) == 0:
            return self.raw.execute(pg_sql(sql, False))
        return self.raw.execute(pg_sql(sql), params)

    def executemany(self, sql: str,
                    params: Iterable[Sequence[Any] | Mapping[str, Any]]) -> Any:
        cursor = self.raw.cursor()
        rows = list(params)
        if rows:
            cursor.executemany(pg_sql(sql), rows)
        return cursor

    def close(self) -> None:
        self.raw.close()

    def _reconnect(self) -> None:
        assert self._url is not None
        old, self.raw = self.raw, connect(self._url)
        try:
            old.close()
        except Exception:  # already dead; nothing to release
            pass
        log_event(logger, "storage.reconnected", logging.WARNING, url=masked_url(self._url))


def open_pg_writer(url: str) -> PgConnection:
    """The writer's connection: the schema migrated (``storage.pg_schema``), reconnecting."""
    from storage.pg_schema import migrate_pg

    import psycopg

    conn = PgConnection(connect(url, application_name="cryptobot-writer"), url)
    opened = False
    try:
        try:
            before, after = migrate_pg(conn)
        except SchemaError as exc:
            if isinstance(exc.__cause__, psycopg.errors.InsufficientPrivilege):
                raise DatabaseUnusable(
                    masked_url(url), "its role may not create or change the bot's tables "
                    f"({_scrub(str(exc.__cause__).splitlines()[0], url)})",
                    "grant the role CREATE on the schema (or own the database)") from None
            raise
        opened = True
    finally:
        if not opened:
            conn.close()
    if before != after:
        log_event(logger, "storage.migrated", logging.INFO, url=masked_url(url), before=before,
                  after=after)
    return conn


class PgReadPool:
    """The read pool's connections on PostgreSQL: a ``psycopg_pool.ConnectionPool``.

    Opened lazily (the pool fills in the background), at most ``size`` connections, borrowing
    waits at most ``timeout_s``. A connection that broke is dropped by the pool and replaced;
    ``check`` tests an idle one before lending it, so a server restart costs no failed read.
    """

    def __init__(self, url: str, size: int, timeout_s: float) -> None:
        from psycopg_pool import ConnectionPool

        self.url = url
        self.timeout_s = timeout_s
        self._pool = ConnectionPool(
            url, min_size=1, max_size=size, timeout=timeout_s, open=False,
            name="cryptobot-read", check=ConnectionPool.check_connection,
            reconnect_timeout=max(30.0, 10 * timeout_s), num_workers=1,
            kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_S,
                    "application_name": "cryptobot-read", **TCP_LIVENESS,
                    "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"
                               f" -c default_transaction_read_only=on"})
        self._opened = False

    @contextmanager
    def connection(self) -> Iterator[PgConnection]:
        """Lend one :class:`PgConnection`; raises psycopg's errors (``PoolTimeout`` when none
        frees up in time)."""
        if not self._opened:
            self._pool.open(wait=False)
            self._opened = True
        with self._pool.connection(timeout=self.timeout_s) as raw:
            yield PgConnection(raw)

    def stats(self) -> tuple[int, int]:
        """(connections idle now, connections opened since start)."""
        figures = self._pool.get_stats()
        return int(figures.get("pool_available", 0)), int(figures.get("connections_num", 0))

    def close(self) -> None:
        if self._opened:
            self._pool.close(timeout=self.timeout_s)

