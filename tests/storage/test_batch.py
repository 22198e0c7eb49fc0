"""One batch, one transaction: refusals roll back alone, whole-transaction failures are retried
and then reported with nothing committed."""

from __future__ import annotations

import sqlite3

import pytest

from messages.storage import AddAlert, DeleteAlert, LogCommand, Saved, StoreCandles, TouchUser
from storage.batch import BatchFailed, commit_batch, is_transient, rows_of
from storage.connection import open_writer
from storage.errors import InvalidWrite, NotYours
from storage.queries import alerts_of, latest_candles
from storage.timing import QueryTimer
from storage.writes import WriteRules
from tests.storage.conftest import NOW, insert_alert

TIMER = QueryTimer(slow_query_ms=1000.0)


def alert(key: str, user_id: int = 1, price: float = 100.0) -> AddAlert:
    return AddAlert(request_id=key, user_id=user_id, chat_id=1, symbol="BTCUSDT",
                    direction="above", price=price)


def sqlite_error(code: int, text: str) -> sqlite3.OperationalError:
    error = sqlite3.OperationalError(text)
    error.sqlite_errorcode = code
    return error


class FailTimes:
    """A fault probe that raises ``error`` at ``point`` the first ``times`` times."""

    def __init__(self, point: str, error: Exception, times: int) -> None:
        self.point, self.error, self.left = point, error, times

    def __call__(self, point: str) -> None:
        if point == self.point and self.left > 0:
            self.left -= 1
            raise self.error


def commit(conn, batch, **options):
    return commit_batch(conn, batch, now=NOW, rules=WriteRules(), timer=TIMER, **options)


def test_each_write_gets_its_outcome_in_batch_order(conn):
    theirs = insert_alert(conn, user_id=2)
    batch = [alert("a"), DeleteAlert(request_id="d", user_id=1, alert_id=theirs),
             TouchUser(user_id=1, chat_id=1, username=None, seen_at=NOW), alert("b", price=5.0)]
    outcomes = commit(conn, batch)
    assert [o.write for o in outcomes] == batch
    assert isinstance(outcomes[0].result, Saved) and outcomes[0].error is None
    assert isinstance(outcomes[1].error, NotYours)
    assert outcomes[2].result is None and outcomes[2].error is None
    assert [a.price for a in alerts_of(conn, 1)] == [100.0, 5.0]


def test_a_write_with_bad_data_is_refused_alone(conn):
    short_row = (0, 1.0, 2.0)
    bad = StoreCandles(symbol="BTCUSDT", interval="1m", rows=(short_row,))  # type: ignore[arg-type]
    good = StoreCandles(symbol="BTCUSDT", interval="1m", rows=((60_000, 1.0, 2.0, 0.5, 1.0, 3.0),))
    outcomes = commit(conn, [bad, good, alert("a")])
    assert isinstance(outcomes[0].error, InvalidWrite)
    assert outcomes[1].error is None and outcomes[2].error is None
    assert len(latest_candles(conn, "BTCUSDT", "1m", 10)) == 1


def test_background_writes_of_a_kind_are_applied_together(conn):
    logs = [LogCommand(request_id=f"r{n}", command="/p", latency_ms=1.0, outcome="ok", at=NOW)
            for n in range(5)]
    commit(conn, logs)
    assert TIMER.snapshot()["write.LogCommand"].count >= 1
    assert conn.execute("SELECT COUNT(*) FROM command_log").fetchone()[0] == 5


def test_an_io_error_is_retried_and_the_batch_commits_once(conn):
    probe = FailTimes("applied", sqlite_error(10, "disk I/O error"), times=2)
    outcomes = commit(conn, [alert("a")], attempts=3, fault=probe)
    assert outcomes[0].error is None
    assert len(alerts_of(conn, 1)) == 1


def test_a_transaction_failing_every_attempt_commits_nothing(conn):
    probe = FailTimes("applied", sqlite_error(5, "database is locked"), times=3)
    with pytest.raises(BatchFailed) as failed:
        commit(conn, [alert("a"), alert("b", price=1.0)], attempts=3, fault=probe)
    assert failed.value.attempts == 3 and failed.value.transient
    assert alerts_of(conn, 1) == () and not conn.in_transaction


def test_a_non_transient_error_is_not_retried(conn):
    probe = FailTimes("begin", sqlite_error(11, "database disk image is malformed"), times=1)
    with pytest.raises(BatchFailed) as failed:
        commit(conn, [alert("a")], attempts=3, fault=probe)
    assert failed.value.attempts == 1 and not failed.value.transient


def test_a_file_locked_by_another_process_fails_after_the_busy_waits(db_path):
    writer = open_writer(db_path, busy_timeout_ms=20)
    other = sqlite3.connect(db_path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(BatchFailed) as failed:
            commit(writer, [alert("a")], attempts=2)
        assert failed.value.transient and failed.value.attempts == 2
        other.execute("ROLLBACK")
        assert commit(writer, [alert("a")])[0].error is None
    finally:
        other.close()
        writer.close()


@pytest.mark.parametrize(("code", "transient"), [
    (5, True), (6, True), (10, True), (10 | (3 << 8), True), (1, False), (11, False), (None, False),
])
def test_busy_locked_and_io_errors_are_transient(code, transient):
    error = sqlite3.OperationalError("x")
    if code is not None:
        error.sqlite_errorcode = code
    assert is_transient(error) is transient


def test_candles_count_by_rows_towards_the_batch_size():
    rows = tuple((n, 1.0, 1.0, 1.0, 1.0, 1.0) for n in range(7))
    assert rows_of(StoreCandles(symbol="X", interval="1m", rows=rows)) == 7
    assert rows_of(alert("a")) == 1
