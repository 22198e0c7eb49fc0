"""The real engines the distributed mode is tested on start and answer."""

from __future__ import annotations

import psycopg
import redis


def test_each_postgres_database_is_new_and_takes_sql(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE probe (id bigint PRIMARY KEY)")
        conn.execute("INSERT INTO probe VALUES (1)")
        assert conn.execute("SELECT count(*) FROM probe").fetchone() == (1,)
        assert conn.execute("SHOW server_version_num").fetchone()[0] >= "170000"


def test_another_test_gets_an_empty_postgres_database(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        assert tables.fetchone() == (0,)


def test_redis_answers_and_has_streams_with_autoclaim(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    assert client.ping() is True
    assert client.dbsize() == 0
    client.xgroup_create("probe", "group", id="0", mkstream=True)
    client.xadd("probe", {"n": "1"})
    client.xreadgroup("group", "a", {"probe": ">"}, count=1)
    next_id, claimed, *_ = client.xautoclaim("probe", "group", "b", min_idle_time=0)
    assert [fields for _, fields in claimed] == [{b"n": b"1"}]
    client.close()
