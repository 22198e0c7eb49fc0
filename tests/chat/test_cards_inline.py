"""Inline results: plain titles to scroll through, the usual HTML cards when picked, and how
long Telegram may reuse them."""

from __future__ import annotations

from chat.cards_inline import (
    ANALYSIS_CACHE_S,
    HELP_CACHE_S,
    HELP_TITLE,
    INTERVAL_IGNORED,
    PRICE_CACHE_S,
    STALE_CACHE_S,
    analysis_results,
    answer_to,
    failed_results,
    help_results,
    price_results,
    private_results,
    rate_limited_results,
    unknown_coin_results,
    with_help,
)
from chat.html import is_balanced, visible_text
from market.analysis import MarketUnavailable
from market.errors import InvalidSymbolFormat, UnknownSymbol
from messages.inline import InlineArticle, InlineQueryReceived
from tests.chat.builders import analysis
from tests.chat.test_cards_market import ticker


def seen(article: InlineArticle) -> str:
    assert is_balanced(article.html), article.html
    assert "<" not in article.title and "<" not in article.description
    return visible_text(article.html)


def test_one_coin_offers_its_price_card_cached_briefly_for_everyone() -> None:
    results = price_results([ticker("BTCUSDT", 2.5, price=65_000.0)])

    (card,) = results.articles
    assert card.result_id == "price:BTCUSDT"
    assert card.title == "BTCUSDT 65,000.00 ▲ +2.50%"
    assert seen(card) == "BTCUSDT 65,000.00  ▲ +2.50%"
    assert (results.cache_time_s, results.is_personal, results.outcome) == (
        PRICE_CACHE_S, False, "ok")


def test_several_coins_offer_all_in_one_message_first_then_one_card_each() -> None:
    results = price_results([ticker("BTCUSDT", 1.0), ticker("ETHUSDT", -2.0)],
                            [("zzz", "unknown coin")])

    ids = [article.result_id for article in results.articles]
    assert ids == ["price:all", "price:BTCUSDT", "price:ETHUSDT"]
    combined = seen(results.articles[0])
    assert "BTCUSDT" in combined and "ETHUSDT" in combined and "zzz" in combined
    assert "zzz" not in seen(results.articles[1])


def test_stale_prices_are_labelled_in_the_list_and_the_card_and_cached_shortest() -> None:
    results = price_results([ticker("BTCUSDT", 1.0)], stale_age_s=120.0,
                            reason="the exchange is failing")

    (card,) = results.articles
    assert "stale, 2 min old" in card.description
    assert seen(card).startswith("⚠️ Stale: 2 min old — the exchange is failing")
    assert (results.cache_time_s, results.outcome) == (STALE_CACHE_S, "degraded")


def test_no_data_at_all_says_so_and_when_to_try_again() -> None:
    results = price_results([], unavailable=MarketUnavailable("BTCUSDT", "the exchange is down",
                                                              30.0))

    (article,) = results.articles
    assert article.title == "No data for BTCUSDT right now"
    assert "Try again in" in seen(article)
    assert (results.cache_time_s, results.outcome) == (STALE_CACHE_S, "unavailable")


def test_an_analysis_offers_the_compact_card_then_the_price_from_the_same_data() -> None:
    results = analysis_results(analysis())

    card, price = results.articles
    assert card.result_id == "analysis:BTCUSDT:1h"
    assert card.title == "BTCUSDT · 1h analysis"
    assert "Trend:" in card.description
    assert "RSI" in seen(card) and "Support" not in seen(card)
    assert price.result_id == "price:BTCUSDT" and "65,000.00" in seen(price)
    assert (results.cache_time_s, results.outcome) == (ANALYSIS_CACHE_S, "ok")


def test_a_stale_analysis_is_labelled_and_cached_shortest() -> None:
    results = analysis_results(analysis(stale=True, age_s=600.0, degraded_reason="exchange down"))

    assert "stale, 10 min old" in results.articles[0].description
    assert seen(results.articles[0]).startswith("⚠️ Stale")
    assert (results.cache_time_s, results.outcome) == (STALE_CACHE_S, "degraded")


def test_an_unknown_coin_gets_the_suggestions_and_help_never_silence() -> None:
    results = unknown_coin_results(UnknownSymbol("btcc", ("BTCUSDT", "BCHUSDT")))

    unknown, helping = results.articles
    assert unknown.title == "Unknown coin: btcc"
    assert unknown.description == "Did you mean BTCUSDT, BCHUSDT?"
    assert "I don't know the coin" in seen(unknown)
    assert helping.title == HELP_TITLE
    assert (results.cache_time_s, results.outcome) == (HELP_CACHE_S, "unknown")


def test_text_that_is_no_coin_and_prices_of_only_unknown_coins_get_help_too() -> None:
    garbage = unknown_coin_results(InvalidSymbolFormat("$$$", "use letters and digits"))
    only_unknown = price_results([], [("zzz", "unknown coin")])

    assert garbage.articles[0].description == "Not a coin: use letters and digits"
    assert [a.result_id for a in only_unknown.articles] == ["unknown", "help"]
    assert "zzz" in seen(only_unknown.articles[0])


def test_help_shows_the_forms_and_what_was_wrong() -> None:
    plain = help_results()
    wrong = help_results("At most 5 coins at a time.")

    assert "btc 4h" in seen(plain.articles[0]) and "⚠️" not in seen(plain.articles[0])
    assert seen(wrong.articles[0]).startswith("⚠️ At most 5 coins")
    assert plain.cache_time_s == HELP_CACHE_S and plain.outcome == "help"


def test_an_ignored_interval_adds_help_below_the_prices() -> None:
    results = with_help(price_results([ticker("BTCUSDT", 1.0), ticker("ETHUSDT", 1.0)]),
                        INTERVAL_IGNORED)

    assert results.articles[-1].result_id == "help"
    assert INTERVAL_IGNORED in results.articles[-1].description


def test_warnings_and_refusals_are_personal_and_a_failure_is_not_cached() -> None:
    slow = rate_limited_results(42.0)
    private = private_results()
    failed = failed_results()

    assert (slow.is_personal, slow.cache_time_s) == (True, 0)
    assert "42 s" in seen(slow.articles[0])
    assert private.is_personal and "private" in seen(private.articles[0])
    assert (failed.cache_time_s, failed.outcome) == (0, "error")


def test_result_ids_are_unique_short_and_the_answer_names_its_query() -> None:
    results = price_results([ticker(f"COIN{n}USDT", 1.0) for n in range(5)])
    query = InlineQueryReceived(request_id="r1", query_id="q1", user_id=7, query="x",
                                received_at=3.0)

    answer = answer_to(query, results)
    ids = [article.result_id for article in answer.results]
    assert len(ids) == len(set(ids)) and all(1 <= len(i.encode()) <= 64 for i in ids)
    assert (answer.query_id, answer.request_id, answer.received_at) == ("q1", "r1", 3.0)
    assert answer.results == results.articles
