"""A user's data read in one snapshot and deleted in one write, row by row, index by index."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from messages.user_data import ForgetUser, Forgotten, UserDataCounts
from storage.batch import ACKED_TYPES, commit_batch
from storage.connection import open_read_only, open_writer
from storage.engine import Connection, is_postgres
from storage.timing import QueryTimer
from storage.user_data import (
    EXPORT_ALERTS,
    USER_DATA_SQL,
    USER_TABLES,
    count_user_data,
    forget_user,
    read_user_data,
)
from storage.writes import WriteRules
from tests.storage.test_queries import unindexed_scans
from tests.storage.user_rows import NOW, fill_user, rows_of

ANN, BOB = 7, 8
FULL = UserDataCounts(users=1, alerts=4, alert_firings=2, watchlist=2, digests=1,
                      command_log=3)


@pytest.fixture
def reader(conn: Connection, database: Path | str) -> Iterator[Connection]:
    connection = open_read_only(database, timeout_s=2.0)
    yield connection
    connection.close()


def forget(conn: Connection, user_id: int) -> UserDataCounts:
    conn.execute("BEGIN IMMEDIATE")
    forgotten = forget_user(conn, ForgetUser(request_id="r", user_id=user_id))
    conn.execute("COMMIT")
    return forgotten.deleted


def test_the_tables_with_a_users_rows_are_every_table_with_a_user_id(conn):
    sql = ("SELECT table_name FROM information_schema.columns WHERE table_schema = 'public'"
           " AND column_name = 'user_id'") if is_postgres(conn) else (
        "SELECT m.name FROM sqlite_master m, pragma_table_info(m.name) c"
        " WHERE m.type = 'table' AND c.name = 'user_id'")
    with_user_id = {table for (table,) in conn.execute(sql)}
    assert with_user_id == set(USER_TABLES)


def test_counts_are_per_table_and_only_the_users_own(conn, reader):
    fill_user(conn, ANN)
    fill_user(conn, BOB, commands=5)

    assert count_user_data(reader, ANN) == FULL
    assert count_user_data(reader, BOB).command_log == 5
    assert count_user_data(reader, 99) == UserDataCounts()
    assert FULL.total == 13


def test_the_read_has_every_alert_column_the_watchlist_settings_and_digest(conn, reader):
    fill_user(conn, ANN, chat_id=-100123)
    fill_user(conn, BOB)

    data = read_user_data(reader, ANN, now=lambda: NOW)

    assert (data.user_id, data.read_at, data.counts) == (ANN, NOW, FULL)
    assert data.user is not None and (data.user.chat_id, data.user.username) == (
        -100123, "user7")
    assert dict(data.settings) == {"timezone": "Europe/Berlin", "quiet": "23:00-07:00",
                                   "style": "detailed"}
    assert [(a.symbol, a.kind, a.direction, a.level) for a in data.alerts] == [
        ("BTCUSDT", "price", "above", 70_000.0), ("ETHUSDT", "percent", "below", 2_700.0),
        ("SOLUSDT", "rsi", "below", 30.0), ("ADAUSDT", "price", "above", 1.5)]
    rsi = data.alerts[2]
    assert (rsi.interval, rsi.recurring, rsi.cooldown_s, rsi.armed_from, rsi.fired_price) == (
        "4h", True, 3600.0, NOW + 600, 28.5)
    assert (data.alerts[1].base_price, data.alerts[1].expires_at) == (3_000.0, NOW + 7 * 86_400)
    assert data.alerts[3].ended == "expired"
    assert [(f.symbol, f.kind, f.value) for f in data.firings] == [
        ("SOLUSDT", "rsi", 28.5), ("SOLUSDT", "rsi", 29.1)]
    assert data.watchlist == (("BTCUSDT", NOW - 500), ("DOGEUSDT", NOW - 400))
    assert data.digest is not None and (data.digest.minute, data.digest.last_day) == (
        510, "2025-06-15")


def test_a_user_with_nothing_stored_reads_as_empty(reader):
    data = read_user_data(reader, 99)

    assert (data.user, data.settings, data.alerts, data.firings, data.watchlist,
            data.digest) == (None, (), (), (), (), None)
    assert data.counts.total == 0


def test_the_lists_are_capped_to_the_newest_and_the_counts_say_how_many_there_are(
        conn, reader):
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO alerts (user_id, chat_id, symbol, direction, price, created_at, ended)"
        " VALUES (?, ?, 'BTCUSDT', 'above', ?, ?, 'fired')",
        [(ANN, ANN, float(n + 1), NOW + n) for n in range(EXPORT_ALERTS + 5)])
    conn.execute("COMMIT")

    data = read_user_data(reader, ANN)

    assert len(data.alerts) == EXPORT_ALERTS and data.counts.alerts == EXPORT_ALERTS + 5
    assert data.alerts[0].level == 6.0 and data.alerts[-1].level == EXPORT_ALERTS + 5


def test_settings_that_are_not_json_read_as_none_rather_than_failing(conn, reader):
    conn.execute("INSERT INTO users (user_id, chat_id, first_seen, last_seen, settings)"
                 " VALUES (?, ?, 0, 0, 'not json')", (ANN, ANN))

    assert read_user_data(reader, ANN).settings == ()


def test_forgetting_deletes_every_row_of_the_user_and_none_of_anyone_elses(conn):
    fill_user(conn, ANN)
    fill_user(conn, BOB)
    bob_before = rows_of(conn, BOB)
    candles = conn.execute("INSERT INTO candles VALUES ('BTCUSDT', '1h', 0, 1, 1, 1, 1, 1)")

    deleted = forget(conn, ANN)

    assert deleted == FULL
    assert rows_of(conn, ANN) == {table: [] for table in USER_TABLES}
    assert rows_of(conn, BOB) == bob_before
    assert candles.rowcount == 1
    assert conn.execute("SELECT COUNT(*) FROM candles").fetchone() == (1,)


def test_forgetting_twice_deletes_nothing_the_second_time(conn):
    fill_user(conn, ANN)

    forget(conn, ANN)

    assert forget(conn, ANN) == UserDataCounts()


@pytest.mark.parametrize("name", sorted(USER_DATA_SQL))
def test_every_user_data_statement_finds_its_rows_through_an_index(conn, name):
    assert unindexed_scans(conn, USER_DATA_SQL[name]) == []


def test_the_statements_stay_indexed_once_the_engine_has_statistics(conn):
    for user in range(40):
        fill_user(conn, user + 1)
    conn.execute("ANALYZE")

    for name, sql in USER_DATA_SQL.items():
        assert unindexed_scans(conn, sql) == [], name


def test_the_writer_batch_applies_forget_user_as_an_acknowledged_write(conn):
    fill_user(conn, ANN)
    forget_ann = ForgetUser(request_id="r", user_id=ANN)

    (outcome,) = commit_batch(conn, [forget_ann], now=NOW, rules=WriteRules(),
                              timer=QueryTimer(1000.0))

    assert isinstance(forget_ann, ACKED_TYPES)
    assert outcome.error is None and outcome.result == Forgotten(deleted=FULL)


def test_one_read_is_one_snapshot_while_the_writer_keeps_writing(conn, reader, database):
    """Without the read transaction the count (read last) would disagree with the list."""
    fill_user(conn, ANN)
    stop, started = threading.Event(), threading.Event()
    changes = [0]

    def write() -> None:  # one alert added and removed, over and over, each committed
        writer = open_writer(database)
        try:
            while not stop.is_set():
                writer.execute("INSERT INTO alerts (id, user_id, chat_id, symbol, direction,"
                               " price, created_at) VALUES (999, ?, ?, 'X', 'above', 1, 0)",
                               (ANN, ANN))
                writer.execute("DELETE FROM alerts WHERE id = 999")
                changes[0] += 2
                started.set()
        finally:
            writer.close()

    thread = threading.Thread(target=write, name="test-writer")
    thread.start()
    try:
        assert started.wait(10)
        before = changes[0]
        reads = [read_user_data(reader, ANN) for _ in range(300)]
        during = changes[0] - before
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive() and during > 0
    assert all(len(data.alerts) == data.counts.alerts for data in reads)
