"""Fixtures for the storage package: a migrated database file and a few ways to fill it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from messages.storage import AddAlert, Saved
from storage.connection import open_writer
from storage.engine import Connection
from storage.writes import WriteRules, add_alert

NOW = 1_750_000_000.0
"""A fixed wall-clock time (epoch seconds) for writes in these tests."""


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "cryptobot.sqlite3"


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> str:
    """Every test that opens the database runs once per engine."""
    return str(request.param)


@pytest.fixture
def database(engine: str, request: pytest.FixtureRequest) -> Path | str:
    """Where the database is: the SQLite file, or a fresh, empty PostgreSQL database's URL."""
    if engine == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    return Path(request.getfixturevalue("db_path"))


@pytest.fixture
def conn(database: Path | str) -> Iterator[Connection]:
    """The writer's connection on a fresh, migrated database (file or PostgreSQL)."""
    connection = open_writer(database)
    yield connection
    connection.close()


def begin(conn: Connection) -> None:
    """Open the writer's kind of transaction (``BEGIN IMMEDIATE``; ``BEGIN`` on PostgreSQL)."""
    conn.execute("BEGIN IMMEDIATE")


def insert_alert(conn: Connection, *, user_id: int = 1, symbol: str = "BTCUSDT",
                 direction: str = "above", price: float = 100.0, key: str | None = None,
                 rules: WriteRules = WriteRules(), **fields: object) -> int:
    """Add one alert in its own transaction; returns its id. ``fields``: more AddAlert fields
    (kind, interval, base_price, recurring, cooldown_s, expires_at)."""
    message = AddAlert(request_id=key or f"{user_id}-{symbol}-{direction}-{price}",
                       user_id=user_id, chat_id=user_id * 10, symbol=symbol,
                       direction=direction, price=price, **fields)  # type: ignore[arg-type]
    conn.execute("BEGIN IMMEDIATE")
    saved = add_alert(conn, message, now=NOW, rules=rules)
    conn.execute("COMMIT")
    assert isinstance(saved, Saved) and saved.alert_id is not None
    return saved.alert_id


def terminate_other_backends(conn: Connection) -> int:
    """PostgreSQL: end every other session on this database (what a server restart does to
    the bot's connections, without losing the data as stopping the embedded server would)."""
    rows = conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchall()
    return len(rows)
