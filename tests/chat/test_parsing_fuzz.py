"""Property tests of what users type: every argument either reads as the value the user wrote or
is refused with a usage reply; nothing else comes out, and no number is ever misread.

tests/chat/test_parsing.py already checks that ``parse`` and ``parse_price`` survive random text;
these fill the gaps: prices written the ways people write them read back exactly, every other
validator keeps to its value set, usage replies stay valid and short whatever was typed, and
commands addressed with ``@`` go to the right bot.
"""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from chat.callbacks import MAX_ALERT_ID
from chat.commands import COMMANDS, lookup
from chat.html import html_problem, visible_text
from chat.parsing import (
    MAX_PRICE,
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
from market.intervals import INTERVAL_MS

ALERT = lookup("alert")
CHART = lookup("chart")
PUBLIC_NAMES = {f"/{spec.name}" for spec in COMMANDS if not spec.admin}
ALL_NAMES = [name for spec in COMMANDS for name in (spec.name, *spec.aliases)]
DIRECTION_WORDS = ["above", "over", ">", ">=", "below", "under", "<", "<="]
# Longest visible usage reply: the problem with the input cut to 24 chars, usage and example.
LONGEST_USAGE_REPLY = 400

# Characters people put in numbers, plus the ones a misreading would come from.
number_chars = st.text(alphabet="0123456789.,_$kKmMbB +-eE٣²", max_size=16)
unicode_digits = st.characters(categories=["Nd"]).filter(lambda char: not char.isascii())
garbage = st.text(max_size=40)
# Up to 12 digits before the point keeps every value within MAX_PRICE (1e12).
whole = st.integers(min_value=1, max_value=10**12 - 1)
fraction = st.text(alphabet="0123456789", min_size=1, max_size=8)


def as_number(text: str) -> float:
    return float(Decimal(text))


def parsed(text: str) -> ParsedCommand:
    result = parse(text)
    assert isinstance(result, ParsedCommand), result
    return result


# --- prices -----------------------------------------------------------------------------------

@given(whole, st.none() | fraction, st.sampled_from(["", "$"]), st.sampled_from(["", " "]))
def test_a_thousands_separated_price_reads_as_the_number_written(
    number: int, decimals: str | None, dollar: str, padding: str
) -> None:
    tail = "" if decimals is None else f".{decimals}"
    written = f"{padding}{dollar}{number:,}{tail}{padding}"
    assert parse_price(written) == as_number(f"{number}{tail}")


@given(whole, st.none() | fraction)
def test_underscores_between_digits_are_ignored_like_thousands_commas(
    number: int, decimals: str | None
) -> None:
    written = f"{number:_}" + ("" if decimals is None else f".{decimals}")
    assert parse_price(written) == as_number(written.replace("_", ""))


@given(st.integers(min_value=0, max_value=10**6), fraction.filter(lambda digits: len(digits) != 3))
def test_a_decimal_comma_reads_as_a_decimal_point(units: int, decimals: str) -> None:
    value = as_number(f"{units}.{decimals}")
    assume(value > 0)
    assert parse_price(f"{units},{decimals}") == value


@given(st.decimals(min_value=Decimal("0.001"), max_value=Decimal("999999"), places=3),
       st.sampled_from([("k", 1e3), ("K", 1e3), ("m", 1e6), ("M", 1e6), ("b", 1e9), ("B", 1e9)]))
def test_a_multiplier_suffix_scales_the_number_exactly(
    number: Decimal, suffix: tuple[str, float]
) -> None:
    letter, factor = suffix
    value = float(number) * factor
    try:
        price = parse_price(f"{number}{letter}")
    except UsageError as error:
        assert value > MAX_PRICE and "too large" in error.problem
        return
    assert price == value


@given(st.text(alphabet="0123456789", min_size=1, max_size=6), st.integers(min_value=0),
       unicode_digits)
def test_a_price_with_a_digit_from_another_script_is_refused(
    digits: str, position: int, foreign: str
) -> None:
    at = position % (len(digits) + 1)
    with pytest.raises(UsageError, match="is not a price"):
        parse_price(digits[:at] + foreign + digits[at:])


@given(number_chars)
def test_an_accepted_price_is_finite_positive_bounded_and_written_without_signs_or_exponents(
    text: str
) -> None:
    try:
        value = parse_price(text)
    except UsageError:
        return
    assert math.isfinite(value) and 0 < value <= MAX_PRICE
    assert not set(text) & set("+-eE٣²")


# --- the other validators keep to their value sets -----------------------------------------

@given(garbage)
def test_parse_direction_gives_above_or_below_or_a_usage_error(text: str) -> None:
    try:
        direction = parse_direction(text)
    except UsageError:
        return
    assert direction in ("above", "below")
    assert text.strip().lower() in DIRECTION_WORDS


@given(st.sampled_from(DIRECTION_WORDS), st.sampled_from(["", " ", "\t", "\n "]),
       st.booleans())
def test_a_direction_reads_the_same_padded_or_in_capitals(
    word: str, padding: str, upper: bool
) -> None:
    expected = "above" if word in ("above", "over", ">", ">=") else "below"
    assert parse_direction(padding + (word.upper() if upper else word) + padding) == expected


@given(garbage)
def test_parse_interval_gives_a_binance_interval_or_a_usage_error(text: str) -> None:
    try:
        interval = parse_interval(text)
    except UsageError as error:
        assert "is not an interval" in error.problem
        return
    assert interval in INTERVAL_MS


@given(st.sampled_from(sorted(set(INTERVAL_MS) - {"1m", "1M"})), st.booleans())
def test_an_interval_reads_the_same_in_either_case_except_minute_and_month(
    interval: str, upper: bool
) -> None:
    assert parse_interval(interval.upper() if upper else interval.lower()) == interval


@given(garbage)
def test_parse_alert_id_gives_an_id_a_button_can_carry_or_a_usage_error(text: str) -> None:
    try:
        alert_id = parse_alert_id(text)
    except UsageError as error:
        assert "/alerts" in error.problem
        return
    assert 1 <= alert_id <= MAX_ALERT_ID
    assert str(alert_id) in text


@given(st.integers(min_value=1, max_value=MAX_ALERT_ID), st.sampled_from(["", "#"]),
       st.sampled_from(["", " "]))
def test_every_alert_id_reads_back_as_written(alert_id: int, hash_sign: str, padding: str) -> None:
    assert parse_alert_id(f"{padding}{hash_sign}{alert_id}{padding}") == alert_id


@given(st.one_of(st.integers(max_value=0), st.integers(min_value=MAX_ALERT_ID + 1)))
def test_alert_ids_out_of_range_are_refused(alert_id: int) -> None:
    with pytest.raises(UsageError):
        parse_alert_id(str(alert_id))


# --- whole commands --------------------------------------------------------------------------

alert_words = st.one_of(st.sampled_from(DIRECTION_WORDS),
                        st.text(alphabet="0123456789.,_$kKmMbB+-eE٣²", min_size=1, max_size=12),
                        st.from_regex(r"[^\s]{1,12}", fullmatch=True))


@given(st.lists(alert_words, min_size=3, max_size=3))
def test_alert_arguments_become_a_checked_request_or_the_alert_usage(args: list[str]) -> None:
    assume(all(arg.split() == [arg] for arg in args))
    command = parsed("/alert " + " ".join(args))
    try:
        request = alert_request(command)
    except UsageError as error:
        assert error.spec is ALERT and html_problem(error.html) is None
        return
    assert request.symbol_text == args[0]
    assert request.direction in ("above", "below")
    assert math.isfinite(request.price) and 0 < request.price <= MAX_PRICE


@given(st.sampled_from(DIRECTION_WORDS), whole)
def test_direction_and_price_may_come_in_either_order(direction: str, price: int) -> None:
    first = alert_request(parsed(f"/alert eth {direction} {price}"))
    second = alert_request(parsed(f"/alert eth {price} {direction}"))
    assert first == second == AlertRequest("eth", first.direction, float(price))


interval_or_word = st.one_of(st.sampled_from([*INTERVAL_MS, "daily", "1H", "7h"]),
                             st.from_regex(r"[^\s]{1,10}", fullmatch=True))


@given(st.lists(interval_or_word, min_size=1, max_size=2))
def test_chart_arguments_give_a_typed_symbol_and_a_real_interval(args: list[str]) -> None:
    assume(all(arg.split() == [arg] for arg in args))
    command = parsed("/chart " + " ".join(args))
    try:
        symbol, interval = symbol_and_interval(command)
    except UsageError as error:
        assert error.spec is CHART
        return
    assert symbol in args  # the symbol is one of the words typed, never made up
    assert interval in INTERVAL_MS


# --- usage replies stay valid and short whatever was typed ----------------------------------

@pytest.mark.parametrize("validator", [parse_price, parse_direction, parse_interval,
                                       parse_alert_id])
@given(text=st.text(min_size=25, max_size=2000))
def test_a_usage_reply_is_valid_html_and_quotes_at_most_24_characters_of_the_input(
    validator: object, text: str
) -> None:
    try:
        validator(text, spec=ALERT)  # type: ignore[operator]
    except UsageError as error:
        shown = visible_text(error.html)
        assert html_problem(error.html) is None
        assert len(shown) <= LONGEST_USAGE_REPLY
        assert len(text.strip()) <= 24 or text.strip() not in shown


# --- commands, their addressees, and garbage after the slash ---------------------------------

usernames = st.from_regex(r"[A-Za-z0-9_]{1,32}", fullmatch=True)


@given(st.sampled_from(ALL_NAMES), usernames, usernames, st.text(max_size=30))
def test_a_command_for_another_bot_is_never_taken_as_ours(
    name: str, target: str, ours: str, rest: str
) -> None:
    text = f"/{name}@{target} {rest}"
    try:
        result = parse(text, ours)
    except UsageError:
        assert target.lower() == ours.lower()
        return
    if target.lower() == ours.lower():
        assert isinstance(result, ParsedCommand)
    else:
        assert result == NotACommand(text, addressed_elsewhere=True)


@given(st.text(min_size=1, max_size=60).filter(lambda text: not text[0].isspace()),
       st.text(max_size=60))
def test_anything_after_a_slash_is_a_command_plain_text_or_a_short_valid_reply(
    head: str, rest: str
) -> None:
    try:
        result = parse(f"/{head} {rest}", "CryptoBot")
    except UsageError as error:
        assert error.spec is not None and html_problem(error.html) is None
        return
    if isinstance(result, UnknownCommand):
        assert result.suggestion is None or result.suggestion in PUBLIC_NAMES
        assert html_problem(result.html) is None
        assert len(visible_text(result.html)) < 120
    else:
        assert isinstance(result, (ParsedCommand, NotACommand))
