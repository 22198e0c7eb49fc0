"""Which cached entries belong to a symbol, and what an operator's ``/cache clear`` removed.

Why: after the exchange served bad data for one coin (a wrong price, a delisting), an operator
wants that coin's answers recomputed without throwing away every other coin's warm entries.
A symbol's entries are spread over all three layers and many keys (klines per interval,
the ticker, analyses, charts, and multi-symbol responses that list it), so the rule "which
keys are this symbol's" is written once here, pure, and tested without the cache actor.
Whole-market responses that name no symbol (exchange info, every ticker) go only with a
full clear.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass

from market.cache import Layer, LayeredCache

__all__ = ["CacheCleared", "clear_cache", "concerns_symbol"]


@dataclass(frozen=True, slots=True)
class CacheCleared:
    """What one clear removed, per layer."""

    symbol: str | None
    """The symbol cleared, or None for everything."""
    layers: tuple[tuple[str, int, int], ...]
    """(layer, entries removed, bytes freed) for raw, computed and charts."""

    @property
    def entries(self) -> int:
        """Entries removed over all layers."""
        return sum(entries for _, entries, _ in self.layers)

    @property
    def bytes(self) -> int:
        """Bytes freed over all layers."""
        return sum(freed for _, _, freed in self.layers)


def concerns_symbol(key: Hashable, symbol: str) -> bool:
    """Whether cache ``key`` holds data of ``symbol`` (an exchange symbol such as BTCUSDT).

    Keys name their symbol in a ``symbol`` field (fetch specs, analysis and chart keys) or
    list it in ``symbols`` (a price request for several coins).
    """
    if getattr(key, "symbol", None) == symbol:
        return True
    symbols = getattr(key, "symbols", ())
    return isinstance(symbols, tuple) and symbol in symbols


def clear_cache(cache: LayeredCache, symbol: str | None) -> CacheCleared:
    """Remove ``symbol``'s entries from every layer, or every entry when ``symbol`` is None."""
    removed: Mapping[Layer, tuple[int, int]] = cache.remove_where(
        (lambda key: True) if symbol is None else (lambda key: concerns_symbol(key, symbol)))
    return CacheCleared(symbol, tuple((layer.value, entries, freed)
                                      for layer, (entries, freed) in removed.items()))
