"""Opening the file: private permissions, WAL and its pragmas, and the read-only side."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from storage.connection import open_read_only, open_writer
from storage.errors import SchemaError


@pytest.fixture
def engine() -> str:
    """About the SQLite file itself (PostgreSQL's counterparts: tests/storage/test_pg.py)."""
    return "sqlite"


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_file_and_its_directory_are_created_owner_only(conn, db_path):
    assert mode_of(db_path) == 0o600
    assert mode_of(db_path.parent) == 0o700


def test_the_wal_side_files_are_owner_only_too(conn, db_path):
    conn.execute("INSERT INTO watchlist VALUES (1, 'BTCUSDT', 0)")
    for suffix in ("-wal", "-shm"):
        assert mode_of(db_path.with_name(db_path.name + suffix)) == 0o600


def test_an_existing_file_others_can_read_is_tightened_and_logged(db_path, caplog):
    db_path.parent.mkdir(parents=True)
    db_path.touch(mode=0o644)
    db_path.chmod(0o644)
    with caplog.at_level(logging.WARNING):
        open_writer(db_path).close()
    assert mode_of(db_path) == 0o600
    assert any(getattr(r, "event", None) == "storage.permissions_tightened" for r in caplog.records)


def test_the_writer_uses_wal_normal_sync_and_a_busy_timeout(conn):
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 250
    assert conn.isolation_level is None


def test_a_read_only_connection_sees_commits_but_cannot_write(conn, db_path):
    conn.execute("INSERT INTO watchlist VALUES (1, 'BTCUSDT', 0)")
    reader = open_read_only(db_path, timeout_s=1.0)
    try:
        assert reader.execute("SELECT symbol FROM watchlist").fetchall() == [("BTCUSDT",)]
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            reader.execute("DELETE FROM watchlist")
    finally:
        reader.close()


def test_a_read_only_connection_does_not_create_a_missing_file(tmp_path):
    with pytest.raises(sqlite3.OperationalError):
        open_read_only(tmp_path / "missing.sqlite3", timeout_s=0.1)
    assert not (tmp_path / "missing.sqlite3").exists()


def test_an_sqlite_without_json_and_returning_is_refused_with_a_clear_error(db_path, monkeypatch):
    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 37, 2))
    with pytest.raises(SchemaError, match="too old"):
        open_writer(db_path)


# -- issue 12 item 8: only a regular file is ever tightened ------------------------------------

def test_a_directory_at_the_path_is_refused_and_keeps_its_mode(tmp_path):
    from storage.errors import DatabaseUnusable
    target = tmp_path / "bot.sqlite3"
    target.mkdir(mode=0o755)
    target.chmod(0o755)
    with pytest.raises(DatabaseUnusable, match="is a directory"):
        open_writer(target)
    assert mode_of(target) == 0o755


def test_a_symlink_at_the_path_is_refused_and_its_target_not_chmod_ed(tmp_path):
    from storage.errors import DatabaseUnusable
    victim = tmp_path / "shared.txt"
    victim.write_text("someone else's file")
    victim.chmod(0o644)
    link = tmp_path / "db" / "bot.sqlite3"
    link.parent.mkdir()
    link.symlink_to(victim)
    with pytest.raises(DatabaseUnusable, match="symbolic link"):
        open_writer(link)
    assert mode_of(victim) == 0o644
    assert victim.read_text() == "someone else's file"


def test_a_symlinked_wal_side_file_is_refused_too(tmp_path):
    from storage.errors import DatabaseUnusable
    db_path = tmp_path / "bot.sqlite3"
    open_writer(db_path).close()
    victim = tmp_path / "victim"
    victim.write_text("x")
    victim.chmod(0o644)
    wal = tmp_path / "bot.sqlite3-wal"
    if wal.exists():
        wal.unlink()
    wal.symlink_to(victim)
    db_path.chmod(0o644)
    with pytest.raises(DatabaseUnusable, match="symbolic link"):
        open_writer(db_path)
    assert mode_of(victim) == 0o644


def test_a_fifo_at_the_path_is_refused_without_blocking(tmp_path):
    from storage.errors import DatabaseUnusable
    fifo = tmp_path / "bot.sqlite3"
    os.mkfifo(fifo, 0o644)
    with pytest.raises(DatabaseUnusable, match="special file"):
        open_writer(fifo)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_file_that_is_not_a_database_is_a_permanent_fault_and_untouched(tmp_path):
    from core.errors import PermanentFault
    db_path = tmp_path / "bot.sqlite3"
    db_path.write_bytes(b"garbage" * 1000)
    with pytest.raises(PermanentFault, match="not a SQLite database"):
        open_writer(db_path)
    assert db_path.read_bytes() == b"garbage" * 1000
