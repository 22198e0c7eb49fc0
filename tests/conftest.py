"""Suite-wide fixtures: real PostgreSQL and Redis servers (fakes/engines.py), started on first use.

One server of each per test session (a start costs about a second); every test that asks gets
its own empty database (``postgres_url``) or an emptied keyspace (``redis_url``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fakes.engines import PostgresEngine, RedisEngine, start_postgres, start_redis


@pytest.fixture(scope="session")
def postgres_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresEngine]:
    engine = start_postgres(tmp_path_factory.mktemp("postgres"))
    yield engine
    engine.stop()


@pytest.fixture
def postgres_url(postgres_engine: PostgresEngine) -> Iterator[str]:
    """URL of a new, empty PostgreSQL database, dropped after the test."""
    url = postgres_engine.new_database()
    yield url
    postgres_engine.drop_database(url)


@pytest.fixture(scope="session")
def redis_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisEngine]:
    engine = start_redis(tmp_path_factory.mktemp("redis"))
    yield engine
    engine.stop()


@pytest.fixture
def redis_url(redis_engine: RedisEngine) -> str:
    """URL of the session's redis-server, emptied for this test."""
    redis_engine.flush()
    return redis_engine.url
