"""How code outside the market subtree asks it for an analysis.

Not an actor: it runs in the caller's thread (the facade, a chat worker) and talks to the
market actors only through stable addresses, with one deadline for the whole request, so a slow
or broken exchange costs a user a few seconds at most and never blocks an actor. The degradation
ladder lives here:

=========================================  =====================================================
situation                                  answer
=========================================  =====================================================
fresh analysis in cache                    it, ``source="cache"``
data fetched in time                       new analysis, stored in the cache
indicator actor down or slow               price and 24h stats now, indicators marked missing
exchange failing, breaker open, too slow   last analysis (or raw data) from cache, labelled
                                           stale with its age and the reason
... and nothing cached                     ``MarketUnavailable`` with a retry delay, at once
=========================================  =====================================================

Thread-safe: the only shared state is the symbol directory, replaced atomically.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pykka

from core.errors import BotError
from market.analysis import MarketAnalysis, MarketUnavailable, build_analysis
from market.cache import CacheHit
from market.errors import InvalidSymbolFormat, MarketError, UnknownSymbol, user_reason
from market.indicator_set import IndicatorSet
from market.intervals import check_interval, closed_only
from market.models import Klines, Ticker24h
from market.symbols import SymbolDirectory, normalize_symbol
from messages.market import AnalysisKey, CacheLookup, CachePut, ComputeIndicators, Fetch, FetchSpec
from resilience.errors import CircuitOpenError
from supervision import request_future
from supervision.address import Directory
from supervision.errors import ChildUnavailable

__all__ = ["KLINE_LIMIT", "MarketAccess", "Quotes", "SeriesUnavailable"]

KLINE_LIMIT = 500
"""Enough history for EMA200 and ADX to settle; klines cost the same weight up to 1000."""
INDICATOR_TIMEOUT_S = 2.0
SYMBOLS_MAX_AGE_S = 3600.0


@dataclass(frozen=True, slots=True)
class Quotes:
    """24h tickers for several symbols from one upstream call, or why there are none."""

    tickers: tuple[Ticker24h, ...]
    """In the order asked; empty when ``unavailable`` is set."""
    unknown: tuple[tuple[str, str], ...] = ()
    """(text as typed, why it is not a symbol) for inputs that could not be resolved."""
    stale_age_s: float | None = None
    """Set when served from cache past freshness: how old the data is."""
    reason: str | None = None
    """Why the data is stale or missing."""
    unavailable: MarketUnavailable | None = None
    """Set when nothing could be given (nothing cached either)."""


class SeriesUnavailable(MarketError):
    """Candles for a chart could not be had now, and none are cached."""

    def __init__(self, reason: str, retry_after_s: float) -> None:
        self.reason = reason
        self.retry_after_s = retry_after_s
        super().__init__(reason)


class MarketAccess:
    """Analyses with a deadline, through the cache, fetcher and indicator addresses."""

    def __init__(
        self,
        directory: Directory,
        *,
        default_quote: str = "USDT",
        deadline_s: float = 5.0,
        wall_clock: Callable[[], float] = time.time,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._cache = directory["cache"]
        self._fetcher = directory["fetcher"]
        self._indicator = directory["indicator"]
        self._default_quote = default_quote
        self._deadline_s = deadline_s
        self._wall_clock = wall_clock
        self._clock = clock
        self._symbols: tuple[float, SymbolDirectory] | None = None

    # -- public --------------------------------------------------------------------------------

    def analysis(
        self, text: str, interval: str = "1h", *, request_id: str | None = None,
        deadline_s: float | None = None,
    ) -> MarketAnalysis | MarketUnavailable:
        """The analysis of ``text`` (any spelling of a symbol) on ``interval``.

        Raises a ``MarketError`` for bad input (unknown symbol with suggestions, bad interval).
        ``deadline_s`` shortens the wait (inline answers), as for :meth:`quotes`.
        """
        interval = check_interval(interval)
        deadline = self._clock() + (self._deadline_s if deadline_s is None
                                    else min(deadline_s, self._deadline_s))
        symbol = self.resolve(text, request_id=request_id, deadline=deadline)
        key = AnalysisKey(symbol, interval)
        klines = FetchSpec("klines", symbol, interval, KLINE_LIMIT)
        ticker = FetchSpec("ticker_24h", symbol)
        cached = self._lookup((key, klines, ticker))
        if cached[0] is not None and cached[0].fresh:
            analysis = cached[0].value
            assert isinstance(analysis, MarketAnalysis)
            return analysis.served_from_cache(cached[0].age_s)
        try:
            values = self._gather({klines: cached[1], ticker: cached[2]}, deadline, request_id)
        except (MarketError, ChildUnavailable, CircuitOpenError) as exc:
            if isinstance(exc, UnknownSymbol):
                raise
            return self._degrade(symbol, interval, exc, cached, deadline, request_id)
        return self._assemble(symbol, interval, values[klines], values[ticker], deadline, request_id)

    def quotes(self, texts: Sequence[str], *, request_id: str | None = None,
               deadline_s: float | None = None) -> Quotes:
        """24h tickers for ``texts`` (any spellings) in one upstream call, stale if it must.

        ``deadline_s`` shortens the wait for a figure that only decorates another answer.
        """
        deadline = self._clock() + (self._deadline_s if deadline_s is None
                                    else min(deadline_s, self._deadline_s))
        symbols: list[str] = []
        unknown: list[tuple[str, str]] = []
        for text in texts:
            try:
                symbol = self.resolve(text, request_id=request_id, deadline=deadline)
            except MarketError as exc:
                unknown.append((text, _problem(exc)))  # not str(exc): it repeats the text
                continue
            if symbol not in symbols:
                symbols.append(symbol)
        if not symbols:
            return Quotes((), tuple(unknown))
        return self._quotes(symbols, tuple(unknown), deadline, request_id)

    def usdt_quotes(self, *, request_id: str | None = None) -> Quotes:
        """24h tickers of every live USDT pair (for /top)."""
        deadline = self._clock() + self._deadline_s
        directory = self.symbol_directory(request_id=request_id, deadline=deadline)
        if directory is None:
            reason, retry = describe_failure(ChildUnavailable("exchange", "no symbol list yet"))
            return Quotes((), unavailable=MarketUnavailable("USDT pairs", reason, retry))
        symbols = [s for s in directory.live_symbols() if s.endswith("USDT")]
        return self._quotes(symbols, (), deadline, request_id)

    def candles(
        self, text: str, interval: str = "1h", *, request_id: str | None = None
    ) -> tuple[str, Klines, float | None]:
        """(symbol, klines, stale age or None) for a chart; raises ``SeriesUnavailable``."""
        interval = check_interval(interval)
        deadline = self._clock() + self._deadline_s
        symbol = self.resolve(text, request_id=request_id, deadline=deadline)
        spec = FetchSpec("klines", symbol, interval, KLINE_LIMIT)
        hit = self._lookup((spec,))[0]
        try:
            klines = self._gather({spec: hit}, deadline, request_id)[spec]
        except (MarketError, ChildUnavailable, CircuitOpenError) as exc:
            if isinstance(exc, UnknownSymbol):
                raise
            if hit is None:
                raise SeriesUnavailable(*describe_failure(exc)) from exc
            assert isinstance(hit.value, Klines)
            return symbol, hit.value, hit.age_s
        assert isinstance(klines, Klines)
        return symbol, klines, None

    def resolve(self, text: str, *, request_id: str | None = None, deadline: float | None = None) -> str:
        """The exchange symbol for ``text``; validated against exchangeInfo when available."""
        directory = self.symbol_directory(request_id=request_id, deadline=deadline)
        if directory is None:  # exchangeInfo unavailable: trust the spelling, the exchange decides
            return normalize_symbol(text, self._default_quote)
        return directory.resolve(text)

    def symbol_directory(
        self, *, request_id: str | None = None, deadline: float | None = None
    ) -> SymbolDirectory | None:
        """Live symbols from exchangeInfo (cached an hour); None while it cannot be had."""
        known = self._symbols
        if known is not None and self._clock() - known[0] < SYMBOLS_MAX_AGE_S:
            return known[1]
        spec = FetchSpec("exchange_info")
        deadline = deadline if deadline is not None else self._clock() + self._deadline_s
        try:
            values = self._gather({spec: self._lookup((spec,))[0]}, deadline, request_id)
        except (MarketError, ChildUnavailable, CircuitOpenError):
            return known[1] if known is not None else None
        directory = SymbolDirectory.from_exchange_info(values[spec], self._default_quote)
        self._symbols = (self._clock(), directory)
        return directory

    # -- internals -----------------------------------------------------------------------------

    def _quotes(
        self,
        symbols: Sequence[str],
        unknown: tuple[tuple[str, str], ...],
        deadline: float,
        request_id: str | None,
    ) -> Quotes:
        spec = FetchSpec("tickers_24h", symbols=tuple(sorted(symbols)))
        hit = self._lookup((spec,))[0]
        try:
            tickers = self._gather({spec: hit}, deadline, request_id)[spec]
            stale_age, reason = None, None
        except (MarketError, ChildUnavailable, CircuitOpenError) as exc:
            if isinstance(exc, UnknownSymbol):
                raise
            reason, retry = describe_failure(exc)
            if hit is None:
                unavailable = MarketUnavailable(", ".join(symbols[:3]), reason, retry)
                return Quotes((), unknown, unavailable=unavailable)
            tickers, stale_age = hit.value, hit.age_s
        by_symbol = {ticker.symbol: ticker for ticker in tickers}
        ordered = tuple(by_symbol[s] for s in symbols if s in by_symbol)
        return Quotes(ordered, unknown, stale_age, reason)

    def _lookup(self, keys: tuple[Any, ...]) -> tuple[CacheHit | None, ...]:
        try:
            hits = self._cache.ask(CacheLookup(keys), timeout=1.0)
        except ChildUnavailable:
            return (None,) * len(keys)  # no cache right now: go to the exchange
        assert isinstance(hits, tuple)
        return hits

    def _gather(
        self, wanted: dict[FetchSpec, CacheHit | None], deadline: float, request_id: str | None
    ) -> dict[FetchSpec, Any]:
        """Fresh values for every spec: from the cache hit if fresh, else fetched in parallel."""
        values: dict[FetchSpec, Any] = {}
        pending: dict[FetchSpec, pykka.Future[Any]] = {}
        for spec, hit in wanted.items():
            if hit is not None and hit.fresh:
                values[spec] = hit.value
            else:
                pending[spec] = request_future(
                    self._fetcher, lambda reply: Fetch(spec, reply, request_id))
        for spec, waiting in pending.items():
            try:
                values[spec] = waiting.get(timeout=max(0.0, deadline - self._clock()))
            except pykka.Timeout as exc:
                raise ExchangeTooSlow(self._deadline_s) from exc
        return values

    def _assemble(
        self,
        symbol: str,
        interval: str,
        klines: Klines,
        ticker: object,
        deadline: float,
        request_id: str | None,
        *,
        store: bool = True,
    ) -> MarketAnalysis:
        indicators, note = self._indicators(symbol, interval, klines, deadline, request_id)
        analysis = build_analysis(
            symbol=symbol,
            interval=interval,
            ticker=ticker,
            indicators=indicators,
            indicators_note=note,
            computed_at=self._wall_clock(),
        )
        if store and indicators is not None:  # partial or stale answers are not kept
            self._cache.tell(CachePut(AnalysisKey(symbol, interval), analysis))
        return analysis

    def _indicators(
        self, symbol: str, interval: str, klines: Klines, deadline: float, request_id: str | None
    ) -> tuple[IndicatorSet | None, str | None]:
        # Indicators use closed candles only, told by the exchange's close times (a month is 28
        # to 31 days): whether the last one is still forming is judged now, not when fetched.
        candles = closed_only(klines.candles, klines.close_time_ms, interval,
                              int(self._wall_clock() * 1000))
        timeout = max(0.05, min(INDICATOR_TIMEOUT_S, deadline - self._clock()))
        try:
            result = self._indicator.ask(
                ComputeIndicators(symbol, interval, candles, request_id), timeout=timeout
            )
        except ChildUnavailable as exc:
            return None, f"indicators unavailable right now ({exc.reason})"
        except BotError as exc:
            return None, f"indicators could not be computed ({exc})"
        assert isinstance(result, IndicatorSet)
        return result, None

    def _degrade(
        self,
        symbol: str,
        interval: str,
        error: Exception,
        cached: tuple[CacheHit | None, ...],
        deadline: float,
        request_id: str | None,
    ) -> MarketAnalysis | MarketUnavailable:
        reason, retry_after = describe_failure(error)
        analysis_hit, klines_hit, ticker_hit = cached
        if analysis_hit is not None:
            analysis = analysis_hit.value
            assert isinstance(analysis, MarketAnalysis)
            return analysis.served_stale(analysis_hit.age_s, reason)
        if klines_hit is not None and ticker_hit is not None:
            klines = klines_hit.value
            assert isinstance(klines, Klines)
            rebuilt = self._assemble(
                symbol, interval, klines, ticker_hit.value, deadline, request_id, store=False
            )
            return rebuilt.served_stale(max(klines_hit.age_s, ticker_hit.age_s), reason)
        return MarketUnavailable(symbol, reason, retry_after)


class ExchangeTooSlow(MarketError):
    """The exchange did not answer within the request deadline (the fetch goes on)."""

    retry_after_s = 5.0

    def __init__(self, deadline_s: float) -> None:
        super().__init__(f"the exchange did not answer within {deadline_s:g} s")


def _problem(error: MarketError) -> str:
    """Why a coin was not understood, without quoting it (the reply quotes it, cut short)."""
    if isinstance(error, UnknownSymbol):
        if error.status is not None:
            return f"not trading right now (status {error.status[:20]})"
        hint = f"; did you mean {', '.join(error.suggestions[:5])}?" if error.suggestions else ""
        return "unknown coin" + hint
    if isinstance(error, InvalidSymbolFormat):
        return f"not a coin: {error.reason}"
    return user_reason(error)


def describe_failure(error: Exception) -> tuple[str, float]:
    """Plain-language reason and retry delay for a failed fetch."""
    retry_after = float(getattr(error, "retry_after_s", 0.0) or 0.0)
    if isinstance(error, CircuitOpenError):
        return "the exchange is failing; requests are paused", max(retry_after, 1.0)
    if isinstance(error, ChildUnavailable):
        return "the market service is restarting", max(retry_after, 2.0)
    if isinstance(error, ExchangeTooSlow):
        return str(error), max(retry_after, 5.0)
    # Not str(error): it names the base URL and quotes the upstream body (issue 12 item 6).
    return user_reason(error), max(retry_after, 5.0)
