"""Which database engine a connection talks to, and what differs between SQLite and PostgreSQL.

The storage functions take one connection-like object: ``execute(sql, params)`` returning a
cursor (``fetchone``, ``fetchall``, iteration, ``rowcount``), ``executemany``,
``in_transaction`` and ``close()``, with transactions opened explicitly (``BEGIN IMMEDIATE``
... ``COMMIT``, ``SAVEPOINT``). ``sqlite3.Connection`` is that object for SQLite;
:class:`storage.pg.PgConnection` wraps a psycopg 3 connection into the same shape.

The SQL is written once, in SQLite's spelling, wherever both engines mean the same thing by
it. :func:`pg_sql` turns such a text into PostgreSQL's, once per text (cached):

* named parameters ``:name`` become ``%(name)s`` and ``?`` becomes ``%s`` (quoted strings and
  ``::`` casts are left alone; a literal ``%`` is doubled);
* ``BEGIN IMMEDIATE`` is ``BEGIN`` (the writer is alone on its connection; what must not run
  twice across instances takes a lock of its own: the sweep, the notice claims);
* ``x IS :value`` (NULL-safe equality) is ``x IS NOT DISTINCT FROM :value``;
* the two-argument scalar ``min(a, b)``/``max(a, b)`` are ``LEAST``/``GREATEST``.

Where the engines really differ (JSON table functions, ``rowid``, ``PRAGMA``) the module that
owns the statement keeps one text per dialect and picks it with :func:`is_postgres`.
"""

from __future__ import annotations

import functools
import re
import sqlite3
import sys
from collections.abc import Iterator
from typing import Any, Protocol

__all__ = ["POSTGRES_SCHEMES", "Connection", "Cursor", "db_errors", "is_postgres",
           "is_postgres_url", "is_transient", "item_errors", "lock_user", "pg_sql"]

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class Cursor(Protocol):
    """What ``execute`` returns: rows to fetch or iterate, and how many rows were changed."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """The connection every storage function takes: ``sqlite3.Connection`` or
    :class:`storage.pg.PgConnection`."""

    @property
    def in_transaction(self) -> bool: ...

    def execute(self, sql: str, parameters: Any = ..., /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Any, /) -> Cursor: ...

    def close(self) -> None: ...


_SQLITE_ITEM_ERRORS: tuple[type[Exception], ...] = (
    sqlite3.IntegrityError, sqlite3.DataError, sqlite3.ProgrammingError,
    sqlite3.InterfaceError, ValueError, TypeError)


def _psycopg() -> Any:
    """psycopg when something imported it (only PostgreSQL does: ~23 MB and 0.1 s the embedded
    default never pays); None otherwise, and then no psycopg error can be raised either."""
    return sys.modules.get("psycopg")


def db_errors() -> tuple[type[Exception], ...]:
    """What a failing database raises, on either engine (``except db_errors():``)."""
    psycopg = _psycopg()
    return (sqlite3.Error,) if psycopg is None else (sqlite3.Error, psycopg.Error)


def item_errors() -> tuple[type[Exception], ...]:
    """Errors one write's data can cause; they refuse that write only (its savepoint)."""
    psycopg = _psycopg()
    if psycopg is None:
        return _SQLITE_ITEM_ERRORS
    return (*_SQLITE_ITEM_ERRORS, psycopg.IntegrityError, psycopg.DataError,
            psycopg.ProgrammingError)


# SQLite primary result codes (extended codes keep these in their low byte).
_SQLITE_TRANSIENT_CODES = frozenset({5, 6, 10})  # BUSY, LOCKED, IOERR


def is_postgres_url(target: object) -> bool:
    """Whether ``target`` (a path or a URL) names a PostgreSQL database."""
    return isinstance(target, str) and target.startswith(POSTGRES_SCHEMES)


def is_postgres(conn: Any) -> bool:
    """Whether ``conn`` is a PostgreSQL connection (:class:`storage.pg.PgConnection`)."""
    return getattr(conn, "dialect", "sqlite") == "postgres"


_LOCK_USER = "SELECT pg_advisory_xact_lock(1, (:user_id % 2147483647)::int4)"


def lock_user(conn: Any, user_id: int) -> None:
    """PostgreSQL: hold one user's writes to one transaction at a time, until it ends.

    On SQLite the writer's ``BEGIN IMMEDIATE`` already makes it the only writer. On
    PostgreSQL several instances write at once, and READ COMMITTED lets two of them both find
    a user's last free alert slot, or both miss the other's row with the same request key;
    with this lock the second waits for the first to commit, then sees its row. (The
    two-integer key space of advisory locks is apart from the sweep's and the migration's.)
    """
    if is_postgres(conn):
        conn.execute(_LOCK_USER, {"user_id": int(user_id)})


def is_transient(error: BaseException) -> bool:
    """Worth a retry: a locked or busy SQLite file or an I/O error; on PostgreSQL a
    serialization failure, a deadlock, a lost connection or a server shutting down."""
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", None)
        return code is not None and (code & 0xFF) in _SQLITE_TRANSIENT_CODES
    psycopg = _psycopg()
    if psycopg is None or not isinstance(error, psycopg.Error):
        return False
    from psycopg import errors

    # Not QueryCanceled: a statement over statement_timeout would most likely be over it again.
    # IdleInTransactionSessionTimeout: the server ended a transaction that stalled (a paused
    # process); nothing of it was committed, and the retry's BEGIN reconnects.
    if isinstance(error, (errors.SerializationFailure, errors.DeadlockDetected,
                          errors.AdminShutdown, errors.CannotConnectNow,
                          errors.LockNotAvailable, errors.IdleInTransactionSessionTimeout)):
        return True
    # A lost or refused connection has no SQLSTATE; the writer reconnects on the next BEGIN.
    return isinstance(error, psycopg.OperationalError) and error.sqlstate is None


_TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|::|:([A-Za-z_]\w*)|\?|%")
_NULL_SAFE = re.compile(r"\bIS :(?=[A-Za-z_])")
_SCALAR_MIN_MAX = re.compile(r"\b(min|max)\(([^()]*,[^()]*)\)", re.IGNORECASE)


def _token(match: re.Match[str], *, bound: bool = True) -> str:
    text = match.group(0)
    if not bound:  # sent without parameters: psycopg passes the text as it is
        return text
    if match.group(1) is not None:
        return f"%({match.group(1)})s"
    if text == "?":
        return "%s"
    if text == "%":
        return "%%"
    return text  # a quoted string or identifier, or a :: cast


@functools.lru_cache(maxsize=1024)
def pg_sql(sql: str, bound: bool = True) -> str:
    """``sql`` (SQLite's spelling) as PostgreSQL reads it; see the module docstring.

    ``bound=False`` for a statement sent without parameters: ``%`` stays as it is."""
    text = sql.strip()
    if text.upper().startswith("BEGIN IMMEDIATE"):
        text = "BEGIN" + text[len("BEGIN IMMEDIATE"):]
    text = _NULL_SAFE.sub("IS NOT DISTINCT FROM :", text)
    text = _SCALAR_MIN_MAX.sub(
        lambda m: ("LEAST(" if m.group(1).lower() == "min" else "GREATEST(") + m.group(2) + ")",
        text)
    return _TOKEN.sub(functools.partial(_token, bound=bound), text)
