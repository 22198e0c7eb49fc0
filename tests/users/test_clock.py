"""Local time for one user: zone names are checked against the database, wall-clock times map
to moments across DST changes, and quiet hours end when the user's clock says so."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from users.clock import (
    check_zone,
    local_datetime,
    local_day,
    local_moment,
    minute_of_day,
    quiet_until,
    zone,
)
from users.settings import QuietHours, parse_quiet

# The zone database is read once, on first use: not inside a timed hypothesis example.
check_zone("UTC")


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> float:
    """Epoch seconds of a UTC wall time."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


def wall(epoch_s: float, zone_name: str) -> str:
    return local_datetime(epoch_s, zone_name).strftime("%Y-%m-%d %H:%M %Z")


class TestZoneNames:
    @pytest.mark.parametrize("typed, canonical", [
        ("Europe/Berlin", "Europe/Berlin"), ("europe/berlin", "Europe/Berlin"),
        ("  America/New_York ", "America/New_York"), ("utc", "UTC"), ("UTC", "UTC"),
        ("Asia/Kolkata", "Asia/Kolkata"),
    ])
    def test_a_known_zone_comes_back_in_its_canonical_spelling(self, typed, canonical):
        assert check_zone(typed) == canonical

    @pytest.mark.parametrize("typed", [
        "", "   ", "Mars/Olympus", "Europe/Berlinn", "CET+1",
        # path-like names: ZoneInfo() itself would try to open these as files
        "../../etc/passwd", "/etc/localtime", "Europe/../Europe/Berlin", "Europe//Berlin",
        "./UTC", "\\UTC", "UTC\x00", "Europe/Berlin/", "..",
        # names some databases list that are not places
        "localtime", "posixrules", "Factory",
        "A" * 65, "Europe/" + "x" * 100,
    ])
    def test_anything_else_is_refused(self, typed):
        assert check_zone(typed) is None

    def test_zone_falls_back_to_utc_for_a_name_that_is_not_a_zone(self):
        assert zone("../../etc/passwd").key == "UTC"
        assert zone("Europe/Berlin").key == "Europe/Berlin"

    @given(st.text(max_size=80))
    def test_check_zone_never_fails_and_is_idempotent(self, text):
        found = check_zone(text)
        if found is not None:
            assert check_zone(found) == found
            assert ".." not in found and not found.startswith("/")


class TestLocalTime:
    def test_a_moment_has_the_local_day_and_minute_of_the_zone(self):
        moment = at(2026, 1, 15, 23, 30)  # 00:30 next day in Berlin, 18:30 in New York
        assert local_day(moment, "Europe/Berlin") == date(2026, 1, 16)
        assert minute_of_day(moment, "Europe/Berlin") == 30
        assert local_day(moment, "America/New_York") == date(2026, 1, 15)
        assert minute_of_day(moment, "America/New_York") == 18 * 60 + 30

    def test_an_unknown_zone_reads_as_utc(self):
        assert minute_of_day(at(2026, 1, 15, 9, 5), "Nowhere/City") == 9 * 60 + 5

    @pytest.mark.parametrize("zone_name, day, utc_hour", [
        ("Europe/Berlin", date(2026, 1, 15), 7),     # CET, +1
        ("Europe/Berlin", date(2026, 7, 15), 6),     # CEST, +2
        ("America/New_York", date(2026, 1, 15), 13),  # EST, -5
        ("America/New_York", date(2026, 7, 15), 12),  # EDT, -4
    ])
    def test_a_wall_clock_time_maps_to_the_moment_with_that_days_offset(self, zone_name, day,
                                                                       utc_hour):
        assert local_moment(day, 8 * 60, zone_name) == at(day.year, day.month, day.day, utc_hour)

    def test_a_time_skipped_by_spring_forward_is_the_same_distance_after_the_change(self):
        # Berlin 2026-03-29: 02:00 CET → 03:00 CEST; 02:30 does not exist.
        moment = local_moment(date(2026, 3, 29), 2 * 60 + 30, "Europe/Berlin")
        assert wall(moment, "Europe/Berlin") == "2026-03-29 03:30 CEST"
        # New York 2026-03-08: 02:00 EST → 03:00 EDT.
        moment = local_moment(date(2026, 3, 8), 2 * 60 + 15, "America/New_York")
        assert wall(moment, "America/New_York") == "2026-03-08 03:15 EDT"

    def test_a_time_repeated_by_fall_back_is_its_first_pass(self):
        # Berlin 2026-10-25: 03:00 CEST → 02:00 CET; 02:30 happens twice.
        moment = local_moment(date(2026, 10, 25), 2 * 60 + 30, "Europe/Berlin")
        assert wall(moment, "Europe/Berlin") == "2026-10-25 02:30 CEST"
        # New York 2026-11-01: 02:00 EDT → 01:00 EST; 01:30 happens twice.
        moment = local_moment(date(2026, 11, 1), 90, "America/New_York")
        assert wall(moment, "America/New_York") == "2026-11-01 01:30 EDT"

    def test_the_same_local_time_on_the_days_around_a_change_is_23_or_25_hours_apart(self):
        before = local_moment(date(2026, 3, 28), 8 * 60, "Europe/Berlin")
        after = local_moment(date(2026, 3, 29), 8 * 60, "Europe/Berlin")
        assert after - before == 23 * 3600
        before = local_moment(date(2026, 10, 31), 8 * 60, "America/New_York")
        after = local_moment(date(2026, 11, 1), 8 * 60, "America/New_York")
        assert after - before == 25 * 3600


class TestQuietHours:
    def test_a_window_within_one_day_contains_its_start_but_not_its_end(self):
        quiet = QuietHours(12 * 60, 14 * 60)
        assert not quiet.contains(12 * 60 - 1)
        assert quiet.contains(12 * 60) and quiet.contains(14 * 60 - 1)
        assert not quiet.contains(14 * 60)

    def test_a_window_across_midnight_wraps(self):
        quiet = parse_quiet("23:00-07:00")
        assert quiet.contains(23 * 60) and quiet.contains(0) and quiet.contains(7 * 60 - 1)
        assert not quiet.contains(7 * 60) and not quiet.contains(22 * 60 + 59)
        assert not quiet.contains(12 * 60)

    def test_outside_quiet_hours_nothing_waits(self):
        assert quiet_until(at(2026, 1, 15, 12), "Europe/Berlin", parse_quiet("23:00-07:00")) is None
        assert quiet_until(at(2026, 1, 15, 3), "Europe/Berlin", None) is None

    def test_late_evening_waits_until_the_next_local_morning(self):
        start = at(2026, 1, 15, 22, 30)  # 23:30 in Berlin
        end = quiet_until(start, "Europe/Berlin", parse_quiet("23:00-07:00"))
        assert end is not None and wall(end, "Europe/Berlin") == "2026-01-16 07:00 CET"

    def test_after_midnight_waits_until_the_same_local_morning(self):
        start = at(2026, 1, 16, 2)  # 03:00 in Berlin
        end = quiet_until(start, "Europe/Berlin", parse_quiet("23:00-07:00"))
        assert end is not None and wall(end, "Europe/Berlin") == "2026-01-16 07:00 CET"

    def test_the_night_of_spring_forward_is_an_hour_shorter(self):
        start = at(2026, 3, 28, 22, 30)  # 23:30 CET
        end = quiet_until(start, "Europe/Berlin", parse_quiet("23:00-07:00"))
        assert end is not None and wall(end, "Europe/Berlin") == "2026-03-29 07:00 CEST"
        assert end - start == 6.5 * 3600

    def test_the_night_of_fall_back_is_an_hour_longer(self):
        start = at(2026, 11, 1, 3)  # 23:00 EDT on October 31
        end = quiet_until(start, "America/New_York", parse_quiet("23:00-07:00"))
        assert end is not None and wall(end, "America/New_York") == "2026-11-01 07:00 EST"
        assert end - start == 9 * 3600

    def test_an_end_skipped_by_spring_forward_is_reached_at_the_change(self):
        # 01:00-02:30 in Berlin on 2026-03-29: the clock jumps from 02:00 to 03:00.
        start = at(2026, 3, 29, 0, 30)  # 01:30 CET
        end = quiet_until(start, "Europe/Berlin", parse_quiet("01:00-02:30"))
        assert end is not None and wall(end, "Europe/Berlin") == "2026-03-29 03:00 CEST"
        assert end == at(2026, 3, 29, 1)

    def test_the_repeated_hour_of_fall_back_is_quiet_again_and_ends_at_its_second_pass(self):
        # 00:00-02:30 in Berlin on 2026-10-25: 02:00-03:00 happens twice. During the second
        # 02:10 the window holds again, and must end 20 minutes later, not a day later.
        quiet = parse_quiet("00:00-02:30")
        second_pass = at(2026, 10, 25, 1, 10)
        assert wall(second_pass, "Europe/Berlin") == "2026-10-25 02:10 CET"
        end = quiet_until(second_pass, "Europe/Berlin", quiet)
        assert end == second_pass + 20 * 60

    def test_quiet_hours_end_in_the_users_zone_not_in_utc(self):
        start = at(2026, 7, 1, 4)  # 00:00 EDT in New York, 06:00 CEST in Berlin
        quiet = parse_quiet("23:00-07:00")
        new_york = quiet_until(start, "America/New_York", quiet)
        berlin = quiet_until(start, "Europe/Berlin", quiet)
        assert new_york == at(2026, 7, 1, 11) and berlin == at(2026, 7, 1, 5)


ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata",
         "Pacific/Apia", "America/Santiago")
minutes = st.integers(min_value=0, max_value=1439)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=int(at(2011, 1, 1, 0)), max_value=int(at(2027, 12, 31, 0))),
       st.sampled_from(ZONES), minutes, minutes)
def test_quiet_hours_end_at_the_first_moment_outside_them(start, zone_name, begin, finish):
    if begin == finish:
        return
    quiet = QuietHours(begin, finish)
    inside = quiet.contains(minute_of_day(start, zone_name))
    end = quiet_until(start, zone_name, quiet)
    assert (end is not None) is inside
    if end is None:
        return
    assert start < end <= start + 2 * 86_400
    assert not quiet.contains(minute_of_day(end, zone_name))
    for k in range(97):  # every sampled moment before the end is still quiet
        probe = start + int((end - start) * k / 97)
        assert quiet.contains(minute_of_day(probe, zone_name)), (wall(probe, zone_name),)
    assert quiet.contains(minute_of_day(end - 1, zone_name))


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=date(2011, 1, 1), max_value=date(2027, 12, 31)),
       st.sampled_from(ZONES), minutes)
def test_local_moment_lands_on_that_wall_time_or_just_after_a_gap(day, zone_name, minute):
    moment = local_moment(day, minute, zone_name)
    shown = local_datetime(moment, zone_name)
    wanted = datetime(day.year, day.month, day.day) + timedelta(minutes=minute)
    drift = shown.replace(tzinfo=None) - wanted
    # Exactly the wall time, or (skipped by a change) later by at most the gap, a day at most.
    assert timedelta(0) <= drift <= timedelta(days=1)
    if drift:
        assert local_datetime(moment - drift.total_seconds(), zone_name).utcoffset() \
            != shown.utcoffset()
