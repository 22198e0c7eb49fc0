"""Typed text becomes a command with checked arguments, or a helpful answer, never a crash."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chat.commands import COMMANDS, lookup
from chat.html import is_balanced
from chat.parsing import (
    PLAIN_TEXT_REPLY,
    AlertRequest,
    NotACommand,
    ParsedCommand,
    UnknownCommand,
    UsageError,
    alert_request,
    parse,
    parse_alert_id,
    parse_direction,
    parse_interval,
    parse_price,
    symbol_and_interval,
)
from core.errors import BotError


def parsed(text: str, bot_username: str | None = None) -> ParsedCommand:
    result = parse(text, bot_username)
    assert isinstance(result, ParsedCommand), result
    return result


# --- commands, aliases and the @bot suffix -----------------------------------------------

@pytest.mark.parametrize(
    ("text", "name", "args"),
    [
        ("/start", "start", ()),
        ("/start deep-link-payload", "start", ("deep-link-payload",)),
        ("/help", "help", ()),
        ("/help alert", "help", ("alert",)),
        ("/price btc", "price", ("btc",)),
        ("/price btc eth sol", "price", ("btc", "eth", "sol")),
        ("/p btc,eth, sol", "price", ("btc", "eth", "sol")),
        ("/analysis btc", "analysis", ("btc",)),
        ("/a btc 4h", "analysis", ("btc", "4h")),
        ("/chart eth 1d", "chart", ("eth", "1d")),
        ("/c eth", "chart", ("eth",)),
        ("/alert btc above 70k", "alert", ("btc", "above", "70k")),
        ("/alert btc > 65,000", "alert", ("btc", ">", "65,000")),
        ("/alerts", "alerts", ()),
        ("/delalert 3", "delalert", ("3",)),
        ("/watch sol", "watch", ("sol",)),
        ("/unwatch sol", "unwatch", ("sol",)),
        ("/watchlist", "watchlist", ()),
        ("/top", "top", ()),
        ("/actors", "actors", ()),
        ("/health", "health", ()),
        ("/stats", "stats", ()),
        ("  /PRICE   BTC\n ETH  ", "price", ("BTC", "ETH")),
    ],
)
def test_commands_parse_into_their_spec_and_arguments(
    text: str, name: str, args: tuple[str, ...]
) -> None:
    command = parsed(text)
    assert command.name == name
    assert command.args == args
    assert command.raw == text


def test_every_table_example_parses_into_its_own_command() -> None:
    for spec in COMMANDS:
        assert parsed(spec.example).spec is spec


def test_a_command_for_this_bot_is_understood_whatever_the_case() -> None:
    assert parsed("/price@CryptoBot btc", "CryptoBot").name == "price"
    assert parsed("/price@cryptobot btc", "@CryptoBot").name == "price"
    assert parsed("/price@CryptoBot btc").name == "price"  # username not known yet


def test_a_command_for_another_bot_is_not_ours() -> None:
    result = parse("/price@OtherBot btc", "CryptoBot")
    assert result == NotACommand("/price@OtherBot btc", addressed_elsewhere=True)


@pytest.mark.parametrize("text", ["hello", "btc", "", "   ", "what is /price?", "/", "/usr/bin"])
def test_plain_text_is_not_a_command(text: str) -> None:
    result = parse(text)
    assert isinstance(result, NotACommand) and not result.addressed_elsewhere


def test_the_plain_text_reply_points_to_help() -> None:
    assert "/help" in PLAIN_TEXT_REPLY and is_balanced(PLAIN_TEXT_REPLY)


def test_an_unknown_command_suggests_the_nearest_one() -> None:
    result = parse("/prcie btc")
    assert isinstance(result, UnknownCommand)
    assert result.suggestion == "/price"
    assert "Did you mean /price?" in result.html and "/help" in result.html


def test_an_unknown_command_far_from_any_gets_no_suggestion() -> None:
    result = parse("/xyzzy")
    assert isinstance(result, UnknownCommand)
    assert result.suggestion is None
    assert "Did you mean" not in result.html


def test_suggestions_never_reveal_admin_commands() -> None:
    result = parse("/actorz")
    assert isinstance(result, UnknownCommand)
    assert result.suggestion != "/actors"


def test_unknown_command_text_is_escaped_and_short() -> None:
    result = UnknownCommand.of("<b>" + "x" * 100, "/<b>")
    assert "<b>x" not in result.html
    assert is_balanced(result.html)
    assert len(result.html) < 150


# --- argument counts ---------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("/price", "/price needs SYM [SYM...]"),
        ("/p", "/price needs SYM [SYM...]"),
        ("/analysis", "/analysis needs SYM [interval]"),
        ("/analysis btc 4h extra", "/analysis takes at most 2"),
        ("/chart", "/chart needs"),
        ("/alert", "/alert needs SYM CONDITION [every] [for DURATION]"),
        ("/alert btc rsi above 70 4h every time for 7 days more", "/alert takes at most 10"),
        ("/delalert", "/delalert needs ID"),
        ("/watch", "/watch needs SYM"),
        ("/watch btc eth", "/watch takes at most 1"),
        ("/unwatch", "/unwatch needs SYM"),
        ("/alerts 3 4", "/alerts takes at most 1"),
        ("/top 10", "/top takes no arguments"),
        ("/price " + " ".join(["btc"] * 11), "/price takes at most 10"),
    ],
)
def test_wrong_argument_counts_get_usage_and_an_example(text: str, problem: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse(text)
    error = caught.value
    assert problem in error.problem
    assert error.spec is not None
    assert error.spec.usage in error.html.replace("&lt;", "<").replace("&gt;", ">")
    assert error.spec.example in error.html
    assert is_balanced(error.html)


def test_usage_errors_are_bot_errors() -> None:
    assert issubclass(UsageError, BotError)


# --- prices --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("65000", 65_000.0),
        ("65,000", 65_000.0),
        ("1,234,567.5", 1_234_567.5),
        ("65k", 65_000.0),
        ("65K", 65_000.0),
        ("1.5m", 1_500_000.0),
        ("0.00002", 0.00002),
        ("$65000", 65_000.0),
        ("0,5", 0.5),
        (".5", 0.5),
        ("70_000", 70_000.0),
        (" 3000 ", 3000.0),
    ],
)
def test_prices_are_read_forgivingly(text: str, value: float) -> None:
    assert parse_price(text) == pytest.approx(value)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("0", "above 0"),
        ("-5", "above 0"),
        ("0k", "above 0"),
        ("abc", "is not a price"),
        ("", "is not a price"),
        ("nan", "is not a price"),
        ("inf", "is not a price"),
        ("1e5", "is not a price"),
        ("12,34,5", "is not a price"),
        ("٣٠٠", "is not a price"),
        ("99999999999999k", "too large"),
    ],
)
def test_bad_prices_are_refused_with_a_clear_message(text: str, problem: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_price(text)
    assert problem in caught.value.problem


@given(st.text(max_size=30))
def test_parse_price_returns_a_positive_finite_number_or_a_usage_error(text: str) -> None:
    try:
        value = parse_price(text)
    except UsageError:
        return
    assert math.isfinite(value) and value > 0


# --- directions, intervals, alert ids --------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "direction"),
    [("above", "above"), ("ABOVE", "above"), (">", "above"), ("over", "above"),
     ("below", "below"), ("<", "below"), ("under", "below"), ("<=", "below")],
)
def test_directions_accept_words_and_signs(text: str, direction: str) -> None:
    assert parse_direction(text) == direction


def test_an_unknown_direction_says_what_to_write() -> None:
    with pytest.raises(UsageError, match="above or below"):
        parse_direction("sideways")


@pytest.mark.parametrize(("text", "interval"),
                         [("4h", "4h"), ("1H", "1h"), ("1d", "1d"), ("daily", "1d"),
                          ("1M", "1M"), ("1m", "1m"), ("weekly", "1w")])
def test_intervals_are_checked_against_binance(text: str, interval: str) -> None:
    assert parse_interval(text) == interval


def test_a_bad_interval_lists_the_allowed_ones() -> None:
    analysis = lookup("analysis")
    with pytest.raises(UsageError) as caught:
        parse_interval("7h", spec=analysis)
    assert "15m" in caught.value.problem and "1d" in caught.value.problem
    assert "/analysis btc 4h" in caught.value.html


@pytest.mark.parametrize(("text", "alert_id"), [("3", 3), ("#12", 12), (" 7 ", 7)])
def test_alert_ids_accept_a_hash(text: str, alert_id: int) -> None:
    assert parse_alert_id(text) == alert_id


@pytest.mark.parametrize("text", ["0", "-1", "abc", "3.5", "", "#", "²", "1" * 20])
def test_bad_alert_ids_point_to_alerts(text: str) -> None:
    with pytest.raises(UsageError, match="/alerts"):
        parse_alert_id(text)


# --- whole commands -----------------------------------------------------------------------

def test_analysis_arguments_default_to_one_hour() -> None:
    assert symbol_and_interval(parsed("/analysis btc")) == ("btc", "1h")
    assert symbol_and_interval(parsed("/analysis btc 4H")) == ("btc", "4h")


def test_analysis_arguments_in_swapped_order_are_understood() -> None:
    assert symbol_and_interval(parsed("/chart 4h eth")) == ("eth", "4h")
    assert symbol_and_interval(parsed("/chart 4h w")) == ("w", "4h")  # W is a coin


def test_a_bad_interval_in_a_command_gets_the_commands_usage() -> None:
    with pytest.raises(UsageError) as caught:
        symbol_and_interval(parsed("/chart eth 7x"))
    assert "/chart SYM [interval]" in caught.value.html


def test_alert_arguments_are_checked() -> None:
    assert alert_request(parsed("/alert btc above 70k")) == AlertRequest("btc", "above", 70_000.0)
    assert alert_request(parsed("/alert eth < 3,000")) == AlertRequest("eth", "below", 3000.0)
    assert alert_request(parsed("/alert sol 150 over")) == AlertRequest("sol", "above", 150.0)


def test_a_bad_alert_price_gets_the_alert_usage() -> None:
    with pytest.raises(UsageError) as caught:
        alert_request(parsed("/alert btc above lots"))
    assert "/alert btc above 70k" in caught.value.html
    assert "“lots” is not a price" in caught.value.html


def test_user_input_in_errors_is_escaped() -> None:
    with pytest.raises(UsageError) as caught:
        alert_request(parsed("/alert btc above 7<script>"))
    assert "<script>" not in caught.value.html
    assert "7&lt;script&gt;" in caught.value.html
    assert is_balanced(caught.value.html)


# --- properties -----------------------------------------------------------------------------

@given(st.text(max_size=200), st.one_of(st.none(), st.from_regex(r"[A-Za-z0-9_]{5,32}",
                                                                  fullmatch=True)))
def test_parse_never_raises_anything_but_usage_errors(text: str, username: str | None) -> None:
    try:
        result = parse(text, username)
    except UsageError as error:
        assert error.spec is not None and is_balanced(error.html)
        return
    assert isinstance(result, (ParsedCommand, NotACommand, UnknownCommand))
    if isinstance(result, UnknownCommand):
        assert is_balanced(result.html)


names = st.sampled_from([name for spec in COMMANDS for name in (spec.name, *spec.aliases)])
words = st.from_regex(r"[A-Za-z0-9.,$<>#]{1,12}", fullmatch=True).filter(lambda w: "," not in w)


@given(names, st.lists(words, max_size=12), st.sampled_from(["", "@CryptoBot", "@cryptobot"]))
def test_parse_keeps_every_argument_of_a_known_command(
    name: str, args: list[str], suffix: str
) -> None:
    text = f"/{name.upper() if len(args) % 2 else name}{suffix} " + " ".join(args)
    spec = lookup(name)
    assert spec is not None
    try:
        command = parse(text, "CryptoBot")
    except UsageError:
        too_many = spec.max_args is not None and len(args) > spec.max_args
        assert len(args) < spec.min_args or too_many
        return
    assert isinstance(command, ParsedCommand)
    assert command.spec is spec
    assert command.args == tuple(args)
