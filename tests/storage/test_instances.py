"""Several instances on one database: a crossing fires once, a notice is claimed by one sender,
a digest day is settled once - with two real writer connections racing on PostgreSQL.

The claim rules themselves run on both engines (one instance on SQLite takes the same path).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest

from messages.digest import SetDigest, SettleDigests
from messages.storage import (
    AddAlert,
    ClaimNotices,
    DeleteAlert,
    FireCrossedAlerts,
    MarkNotified,
    RearmAlert,
    SaveSettings,
)
from messages.user_data import ForgetUser
from storage.batch import commit_batch
from storage.connection import open_writer
from storage.digest_writes import set_digest, settle_digests
from storage.engine import Connection
from storage.errors import AlertNotFound, LimitReached
from storage.notices import claim_notices
from storage.prune import PruneCursor, RetentionRules, prune
from storage.sweep import fire_crossed_alerts
from storage.timing import QueryTimer
from storage.user_data import forget_user
from storage.writes import WriteRules, delete_alert, mark_notified, rearm_alert, save_settings
from tests.storage.conftest import NOW, begin, insert_alert

T = TypeVar("T")


def in_transaction(conn: Connection, apply: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    begin(conn)
    result = apply(conn, *args, **kwargs)
    conn.execute("COMMIT")
    return result


def claim(conn: Connection, claimant: str, *ids: int, now: float = NOW) -> tuple[int, ...]:
    message = ClaimNotices(alert_ids=ids, claimant=claimant, now=now, until=now + 60)
    return in_transaction(conn, claim_notices, message).alert_ids


def fire(conn: Connection, price: float, at: float = NOW) -> tuple[int, ...]:
    sweep = FireCrossedAlerts(prices=(("BTCUSDT", price),), fired_at=at)
    return tuple(a.alert_id for a in in_transaction(conn, fire_crossed_alerts, sweep).alerts)


class TestClaimRules:
    """Both engines: who may claim a notice, and when."""

    def test_one_claimant_gets_a_notice_and_another_does_not_until_the_claim_runs_out(self,
                                                                                     conn):
        alert = insert_alert(conn, price=100.0)
        assert fire(conn, 101.0) == (alert,)
        assert claim(conn, "a", alert) == (alert,)
        assert claim(conn, "b", alert) == ()
        assert claim(conn, "a", alert) == (alert,)  # its own claim, again (a retried sweep)
        assert claim(conn, "b", alert, now=NOW + 61) == (alert,)  # "a" died while sending

    def test_a_notified_or_never_fired_alert_is_claimed_by_nobody(self, conn):
        armed = insert_alert(conn, price=100.0, key="armed")
        told = insert_alert(conn, price=50.0, key="told")
        assert fire(conn, 60.0) == (told,)
        in_transaction(conn, mark_notified, MarkNotified(alert_ids=(told,), notified_at=NOW))
        assert claim(conn, "a", armed, told) == ()

    def test_firing_again_frees_the_notice_of_the_last_claim(self, conn):
        alert = insert_alert(conn, price=100.0, recurring=True)
        assert fire(conn, 101.0) == (alert,)
        assert claim(conn, "a", alert) == (alert,)
        in_transaction(conn, mark_notified, MarkNotified(alert_ids=(alert,), notified_at=NOW))
        fire(conn, 99.0, at=NOW + 1)  # cleared: re-armed
        assert fire(conn, 101.0, at=NOW + 2) == (alert,)
        assert claim(conn, "b", alert, now=NOW + 2) == (alert,)


    def test_a_late_mark_from_a_sender_whose_claim_ran_out_leaves_a_newer_notice_to_send(
            self, conn):
        alert = insert_alert(conn, price=100.0, recurring=True)
        assert fire(conn, 101.0) == (alert,)
        assert claim(conn, "b", alert) == (alert,)  # "b" sends; its mark fails for a minute
        assert claim(conn, "a", alert, now=NOW + 61) == (alert,)  # "a" sends it again
        in_transaction(conn, mark_notified, MarkNotified(alert_ids=(alert,), notified_at=NOW + 61,
                                                         claimant="a"))
        fire(conn, 99.0, at=NOW + 62)  # cleared: re-armed
        assert fire(conn, 101.0, at=NOW + 63) == (alert,)  # a new crossing: a new notice
        late = MarkNotified(alert_ids=(alert,), notified_at=NOW + 64, claimant="b")
        assert not in_transaction(conn, mark_notified, late).changed  # "b" never sent that one
        assert claim(conn, "a", alert, now=NOW + 64) == (alert,)  # still to be sent


class TestSeveralInstancesOnPostgres:
    """Two writer connections (two instances) on one PostgreSQL database."""

    @pytest.fixture
    def engine(self) -> str:
        return "postgres"

    @pytest.fixture
    def second(self, conn: Connection, database: str) -> Iterator[Connection]:
        """Another instance's writer connection to the same PostgreSQL database."""
        other = open_writer(database)
        yield other
        other.close()


    def test_two_instances_sweeping_one_crossing_at_once_fire_it_once(self, conn, second):
        alerts = [insert_alert(conn, user_id=n, price=100.0 + n) for n in range(1, 21)]
        start = threading.Barrier(2)

        def sweep_rounds(writer: Connection) -> list[int]:
            fired: list[int] = []
            start.wait(timeout=10)
            for round_ in range(30):
                outcome = commit_batch(writer, [FireCrossedAlerts(
                    prices=(("BTCUSDT", 200.0),), fired_at=NOW + round_)], now=NOW,
                    rules=WriteRules(), timer=QueryTimer(1000.0))[0]
                fired += [alert.alert_id for alert in outcome.result.alerts]
            return fired

        with ThreadPoolExecutor(2) as instances:
            results = list(instances.map(sweep_rounds, (conn, second)))
        assert sorted(results[0] + results[1]) == alerts
        logged = conn.execute("SELECT alert_id, COUNT(*) FROM alert_firings GROUP BY alert_id"
                              " ORDER BY alert_id").fetchall()
        assert logged == [(alert, 1) for alert in alerts]


    def test_a_sweep_skips_while_another_instance_holds_the_sweep(self, conn, second):
        alert = insert_alert(conn, price=100.0)
        begin(conn)
        try:
            assert fire_crossed_alerts(conn, FireCrossedAlerts(
                prices=(("BTCUSDT", 101.0),), fired_at=NOW)).alerts[0].alert_id == alert
            assert fire(second, 101.0) == ()  # skipped at once, not waiting for the lock
        finally:
            conn.execute("COMMIT")
        assert fire(second, 101.0) == ()  # fired already: nothing to fire any more


    def test_two_instances_claiming_one_notice_at_once_one_gets_it(self, conn, second):
        alert = insert_alert(conn, price=100.0)
        assert fire(conn, 101.0) == (alert,)
        begin(conn)
        assert claim_notices(conn, ClaimNotices(alert_ids=(alert,), claimant="a", now=NOW,
                                                until=NOW + 60)).alert_ids == (alert,)
        with ThreadPoolExecutor(1) as other:
            waiting = other.submit(claim, second, "b", alert)  # blocks on the row lock
            wait_until_blocked(conn)
            conn.execute("COMMIT")
            assert waiting.result(timeout=10) == ()


    def test_two_instances_settling_one_digest_at_once_send_it_once(self, conn, second):
        due_at = datetime(2026, 6, 1, 8, 0, tzinfo=UTC).timestamp()
        in_transaction(conn, set_digest, SetDigest(request_id="r", user_id=1, chat_id=10,
                                                   minute=8 * 60), now=due_at - 86_400)
        claims = SettleDigests(claims=((1, "2026-06-01"),), now=due_at + 1)
        begin(conn)
        first = settle_digests(conn, claims)
        with ThreadPoolExecutor(1) as other:
            waiting = other.submit(in_transaction, second, settle_digests, claims)
            wait_until_blocked(conn)
            conn.execute("COMMIT")
            later = waiting.result(timeout=10)
        assert [d.day for d in first.sent] == ["2026-06-01"]
        assert later.sent == () and later.missed == ()

    def test_two_instances_adding_one_users_alerts_at_once_keep_the_limit(self, conn, second):
        rules = WriteRules(max_alerts_per_user=5)
        start = threading.Barrier(2)

        def add_many(writer: Connection, name: str) -> list[object]:
            start.wait(timeout=10)
            return [commit_batch(writer, [AddAlert(
                request_id=f"{name}{n}", user_id=1, chat_id=1, symbol="BTCUSDT",
                direction="above", price=100.0 + n + (0.5 if name == "b" else 0.0))],
                now=NOW, rules=rules, timer=QueryTimer(1000.0))[0].error for n in range(5)]

        with ThreadPoolExecutor(2) as instances:
            errors = [e for result in instances.map(add_many, (conn, second), ("a", "b"))
                      for e in result]
        assert sum(error is None for error in errors) == 5
        assert all(isinstance(error, LimitReached) for error in errors if error is not None)
        assert conn.execute("SELECT COUNT(*) FROM alerts").fetchone()[0] == 5

    def test_one_request_redelivered_to_two_instances_at_once_is_one_alert(self, conn, second):
        start = threading.Barrier(2)
        request = AddAlert(request_id="u42", user_id=1, chat_id=1, symbol="BTCUSDT",
                           direction="above", price=100.0)

        def add(writer: Connection) -> Any:
            start.wait(timeout=10)
            return commit_batch(writer, [request], now=NOW, rules=WriteRules(),
                                timer=QueryTimer(1000.0))[0]

        with ThreadPoolExecutor(2) as instances:
            outcomes = list(instances.map(add, (conn, second)))
        assert [o.error for o in outcomes] == [None, None]
        assert outcomes[0].result.alert_id == outcomes[1].result.alert_id
        assert sorted(o.result.changed for o in outcomes) == [False, True]


def wait_until_blocked(observer: Connection, timeout_s: float = 10.0) -> None:
    """Wait until another session of this database waits for a lock (a row another holds)."""
    pause = threading.Event()  # never set: its wait is the pause between two looks
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if observer.execute(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock'").fetchone()[0]:
            return
        pause.wait(0.005)
    raise AssertionError("no session started waiting for a lock")


class TestWritesRacingOnPostgres:
    """Another instance's write lands between a read and the write it decides (the sweep's
    mark, the prune's delete): READ COMMITTED re-checks only the statement's own conditions."""

    @pytest.fixture
    def engine(self) -> str:
        return "postgres"

    @pytest.fixture
    def second(self, conn: Connection, database: str) -> Iterator[Connection]:
        other = open_writer(database)
        yield other
        other.close()

    def test_an_alert_forgotten_by_another_instance_mid_sweep_neither_fires_nor_is_logged(
            self, conn, second):
        alert = insert_alert(conn, user_id=7, price=100.0)
        begin(second)
        forget_user(second, ForgetUser(request_id="f", user_id=7))  # holds the row, uncommitted
        with ThreadPoolExecutor(1) as sweeper:
            sweep = sweeper.submit(in_transaction, conn, fire_crossed_alerts, FireCrossedAlerts(
                prices=(("BTCUSDT", 101.0),), fired_at=NOW))
            wait_until_blocked(second)  # the sweep read the alert and waits to mark it
            second.execute("COMMIT")
            fired = sweep.result(timeout=10)
        assert alert not in [a.alert_id for a in fired.alerts]
        assert second.execute("SELECT COUNT(*) FROM alert_firings WHERE user_id = 7"
                              ).fetchone()[0] == 0  # /forget left nothing of the user

    def test_an_alert_deleted_by_another_instance_before_it_expired_is_not_reported_expired(
            self, conn, second):
        alert = insert_alert(conn, user_id=7, price=100.0, expires_at=NOW + 5)
        begin(second)
        delete_alert(second, DeleteAlert(request_id="d", user_id=7, alert_id=alert))
        with ThreadPoolExecutor(1) as sweeper:
            sweep = sweeper.submit(in_transaction, conn, fire_crossed_alerts, FireCrossedAlerts(
                prices=(), fired_at=NOW + 10))
            wait_until_blocked(second)
            second.execute("COMMIT")
            swept = sweep.result(timeout=10)
        assert swept.expired == ()

    def test_an_alert_rearmed_by_another_instance_while_pruning_is_kept(self, conn, second):
        alert = insert_alert(conn, user_id=7, price=100.0)
        assert fire(conn, 101.0) == (alert,)
        in_transaction(conn, mark_notified, MarkNotified(alert_ids=(alert,), notified_at=NOW))
        begin(second)
        assert rearm_alert(second, RearmAlert(request_id="r", user_id=7, alert_id=alert),
                           now=NOW + 1, rules=WriteRules()).changed
        with ThreadPoolExecutor(1) as pruner:
            pruning = pruner.submit(prune, conn, RetentionRules(fired_alerts_per_user=0),
                                    PruneCursor(), now=NOW + 1)
            wait_until_blocked(second)  # prune picked the finished alert, waits to delete it
            second.execute("COMMIT")  # ... which is live again now
            assert pruning.result(timeout=10).alerts == 0
        assert second.execute("SELECT ended FROM alerts WHERE id = :id",
                              {"id": alert}).fetchall() == [(None,)]

    def test_two_instances_saving_one_users_settings_at_once_keep_both(self, conn, second):
        begin(conn)
        save_settings(conn, SaveSettings(request_id="a", user_id=7, chat_id=70,
                                         settings=(("cooldown", "1h"),)), now=NOW)
        with ThreadPoolExecutor(1) as other:
            saving = other.submit(in_transaction, second, save_settings, SaveSettings(
                request_id="b", user_id=7, chat_id=70, settings=(("interval", "4h"),)),
                now=NOW)
            wait_until_blocked(conn)
            conn.execute("COMMIT")
            saving.result(timeout=10)
        stored = conn.execute("SELECT settings FROM users WHERE user_id = 7").fetchone()[0]
        assert json.loads(stored) == {"cooldown": "1h", "interval": "4h"}  # neither lost

    def test_a_digest_moved_while_another_instance_settles_today_is_not_sent_twice(
            self, conn, second):
        due_at = datetime(2026, 6, 1, 8, 0, tzinfo=UTC).timestamp()
        in_transaction(conn, set_digest, SetDigest(request_id="r", user_id=1, chat_id=10,
                                                   minute=8 * 60), now=due_at - 86_400)
        begin(conn)
        settled = settle_digests(conn, SettleDigests(claims=((1, "2026-06-01"),),
                                                     now=due_at + 1))
        assert [d.day for d in settled.sent] == ["2026-06-01"]  # sent at 08:00 by this one
        with ThreadPoolExecutor(1) as other:  # "/digest 09:00" meanwhile, on another instance
            moving = other.submit(in_transaction, second, set_digest, SetDigest(
                request_id="m", user_id=1, chat_id=10, minute=9 * 60), now=due_at + 1)
            wait_until_blocked(conn)
            conn.execute("COMMIT")
            moving.result(timeout=10)
        at_nine = SettleDigests(claims=((1, "2026-06-01"),), now=due_at + 3601)
        assert in_transaction(conn, settle_digests, at_nine).sent == ()  # today went out

    def test_an_instance_paused_inside_its_sweep_lets_the_others_sweep_again(
            self, conn, second, database, monkeypatch):
        from storage import pg

        alert = insert_alert(conn, price=100.0)
        monkeypatch.setattr(pg, "IDLE_IN_TRANSACTION_TIMEOUT_MS", 200)
        paused = open_writer(database)
        try:
            begin(paused)  # a sweep holding the sweep's lock, then SIGSTOP (or a GC pause)
            fire_crossed_alerts(paused, FireCrossedAlerts(prices=(("BTCUSDT", 99.0),),
                                                          fired_at=NOW))
            pause = threading.Event()
            deadline = time.monotonic() + 5.0
            fired: tuple[int, ...] = ()
            while not fired and time.monotonic() < deadline:
                fired = fire(second, 101.0)  # skipped while the paused one holds the lock
                pause.wait(0.05)
            assert fired == (alert,)
            # Woken, the paused instance finds its transaction gone: a transient error, and
            # the retried batch commits on a new connection.
            outcome = commit_batch(paused, [FireCrossedAlerts(prices=(("BTCUSDT", 101.0),),
                                                              fired_at=NOW + 1)],
                                   now=NOW, rules=WriteRules(), timer=QueryTimer(1000.0))
            assert outcome[0].result.alerts == ()  # fired once, by the other instance
        finally:
            paused.close()

    def test_an_alert_deleted_by_another_instance_while_being_rearmed_is_not_rearmed(
            self, conn, second):
        alert = insert_alert(conn, user_id=7, price=100.0)
        assert fire(conn, 101.0) == (alert,)
        begin(second)
        delete_alert(second, DeleteAlert(request_id="d", user_id=7, alert_id=alert))
        with ThreadPoolExecutor(1) as other:
            rearming = other.submit(in_transaction, conn, rearm_alert, RearmAlert(
                request_id="r", user_id=7, alert_id=alert), now=NOW + 1, rules=WriteRules())
            wait_until_blocked(second)
            second.execute("COMMIT")
            with pytest.raises(AlertNotFound):  # not "re-armed" for an alert that is gone
                rearming.result(timeout=10)
        if conn.in_transaction:
            conn.execute("ROLLBACK")
