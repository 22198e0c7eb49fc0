"""PostgreSQL's side of opening the database: what the SQLite file tests promise, for a URL.

A URL no restart can fix is a permanent fault with one line for the operator and never the
password in it; the writer's connection comes back by itself after the server dropped it.
"""

from __future__ import annotations

import socket

import pytest

from messages.storage import Watch
from storage.batch import BatchFailed, commit_batch
from storage.connection import open_writer
from storage.engine import is_transient, pg_sql
from storage.errors import DatabaseUnusable, StorageUnavailable
from storage.pg import masked_url
from storage.queries import watchlist_of
from storage.read_pool import ReadPool
from storage.timing import QueryTimer
from storage.writes import WriteRules
from tests.storage.conftest import NOW, terminate_other_backends


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def with_password(url: str, password: str) -> str:
    return url.replace("postgres:@", f"postgres:{password}@", 1)


def test_the_sql_is_translated_once_for_psycopg():
    assert pg_sql("SELECT a FROM t WHERE b = :b AND c IS :c AND d = '%:x' AND e::text = ?") == (
        "SELECT a FROM t WHERE b = %(b)s AND c IS NOT DISTINCT FROM %(c)s"
        " AND d = '%:x' AND e::text = %s")
    assert pg_sql("BEGIN IMMEDIATE") == "BEGIN"
    assert pg_sql("SET x = max(a, b) + MAX(c) + min(d, e)") == (
        "SET x = GREATEST(a, b) + MAX(c) + LEAST(d, e)")


def test_a_password_never_shows_in_the_masked_url():
    assert masked_url("postgresql://bot:s3cret@db:5432/bot") == "postgresql://bot:***@db:5432/bot"
    assert masked_url("postgresql://db/bot") == "postgresql://db/bot"
    assert masked_url("postgresql://db/bot?user=u&password=s3cret&sslmode=require") == (
        "postgresql://db/bot?user=u&password=***&sslmode=require")


def test_a_server_nobody_listens_on_is_a_permanent_fault_without_the_password():
    url = f"postgresql://bot:hunter22@127.0.0.1:{free_port()}/bot"
    with pytest.raises(DatabaseUnusable) as raised:
        open_writer(url)
    text = str(raised.value)
    assert "hunter22" not in text and "***" in text and "\n" not in text
    assert "CRYPTOBOT_DATABASE_URL" in text


def test_a_database_that_does_not_exist_is_a_permanent_fault(postgres_url):
    with pytest.raises(DatabaseUnusable, match="does not exist"):
        open_writer(postgres_url.replace("/cryptobot_", "/missing_", 1))


def test_a_role_that_may_not_create_the_tables_is_a_permanent_fault(postgres_url, conn):
    conn.execute("CREATE ROLE cryptobot_reader LOGIN")
    try:
        base, _, query = postgres_url.partition("?")
        name = base.rpartition("/")[2]
        fresh = f"postgresql://cryptobot_reader@/{name}_empty?{query}"
        conn.execute(f'CREATE DATABASE "{name}_empty"')  # nothing migrated there yet
        with pytest.raises(DatabaseUnusable, match="may not create"):
            open_writer(fresh)
    finally:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}_empty" WITH (FORCE)')
        conn.execute("DROP ROLE IF EXISTS cryptobot_reader")


def test_a_malformed_url_is_a_permanent_fault():
    with pytest.raises(DatabaseUnusable):
        open_writer("postgresql://bot:pw@/db?sslmode=nonsense")


def test_the_writer_reconnects_after_the_server_dropped_its_connection(postgres_url, conn):
    writer = open_writer(postgres_url)
    try:
        timer = QueryTimer(1000.0)
        watch = Watch(request_id="w1", user_id=1, symbol="BTCUSDT")
        assert commit_batch(writer, [watch], now=NOW, rules=WriteRules(),
                            timer=timer)[0].error is None
        assert terminate_other_backends(conn) >= 1  # the writer's session among them
        again = Watch(request_id="w2", user_id=1, symbol="ETHUSDT")
        outcomes = commit_batch(writer, [again], now=NOW, rules=WriteRules(), timer=timer)
        assert outcomes[0].error is None
        assert watchlist_of(conn, 1) == ("BTCUSDT", "ETHUSDT")
    finally:
        writer.close()


def test_a_dropped_connection_is_a_transient_error(postgres_url, conn):
    import psycopg

    other = psycopg.connect(postgres_url, autocommit=True)
    terminate_other_backends(conn)
    with pytest.raises(psycopg.OperationalError) as raised:
        other.execute("SELECT 1")
    other.close()
    assert is_transient(raised.value)


@pytest.fixture
def engine() -> str:
    return "postgres"


def test_while_the_database_refuses_connections_writes_fail_transiently_then_resume(
        postgres_url, postgres_engine, conn):
    """PostgreSQL "down" mid-run, without losing the data as stopping the embedded server
    would: the database stops accepting connections and every session on it is ended."""
    import psycopg

    name = postgres_url.partition("?")[0].rsplit("/", 1)[1]
    writer = open_writer(postgres_url)
    pool = ReadPool(postgres_url, size=1, timeout_s=5.0)
    during = ReadPool(postgres_url, size=1, timeout_s=0.2)  # a read asked during the outage
    timer = QueryTimer(1000.0)

    def watch(symbol: str, attempts: int = 2) -> object:
        return commit_batch(writer, [Watch(request_id=symbol, user_id=1, symbol=symbol)],
                            now=NOW, rules=WriteRules(), timer=timer, attempts=attempts)

    try:
        watch("BTCUSDT")
        assert pool.watchlist_of(1) == ("BTCUSDT",)
        with psycopg.connect(postgres_engine.url, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                          " WHERE datname = %s", (name,))
        with pytest.raises(BatchFailed) as failed:  # "not saved": the user is told so
            watch("ETHUSDT")
        assert failed.value.transient
        with pytest.raises(StorageUnavailable):  # the degraded answers
            during.watchlist_of(1)
        with psycopg.connect(postgres_engine.url, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        watch("ETHUSDT")  # the writer reconnected on its own
        # The pool finds its connection dead, drops it and opens another before lending.
        assert pool.watchlist_of(1) == ("BTCUSDT", "ETHUSDT")
    finally:
        during.close()
        pool.close()
        writer.close()


def test_writer_and_read_connections_probe_a_silent_server_host_over_tcp(postgres_url):
    # A vanished host never answers, so only TCP probes end a blocked COMMIT or query; libpq
    # applies them on TCP connections (these tests reach the server over a Unix socket).
    writer = open_writer(postgres_url)
    pool = ReadPool(postgres_url, size=1, timeout_s=5.0)
    try:
        writer_parameters = writer.raw.info.get_parameters()
        with pool.connection() as reader:
            reader_parameters = reader.raw.info.get_parameters()
        for parameters in (writer_parameters, reader_parameters):
            assert parameters["keepalives"] == "1"
            assert parameters["tcp_user_timeout"] == "30000"
    finally:
        pool.close()
        writer.close()
