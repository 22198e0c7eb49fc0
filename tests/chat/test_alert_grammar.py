"""/alert understands every form the issue lists (a price level, a percentage move, an RSI
crossing, then ``every`` and ``for 7d`` in any order), and answers every malformed one with
what was wrong and the usage and example of the form the user was writing."""

from __future__ import annotations

import pytest

from chat.alert_grammar import (
    ALERT_FORMS,
    MAX_ALERT_WORDS,
    AlertUsageError,
    alert_args,
    alerts_args,
)
from chat.arguments import AlertId, AlertRequest, NoArgs, UsageError
from chat.commands import lookup
from chat.html import is_balanced, visible_text
from chat.parsing import Invocation, read_text

ALERT = lookup("alert")
ALERTS = lookup("alerts")
assert ALERT is not None and ALERTS is not None
DAY = 86_400.0


def alert(text: str) -> AlertRequest:
    assert ALERT is not None
    return alert_args(ALERT, tuple(text.split()))


def refusal(text: str) -> AlertUsageError:
    with pytest.raises(AlertUsageError) as caught:
        alert(text)
    return caught.value


# --- every form reads as the request the user meant -----------------------------------------

@pytest.mark.parametrize(("text", "wanted"), [
    ("btc above 70k", AlertRequest("btc", "above", 70_000.0)),
    ("btc 70k above", AlertRequest("btc", "above", 70_000.0)),
    ("eth < 3,000", AlertRequest("eth", "below", 3000.0)),
    ("btc >70k", AlertRequest("btc", "above", 70_000.0)),
    ("btc +5%", AlertRequest("btc", "above", 5.0, "percent")),
    ("eth -10%", AlertRequest("eth", "below", 10.0, "percent")),
    ("eth −2.5%", AlertRequest("eth", "below", 2.5, "percent")),
    ("eth down 10 %", AlertRequest("eth", "below", 10.0, "percent")),
    ("btc above 5%", AlertRequest("btc", "above", 5.0, "percent")),
    ("btc 5% up", AlertRequest("btc", "above", 5.0, "percent")),
    ("sol rsi below 30", AlertRequest("sol", "below", 30.0, "rsi")),
    ("btc rsi above 70 4h", AlertRequest("btc", "above", 70.0, "rsi", "4h")),
    ("btc RSI 4H > 70", AlertRequest("btc", "above", 70.0, "rsi", "4h")),
    ("btc rsi(14) below 25.5 daily", AlertRequest("btc", "below", 25.5, "rsi", "1d")),
    ("btc above 70k every", AlertRequest("btc", "above", 70_000.0, recurring=True)),
    ("btc above 70k every time", AlertRequest("btc", "above", 70_000.0, recurring=True)),
    ("btc +5% for 7d", AlertRequest("btc", "above", 5.0, "percent", expires_in_s=7 * DAY)),
    ("btc +5% for 7 days every", AlertRequest("btc", "above", 5.0, "percent", None, True,
                                              7 * DAY)),
    ("btc rsi above 70 4h every time for 2w",
     AlertRequest("btc", "above", 70.0, "rsi", "4h", True, 14 * DAY)),
    ("btc for 12h repeat below 60k", AlertRequest("btc", "below", 60_000.0, "price", None, True,
                                                  12 * 3600.0)),
    ("btc above 70k for 30 min", AlertRequest("btc", "above", 70_000.0,
                                              expires_in_s=1800.0)),
])
def test_each_form_reads_as_what_the_user_meant(text: str, wanted: AlertRequest) -> None:
    assert alert(text) == wanted


def test_every_documented_form_parses() -> None:
    for form in ALERT_FORMS:
        reading = read_text(form.example)
        assert isinstance(reading, Invocation) and isinstance(reading.args, AlertRequest)


def test_the_longest_form_fits_the_command_tables_word_limit() -> None:
    longest = "btc rsi above 70 4h every time for 7 days"
    assert len(longest.split()) == MAX_ALERT_WORDS
    assert ALERT is not None and ALERT.max_args == MAX_ALERT_WORDS
    assert isinstance(read_text(f"/alert {longest}"), Invocation)


# --- every malformed form says what was wrong, in the shape of its form -------------------

@pytest.mark.parametrize(("text", "problem", "example"), [
    ("btc", "Say when to alert you about btc", "/alert btc above 70k"),
    ("above 70k", "Start with the coin", "/alert btc above 70k"),
    ("btc above", "Say the price too", "/alert btc above 70k"),
    ("btc 70k", "Say above or below", "/alert btc above 70k"),
    ("btc above below 70k", "Say above or below once", "/alert btc above 70k"),
    ("btc above 70k 80k", "I did not understand “80k”", "/alert btc above 70k"),
    ("btc above lots", "“lots” is not a price", "/alert btc above 70k"),
    ("btc 5%", "Say +5% for a rise or -5% for a fall", "/alert eth -10%"),
    ("btc below +5%", "disagree", "/alert eth -10%"),
    ("btc -100%", "cannot fall 100%", "/alert eth -10%"),
    ("btc +0%", "from 0.01% to 1000%", "/alert eth -10%"),
    ("btc +2000%", "from 0.01% to 1000%", "/alert eth -10%"),
    ("btc +5% +6%", "Give one percentage", "/alert eth -10%"),
    ("btc +5% soon", "I did not understand “soon”", "/alert eth -10%"),
    ("btc +x%", "is not a percentage", "/alert eth -10%"),
    ("sol rsi 30", "Say above or below once", "/alert sol rsi below 30 4h"),
    ("sol rsi below", "Give one RSI level", "/alert sol rsi below 30 4h"),
    ("sol rsi below 0", "between 0 and 100", "/alert sol rsi below 30 4h"),
    ("sol rsi below 100", "between 0 and 100", "/alert sol rsi below 30 4h"),
    ("sol rsi below 30 4h 1d", "at most one interval", "/alert sol rsi below 30 4h"),
    ("sol rsi below 30 7h", "neither an RSI level", "/alert sol rsi below 30 4h"),
    ("sol rsi7 below 30", "Only RSI(14)", "/alert sol rsi below 30 4h"),
    ("sol rsi rsi below 30", "Say rsi once", "/alert sol rsi below 30 4h"),
    ("btc above 70k every every", "Say every once", "/alert btc +5% every"),
    ("btc above 70k for", "Say how long after for", "/alert btc rsi above 70 4h for 7d"),
    ("btc above 70k for ever", "“ever” is not a duration", "/alert btc rsi above 70 4h for 7d"),
    ("btc above 70k for 5m", "10 minutes to 90 days", "/alert btc rsi above 70 4h for 7d"),
    ("btc above 70k for 91d", "10 minutes to 90 days", "/alert btc rsi above 70 4h for 7d"),
    ("btc above 70k for 1d for 2d", "Say for how long once",
     "/alert btc rsi above 70 4h for 7d"),
])
def test_a_malformed_alert_says_what_was_wrong_with_its_forms_usage_and_example(
        text: str, problem: str, example: str) -> None:
    error = refusal(text)
    assert problem in error.problem
    shown = visible_text(error.html)
    assert f"Example: {example}" in shown and "Usage: /alert" in shown
    assert is_balanced(error.html) and error.spec is ALERT


def test_words_that_fit_no_form_get_the_general_usage_and_a_pointer_to_every_form() -> None:
    shown = visible_text(refusal("btc").html)
    assert "Usage: /alert SYM CONDITION [every] [for DURATION]" in shown
    assert "Every form: /help alert" in shown


def test_a_refusal_escapes_what_it_quotes() -> None:
    html = refusal("btc above 7<b>").html
    assert "<b>" not in html and "7&lt;b&gt;" in html and is_balanced(html)


# --- /alerts [ID] ----------------------------------------------------------------------------

def test_alerts_lists_them_all_or_shows_one_by_id() -> None:
    assert ALERTS is not None
    assert alerts_args(ALERTS, ()) == NoArgs()
    assert alerts_args(ALERTS, ("#7",)) == AlertId(7)
    with pytest.raises(UsageError, match="not an alert id"):
        alerts_args(ALERTS, ("seven",))
