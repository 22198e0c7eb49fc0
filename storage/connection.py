"""Opening the database file: owner-only permissions, the pragmas, and the read-only side.

Settings and why:

* ``journal_mode=WAL``: readers never block the writer and the writer never blocks readers,
  so the read pool serves other actors while a batch commits.
* ``synchronous=NORMAL``: in WAL mode a commit survives the process dying (kill -9 included);
  only a power loss or OS crash can roll back the last few commits. ``FULL`` would fsync every
  commit for that last guarantee; the issue asks for ``NORMAL`` (see docs/storage.md).
* ``busy_timeout``: a writer that finds the file locked (another process, a backup) waits this
  long inside SQLite before failing; the writer actor adds a few bounded retries on top.
* Connections are in autocommit mode (``isolation_level=None``): every transaction in this
  package is an explicit ``BEGIN IMMEDIATE`` ... ``COMMIT``, never one Python opened silently.

The file is created ``0600`` before SQLite touches it; SQLite gives its ``-wal`` and ``-shm``
files the permissions of the database file, so they stay private too.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from pathlib import Path

from core.logs import log_event
from storage.errors import SchemaError
from storage.schema import migrate

__all__ = ["DEFAULT_BUSY_TIMEOUT_MS", "MIN_SQLITE_VERSION", "open_read_only", "open_writer"]

logger = logging.getLogger(__name__)

DEFAULT_BUSY_TIMEOUT_MS = 250
MIN_SQLITE_VERSION = (3, 38, 0)
"""``RETURNING`` (3.35) and JSON built in (3.38: the alert sweep passes its prices as JSON)."""

_PRIVATE = 0o600
_SIDE_FILES = ("-wal", "-shm")


def _check_sqlite_version() -> None:
    if sqlite3.sqlite_version_info < MIN_SQLITE_VERSION:
        wanted = ".".join(map(str, MIN_SQLITE_VERSION))
        raise SchemaError(f"SQLite {sqlite3.sqlite_version} is too old; {wanted} or newer needed")


def _ensure_private_file(path: Path) -> None:
    """Create ``path`` as 0600 (parents 0700), or tighten an existing file that others can read."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _PRIVATE)
    except FileExistsError:
        pass
    else:
        os.close(descriptor)
        return
    for candidate in (path, *(path.with_name(path.name + suffix) for suffix in _SIDE_FILES)):
        try:
            mode = stat.S_IMODE(candidate.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            os.chmod(candidate, _PRIVATE)
            log_event(logger, "storage.permissions_tightened", logging.WARNING,
                      path=str(candidate), was=oct(mode))


def open_writer(path: str | os.PathLike[str], *,
                busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> sqlite3.Connection:
    """The one read-write connection: file created private, pragmas set, schema migrated.

    Use it only from the thread that opened it.
    """
    _check_sqlite_version()
    file = Path(path)
    _ensure_private_file(file)
    conn = sqlite3.connect(file, isolation_level=None, timeout=busy_timeout_ms / 1000)
    opened = False
    try:
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            # e.g. a file system without shared memory: still correct, readers just block.
            log_event(logger, "storage.wal_unavailable", logging.WARNING, journal_mode=mode)
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms):d}")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA temp_store=MEMORY")
        before, after = migrate(conn)
        opened = True
    finally:
        if not opened:
            conn.close()
    if before != after:
        log_event(logger, "storage.migrated", logging.INFO, path=str(file), before=before,
                  after=after)
    return conn


def open_read_only(path: str | os.PathLike[str], *, timeout_s: float) -> sqlite3.Connection:
    """A read-only connection (the file must already exist: the writer creates it).

    ``check_same_thread=False`` because a pool hands it to one thread at a time.
    """
    _check_sqlite_version()
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=timeout_s,
                           check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout={int(timeout_s * 1000):d}")
    conn.execute("PRAGMA query_only=ON")
    return conn
