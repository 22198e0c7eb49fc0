"""The settings catalogue: each key takes the values it documents, in a canonical spelling, and
anything else is refused with one sentence saying what would work; stored settings read back
with defaults for whatever is missing or unreadable."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from users.clock import check_zone
from users.settings import (
    COOLDOWN_MAX_S,
    COOLDOWN_MIN_S,
    DEFAULTS,
    SETTING_KEYS,
    InvalidSetting,
    QuietHours,
    UserSettings,
    canonical_key,
    normalize,
    parse_duration,
    parse_quiet,
)

# The zone database is read once, on first use: not inside a timed hypothesis example.
check_zone("UTC")


class TestKeys:
    @pytest.mark.parametrize("typed, canonical", [
        ("interval", "interval"), ("TF", "interval"), ("timeframe", "interval"),
        ("tz", "timezone"), ("Time-Zone", "timezone"), ("zone", "timezone"),
        ("quiet_hours", "quiet"), ("quiet-hours", "quiet"), ("card", "style"),
        ("cool-down", "cooldown"), (" Cooldown ", "cooldown"),
    ])
    def test_a_key_or_its_alias_reads_as_the_catalogue_name(self, typed, canonical):
        assert canonical_key(typed) == canonical

    def test_an_unknown_key_is_refused_naming_every_setting(self):
        with pytest.raises(InvalidSetting) as refused:
            canonical_key("language")
        assert "language" in refused.value.problem
        for key in SETTING_KEYS:
            assert key in refused.value.problem

    def test_a_long_unknown_key_is_quoted_only_in_part(self):
        with pytest.raises(InvalidSetting) as refused:
            canonical_key("x" * 500)
        assert len(refused.value.problem) < 200


class TestValues:
    @pytest.mark.parametrize("key, typed, stored", [
        ("interval", "4h", "4h"), ("interval", "4H", "4h"), ("interval", "daily", "1d"),
        ("interval", "1M", "1M"), ("interval", "1m", "1m"), ("interval", " 15m ", "15m"),
        ("timezone", "europe/berlin", "Europe/Berlin"), ("tz", "utc", "UTC"),
        ("quiet", "23:00-07:00", "23:00-07:00"), ("quiet", "23-7", "23:00-07:00"),
        ("quiet", "22.30-6.45", "22:30-06:45"), ("quiet", "23:00 - 07:00", "23:00-07:00"),
        ("quiet", "OFF", "off"), ("quiet", "none", "off"),
        ("style", "Detailed", "detailed"), ("style", "compact", "compact"),
        ("cooldown", "30m", "30m"), ("cooldown", "90 min", "90m"), ("cooldown", "2h", "2h"),
        ("cooldown", "1w", "7d"), ("cooldown", "0.5h", "30m"), ("cooldown", "90s", "90s"),
        ("cooldown", "60.4s", "1m"), ("cooldown", "150s", "150s"),
    ])
    def test_a_good_value_is_stored_in_its_canonical_spelling(self, key, typed, stored):
        assert normalize(key, typed) == (canonical_key(key), stored)

    @pytest.mark.parametrize("key, typed, hint", [
        ("interval", "7m", "15m"), ("interval", "hour", "1h"),
        ("timezone", "Berlin", "Europe/Berlin"), ("timezone", "../../etc/passwd", "IANA"),
        ("timezone", "GMT+25", "IANA"),
        ("quiet", "23:00", "23:00-07:00"), ("quiet", "25:00-07:00", "23:00-07:00"),
        ("quiet", "07:00-07:00", "different"), ("quiet", "late", "off"),
        ("style", "fancy", "compact or detailed"),
        ("cooldown", "30", "30m"), ("cooldown", "10s", "1 minute"), ("cooldown", "8d", "7 days"),
        ("cooldown", "-5m", "30m"),
    ])
    def test_a_bad_value_is_refused_saying_what_works(self, key, typed, hint):
        with pytest.raises(InvalidSetting) as refused:
            normalize(key, typed)
        assert refused.value.key == canonical_key(key)
        assert hint in refused.value.problem

    def test_a_long_bad_value_is_quoted_only_in_part(self):
        for key in SETTING_KEYS:
            with pytest.raises(InvalidSetting) as refused:
                normalize(key, "Z" * 1000)
            assert "Z" * 30 not in refused.value.problem

    def test_cooldown_bounds_are_inclusive(self):
        assert parse_duration("1m") == COOLDOWN_MIN_S
        assert parse_duration("7d") == COOLDOWN_MAX_S

    def test_quiet_hours_read_as_minutes_of_the_day(self):
        assert parse_quiet("23:00-07:00") == QuietHours(23 * 60, 7 * 60)
        assert parse_quiet("9-17").text == "09:00-17:00"


keys = st.one_of(st.sampled_from([*SETTING_KEYS, "tz", "card", "cool-down", "TF", "Quiet"]),
                 st.text(max_size=30))
values = st.one_of(
    st.text(max_size=40),
    st.from_regex(r"[0-9]{1,6}(\.[0-9]{1,3})? ?(s|sec|m|min|h|hr|d|w)", fullmatch=True),
    st.from_regex(r"[0-9]{1,2}[:.h]?([0-9]{2})?-[0-9]{1,2}[:.h]?([0-9]{2})?", fullmatch=True),
    st.sampled_from(["Europe/Berlin", "america/new_york", "UTC", "1H", "daily", "1M", "OFF",
                     "detailed", "Compact", "../UTC", "Etc/GMT+5"]),
)


@given(keys, values)
@example("cooldown", "60.5s")
@example("timezone", "posixrules")
def test_normalize_refuses_only_with_invalid_setting_and_its_output_is_a_fixed_point(key, value):
    try:
        canonical, stored = normalize(key, value)
    except InvalidSetting as refused:
        assert refused.problem and len(refused.problem) < 300
        return
    assert canonical in SETTING_KEYS
    assert normalize(canonical, stored) == (canonical, stored)
    assert normalize(canonical, f"  {stored} ") == (canonical, stored)


@given(keys, values)
def test_whatever_is_stored_reads_back_without_failing(key, value):
    settings = UserSettings.from_pairs(((key, value),))
    for shown_key, shown in settings.shown():
        assert normalize(shown_key, shown) == (shown_key, shown)


class TestStoredSettings:
    def test_nothing_stored_gives_the_defaults(self):
        settings = UserSettings.from_pairs(())
        assert dict(settings.shown()) == DEFAULTS
        assert settings.quiet is None and settings.cooldown_s == 3600.0

    def test_stored_values_are_read(self):
        settings = UserSettings.from_pairs((
            ("interval", "4h"), ("timezone", "Europe/Berlin"), ("quiet", "23:00-07:00"),
            ("style", "detailed"), ("cooldown", "30m")))
        assert settings == UserSettings(interval="4h", timezone="Europe/Berlin",
                                        quiet=QuietHours(23 * 60, 7 * 60), style="detailed",
                                        cooldown_s=1800.0)
        assert [key for key, _ in settings.shown()] == list(SETTING_KEYS)

    def test_unreadable_or_unknown_pairs_fall_back_to_defaults(self):
        settings = UserSettings.from_pairs((
            ("interval", "7m"), ("timezone", "Atlantis/Capital"), ("quiet", "always"),
            ("style", "loud"), ("cooldown", "forever"), ("language", "de")))
        assert settings == UserSettings()

    def test_a_later_pair_wins(self):
        assert UserSettings.from_pairs((("interval", "4h"), ("interval", "1d"))).interval == "1d"

    def test_a_typing_alias_stored_as_a_key_is_not_a_setting(self):
        assert UserSettings.from_pairs((("interval", "4h"), ("tf", "1d"))).interval == "4h"
