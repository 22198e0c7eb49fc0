"""The texts of pushed alerts, /mute and the SLO figures; /mute's arguments."""

from __future__ import annotations

import pytest

from chat.arguments import MUTE_DEFAULT_S, UsageError, mute_args
from chat.cards_alerting import alert_text, mute_text, slo_health_line, slo_table
from chat.commands import lookup
from chat.html import is_balanced
from ops.alerting import Change, Notification
from ops.slo import SloWindows

MUTE = lookup("mute")
BREAKER = "breaker:market/fetcher:exchange"


@pytest.mark.parametrize(("words", "seconds"), [
    ((), MUTE_DEFAULT_S), (("30m",), 1800.0), (("2h",), 7200.0), (("1d",), 86400.0),
    (("7d",), 7 * 86400.0), (("off",), 0.0), (("OFF",), 0.0), (("90min",), 5400.0)])
def test_mute_reads_a_duration_defaults_to_an_hour_and_off_unmutes(words, seconds):
    assert MUTE is not None
    assert mute_args(MUTE, words).seconds == seconds


@pytest.mark.parametrize("word", ["forever", "8d", "10s", "-1h", "2x", "1e9h"])
def test_mute_refuses_what_is_not_a_duration_between_a_minute_and_a_week(word):
    assert MUTE is not None
    with pytest.raises(UsageError) as refused:
        mute_args(MUTE, (word,))
    assert "/mute" in refused.value.html


def test_the_degraded_alert_names_health_and_the_breaker_in_one_message_and_says_what_to_try():
    text = alert_text(Notification(level="degraded", reasons=("breaker exchange is open",),
                                   changes=(Change("health", True, "degraded"),
                                            Change(BREAKER, True, "open, retry in 3 s"))))
    assert text.startswith("⚠️ <b>cryptobot is degraded</b>")
    assert "breaker exchange opened (retry in 3 s)" in text and "/breaker reset" in text
    assert "breaker exchange is open" not in text  # said once, not twice
    assert "/mute 1h" in text and is_balanced(text)


def test_the_recovery_says_all_is_well_and_asks_nothing_of_anyone():
    text = alert_text(Notification(level="ok", reasons=(), changes=(
        Change("health", False, "ok"), Change(BREAKER, False, ""))))
    assert text.startswith("✅ <b>cryptobot recovered</b>")
    assert "closed" in text and "Try:" not in text and "/mute" not in text


def test_a_flapping_topic_says_how_often_it_changed():
    text = alert_text(Notification(level="degraded", reasons=(), changes=(
        Change(BREAKER, True, "open", changes=7),)))
    assert "changed 7 times" in text


def test_a_supervisor_that_gave_up_suggests_restarting_the_actor():
    text = alert_text(Notification(level="degraded", reasons=(), changes=(
        Change("gave_up:market", True, "market gave up and was restarted"),)))
    assert "/restart market" in text


def test_mute_says_until_when_in_utc_and_off_says_alerts_are_on():
    assert "until 1970-01-01 02:00 UTC" in mute_text(7200.0, now=0.0)
    assert "on again" in mute_text(0.0)


def test_health_gets_one_slo_line_and_stats_a_table_of_both_windows():
    slo = SloWindows()
    assert slo_health_line(slo.stats(now=0.0)) is None
    slo.record("price", "ok", 120.0, at=0.0)
    slo.record("price", "unavailable", 900.0, at=0.0)
    line = slo_health_line(slo.stats(now=0.0))
    assert line is not None and "50.0% ok of 2" in line and "p95" in line
    table = slo_table(slo.stats(now=0.0))
    assert "/price 2 · 50.0% · 50.0%" in table and "│" in table
