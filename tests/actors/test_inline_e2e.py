"""Inline mode through the whole bot: the fake Bot API pushes InlineQuery updates to the real
python-telegram-bot stack, the exchange simulator answers the market, real threads."""

from __future__ import annotations

from typing import Any

from actors.conversation import ConversationStats
from chat.cards_inline import HELP_TITLE, PRICE_CACHE_S, STALE_CACHE_S
from fakes.telegram.records import InlineAnswerRecord
from tests.actors.test_telegram_e2e import WAIT_S, Telegram, make_telegram  # noqa: F401

TICKER = "/api/v3/ticker/24hr"


def type_inline(tg: Telegram, user: int, query: str) -> InlineAnswerRecord:
    """``user`` types ``@fake_bot query``; the answer to that query."""
    query_id = tg.fake.push_inline_query(user, query)
    return answer_to(tg, user, query_id)


def answer_to(tg: Telegram, user: int, query_id: str) -> InlineAnswerRecord:
    def found() -> InlineAnswerRecord | None:
        return next((a for a in tg.fake.inline_answers(user) if a.query_id == query_id), None)
    assert tg.fake.wait_for(lambda: found() is not None, WAIT_S), (
        query_id, tg.fake.inline_answers(user), tg.fake.calls("answerInlineQuery"))
    answer = found()
    assert answer is not None
    return answer


def conversation_stats(tg: Telegram) -> ConversationStats:
    stats = tg.bot.status().find_stats(ConversationStats)
    assert stats is not None
    return stats


def requests(tg: Telegram, path: str | None = None) -> int:
    """Requests the exchange got for ``path`` (all paths when None)."""
    counted = tg.simulator.counters()["requests"]
    assert isinstance(counted, dict)
    return int(counted.get(path, 0)) if path is not None else sum(counted.values())


def test_typing_a_coin_offers_its_price_card_from_the_cache(make_telegram: Any) -> None:
    tg = make_telegram(cache_ticker_ttl_s=60.0, cache_analysis_ttl_s=60.0)
    assert tg.say(7, "/price btc", "BTCUSDT")  # the price is cached now
    upstream = requests(tg, TICKER)

    answer = type_inline(tg, 7, "btc")

    (card,) = answer.results
    assert card.result_id == "price:BTCUSDT" and card.title.startswith("BTCUSDT ")
    assert card.parse_mode == "HTML" and "<b>BTCUSDT</b>" in card.text
    assert (answer.cache_time, answer.is_personal) == (PRICE_CACHE_S, False)
    assert requests(tg, TICKER) == upstream


def test_several_coins_offer_one_combined_card_and_one_each(make_telegram: Any) -> None:
    tg = make_telegram()

    answer = type_inline(tg, 7, "btc eth sol")

    assert [r.result_id for r in answer.results] == [
        "price:all", "price:BTCUSDT", "price:ETHUSDT", "price:SOLUSDT"]
    assert all(symbol in answer.results[0].text for symbol in ("BTC", "ETH", "SOL"))


def test_a_coin_and_an_interval_offer_the_analysis_summary(make_telegram: Any) -> None:
    tg = make_telegram()

    answer = type_inline(tg, 7, "eth 4h")

    analysis, price = answer.results
    assert analysis.result_id == "analysis:ETHUSDT:4h"
    assert "RSI" in analysis.text and "Trend" in analysis.text
    assert price.result_id == "price:ETHUSDT"


def test_an_unknown_coin_and_an_empty_query_are_answered_with_help(make_telegram: Any) -> None:
    tg = make_telegram()

    unknown = type_inline(tg, 7, "zzzqqq")
    empty = type_inline(tg, 7, "")

    assert [r.result_id for r in unknown.results] == ["unknown", "help"]
    assert "ZZZQQQ" in unknown.results[0].text.upper()
    assert [r.title for r in empty.results] == [HELP_TITLE]


def test_a_burst_of_keystrokes_answers_the_latest_query_and_few_others(make_telegram: Any
                                                                        ) -> None:
    tg = make_telegram()
    typed = ["b", "bt", "btc", "btc ", "btc e", "btc et", "btc eth", "btc eth s", "btc eth so",
             "btc eth sol"]

    query_ids = [tg.fake.push_inline_query(9, text) for text in typed]
    latest = answer_to(tg, 9, query_ids[-1])

    assert [r.result_id for r in latest.results][-1] == "price:SOLUSDT"
    answered = {answer.query_id for answer in tg.fake.inline_answers(9)}
    assert answered <= {query_ids[0], query_ids[-1]}
    stats = conversation_stats(tg)
    assert stats.inline_queries == len(typed)
    assert stats.inline_superseded >= len(typed) - 2


def test_a_user_over_the_budget_gets_one_warning_then_no_work(make_telegram: Any) -> None:
    tg = make_telegram(user_rate_limit_count=3)
    for coin in ("btc", "eth", "sol"):
        assert type_inline(tg, 11, coin).results

    warning = type_inline(tg, 11, "bnb")
    upstream = requests(tg)
    flood = [tg.fake.push_inline_query(11, f"x{n}") for n in range(50)]
    assert type_inline(tg, 12, "btc").results  # someone else is still answered

    assert warning.is_personal and warning.cache_time == 0
    assert warning.results[0].result_id == "slow"
    answered = {answer.query_id for answer in tg.fake.inline_answers(11)}
    assert not answered & set(flood)
    stats = conversation_stats(tg)
    # The flood coalesced (superseded) or was refused (after the one warning): none answered.
    assert stats.inline_superseded + stats.inline_rate_limited - 1 == len(flood)
    assert requests(tg) - upstream <= 1  # user 12's lookup


def test_when_the_exchange_fails_the_cached_price_is_offered_labelled_stale(make_telegram: Any
                                                                           ) -> None:
    tg = make_telegram(cache_ticker_ttl_s=0.05, cache_analysis_ttl_s=0.05,
                       user_rate_limit_count=100)
    assert type_inline(tg, 7, "btc").results[0].result_id == "price:BTCUSDT"
    tg.simulator.inject("5xx", endpoint=TICKER, status=503, count=None)

    # Each answer is waited for; the cached price turns stale 50 ms after it was fetched.
    for _ in range(20):
        answer = type_inline(tg, 7, "btc")
        if "stale" in (answer.results[0].description or ""):
            break
    (card,) = answer.results
    assert "stale" in (card.description or "") and "Stale" in card.text
    assert "BTCUSDT" in card.text
    assert answer.cache_time == STALE_CACHE_S
