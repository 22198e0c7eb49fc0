"""The read pool: readers in many threads while the writer commits, bounded and self-healing."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from core.config import BotConfig
from messages.storage import AddAlert
from storage.batch import commit_batch
from storage.connection import open_writer
from storage.engine import Connection, is_postgres
from storage.errors import StorageUnavailable
from storage.read_pool import ReadPool
from storage.timing import QueryTimer
from storage.writes import WriteRules
from tests.storage.conftest import NOW, insert_alert, terminate_other_backends

BATCH = 5


@pytest.fixture
def pool(conn, database):
    read_pool = ReadPool(database, size=3, timeout_s=0.5)
    yield read_pool
    read_pool.close()


def test_a_pool_is_built_from_the_configuration(db_path):
    config = BotConfig().with_overrides(db_path=str(db_path), db_read_pool_size=3,
                                        db_slow_query_ms=7.0)
    pool = ReadPool.from_config(config)
    assert (pool.path, pool.size, pool.timer.slow_query_ms) == (str(db_path), 3, 7.0)


def test_a_database_url_in_the_configuration_wins_over_the_file(db_path):
    url = "postgresql://bot@db.example/bot"
    config = BotConfig().with_overrides(db_path=str(db_path), database_url=url)
    pool = ReadPool.from_config(config)
    try:
        assert pool.path == url and pool.stats().opened == 0  # nothing opened before a read
    finally:
        pool.close()


def test_connections_open_on_first_use_and_are_reused(pool, conn):
    assert pool.stats().opened == 0
    insert_alert(conn, user_id=1)
    assert len(pool.alerts_of(1)) == 1
    opened = pool.stats().opened
    assert opened >= 1  # psycopg_pool may open a second one while lending the first
    for _ in range(4):
        assert len(pool.alerts_of(1)) == 1
    assert pool.stats().opened == opened


def test_readers_run_while_the_writer_commits_and_see_whole_batches_only(pool, conn):
    """Each batch adds BATCH alerts for one user in one transaction, so a reader must always
    see a multiple of BATCH: never half a batch, never an error, never a blocked writer."""
    batches = 60
    stop = threading.Event()
    seen: list[int] = []
    errors: list[BaseException] = []

    def read_until_stopped() -> None:
        while not stop.is_set():
            try:
                seen.append(len(pool.alerts_of(7)))
            except StorageUnavailable as exc:
                errors.append(exc)

    with ThreadPoolExecutor(3) as readers:
        for _ in range(3):
            readers.submit(read_until_stopped)
        try:
            for batch in range(batches):
                writes = [AddAlert(request_id=f"{batch}-{n}", user_id=7, chat_id=7,
                                   symbol="BTCUSDT", direction="above", price=batch * BATCH + n + 1)
                          for n in range(BATCH)]
                outcomes = commit_batch(conn, writes, now=NOW, rules=WriteRules(
                    max_alerts_per_user=10_000), timer=QueryTimer(1000.0))
                assert all(o.error is None for o in outcomes)
        finally:
            stop.set()
    assert errors == []
    assert seen and all(count % BATCH == 0 for count in seen)
    assert len(pool.alerts_of(7)) == batches * BATCH


def test_no_more_readers_than_connections_run_at_once(database, conn):
    pool = ReadPool(database, size=1, timeout_s=0.05)
    try:
        with pool.connection():
            with ThreadPoolExecutor(1) as other:
                attempt = other.submit(pool.watchlist_of, 1)
                with pytest.raises(StorageUnavailable, match="busy"):
                    attempt.result(timeout=5)
        assert pool.watchlist_of(1) == ()
    finally:
        pool.close()


def test_a_connection_that_failed_is_replaced(pool, conn):
    def broken(connection: Connection) -> None:
        connection.execute("SELECT * FROM no_such_table")

    with pytest.raises(StorageUnavailable, match="reading probe failed"):
        pool.run("probe", broken)
    assert pool.watchlist_of(1) == ()
    if not is_postgres(conn):  # PostgreSQL: a failed statement leaves the connection usable
        assert pool.stats().opened == 2


def test_reads_go_on_after_the_server_dropped_every_connection(database, conn):
    """PostgreSQL in effect (a restart, a failover): psycopg_pool checks a connection before
    lending it and replaces a dead one within the borrowing timeout."""
    pool = ReadPool(database, size=2, timeout_s=5.0)
    try:
        assert pool.watchlist_of(1) == ()
        if is_postgres(conn):
            assert terminate_other_backends(conn) >= 1
        assert pool.watchlist_of(1) == ()
    finally:
        pool.close()


def test_reads_are_timed_per_kind(pool):
    for _ in range(3):
        pool.alert_symbols()
    timings = dict(pool.timer.stats())["alert_symbols"]
    assert timings.count == 3
    assert 0 <= timings.p50_ms <= timings.p99_ms


def test_before_the_writer_creates_the_file_reads_fail_then_work(tmp_path):
    path = tmp_path / "later.sqlite3"
    pool = ReadPool(path, size=1)
    try:
        with pytest.raises(StorageUnavailable, match="cannot be opened"):
            pool.alerts_of(1)
        open_writer(path).close()
        assert pool.alerts_of(1) == ()
    finally:
        pool.close()


def test_a_closed_pool_refuses_reads(pool):
    pool.watchlist_of(1)
    pool.close()
    with pytest.raises(StorageUnavailable, match="closed"):
        pool.watchlist_of(1)
