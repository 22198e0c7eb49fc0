"""The digest's schedule: one local minute, exactly once per local day, across DST changes in
Europe/Berlin and America/New_York, with catch-up within an hour after downtime (fake clock:
plain epoch seconds stepped minute by minute)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from users.digest import (
    CATCH_UP_S,
    digest_moment,
    next_due,
    plan,
    reschedule,
    settled_when_set,
)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


def run_days(zone: str, minute: int, start: float, end: float,
             down: tuple[float, float] | None = None) -> list[tuple[date, float]]:
    """Step a fake clock a minute at a time from ``start`` to ``end`` the way the digest actor
    does (look when ``next_due_at`` has come, carry out the plan); (day, moment) of each send.
    While ``down`` (from, to) the bot is off and nobody looks."""
    done, next_at = settled_when_set(start, minute, zone, None)
    sent: list[tuple[date, float]] = []
    now = start
    while now <= end:
        if (down is None or not down[0] <= now < down[1]) and now >= next_at:
            decided = plan(now, minute, zone, done)
            if decided.send_day is not None:
                sent.append((decided.send_day, now))
            assert decided.done_day is not None
            done, next_at = decided.done_day, decided.next_due_at
        now += 60
    return sent


class TestAcrossDaylightSavingChanges:
    def test_a_0230_digest_in_berlin_goes_out_once_on_the_day_0230_does_not_exist(self):
        # 2026-03-29: 02:00 CET jumps to 03:00 CEST; 02:30 is taken as 03:30 CEST (01:30 UTC).
        sent = run_days("Europe/Berlin", 150, utc(2026, 3, 27, 23), utc(2026, 3, 30, 22))
        assert sent == [(date(2026, 3, 28), utc(2026, 3, 28, 1, 30)),
                        (date(2026, 3, 29), utc(2026, 3, 29, 1, 30)),
                        (date(2026, 3, 30), utc(2026, 3, 30, 0, 30))]

    def test_a_0230_digest_in_berlin_goes_out_once_on_the_day_0230_happens_twice(self):
        # 2026-10-25: 03:00 CEST falls back to 02:00 CET; the first 02:30 is 00:30 UTC.
        sent = run_days("Europe/Berlin", 150, utc(2026, 10, 23, 22), utc(2026, 10, 26, 23))
        assert sent == [(date(2026, 10, 24), utc(2026, 10, 24, 0, 30)),
                        (date(2026, 10, 25), utc(2026, 10, 25, 0, 30)),
                        (date(2026, 10, 26), utc(2026, 10, 26, 1, 30))]

    def test_a_0130_digest_in_new_york_goes_out_once_on_the_fall_back_day(self):
        # 2026-11-01: 02:00 EDT falls back to 01:00 EST; 01:30 happens at 05:30 and 06:30 UTC.
        sent = run_days("America/New_York", 90, utc(2026, 10, 31, 4), utc(2026, 11, 3, 4))
        assert sent == [(date(2026, 10, 31), utc(2026, 10, 31, 5, 30)),
                        (date(2026, 11, 1), utc(2026, 11, 1, 5, 30)),
                        (date(2026, 11, 2), utc(2026, 11, 2, 6, 30))]

    def test_a_0230_digest_in_new_york_goes_out_once_on_the_spring_forward_day(self):
        # 2026-03-08: 02:00 EST jumps to 03:00 EDT; 02:30 is taken as 03:30 EDT (07:30 UTC).
        sent = run_days("America/New_York", 150, utc(2026, 3, 7, 5), utc(2026, 3, 10, 4))
        assert sent == [(date(2026, 3, 7), utc(2026, 3, 7, 7, 30)),
                        (date(2026, 3, 8), utc(2026, 3, 8, 7, 30)),
                        (date(2026, 3, 9), utc(2026, 3, 9, 6, 30))]

    def test_a_0800_digest_keeps_its_local_time_when_the_offset_changes(self):
        sent = run_days("Europe/Berlin", 480, utc(2026, 3, 28, 0), utc(2026, 3, 30, 12))
        assert [moment for _, moment in sent] == [utc(2026, 3, 28, 7), utc(2026, 3, 29, 6),
                                                  utc(2026, 3, 30, 6)]

    @pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York", "UTC",
                                      "Australia/Lord_Howe", "Asia/Kathmandu"])
    @pytest.mark.parametrize("minute", [0, 30, 90, 150, 1439])
    def test_every_minute_of_every_day_of_a_dst_year_gives_one_digest_a_day(self, zone, minute):
        # next_due hops from digest to digest over a whole year: one per local day, none lost.
        now, done = utc(2026, 1, 1), None
        days: list[date] = []
        for _ in range(366):
            now = next_due(now, minute, zone, done)
            decided = plan(now, minute, zone, done)
            assert decided.send_day is not None and decided.send_day not in days
            days.append(decided.send_day)
            done = decided.done_day
        assert days == [days[0] + timedelta(days=n) for n in range(366)]


class TestSettingADigest:
    def test_a_time_still_ahead_today_is_todays_digest(self):
        done, next_at = settled_when_set(utc(2026, 6, 1, 5), 510, "UTC", None)
        assert next_at == utc(2026, 6, 1, 8, 30) and done == date(2026, 5, 31)

    def test_a_time_already_past_today_starts_tomorrow(self):
        done, next_at = settled_when_set(utc(2026, 6, 1, 9), 510, "UTC", None)
        assert next_at == utc(2026, 6, 2, 8, 30) and done == date(2026, 6, 1)

    def test_changing_the_time_after_todays_digest_went_out_waits_for_tomorrow(self):
        done, next_at = settled_when_set(utc(2026, 6, 1, 9), 20 * 60, "UTC", date(2026, 6, 1))
        assert next_at == utc(2026, 6, 2, 20) and done == date(2026, 6, 1)

    def test_the_time_is_local_to_the_users_zone(self):
        _, next_at = settled_when_set(utc(2026, 6, 1, 0), 510, "America/New_York", None)
        assert next_at == utc(2026, 6, 1, 12, 30)


class TestCatchUpAfterDowntime:
    def test_a_digest_less_than_an_hour_late_is_sent_late(self):
        moment = digest_moment(date(2026, 6, 1), 510, "UTC")
        decided = plan(moment + CATCH_UP_S - 60, 510, "UTC", date(2026, 5, 31))
        assert decided.send_day == date(2026, 6, 1) and decided.missed_day is None
        assert decided.next_due_at == utc(2026, 6, 2, 8, 30)

    def test_a_digest_more_than_an_hour_late_is_skipped_for_that_day_and_remembered(self):
        moment = digest_moment(date(2026, 6, 1), 510, "UTC")
        decided = plan(moment + CATCH_UP_S + 60, 510, "UTC", date(2026, 5, 31))
        assert decided.send_day is None and decided.missed_day == date(2026, 6, 1)
        assert decided.done_day == date(2026, 6, 1)
        assert decided.next_due_at == utc(2026, 6, 2, 8, 30)

    def test_exactly_an_hour_late_is_still_sent_a_second_more_is_missed(self):
        moment = digest_moment(date(2026, 6, 1), 510, "UTC")
        assert plan(moment + CATCH_UP_S, 510, "UTC", date(2026, 5, 31)).send_day is not None
        assert plan(moment + CATCH_UP_S + 1, 510, "UTC", date(2026, 5, 31)).missed_day \
            == date(2026, 6, 1)

    def test_days_of_downtime_send_nothing_until_the_next_digest_time(self):
        sent = run_days("UTC", 510, utc(2026, 6, 1), utc(2026, 6, 5, 12),
                        down=(utc(2026, 6, 2), utc(2026, 6, 4, 10)))
        assert [day for day, _ in sent] == [date(2026, 6, 1), date(2026, 6, 5)]

    def test_coming_back_within_the_hour_sends_the_digest_at_once(self):
        sent = run_days("UTC", 510, utc(2026, 6, 1), utc(2026, 6, 2, 12),
                        down=(utc(2026, 6, 2, 8), utc(2026, 6, 2, 9)))
        assert sent[-1] == (date(2026, 6, 2), utc(2026, 6, 2, 9))

    def test_a_settled_day_is_never_sent_again_whatever_the_clock_says(self):
        decided = plan(utc(2026, 6, 1, 8, 45), 510, "UTC", date(2026, 6, 1))
        assert decided.send_day is None and decided.missed_day is None
        assert decided.next_due_at == utc(2026, 6, 2, 8, 30)


class TestTimeZoneChanges:
    def test_a_move_to_a_later_zone_is_honoured_at_the_next_look(self):
        # Set for 08:30 UTC, then the user moved to New York: at 08:30 UTC it is 04:30 there.
        decided = plan(utc(2026, 6, 1, 8, 30), 510, "America/New_York", date(2026, 5, 31))
        assert decided.send_day is None
        assert decided.next_due_at == utc(2026, 6, 1, 12, 30)

    def test_a_move_east_just_after_the_new_zones_time_still_sends_todays_digest(self):
        # Regression: 08:00, not sent yet today (08:00 UTC is ten minutes away); at 07:50 UTC
        # (08:50 in Berlin) the user moves to Berlin. Berlin's 08:00 passed 50 minutes ago,
        # inside the catch-up hour, and no digest of that day went out, yet the move put the
        # next one on tomorrow: nothing came that day at all.
        now = utc(2026, 12, 6, 7, 50)
        next_at = reschedule(now, 480, "Europe/Berlin", date(2026, 12, 5))
        assert next_at == utc(2026, 12, 6, 7)
        decided = plan(now + 30, 480, "Europe/Berlin", date(2026, 12, 5))
        assert decided.send_day == date(2026, 12, 6) and decided.missed_day is None

    def test_a_move_east_long_after_the_new_zones_time_waits_for_tomorrow_unreported(self):
        now = utc(2026, 12, 6, 7, 50)  # 16:50 in Tokyo, its 06:00 long past
        next_at = reschedule(now, 360, "Asia/Tokyo", date(2026, 12, 5))
        assert next_at == utc(2026, 12, 6, 21)  # 06:00 in Tokyo tomorrow
        decided = plan(next_at, 360, "Asia/Tokyo", date(2026, 12, 5))
        assert decided.send_day == date(2026, 12, 7) and decided.missed_day is None

    @pytest.mark.parametrize("zone, next_at", [
        ("America/New_York", utc(2026, 12, 7, 13)), ("Europe/Berlin", utc(2026, 12, 7, 7)),
        ("UTC", utc(2026, 12, 7, 8))])
    def test_a_move_after_todays_digest_never_brings_a_second_one_that_day(self, zone, next_at):
        assert reschedule(utc(2026, 12, 6, 8, 10), 480, zone, date(2026, 12, 6)) == next_at
