"""/settings as the user reads it: the line is checked where it is typed, a refusal names the
usage, the valid values and an example for the key concerned, and the card, an explanation and
"saved" say what each setting does and what it is now. Its buttons carry canonical values only,
bound to their owner, and the times a user sees are in their zone, named."""

from __future__ import annotations

import inspect

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chat.callbacks import (
    MAX_CALLBACK_BYTES,
    MAX_OWNER,
    InvalidCallback,
    SettingButton,
    decode,
    decode_owned,
    encode,
)
import chat.settings_card as settings_card_module
import chat.settings_request as settings_request_module
from chat.arguments import UsageError
from chat.cards_alerting import mute_text
from chat.cards_analysis import analysis_card
from chat.cards_format import format_moment, format_time
from chat.chart_caption import caption
from chat.commands import COMMANDS
from chat.html import html_problem, visible_text
from chat.keyboards import CURRENT_MARK, settings_keyboard
from chat.parsing import Invocation, InvalidArguments, read_text
from chat.settings_card import (
    BUTTON_CHOICES,
    setting_explained,
    setting_saved_text,
    settings_args,
    settings_card,
    zone_now_text,
)
from chat.settings_request import SettingsRequest
from tests.chat.builders import analysis
from users.clock import check_zone
from users.settings import SETTING_KEYS, UserSettings, normalize

# The zone database is read once, on first use: not inside a timed hypothesis example.
check_zone("UTC")

SETTINGS = next(spec for spec in COMMANDS if spec.name == "settings")
OWNER = 42


def reading(text: str) -> SettingsRequest | str:
    """The arguments /settings gets, or the usage reply's visible text."""
    result = read_text(text)
    if isinstance(result, InvalidArguments):
        assert html_problem(result.html) is None
        return visible_text(result.html)
    assert isinstance(result, Invocation) and isinstance(result.args, SettingsRequest)
    return result.args


class TestReading:
    @pytest.mark.parametrize("typed, wanted", [
        ("/settings", SettingsRequest()),
        ("/settings tz", SettingsRequest("timezone")),
        ("/settings timezone Europe/Berlin", SettingsRequest("timezone", "Europe/Berlin")),
        ("/settings quiet 23:00-07:00", SettingsRequest("quiet", "23:00-07:00")),
        ("/settings quiet 23:00 - 07:00", SettingsRequest("quiet", "23:00-07:00")),
        ("/settings quiet off", SettingsRequest("quiet", "off")),
        ("/settings interval 4H", SettingsRequest("interval", "4h")),
        ("/settings style detailed", SettingsRequest("style", "detailed")),
        ("/settings cooldown 30m", SettingsRequest("cooldown", "30m")),
        ("/settings Cool-Down 90 min", SettingsRequest("cooldown", "90m")),
    ])
    def test_a_good_line_becomes_a_canonical_request(self, typed, wanted):
        assert reading(typed) == wanted

    def test_an_unknown_key_gets_every_key_and_an_example(self):
        answer = reading("/settings language de")
        assert isinstance(answer, str)
        assert "There is no setting “language”" in answer
        assert "interval, timezone, quiet, style, cooldown" in answer
        assert "Example: /settings timezone Europe/Berlin" in answer

    @pytest.mark.parametrize("typed, usage, values, example", [
        ("/settings interval 7m", "/settings interval 15m|1h|4h|1d|…", "1m 3m 5m",
         "/settings interval 4h"),
        ("/settings timezone Berlin", "/settings timezone Area/City", "America/New_York",
         "/settings timezone Europe/Berlin"),
        ("/settings quiet 23:00", "/settings quiet HH:MM-HH:MM|off", "cross midnight",
         "/settings quiet 23:00-07:00"),
        ("/settings style loud", "/settings style compact|detailed", "compact or detailed",
         "/settings style detailed"),
        ("/settings cooldown 5s", "/settings cooldown 30m|2h|1d", "1m to 7d",
         "/settings cooldown 30m"),
    ])
    def test_a_bad_value_gets_its_keys_usage_valid_values_and_an_example(self, typed, usage,
                                                                          values, example):
        answer = reading(typed)
        assert isinstance(answer, str) and answer.startswith("⚠️ ")
        assert f"Usage: {usage}" in answer and values in answer and f"Example: {example}" in answer

    def test_too_many_words_get_the_usage(self):
        answer = reading("/settings quiet 23:00 - 07:00 please")
        assert isinstance(answer, str) and "/settings [KEY [VALUE]]" in answer

    @given(st.lists(st.text(min_size=1, max_size=60).filter(lambda w: w.split() == [w]),
                    min_size=1, max_size=4))
    def test_any_words_become_a_canonical_request_or_a_short_html_refusal(self, words):
        try:
            request = settings_args(SETTINGS, tuple(words))
        except UsageError as error:  # the property: nothing else escapes
            assert html_problem(error.html) is None and len(visible_text(error.html)) < 400
            assert all(len(word) <= 24 or word not in error.html for word in words)
            return
        assert request.key in SETTING_KEYS
        if request.value is not None:
            assert normalize(request.key, request.value) == (request.key, request.value)


class TestTexts:
    def test_the_card_shows_each_settings_value_and_what_it_does(self):
        text = settings_card(UserSettings(interval="4h", timezone="Europe/Berlin",
                                          style="detailed"))
        assert html_problem(text) is None
        shown = visible_text(text)
        for line in ("Interval: 4h — the candle interval of /analysis and /chart",
                     "Time zone: Europe/Berlin — every time I show you",
                     "Quiet hours: off — alerts that fire inside these hours",
                     "Card style: detailed", "Cool-down: 1h — the least time between"):
            assert line in shown, shown

    def test_a_note_comes_first(self):
        text = settings_card(UserSettings(), "✅ Saved")
        assert text.startswith("✅ Saved\n\n")

    def test_one_setting_is_explained_with_its_value_and_how_to_set_it(self):
        shown = visible_text(setting_explained(UserSettings(), "cooldown"))
        assert shown.startswith("⏳ Cool-down (cooldown): 1h")
        assert "The least time between two notifications" in shown
        assert "e.g. /settings cooldown 30m" in shown

    def test_saved_says_the_new_value_or_that_it_was_already_so(self):
        assert visible_text(setting_saved_text("quiet", "23:00-07:00", changed=True)) == \
            "✅ Saved: quiet hours is now 23:00-07:00."
        assert "was already 4h" in visible_text(setting_saved_text("interval", "4h",
                                                                   changed=False))

    @pytest.mark.parametrize("count, says", [
        (0, "Recurring alerts you set from now on use it."),
        (1, "Your 1 live recurring alert uses it now too."),
        (3, "Your 3 live recurring alerts use it now too."),
    ])
    def test_a_new_cooldown_says_which_alerts_it_reaches(self, count, says):
        text = setting_saved_text("cooldown", "30m", changed=True, alerts_updated=count)
        assert says in visible_text(text)


class TestButtons:
    def test_a_row_of_common_values_per_setting_but_the_zone_the_current_one_marked(self):
        keyboard = settings_keyboard(UserSettings(interval="4h", quiet=None), owner=OWNER)
        assert [[button.text for button in row] for row in keyboard] == [
            ["⏱ 15m", "⏱ 1h", f"⏱ {CURRENT_MARK}4h", "⏱ 1d"],
            [f"🃏 {CURRENT_MARK}compact", "🃏 detailed"],
            [f"🌙 {CURRENT_MARK}off", "🌙 23:00-07:00", "🌙 22:00-08:00"],
            ["⏳ 15m", f"⏳ {CURRENT_MARK}1h", "⏳ 4h"],
        ]
        for row, key in zip(keyboard, BUTTON_CHOICES):
            for button, value in zip(row, BUTTON_CHOICES[key]):
                assert decode_owned(button.data).action == SettingButton(key, value)
                assert decode_owned(button.data).owner == OWNER

    def test_every_choice_is_canonical_and_fits_with_the_longest_owner(self):
        for key, values in BUTTON_CHOICES.items():
            for value in values:
                assert normalize(key, value) == (key, value)
                assert len(encode(SettingButton(key, value), -MAX_OWNER)) <= MAX_CALLBACK_BYTES

    @pytest.mark.parametrize("data", [
        "2|42|st|interval|4H", "2|42|st|interval|7m", "2|42|st|tz|UTC",
        "2|42|st|timezone|utc", "2|42|st|timezone|../../etc/passwd", "2|42|st|quiet|23-7",
        "2|42|st|cooldown|60m", "2|42|st|style", "2|42|st|style|compact|x",
        "2|42|st|timezone|America/Argentina/Buenos_Aires",
    ])
    def test_a_forged_or_non_canonical_setting_button_is_refused(self, data):
        with pytest.raises(InvalidCallback):
            decode(data)

    def test_a_typed_zone_short_enough_may_ride_a_button(self):
        assert decode(encode(SettingButton("timezone", "Europe/Berlin"), OWNER)) == \
            SettingButton("timezone", "Europe/Berlin")

    @given(st.sampled_from(SETTING_KEYS), st.text(max_size=20))
    def test_a_setting_button_is_built_only_from_a_canonical_value(self, key, value):
        try:
            action = SettingButton(key, value)
        except ValueError:
            return
        assert normalize(key, value) == (key, value)
        assert decode(encode(action, OWNER)) == action


class TestLocalTimes:
    MOMENT_MS = 1_767_268_800_000  # 2026-01-01 12:00 UTC

    def test_times_name_the_zone_they_are_in(self):
        assert format_time(self.MOMENT_MS) == "12:00 UTC"
        assert format_time(self.MOMENT_MS, "1h", "Europe/Berlin") == "13:00 Europe/Berlin"
        assert format_time(self.MOMENT_MS, "1d", "America/New_York") == \
            "2026-01-01 America/New_York"
        assert format_moment(self.MOMENT_MS / 1000, "Asia/Kolkata") == \
            "2026-01-01 17:30 Asia/Kolkata"

    def test_mute_says_until_when_in_the_given_zone(self):
        text = visible_text(mute_text(7200, now=self.MOMENT_MS / 1000, zone_name="Europe/Berlin"))
        assert "until 2026-01-01 15:00 Europe/Berlin" in text


def test_the_analysis_card_and_chart_caption_say_as_of_in_the_users_zone():
    card = visible_text(analysis_card(analysis(), expanded=False, zone_name="Asia/Kolkata"))
    assert card.splitlines()[-1] == "as of 19:30 Asia/Kolkata"  # 14:00 UTC
    shown = visible_text(caption(analysis(), "BTCUSDT", "1h", "America/New_York"))
    assert "as of" in shown and "America/New_York" in shown and "UTC" not in shown


@pytest.mark.parametrize("module", [settings_card_module, settings_request_module],
                         ids=lambda module: module.__name__)
def test_the_settings_modules_declare_exactly_their_public_names(module):
    defined_here = {
        name for name, value in vars(module).items()
        if not name.startswith("_") and (inspect.isclass(value) or inspect.isfunction(value))
        and value.__module__ == module.__name__}
    assert defined_here <= set(module.__all__) and all(hasattr(module, n) for n in module.__all__)


class TestZoneNamesThatMislead:
    NOON_UTC = 1_780_000_000.0 - 1_780_000_000.0 % 86_400 + 12 * 3600

    @pytest.mark.parametrize("zone, says", [
        ("Asia/Tokyo", "It is 21:00 there now (UTC+09:00)."),
        ("America/St_Johns", "(UTC-02:30)"),
        ("Asia/Kathmandu", "It is 17:45 there now (UTC+05:45)."),
        ("UTC", "It is 12:00 there now (UTC+00:00)."),
    ])
    def test_a_saved_zone_says_the_time_there_and_its_offset(self, zone, says):
        text = visible_text(setting_saved_text("timezone", zone, changed=True,
                                               now=self.NOON_UTC))
        assert says in text

    def test_an_etc_gmt_zone_says_its_sign_is_reversed_and_what_to_use_instead(self):
        # Regression: "Etc/GMT+3" is UTC-3; a user who typed it for UTC+3 read "Saved" and
        # then every time 6 hours off, each named "Etc/GMT+3" as if it were right.
        text = visible_text(setting_saved_text("timezone", "Etc/GMT+3", changed=True,
                                               now=self.NOON_UTC))
        assert "It is 09:00 there now (UTC-03:00)." in text
        assert "for UTC+03:00 use Etc/GMT-3" in text
        plain = visible_text(setting_saved_text("timezone", "Etc/GMT-14", changed=False,
                                                now=self.NOON_UTC))
        assert "(UTC+14:00)" in plain and "for UTC-14:00 use Etc/GMT+14" in plain
        assert "other way round" not in zone_now_text("Etc/GMT", self.NOON_UTC)
