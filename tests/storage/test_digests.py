"""The digest's rows: setting, stopping and claiming a day in the writer's transaction (a day
is claimed once whatever is repeated), the due and firing reads, and their query plans."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest

from messages.digest import ClearDigest, DigestsSettled, SetDigest, SettleDigests
from messages.storage import Saved, SaveSettings
from storage.digest_queries import DIGEST_READS, digest_of, due_digests, firings_since
from storage.digest_writes import (
    DIGEST_WRITES,
    clear_digest,
    reschedule_digest,
    set_digest,
    settle_digests,
)
from storage.engine import Connection
from storage.errors import InvalidWrite
from storage.writes import save_settings
from tests.storage import plans
from tests.storage.conftest import insert_alert

T = TypeVar("T")
PARAMS = {"user_id": 1, "now": 0.0, "limit": 10, "since": 0.0, "next_due_at": 0.0,
          "last_day": "2026-01-01", "missed_day": None, "was_last_day": None,
          "was_next_due_at": 0.0}


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


def in_transaction(conn: Connection, apply: Callable[..., T], *args: Any,
                   **kwargs: Any) -> T:
    conn.execute("BEGIN IMMEDIATE")
    result = apply(conn, *args, **kwargs)
    conn.execute("COMMIT")
    return result


def set_at(conn: Connection, now: float, minute: int, user_id: int = 1) -> Saved:
    return in_transaction(conn, set_digest, SetDigest(request_id="r", user_id=user_id,
                                                      chat_id=user_id * 10, minute=minute),
                          now=now)


def settle_at(conn: Connection, now: float, *user_ids: int,
              day: str | None = None) -> DigestsSettled:
    """Claim as the actor would, having composed each user's digest of ``day`` (default: the
    UTC day of ``now``)."""
    composed = day if day is not None else datetime.fromtimestamp(now, UTC).date().isoformat()
    claims = tuple((user_id, composed) for user_id in user_ids or (1,))
    return in_transaction(conn, settle_digests, SettleDigests(claims=claims, now=now))


def set_zone(conn: Connection, user_id: int, zone: str) -> None:
    conn.execute("INSERT INTO users (user_id, chat_id, first_seen, last_seen, settings)"
                 " VALUES (?, ?, 0, 0, ?) ON CONFLICT (user_id) DO UPDATE"
                 " SET settings = excluded.settings",
                 (user_id, user_id * 10, json.dumps({"timezone": zone})))


def plan(conn: Connection, sql: str) -> list[str]:
    return plans.plan(conn, sql, PARAMS)


class TestQueryPlans:
    @pytest.mark.parametrize("name", sorted({**DIGEST_READS, **DIGEST_WRITES}))
    def test_every_digest_statement_finds_its_rows_through_an_index(self, conn, name):
        sql = {**DIGEST_READS, **DIGEST_WRITES}[name]
        assert plans.unindexed_scans(conn, sql, PARAMS) == [], plan(conn, sql)

    def test_the_due_query_walks_the_next_due_index(self, conn):
        assert any("digests_due" in step for step in plan(conn, DIGEST_READS["due_digests"]))


class TestSettingAndStopping:
    def test_a_digest_set_before_its_time_is_due_today_in_the_users_zone(self, conn):
        set_zone(conn, 1, "Europe/Berlin")
        assert set_at(conn, utc(2026, 6, 1, 5), 510).changed
        record = digest_of(conn, 1)
        assert record is not None and record.chat_id == 10 and record.minute == 510
        assert record.next_due_at == utc(2026, 6, 1, 6, 30)  # 08:30 CEST

    def test_setting_the_same_time_again_changes_nothing(self, conn):
        set_at(conn, utc(2026, 6, 1, 5), 510)
        assert not set_at(conn, utc(2026, 6, 1, 5, 1), 510).changed

    def test_a_time_outside_the_day_is_refused(self, conn):
        with pytest.raises(InvalidWrite):
            set_at(conn, utc(2026, 6, 1), 1440)

    def test_stopping_deletes_the_row_and_says_whether_there_was_one(self, conn):
        set_at(conn, utc(2026, 6, 1), 510)
        assert in_transaction(conn, clear_digest, ClearDigest(request_id="r", user_id=1)).changed
        assert digest_of(conn, 1) is None
        assert not in_transaction(conn, clear_digest, ClearDigest(request_id="r", user_id=1)).changed


class TestClaimingADay:
    def test_a_due_digest_is_claimed_once_and_moved_to_the_next_day(self, conn):
        set_at(conn, utc(2026, 6, 1, 5), 510)
        settled = settle_at(conn, utc(2026, 6, 1, 8, 30))
        assert [(s.user_id, s.chat_id, s.day) for s in settled.sent] == [(1, 10, "2026-06-01")]
        record = digest_of(conn, 1)
        assert record is not None and record.last_day == "2026-06-01"
        assert record.next_due_at == utc(2026, 6, 2, 8, 30)

    def test_claiming_the_same_day_again_sends_nothing(self, conn):
        set_at(conn, utc(2026, 6, 1, 5), 510)
        settle_at(conn, utc(2026, 6, 1, 8, 30))
        for now in (utc(2026, 6, 1, 8, 31), utc(2026, 6, 1, 8, 30), utc(2026, 6, 1, 23, 59)):
            assert settle_at(conn, now) == DigestsSettled(sent=(), missed=())

    def test_a_digest_not_due_yet_is_left_alone(self, conn):
        set_at(conn, utc(2026, 6, 1, 5), 510)
        assert settle_at(conn, utc(2026, 6, 1, 8, 29)) == DigestsSettled(sent=(), missed=())
        record = digest_of(conn, 1)
        assert record is not None and record.next_due_at == utc(2026, 6, 1, 8, 30)

    def test_more_than_an_hour_late_it_is_skipped_and_remembered_until_the_next_digest(self, conn):
        set_at(conn, utc(2026, 6, 1, 5), 510)
        assert settle_at(conn, utc(2026, 6, 1, 10)) == DigestsSettled(sent=(), missed=(1,))
        record = digest_of(conn, 1)
        assert record is not None and record.missed_day == "2026-06-01"
        assert record.next_due_at == utc(2026, 6, 2, 8, 30)
        assert [s.day for s in settle_at(conn, utc(2026, 6, 2, 8, 30)).sent] == ["2026-06-02"]
        record = digest_of(conn, 1)
        assert record is not None and record.missed_day is None

    def test_a_digest_is_claimed_only_for_the_day_the_actor_composed(self, conn):
        set_at(conn, utc(2026, 6, 1, 5), 510)
        assert settle_at(conn, utc(2026, 6, 1, 8, 30), day="2026-05-31").sent == ()
        record = digest_of(conn, 1)
        assert record is not None and record.last_day == "2026-05-31"  # untouched
        assert settle_at(conn, utc(2026, 6, 1, 8, 30), day="").sent == ()
        assert len(settle_at(conn, utc(2026, 6, 1, 8, 30)).sent) == 1

    def test_a_user_who_stopped_the_digest_meanwhile_gets_none(self, conn):
        set_at(conn, utc(2026, 6, 1, 5), 510)
        in_transaction(conn, clear_digest, ClearDigest(request_id="r", user_id=1))
        assert settle_at(conn, utc(2026, 6, 1, 8, 30)) == DigestsSettled(sent=(), missed=())

    def test_users_are_claimed_independently_in_one_transaction(self, conn):
        set_at(conn, utc(2026, 6, 1, 5), 510, user_id=1)
        set_at(conn, utc(2026, 6, 1, 5), 600, user_id=2)
        settled = settle_at(conn, utc(2026, 6, 1, 8, 30), 1, 2, 1)
        assert [s.user_id for s in settled.sent] == [1]
        assert [r.user_id for r in due_digests(conn, utc(2026, 6, 1, 10), 10)] == [2]


class TestTimeZoneChanges:
    def test_rescheduling_moves_the_next_digest_to_the_new_zone(self, conn):
        set_at(conn, utc(2026, 6, 1, 5), 510)  # UTC: 08:30 UTC
        set_zone(conn, 1, "Asia/Tokyo")
        assert in_transaction(conn, reschedule_digest, 1, now=utc(2026, 6, 1, 5))
        record = digest_of(conn, 1)
        assert record is not None and record.next_due_at == utc(2026, 6, 1, 23, 30)

    def test_saving_a_new_time_zone_moves_the_next_digest_in_the_same_transaction(self, conn):
        set_at(conn, utc(2026, 6, 1, 5), 510)  # UTC: 08:30 UTC
        in_transaction(conn, save_settings, SaveSettings(
            request_id="s", user_id=1, chat_id=10, settings=(("timezone", "Asia/Tokyo"),)),
            now=utc(2026, 6, 1, 5))
        record = digest_of(conn, 1)
        assert record is not None and record.next_due_at == utc(2026, 6, 1, 23, 30)

    def test_a_move_east_just_after_the_new_zones_time_sends_todays_digest_late(self, conn):
        # Regression: the move put the next digest on tomorrow, so that day had none at all.
        set_at(conn, utc(2026, 12, 6, 5), 480)  # 08:00 UTC, due today
        now = utc(2026, 12, 6, 7, 50)  # 08:50 in Berlin
        in_transaction(conn, save_settings, SaveSettings(
            request_id="s", user_id=1, chat_id=10, settings=(("timezone", "Europe/Berlin"),)),
            now=now)
        assert [r.user_id for r in due_digests(conn, now, 10)] == [1]
        settled = settle_at(conn, now + 30, day="2026-12-06")
        assert [d.day for d in settled.sent] == ["2026-12-06"] and not settled.missed

    def test_rescheduling_a_user_without_a_digest_does_nothing(self, conn):
        assert not in_transaction(conn, reschedule_digest, 5, now=0.0)


class TestReads:
    def test_due_digests_come_longest_waiting_first_and_bounded(self, conn):
        for user_id, minute in ((1, 600), (2, 500), (3, 550)):
            set_at(conn, utc(2026, 6, 1), minute, user_id=user_id)
        assert [r.user_id for r in due_digests(conn, utc(2026, 6, 1, 12), 2)] == [2, 3]

    def test_firings_of_the_last_day_are_the_users_own_with_their_alert(self, conn):
        alert_id = insert_alert(conn, user_id=1, symbol="BTCUSDT", price=70_000.0)
        rows = [(alert_id, 100.0, 1, "BTCUSDT", "price", 70_100.0),
                (alert_id, 200.0, 1, "BTCUSDT", "price", 70_200.0),
                (999, 150.0, 1, "ETHUSDT", "price", 3_000.0),
                (alert_id + 1, 180.0, 2, "SOLUSDT", "price", 150.0),
                (alert_id, 10.0, 1, "BTCUSDT", "price", 69_000.0)]
        conn.executemany("INSERT INTO alert_firings (alert_id, fired_at, user_id, symbol, kind,"
                         " value) VALUES (?, ?, ?, ?, ?, ?)", rows)
        firings = firings_since(conn, 1, 50.0)
        assert [(f.symbol, f.fired_at) for f in firings] == [
            ("BTCUSDT", 100.0), ("ETHUSDT", 150.0), ("BTCUSDT", 200.0)]
        assert (firings[0].direction, firings[0].level) == ("above", 70_000.0)
        assert (firings[1].direction, firings[1].level) == (None, None)  # alert deleted since
