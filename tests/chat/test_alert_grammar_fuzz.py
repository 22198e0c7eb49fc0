"""Property tests of /alert's grammar: every valid form, written any way people write it and
with its modifiers in any order, reads back exactly; any words at all give a sound request or
a short usage reply (never another error, never more than an excerpt of what was typed)."""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st

from chat.alert_grammar import EXPIRY_MAX_S, EXPIRY_MIN_S, MAX_ALERT_WORDS, alert_args
from chat.arguments import AlertRequest, UsageError
from chat.commands import lookup
from chat.html import html_problem, visible_text
from chat.parsing import Invocation, read_text
from market.intervals import INTERVAL_MS

ALERT = lookup("alert")
assert ALERT is not None
DAY = 86_400.0


def alert(text: str) -> AlertRequest:
    assert ALERT is not None
    return alert_args(ALERT, tuple(text.split()))


# --- properties ------------------------------------------------------------------------------

coins = st.sampled_from(["btc", "ETH", "solusdt", "BTC/USDT", "1inch", "pepe"])
above_words = st.sampled_from(["above", "over", ">", ">=", "up"])
below_words = st.sampled_from(["below", "under", "<", "<=", "down"])
intervals = st.sampled_from(sorted(INTERVAL_MS))
durations = st.sampled_from([("10m", 600.0), ("30 min", 1800.0), ("12h", 43_200.0),
                             ("7d", 7 * DAY), ("7 days", 7 * DAY), ("2w", 14 * DAY),
                             ("90d", 90 * DAY), ("1.5h", 5400.0)])


@st.composite
def price_forms(draw: st.DrawFn) -> tuple[list[str], AlertRequest]:
    coin, rising = draw(coins), draw(st.booleans())
    word = draw(above_words if rising else below_words)
    price = draw(st.integers(min_value=1, max_value=10**9))
    written = draw(st.sampled_from([str(price), f"{price:,}", f"${price}"]))
    words = [word, written] if draw(st.booleans()) else [written, word]
    return [coin, *words], AlertRequest(coin, "above" if rising else "below", float(price))


@st.composite
def percent_forms(draw: st.DrawFn) -> tuple[list[str], AlertRequest]:
    coin, rising = draw(coins), draw(st.booleans())
    size = draw(st.integers(min_value=1, max_value=1000 if rising else 99))
    style = draw(st.sampled_from(["sign", "word", "both"]))
    number = f"{'+' if rising else '-'}{size}%" if style != "word" else f"{size}%"
    words = [number]
    if style != "sign":
        words.insert(draw(st.integers(0, 1)), draw(above_words if rising else below_words))
    return [coin, *words], AlertRequest(coin, "above" if rising else "below", float(size),
                                        "percent")


@st.composite
def rsi_forms(draw: st.DrawFn) -> tuple[list[str], AlertRequest]:
    coin, rising = draw(coins), draw(st.booleans())
    level = draw(st.integers(min_value=1, max_value=99))
    interval = draw(st.none() | intervals)
    tail = [draw(above_words if rising else below_words), str(level)]
    if interval is not None:
        tail.insert(draw(st.integers(0, 2)), interval)
    return [coin, "rsi", *tail], AlertRequest(coin, "above" if rising else "below",
                                              float(level), "rsi", interval)


@given(st.one_of(price_forms(), percent_forms(), rsi_forms()), st.booleans(),
       st.none() | durations, st.sampled_from(["every", "every time", "recurring", "repeat"]),
       st.booleans())
def test_every_valid_form_with_any_modifiers_in_any_order_reads_back_exactly(
        form: tuple[list[str], AlertRequest], recurring: bool,
        expiry: tuple[str, float] | None, every: str, every_first: bool) -> None:
    words, wanted = form
    modifiers = [every.split()] if recurring else []
    if expiry is not None:
        modifiers.append(["for", *expiry[0].split()])
    if every_first is False:
        modifiers.reverse()
    text = " ".join([*words, *(word for modifier in modifiers for word in modifier)])
    assert len(text.split()) <= MAX_ALERT_WORDS
    reading = read_text(f"/alert {text}")
    assert isinstance(reading, Invocation), reading
    assert reading.args == AlertRequest(
        wanted.symbol_text, wanted.direction, wanted.price, wanted.kind, wanted.interval,
        recurring, None if expiry is None else expiry[1])


alert_words = st.one_of(
    st.sampled_from(["above", "below", ">", "<", "up", "rsi", "rsi7", "every", "time", "for",
                     "7d", "90d", "91d", "4h", "30", "70", "100", "0", "+5%", "-5%", "5%",
                     "-100%", "%", "70k", "btc", "days"]),
    st.text(alphabet="0123456789.,_$kKmMbB+-−%<>=dhwrsi", min_size=1, max_size=10),
    st.from_regex(r"[^\s]{1,30}", fullmatch=True),
)


@given(st.lists(alert_words, min_size=1, max_size=MAX_ALERT_WORDS))
def test_any_words_give_a_sound_request_or_a_short_usage_reply_and_nothing_else(
        words: list[str]) -> None:
    assume(all(word.split() == [word] for word in words))
    assert ALERT is not None
    try:
        request = alert_args(ALERT, tuple(words))
    except UsageError as error:
        assert error.spec is ALERT and html_problem(error.html) is None
        # Whatever was typed, at most a 24-character excerpt of one word comes back.
        assert len(visible_text(error.html)) <= 400
        return
    assert request.symbol_text == words[0]
    assert request.direction in ("above", "below")
    if request.kind == "rsi":
        assert 0 < request.price < 100
    elif request.kind == "percent":
        assert 0.01 <= request.price <= 1000 and (request.direction == "above"
                                                  or request.price < 100)
    else:
        assert request.price > 0
    assert request.expires_in_s is None or EXPIRY_MIN_S <= request.expires_in_s <= EXPIRY_MAX_S
    assert request.interval is None or request.interval in INTERVAL_MS


@given(st.text(min_size=25, max_size=3000).filter(lambda text: len(text.split()) == 1))
def test_a_long_word_is_quoted_back_cut_short(word: str) -> None:
    for text in (f"btc above {word}", f"btc rsi below {word}", f"btc +5% for {word}",
                 f"btc {word}%"):
        try:
            alert(text)
        except UsageError as error:
            assert word not in visible_text(error.html)
            assert len(visible_text(error.html)) <= 400
