"""The db_writer actor: acknowledgements after the commit, batching, a locked or failing file,
a graceful stop, and a crash in the middle of a batch."""

from __future__ import annotations

import logging
import sqlite3
import stat
import time

import pykka
import pytest

from actors.db_writer import storage_spec
from core.config import BotConfig
from messages.storage import AddAlert, Saved, StoreCandles, TouchUser
from storage.errors import LimitReached, StorageBusy
from storage.writes import WriteRules
from core.stats import stat_figures
from supervision.tree import SupervisionTree
from tests.actors import storage_fixtures
from tests.actors.storage_fixtures import SETTINGS, TIMEOUT, StorageWorld

make_storage = storage_fixtures.make_storage  # the fixture, found by pytest under this name

class InjectedCrash(Exception):
    """A bug inside the writer, as far as the writer knows."""


def io_error() -> sqlite3.OperationalError:
    error = sqlite3.OperationalError("disk I/O error")
    error.sqlite_errorcode = 10
    return error


def candles(first: int, count: int) -> StoreCandles:
    rows = tuple((minute * 60_000, 1.0, 2.0, 0.5, 1.5, 1.0) for minute in range(first,
                                                                              first + count))
    return StoreCandles(symbol="BTCUSDT", interval="1m", rows=rows)


def count(world: StorageWorld, table: str) -> int:
    return int(world.query(f"SELECT COUNT(*) FROM {table}")[0][0])


class TestAcknowledgement:
    def test_an_alert_is_acknowledged_only_after_its_commit(self, make_storage):
        world = make_storage()
        release = world.probe.hold("applied")
        future = world.send(AddAlert, request_id="r1", user_id=1, chat_id=1, symbol="BTCUSDT",
                            direction="above", price=100.0)
        assert world.probe.wait_for("applied")
        with pytest.raises(pykka.Timeout):
            future.get(timeout=0.1)
        assert count(world, "alerts") == 0
        release.set()
        saved = future.get(timeout=TIMEOUT)
        assert isinstance(saved, Saved) and saved.changed
        assert world.query("SELECT id FROM alerts") == [(saved.alert_id,)]

    def test_the_same_request_twice_is_one_alert(self, make_storage):
        world = make_storage()
        first = world.add_alert("same")
        again = world.add_alert("same")
        assert (again.changed, again.alert_id) == (False, first.alert_id)
        assert count(world, "alerts") == 1

    def test_a_refused_write_does_not_hold_back_the_rest_of_its_batch(self, make_storage):
        world = make_storage(rules=WriteRules(max_alerts_per_user=1))
        release = world.probe.hold("begin")
        world.send(AddAlert, request_id="warm-up", user_id=9, chat_id=9, symbol="ETHUSDT",
                   direction="below", price=1.0)
        assert world.probe.wait_for("begin")
        mine = world.send(AddAlert, request_id="a", user_id=1, chat_id=1, symbol="BTCUSDT",
                          direction="above", price=1.0)
        too_many = world.send(AddAlert, request_id="b", user_id=1, chat_id=1, symbol="BTCUSDT",
                              direction="above", price=2.0)
        theirs = world.send(AddAlert, request_id="c", user_id=2, chat_id=2, symbol="BTCUSDT",
                            direction="above", price=2.0)
        release.set()
        assert mine.get(timeout=TIMEOUT).changed and theirs.get(timeout=TIMEOUT).changed
        with pytest.raises(LimitReached):
            too_many.get(timeout=TIMEOUT)
        assert world.probe.points.count("begin") == 2  # the three shared one transaction


class TestBatching:
    def test_background_writes_commit_when_a_batch_is_full(self, make_storage):
        world = make_storage(batch_size=100, flush_interval_s=3600.0)
        for first in (0, 40, 80):
            world.writer.tell(candles(first, 40))
        world.writer.tell(candles(120, 40))
        stats = world.stats()
        assert (stats.pending_rows, stats.flushes) == (40, 1)
        assert count(world, "candles") == 120

    def test_background_writes_commit_after_the_flush_interval(self, make_storage):
        world = make_storage(batch_size=10_000, flush_interval_s=0.05)
        world.writer.tell(TouchUser(user_id=1, chat_id=1, username="ann", seen_at=1.0))
        assert world.probe.wait_for("applied")
        world.stats()  # answered once that flush has committed
        assert world.query("SELECT username FROM users") == [("ann",)]

    def test_a_graceful_stop_flushes_everything(self, make_storage):
        world = make_storage(batch_size=10_000, flush_interval_s=3600.0)
        world.writer.tell(candles(0, 10))
        world.writer.tell(TouchUser(user_id=1, chat_id=1, username=None, seen_at=1.0))
        assert world.stats().pending_rows == 11
        world.tree.stop(timeout_s=10)
        assert (count(world, "candles"), count(world, "users")) == (10, 1)


class TestLockedOrFailingFile:
    def test_a_locked_file_refuses_the_write_then_works_once_free(self, make_storage):
        world = make_storage(attempts=2, flush_interval_s=3600.0)
        other = sqlite3.connect(world.db_path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            world.writer.tell(candles(0, 5))
            with pytest.raises(StorageBusy) as refused:
                world.add_alert("r1")
            assert str(refused.value) == (
                "not saved, nothing changed: the database is busy, try again in a moment")
            other.execute("ROLLBACK")
        finally:
            other.close()
        assert world.add_alert("r2").changed
        assert world.query("SELECT request_key FROM alerts") == [("r2",)]
        assert count(world, "candles") == 5  # kept through the failure, committed with r2

    def test_background_writes_beyond_the_bound_drop_the_oldest_candles(self, make_storage,
                                                                      caplog):
        world = make_storage(batch_size=50, max_background_rows=100, flush_interval_s=3600.0,
                             attempts=1, clock=lambda: 1_000.0)  # retry time never comes
        other = sqlite3.connect(world.db_path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            with caplog.at_level(logging.ERROR):
                for first in (0, 50, 100):
                    world.writer.tell(candles(first, 50))
                stats = world.stats()
            other.execute("ROLLBACK")
        finally:
            other.close()
        assert (stats.background_dropped, stats.pending_rows) == (50, 100)
        assert any(getattr(r, "event", None) == "storage.background_dropped"
                   for r in caplog.records)
        world.add_alert("flush")
        assert world.query("SELECT MIN(open_time) FROM candles") == [(50 * 60_000,)]
        assert count(world, "candles") == 100

    def test_an_io_error_is_retried_within_the_same_flush(self, make_storage):
        world = make_storage(attempts=3)
        world.probe.fail("applied", io_error(), io_error())
        assert world.add_alert("r1").changed
        assert world.stats().batch_failures == 0

    def test_an_io_error_on_every_attempt_is_a_refusal_and_stores_nothing(self, make_storage):
        world = make_storage(attempts=3)
        world.probe.fail("applied", io_error(), io_error(), io_error())
        with pytest.raises(StorageBusy):
            world.add_alert("r1")
        assert count(world, "alerts") == 0


class TestCrashMidBatch:
    def test_nothing_acknowledged_is_lost_and_nothing_refused_was_saved(self, make_storage):
        world = make_storage(flush_interval_s=3600.0)
        release = world.probe.hold("begin")
        first = world.send(AddAlert, request_id="k0", user_id=1, chat_id=1, symbol="BTCUSDT",
                           direction="above", price=1.0)
        assert world.probe.wait_for("begin")
        world.probe.fail("applied", None, InjectedCrash("bug"))  # the second batch crashes
        world.writer.tell(candles(0, 10))
        queued = [world.send(AddAlert, request_id=f"k{n}", user_id=1, chat_id=1,
                             symbol="BTCUSDT", direction="above", price=float(n + 1))
                  for n in range(1, 6)]
        release.set()
        assert first.get(timeout=TIMEOUT).changed
        for refused in queued[:-1]:
            with pytest.raises(StorageBusy, match="the storage restarted"):
                refused.get(timeout=TIMEOUT)
        # The message being handled when it crashed is redelivered to the next instance.
        redelivered = queued[-1].get(timeout=TIMEOUT)
        assert world.writer.generation == 2
        keys = {key for (key,) in world.query("SELECT request_key FROM alerts")}
        assert keys == {"k0", "k5"}
        assert world.query("SELECT id FROM alerts WHERE request_key = 'k5'") == [
            (redelivered.alert_id,)]
        world.stats()  # the handed-over candles are queued before this question
        assert count(world, "candles") == 10


class TestIntrospection:
    def test_write_and_read_timings_show_up_with_p50_and_p99(self, make_storage):
        world = make_storage()
        world.add_alert("r1")
        world.pool.alerts_of(1)
        stats = world.stats()
        for timings in (dict(stats.query)["write.AddAlert"], dict(stats.query)["write.commit"],
                        dict(stats.read)["alerts_of"]):
            assert timings.count >= 1
            assert 0 <= timings.p50_ms <= timings.p99_ms
        assert stats.committed == 1
        # The flat names /actors, /metrics and the logs show (dashboards depend on them):
        figures = dict(stat_figures(stats))
        for kind in ("query.write.AddAlert", "query.write.commit", "read.alerts_of"):
            assert figures[f"{kind}.count"] >= 1
        assert figures["committed"] == 1 and figures["read_pool.opened"] >= 1


def test_the_storage_spec_runs_a_writer_from_the_configuration(tmp_path):
    db_path = tmp_path / "from-config.sqlite3"
    config = BotConfig().with_overrides(db_path=str(db_path))
    tree = SupervisionTree([storage_spec(config, SETTINGS)], SETTINGS).start()
    try:
        future: pykka.ThreadingFuture[Saved] = pykka.ThreadingFuture()
        tree.address("db_writer").tell(AddAlert(request_id="r", user_id=1, chat_id=1,
                                                symbol="BTCUSDT", direction="above",
                                                price=1.0, reply_to=future))
        assert future.get(timeout=TIMEOUT).alert_id == 1
    finally:
        tree.stop(timeout_s=10)
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600
    assert pykka.ActorRegistry.get_all() == []


class TestPruning:
    """Issue 12 item 9: the writer prunes history a bounded batch at a time, between writes."""

    @staticmethod
    def old_commands(world: StorageWorld, rows: int) -> None:
        conn = sqlite3.connect(world.db_path)
        try:
            with conn:
                conn.executemany(
                    "INSERT INTO command_log (request_id, user_id, command, latency_ms, outcome,"
                    " at) VALUES (?, 1, '/price', 1.0, 'ok', 1000.0)",
                    [(f"old{n}",) for n in range(rows)])
        finally:
            conn.close()

    def test_old_history_is_deleted_in_bounded_runs_that_let_writes_through(self, make_storage):
        from messages.storage import PruneDue, Watch
        from storage.prune import RetentionRules

        world = make_storage(retention=RetentionRules(batch_rows=10), prune_interval_s=3600.0)
        self.old_commands(world, 35)
        world.writer.tell(PruneDue())
        deadline = time.monotonic() + TIMEOUT
        attempt = 0
        while count(world, "command_log") and time.monotonic() < deadline:
            # Acknowledged writes go through between runs (a run per flush tick, 50 ms here).
            world.write(Watch, request_id=f"w{attempt}", user_id=1,
                        symbol=f"S{attempt % 40}USDT")
            attempt += 1
        assert count(world, "command_log") == 0
        stats = world.stats()
        assert stats.pruned == 35
        runs = dict(stats.query)["prune"].count
        assert runs >= 4  # 35 rows at most 10 per run, each run one message of its own

    def test_storage_spec_prunes_with_the_configured_retention(self, tmp_path):
        from messages.storage import PruneDue, Watch

        config = BotConfig().with_overrides(db_path=str(tmp_path / "bot.sqlite3"),
                                            command_log_retention_days=1.0,
                                            db_prune_interval_s=3600.0, db_prune_batch_rows=2)
        tree = SupervisionTree([storage_spec(config, SETTINGS)], SETTINGS).start()
        try:
            assert tree.address("db_writer").wait_until_running(timeout=TIMEOUT)
            world = StorageWorld(tree, tmp_path / "bot.sqlite3", None, None)  # type: ignore[arg-type]
            world.stats()
            self.old_commands(world, 5)
            conn = sqlite3.connect(world.db_path)
            with conn:
                conn.executemany(
                    "INSERT INTO command_log (request_id, user_id, command, latency_ms, outcome,"
                    " at) VALUES (?, 1, '/price', 1.0, 'ok', ?)",
                    [(f"new{n}", time.time() - 3600) for n in range(3)])
            conn.close()
            world.writer.tell(PruneDue())
            deadline = time.monotonic() + TIMEOUT
            attempt = 0
            while count(world, "command_log") > 3 and time.monotonic() < deadline:
                world.write(Watch, request_id=f"w{attempt}", user_id=1, symbol="BTCUSDT")
                attempt += 1
            assert count(world, "command_log") == 3  # an hour old is kept, 1 day is the limit
            assert world.stats().pruned == 5
        finally:
            tree.stop(timeout_s=10)
