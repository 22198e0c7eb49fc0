"""Inline queries read as a price, an analysis or help: pure, one keystroke at a time."""

from __future__ import annotations

import pytest

from chat.inline_query import (
    MAX_INLINE_COINS,
    QUERY_MAX,
    AnalysisQuery,
    HelpQuery,
    PriceQuery,
    read_inline_query,
)


def test_one_coin_asks_for_its_price() -> None:
    assert read_inline_query("btc") == PriceQuery(("btc",))


def test_a_coin_and_an_interval_ask_for_an_analysis_in_either_order() -> None:
    assert read_inline_query("btc 4h") == AnalysisQuery("btc", "4h")
    assert read_inline_query("4H eth") == AnalysisQuery("eth", "4h")
    assert read_inline_query("sol daily") == AnalysisQuery("sol", "1d")


def test_several_coins_ask_for_their_prices_separated_by_spaces_or_commas() -> None:
    assert read_inline_query(" btc, eth\tsol ") == PriceQuery(("btc", "eth", "sol"))


def test_the_command_words_are_understood_and_dropped() -> None:
    assert read_inline_query("/price btc eth") == PriceQuery(("btc", "eth"))
    assert read_inline_query("analysis btc") == AnalysisQuery("btc", "1h")
    assert read_inline_query("analysis btc 1w") == AnalysisQuery("btc", "1w")


@pytest.mark.parametrize("query", ["", "   ", "price", "/analysis", ",,,"])
def test_an_empty_query_asks_for_help_without_a_problem(query: str) -> None:
    assert read_inline_query(query) == HelpQuery()


def test_an_interval_without_a_coin_asks_for_help_saying_so() -> None:
    reading = read_inline_query("4h")

    assert isinstance(reading, HelpQuery) and "coin before the interval" in (reading.problem or "")


def test_too_many_coins_or_intervals_ask_for_help_saying_what_is_wrong() -> None:
    many = read_inline_query(" ".join(["btc"] * (MAX_INLINE_COINS + 1)))
    intervals = read_inline_query("btc 4h 1d")

    assert isinstance(many, HelpQuery) and f"At most {MAX_INLINE_COINS}" in (many.problem or "")
    assert isinstance(intervals, HelpQuery) and "One interval" in (intervals.problem or "")


def test_several_coins_with_an_interval_get_prices_and_a_note_that_it_was_ignored() -> None:
    assert read_inline_query("btc eth 4h") == PriceQuery(("btc", "eth"), interval_ignored=True)


def test_a_query_longer_than_telegram_sends_is_cut_before_reading() -> None:
    reading = read_inline_query("x" * 1000 + " btc")

    assert reading == PriceQuery(("x" * QUERY_MAX,))
