"""The results an inline query offers: a title and a line in the list, a card when picked.

Why apart from the command cards: an inline result is two texts, the plain title and
description the user scrolls through while typing, and the HTML message sent when they pick
one (the same cards /price and /analysis send, stale labels included). Also how long Telegram
may reuse the answer (``cache_time``) and whether it is for this user only (``is_personal``):
market answers are the same for everyone, so they are shared and cached briefly (stale ones
even more briefly); a rate-limit warning is personal and never cached. Every query gets at
least one result: an empty, unreadable or unknown one gets help, never silence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chat.cards import quotes_text, symbol_error_text, unavailable_text
from chat.cards_analysis import analysis_card
from chat.cards_format import arrow, format_age, format_percent, format_price
from chat.arguments import shown
from chat.cards_market import price_lines
from chat.html import escape
from chat.inline_query import MAX_INLINE_COINS
from chat.replies import PRIVATE_TEXT
from market.analysis import MarketAnalysis, MarketUnavailable
from market.errors import InvalidSymbolFormat, UnknownSymbol
from market.models import Ticker24h
from messages.inline import InlineAnswer, InlineArticle, InlineQueryReceived

__all__ = [
    "ANALYSIS_CACHE_S",
    "HELP_CACHE_S",
    "HELP_TITLE",
    "PRICE_CACHE_S",
    "STALE_CACHE_S",
    "InlineResults",
    "analysis_results",
    "answer_to",
    "INTERVAL_IGNORED",
    "failed_results",
    "help_results",
    "price_results",
    "private_results",
    "rate_limited_results",
    "unknown_coin_results",
    "with_help",
]

PRICE_CACHE_S = 10
"""Prices move: Telegram may show the same price results for this long, to anyone."""
ANALYSIS_CACHE_S = 30
"""An analysis changes with candles, not ticks: a little longer."""
STALE_CACHE_S = 5
"""Stale or missing data: ask again soon, the exchange may be back."""
HELP_CACHE_S = 300
"""Help and unknown coins change only with a new release or a new listing."""
HELP_TITLE = "Type a coin, like btc or btc 4h"
"""The first help result's title."""
INTERVAL_IGNORED = "An analysis takes one coin, like btc 4h."
"""Help below the prices of several coins typed with an interval."""


@dataclass(frozen=True, slots=True)
class InlineResults:
    """The results of one inline query and how Telegram may cache them."""

    articles: tuple[InlineArticle, ...]
    """In the order shown, never empty."""
    cache_time_s: int
    """answerInlineQuery's cache_time."""
    is_personal: bool = False
    """answerInlineQuery's is_personal."""
    outcome: str = "ok"
    """ok, degraded, unknown, unavailable, help, rate_limited, denied (logs, stats)."""


def answer_to(query: InlineQueryReceived, results: InlineResults) -> InlineAnswer:
    """The transport's message answering ``query`` with ``results``."""
    return InlineAnswer(request_id=query.request_id, query_id=query.query_id,
                        results=results.articles, cache_time_s=results.cache_time_s,
                        is_personal=results.is_personal, received_at=query.received_at)


def _help_article(problem: str | None = None) -> InlineArticle:
    lines = ["💡 <b>Crypto prices in any chat</b>",
             "Type my name and a coin in the message box:",
             "• <code>btc</code> — price and 24h change",
             "• <code>btc 4h</code> — analysis on an interval",
             f"• <code>btc eth sol</code> — up to {MAX_INLINE_COINS} coins at once"]
    description = "btc → price · btc 4h → analysis · btc eth sol → several"
    if problem is not None:
        lines.insert(0, f"⚠️ {escape(problem)}")
        description = f"{problem} {description}"
    return InlineArticle(result_id="help", title=HELP_TITLE, description=description,
                         html="\n".join(lines))


def help_results(problem: str | None = None) -> InlineResults:
    """An empty or unreadable query: how to use inline mode."""
    return InlineResults((_help_article(problem),), HELP_CACHE_S, outcome="help")


def failed_results() -> InlineResults:
    """A lookup that failed unexpectedly (logged): help, and ask again at once."""
    return InlineResults((_help_article("Something went wrong looking that up."),), 0,
                         outcome="error")


def with_help(results: InlineResults, problem: str) -> InlineResults:
    """``results`` and, last, help saying what was not done (e.g. an ignored interval)."""
    return InlineResults((*results.articles, _help_article(problem)), results.cache_time_s,
                         results.is_personal, results.outcome)


def _ticker_title(ticker: Ticker24h) -> str:
    change = ticker.price_change_percent
    return (f"{ticker.symbol} {format_price(ticker.last_price)} "
            f"{arrow(change)} {format_percent(change)}")


def price_results(tickers: Sequence[Ticker24h], unknown: Sequence[tuple[str, str]] = (), *,
                  stale_age_s: float | None = None, reason: str | None = None,
                  unavailable: MarketUnavailable | None = None) -> InlineResults:
    """Price cards: all the coins in one message first (when several), then one per coin."""
    if unavailable is not None:
        return _unavailable(unavailable)
    if not tickers:
        return _unknown_only(unknown)
    stale = "" if stale_age_s is None else f" · stale, {format_age(stale_age_s)} old"
    articles = []
    if len(tickers) > 1 or unknown:
        names = ", ".join(ticker.symbol for ticker in tickers)
        articles.append(InlineArticle(
            result_id="price:all", title=names,
            description=f"{len(tickers)} prices with 24h change{stale}",
            html=quotes_text(tickers, unknown, stale_age_s=stale_age_s, reason=reason)))
    for ticker in tickers:
        articles.append(InlineArticle(
            result_id=f"price:{ticker.symbol}", title=_ticker_title(ticker),
            description=(f"24h range {format_price(ticker.low_price)} – "
                         f"{format_price(ticker.high_price)}{stale}"),
            html=quotes_text((ticker,), stale_age_s=stale_age_s, reason=reason)))
    stale_or_fresh = STALE_CACHE_S if stale_age_s is not None else PRICE_CACHE_S
    return InlineResults(tuple(articles), stale_or_fresh,
                         outcome="ok" if stale_age_s is None else "degraded")


def _unknown_only(unknown: Sequence[tuple[str, str]]) -> InlineResults:
    text, problem = unknown[0] if unknown else ("", "no coin")
    article = InlineArticle(result_id="unknown", title=f"Unknown coin: {shown(text)}",
                            description=problem[:120], html=quotes_text((), unknown))
    return InlineResults((article, _help_article()), HELP_CACHE_S, outcome="unknown")


def unknown_coin_results(error: UnknownSymbol | InvalidSymbolFormat) -> InlineResults:
    """A coin the exchange does not have: what it said (suggestions), then help."""
    html = symbol_error_text(error)
    if isinstance(error, UnknownSymbol) and error.suggestions:
        description = "Did you mean " + ", ".join(error.suggestions[:5]) + "?"
    elif isinstance(error, InvalidSymbolFormat):
        description = f"Not a coin: {error.reason}"
    else:
        description = "Not listed on the exchange"
    article = InlineArticle(result_id="unknown", title=f"Unknown coin: {shown(error.text)}",
                            description=description[:120], html=html)
    return InlineResults((article, _help_article()), HELP_CACHE_S, outcome="unknown")


def _unavailable(answer: MarketUnavailable) -> InlineResults:
    article = InlineArticle(
        result_id="unavailable", title=f"No data for {answer.symbol} right now",
        description=f"{answer.reason} · try again in {format_age(answer.retry_after_s)}",
        html=unavailable_text(answer))
    return InlineResults((article,), STALE_CACHE_S, outcome="unavailable")


def analysis_results(answer: MarketAnalysis | MarketUnavailable) -> InlineResults:
    """The compact analysis card, then the coin's price card from the same data."""
    if isinstance(answer, MarketUnavailable):
        return _unavailable(answer)
    summary = answer.summary
    verdict = f"Trend: {summary.verdict}" if summary is not None else "Indicators n/a"
    degraded = answer.stale or answer.indicators is None
    label = (f" · stale, {format_age(answer.age_s)} old" if answer.stale
             else " · partial" if answer.indicators is None else "")
    change = answer.change_24h_pct
    analysis = InlineArticle(
        result_id=f"analysis:{answer.symbol}:{answer.interval}",
        title=f"{answer.symbol} · {answer.interval} analysis",
        description=f"{format_price(answer.last_price)} {arrow(change)} "
                    f"{format_percent(change)} · {verdict}{label}",
        html=analysis_card(answer, expanded=False))
    price = InlineArticle(
        result_id=f"price:{answer.symbol}",
        title=f"{answer.symbol} {format_price(answer.last_price)} {arrow(change)} "
              f"{format_percent(change)}",
        description=f"Price and 24h change{label}", html=price_lines((answer,)))
    return InlineResults((analysis, price), STALE_CACHE_S if degraded else ANALYSIS_CACHE_S,
                         outcome="degraded" if degraded else "ok")


def rate_limited_results(wait_s: float) -> InlineResults:
    """The one warning of a user over the inline budget: for them only, never cached."""
    text = f"You're typing faster than I can look up. Try again in {wait_s:.0f} s."
    article = InlineArticle(result_id="slow", title="🐢 Too many lookups", description=text,
                            html=f"🐢 {escape(text)}")
    return InlineResults((article,), 0, is_personal=True, outcome="rate_limited")


def private_results() -> InlineResults:
    """To users outside ``allowed_users``: the bot is private (for them only)."""
    article = InlineArticle(result_id="private", title=PRIVATE_TEXT, description="",
                            html=escape(PRIVATE_TEXT))
    return InlineResults((article,), HELP_CACHE_S, is_personal=True, outcome="denied")
