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
files the permissions of the database file, so they stay private too. Only a regular file is
ever tightened (examined with ``lstat``, changed through a descriptor opened ``O_NOFOLLOW``);
a directory, symlink or special file at the path, a path that cannot be created, and a file
that is not a database raise :class:`~storage.errors.DatabaseUnusable`, a permanent fault.
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import stat
from pathlib import Path

from core.logs import log_event
from storage.engine import is_postgres_url
from storage.errors import DatabaseUnusable, SchemaError
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


_FIX_PATH = "point CRYPTOBOT_DB_PATH (db_path) at a regular file in a directory the bot can write"
_UNUSABLE_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOENT, errno.ENOTDIR,
                              errno.EISDIR, errno.ELOOP, errno.ENAMETOOLONG, errno.EINVAL,
                              errno.ENXIO, errno.EEXIST})
"""Errors about the path itself, which no restart changes (a full disk is not among them)."""
_NOT_A_DATABASE_CODES = frozenset({sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT})
_CANNOT_OPEN_CODES = frozenset({sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY,
                                sqlite3.SQLITE_PERM, sqlite3.SQLITE_AUTH})


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    return "a special file (not a regular file)"


def _unusable_os_error(path: Path, exc: OSError, doing: str) -> DatabaseUnusable | OSError:
    """``exc`` as a permanent fault when it is about the path, else ``exc`` itself."""
    if exc.errno in _UNUSABLE_ERRNOS:
        fault = DatabaseUnusable(str(path), f"cannot {doing} ({exc.strerror})", _FIX_PATH)
        fault.__cause__ = exc
        return fault
    return exc


def _check_regular(path: Path, *, missing_ok: bool) -> os.stat_result | None:
    """``lstat`` of ``path`` (never following a link); refuses anything but a regular file."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        if missing_ok:
            return None
        raise
    except OSError as exc:
        raise _unusable_os_error(path, exc, "examine it")
    if not stat.S_ISREG(info.st_mode):
        raise DatabaseUnusable(str(path), f"is {_kind(info.st_mode)}", _FIX_PATH)
    return info


def _tighten(path: Path, info: os.stat_result) -> None:
    """Make an existing regular file 0600, if it is ours and others can read it.

    The file is opened without following links and checked again through the descriptor, so
    what is tightened is the file that was examined (``os.chmod`` on a path follows a link that
    may have been swapped in). A file owned by someone else is left alone, with a warning.
    """
    mode = stat.S_IMODE(info.st_mode)
    if not mode & 0o077:
        return
    if info.st_uid != os.geteuid():
        log_event(logger, "storage.permissions_not_tightened", logging.WARNING, path=str(path),
                  mode=oct(mode), reason="owned by another user")
        return
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise _unusable_os_error(path, exc, "open it")
    try:
        opened = os.fstat(descriptor)
        if not stat.S_ISREG(opened.st_mode) or (opened.st_dev, opened.st_ino) != (
                info.st_dev, info.st_ino):
            raise DatabaseUnusable(str(path), "changed while being checked", _FIX_PATH)
        os.fchmod(descriptor, _PRIVATE)
    finally:
        os.close(descriptor)
    log_event(logger, "storage.permissions_tightened", logging.WARNING, path=str(path),
              was=oct(mode))


def _ensure_private_file(path: Path) -> None:
    """Create ``path`` as 0600 (parents 0700), or tighten an existing regular file that others
    can read. Anything else at the path (a directory, a symlink, a device, a FIFO) is refused
    with :class:`DatabaseUnusable`, untouched: once it was chmod-ed to ``drw-------``."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise _unusable_os_error(path, exc, "create its directory")
    if _check_regular(path, missing_ok=True) is None:
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                                 | os.O_CLOEXEC, _PRIVATE)
        except FileExistsError:
            pass  # created meanwhile: examined below like any existing file
        except OSError as exc:
            raise _unusable_os_error(path, exc, "create it")
        else:
            os.close(descriptor)
            return
    for candidate in (path, *(path.with_name(path.name + suffix) for suffix in _SIDE_FILES)):
        info = _check_regular(candidate, missing_ok=candidate != path)
        if info is not None:
            _tighten(candidate, info)


def _open_failure(path: Path, exc: sqlite3.Error) -> sqlite3.Error | DatabaseUnusable:
    """``exc`` as a permanent fault when no retry can help, else ``exc`` itself."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    fault: DatabaseUnusable | None = None
    if code in _NOT_A_DATABASE_CODES:
        fault = DatabaseUnusable(
            str(path), "is not a SQLite database (corrupt, or another kind of file); it was "
            "left untouched", "restore it from a backup, or move it away to start empty")
    elif code in _CANNOT_OPEN_CODES:
        fault = DatabaseUnusable(str(path), f"SQLite cannot open it for writing ({exc})",
                                 _FIX_PATH)
    if fault is None:
        return exc
    fault.__cause__ = exc
    return fault


def open_writer(path: str | os.PathLike[str], *,
                busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> sqlite3.Connection:
    """The one read-write connection: file created private, pragmas set, schema migrated.

    Use it only from the thread that opened it. A ``postgresql://`` URL opens PostgreSQL
    instead (``storage.pg``), migrated the same way.
    """
    if is_postgres_url(path):
        from storage.pg import open_pg_writer

        return open_pg_writer(str(path))  # type: ignore[return-value]
    _check_sqlite_version()
    file = Path(path)
    _ensure_private_file(file)
    try:
        conn = sqlite3.connect(file, isolation_level=None, timeout=busy_timeout_ms / 1000)
    except sqlite3.Error as exc:
        raise _open_failure(file, exc)
    opened = False
    try:
        try:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        except sqlite3.Error as exc:  # the first statement that reads the file
            raise _open_failure(file, exc)
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

    ``check_same_thread=False`` because a pool hands it to one thread at a time. A
    ``postgresql://`` URL gives a read-only PostgreSQL connection.
    """
    if is_postgres_url(path):
        from storage.pg import PgConnection, connect

        return PgConnection(connect(str(path), read_only=True))  # type: ignore[return-value]
    _check_sqlite_version()
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=timeout_s,
                           check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout={int(timeout_s * 1000):d}")
    conn.execute("PRAGMA query_only=ON")
    return conn
