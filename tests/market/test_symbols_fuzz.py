"""Property tests of symbol reading: any text becomes a well-formed pair or a helpful refusal;
against any exchange listing, a coin resolves only to a live pair, and did-you-mean only ever
names live pairs. tests/market/test_symbols.py has the worked examples."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from chat.callbacks import ShowAnalysis
from market.errors import InvalidSymbolFormat, UnknownSymbol
from market.models import SymbolInfo
from market.symbols import SymbolDirectory, normalize_symbol

STATUSES = ["TRADING", "TRADING", "BREAK", "HALT", "END_OF_DAY"]
# Assets as Binance names them; a base plus a quote stays within 16 characters, so that every
# live pair also fits base + default quote (a bare 17-20 character pair in another quote is
# read as base + USDT and refused as too long: see the report on this change).
assets = st.from_regex(r"[A-Z0-9]{1,8}", fullmatch=True)
quotes = st.sampled_from(["USDT", "BTC", "ETH", "FDUSD", "TRY"])
# Each example builds a directory: fewer of them keep this file near a second.
LISTING_EXAMPLES = settings(max_examples=50)
typed = st.one_of(
    st.text(max_size=30),
    st.text(alphabet="abcBTCUSDT0123456789$/-_: .é", max_size=24),
    st.from_regex(r"\$?[A-Za-z0-9]{1,12}([/\-_: ]+[A-Za-z0-9]{1,6})?", fullmatch=True),
)


@st.composite
def listings(draw: st.DrawFn) -> tuple[SymbolInfo, ...]:
    pairs = draw(st.lists(st.tuples(assets, quotes, st.sampled_from(STATUSES)), max_size=15))
    return tuple(SymbolInfo(base + quote, status, base, quote, 0.01)
                 for base, quote, status in pairs)


def live(listing: tuple[SymbolInfo, ...]) -> set[str]:
    # The directory keeps the last entry per symbol, as a dict built from the listing would.
    return {name for name, info in {one.symbol: one for one in listing}.items()
            if info.status == "TRADING"}


SEPARATOR = re.compile(r"[/\-_:\s]")


@given(typed)
def test_any_text_normalizes_to_a_well_formed_pair_or_a_reason_to_show(text: str) -> None:
    try:
        symbol = normalize_symbol(text, "USDT")
    except InvalidSymbolFormat as error:
        assert error.text == text and error.reason
        return
    assert re.fullmatch(r"[A-Z0-9]{2,20}", symbol)
    if not SEPARATOR.search(text.strip()):  # no quote named: the default one
        assert symbol.endswith("USDT") and len(symbol) > len("USDT")


@given(typed)
def test_a_pair_in_the_default_quote_normalizes_to_itself(text: str) -> None:
    try:
        once = normalize_symbol(text, "USDT")
    except InvalidSymbolFormat:
        return
    if once.endswith("USDT"):
        assert normalize_symbol(once, "USDT") == once


@given(assets, quotes, st.sampled_from(["/", "-", "_", ":", " ", " / ", "\t"]),
       st.sampled_from(["", "$"]), st.booleans())
def test_every_usual_spelling_of_a_pair_names_the_same_pair(
    base: str, quote: str, separator: str, cashtag: str, lower: bool
) -> None:
    text = f"{cashtag}{base}{separator}{quote}"
    assert normalize_symbol(text.lower() if lower else text, "USDT") == base + quote


@LISTING_EXAMPLES
@given(listings(), typed)
def test_any_text_resolves_to_a_live_pair_a_button_can_carry_or_a_refusal(
    listing: tuple[SymbolInfo, ...], text: str
) -> None:
    directory = SymbolDirectory(listing, "USDT")
    try:
        symbol = directory.resolve(text)
    except InvalidSymbolFormat as error:
        assert error.text == text
        return
    except UnknownSymbol as error:
        assert error.text == text
        assert set(error.suggestions) <= live(listing)
        assert len(error.suggestions) == len(set(error.suggestions)) <= 3
        if error.status is not None:
            assert error.status != "TRADING"
        return
    assert symbol in live(listing)
    assert ShowAnalysis(symbol, "1h", False).symbol == symbol


@LISTING_EXAMPLES
@given(listings(), st.booleans())
def test_every_live_pair_resolves_to_itself_however_it_is_cased(
    listing: tuple[SymbolInfo, ...], lower: bool
) -> None:
    directory = SymbolDirectory(listing, "USDT")
    for symbol in live(listing):
        assert directory.resolve(symbol.lower() if lower else symbol) == symbol


@LISTING_EXAMPLES
@given(listings())
def test_a_pair_that_is_not_trading_never_resolves(listing: tuple[SymbolInfo, ...]) -> None:
    directory = SymbolDirectory(listing, "USDT")
    for symbol in {one.symbol for one in listing} - live(listing):
        try:
            resolved = directory.resolve(symbol)
        except UnknownSymbol as error:
            assert error.status is not None and error.status != "TRADING"
            continue
        # Only a different live pair may answer, e.g. "ETHBTC" halted but "ETHBTCUSDT" live.
        assert resolved != symbol and resolved in live(listing)


@LISTING_EXAMPLES
@given(listings(), typed, st.integers(min_value=0, max_value=6))
def test_did_you_mean_only_names_live_pairs_once_each(
    listing: tuple[SymbolInfo, ...], text: str, limit: int
) -> None:
    suggestions = SymbolDirectory(listing, "USDT").suggest(text, limit)
    assert set(suggestions) <= live(listing)
    assert len(suggestions) == len(set(suggestions)) <= limit
