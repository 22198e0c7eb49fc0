"""What the user typed → the Binance symbol it means, checked against exchangeInfo.

Why: users write ``BTC``, ``btc``, ``BTCUSDT``, ``BTC/USDT`` or ``btc-usdt`` and mean the same
pair, while Binance only accepts ``BTCUSDT`` (upper case; a lower-case symbol is -1100, not
-1121). Resolving locally, against a cached exchangeInfo, also saves a round trip and weight
for typos, and lets the bot answer "did you mean BTCUSDT?" instead of an error code.

* ``normalize_symbol`` is the offline best guess: separators split base and quote, a bare token
  gets the default quote unless it already ends with it. It rejects text that cannot be a
  symbol with ``InvalidSymbolFormat``, whose reason is fit to show the user.
* ``SymbolDirectory`` is the authority: built from one ExchangeInfo, only TRADING pairs are
  live. ``resolve`` also accepts a bare pair in another quote (``ETHBTC``) and raises
  ``UnknownSymbol`` with difflib suggestions drawn from symbols and base assets.
* ``SymbolCache`` keeps a directory fresh (thread-safe, no thread of its own): it refetches
  exchangeInfo after ``ttl_s`` and keeps serving the old directory if the refresh fails.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher

from market.errors import InvalidSymbolFormat, MarketError, UnknownSymbol
from market.models import ExchangeInfo, SymbolInfo

__all__ = ["MAX_SYMBOL_LENGTH", "SymbolCache", "SymbolDirectory", "normalize_symbol"]

MAX_SYMBOL_LENGTH = 20
"""Binance's ``^[A-Z0-9-_.]{1,20}$`` symbol rule."""

_SEPARATORS = re.compile(r"[/\-_:\s]+")
_PART = re.compile(r"[A-Z0-9]+")
_EXAMPLES = "like BTC, BTCUSDT or BTC/USDT"
_CUTOFF = 0.7


@dataclass(frozen=True, slots=True)
class _Parsed:
    base: str
    """The base asset, or the whole token when no quote could be told apart."""
    quote: str | None
    """The quote the user gave (explicitly or as a suffix), or None."""
    token: str | None
    """The text as one upper-case token when it had no separator (may be a full pair)."""

    def symbol(self, default_quote: str) -> str:
        return self.base + (self.quote or default_quote)


def _parse(text: str, default_quote: str) -> _Parsed:
    cleaned = text.strip()
    if cleaned.startswith("$"):  # a cashtag: $btc
        cleaned = cleaned[1:]
    if not cleaned:
        raise InvalidSymbolFormat(text, f"type a coin or a pair, {_EXAMPLES}")
    if not cleaned.isascii():
        raise InvalidSymbolFormat(text, f"use Latin letters and digits, {_EXAMPLES}")
    parts = _SEPARATORS.split(cleaned.upper())
    if len(parts) > 2 or not all(parts):
        raise InvalidSymbolFormat(text, f"write one base and at most one quote, {_EXAMPLES}")
    if not all(_PART.fullmatch(part) for part in parts):
        raise InvalidSymbolFormat(text, f"use only letters and digits, {_EXAMPLES}")
    if len(parts) == 2:
        parsed = _Parsed(parts[0], parts[1], None)
    else:
        token = parts[0]
        if token.endswith(default_quote) and len(token) > len(default_quote):
            parsed = _Parsed(token[: -len(default_quote)], default_quote, token)
        else:
            parsed = _Parsed(token, None, token)
    if len(parsed.symbol(default_quote)) > MAX_SYMBOL_LENGTH:
        raise InvalidSymbolFormat(text, f"too long; symbols have at most {MAX_SYMBOL_LENGTH} chars")
    return parsed


def _quote(default_quote: str) -> str:
    quote = default_quote.strip().upper()
    if not _PART.fullmatch(quote) or not quote.isascii():
        raise ValueError(f"default quote must be letters and digits, got {default_quote!r}")
    return quote


def normalize_symbol(text: str, default_quote: str) -> str:
    """``BTC``, ``btc``, ``BTCUSDT``, ``BTC/USDT``, ``btc-usdt``, ``$btc`` → ``BTCUSDT``.

    A bare token that does not end with ``default_quote`` gets it appended (``ETHBTC`` becomes
    ``ETHBTCUSDT`` here; ``SymbolDirectory.resolve`` knows better). Raises
    ``InvalidSymbolFormat`` for empty text, non-ASCII, punctuation or more than one separator.
    """
    quote = _quote(default_quote)
    return _parse(text, quote).symbol(quote)


class SymbolDirectory:
    """The pairs of one exchangeInfo; only TRADING ones resolve (see module docstring)."""

    def __init__(self, symbols: Iterable[SymbolInfo], default_quote: str) -> None:
        self._quote = _quote(default_quote)
        self._all = {info.symbol: info for info in symbols}
        self._live = {name: info for name, info in self._all.items() if info.is_trading}
        # base asset -> live symbol to suggest: base + default quote when it trades, else the
        # alphabetically first live pair with that base.
        self._by_base: dict[str, str] = {}
        for name in sorted(self._live):
            base = self._live[name].base_asset
            if base not in self._by_base or name == base + self._quote:
                self._by_base[base] = name

    @classmethod
    def from_exchange_info(cls, info: ExchangeInfo, default_quote: str) -> SymbolDirectory:
        return cls(info.symbols, default_quote)

    @property
    def default_quote(self) -> str:
        return self._quote

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._live

    def __len__(self) -> int:
        return len(self._live)

    def live_symbols(self) -> tuple[str, ...]:
        """Every TRADING symbol, sorted."""
        return tuple(sorted(self._live))

    def info(self, symbol: str) -> SymbolInfo:
        """The exchangeInfo entry of a live ``symbol``; ``UnknownSymbol`` otherwise."""
        found = self._live.get(symbol)
        if found is None:
            raise UnknownSymbol(symbol, self.suggest(symbol))
        return found

    def resolve(self, text: str) -> str:
        """The live symbol ``text`` means; raises ``InvalidSymbolFormat`` or ``UnknownSymbol``."""
        parsed = _parse(text, self._quote)
        candidates = [parsed.token, parsed.symbol(self._quote)]
        for candidate in candidates:
            if candidate in self._live:
                return candidate
        for candidate in candidates:
            listed = self._all.get(candidate) if candidate else None
            if listed is not None:
                raise UnknownSymbol(text, self._suggest(parsed), status=listed.status)
        raise UnknownSymbol(text, self._suggest(parsed))

    def suggest(self, text: str, limit: int = 3) -> tuple[str, ...]:
        """Up to ``limit`` live symbols close to ``text``, best first; () for garbage."""
        try:
            parsed = _parse(text, self._quote)
        except InvalidSymbolFormat:
            return ()
        return self._suggest(parsed, limit)

    def _suggest(self, parsed: _Parsed, limit: int = 3) -> tuple[str, ...]:
        scores: dict[str, float] = {}
        pair = parsed.symbol(self._quote)
        for name, score in _close(pair, self._live):
            scores[name] = max(scores.get(name, 0.0), score)
        for base, score in _close(parsed.base, self._by_base):
            name = self._by_base[base]
            scores[name] = max(scores.get(name, 0.0), score)
        ranked = sorted(scores, key=lambda name: (-scores[name], name))
        return tuple(ranked[:limit])


def _close(word: str, possibilities: Iterable[str]) -> list[tuple[str, float]]:
    """``difflib.get_close_matches`` with the scores kept, so two lists can be merged."""
    matcher = SequenceMatcher()
    matcher.set_seq2(word)
    found: list[tuple[str, float]] = []
    for candidate in possibilities:
        matcher.set_seq1(candidate)
        if (
            matcher.real_quick_ratio() >= _CUTOFF
            and matcher.quick_ratio() >= _CUTOFF
            and matcher.ratio() >= _CUTOFF
        ):
            found.append((candidate, matcher.ratio()))
    return found


class SymbolCache:
    """A ``SymbolDirectory`` refreshed from exchangeInfo every ``ttl_s`` seconds.

    Thread-safe. The first call fetches (and raises whatever ``fetch`` raises). Later, a failed
    refresh keeps the old directory and tries again after ``retry_s``; while one thread
    refreshes, the others keep using the old directory instead of waiting.
    """

    def __init__(
        self,
        fetch: Callable[[], ExchangeInfo],
        default_quote: str,
        *,
        ttl_s: float = 3600.0,
        retry_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._quote = _quote(default_quote)
        self._ttl_s = ttl_s
        self._retry_s = retry_s
        self._clock = clock
        self._lock = threading.Lock()
        self._directory: SymbolDirectory | None = None
        self._fresh_until = 0.0
        self._refreshing = False

    def directory(self) -> SymbolDirectory:
        with self._lock:
            current = self._directory
            if current is not None and (self._clock() < self._fresh_until or self._refreshing):
                return current
            self._refreshing = True
        try:
            fresh = SymbolDirectory.from_exchange_info(self._fetch(), self._quote)
        except MarketError:
            if current is None:
                raise
            with self._lock:
                self._fresh_until = self._clock() + self._retry_s
            return current
        finally:
            with self._lock:
                self._refreshing = False
        with self._lock:
            self._directory = fresh
            self._fresh_until = self._clock() + self._ttl_s
        return fresh

    def resolve(self, text: str) -> str:
        """``SymbolDirectory.resolve`` on the current directory."""
        return self.directory().resolve(text)

    def invalidate(self) -> None:
        """Refetch on the next call (e.g. after Binance called a cached symbol unknown)."""
        with self._lock:
            self._fresh_until = 0.0
