"""Issue 12 item 4, pure side: errors that quote user input quote one short excerpt per reply,
and a reply never becomes more than MAX_REPLY_MESSAGES messages."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chat import cards
from chat.chunking import CUT_NOTE, MAX_REPLY_MESSAGES, cap_messages, split_html
from chat.html import html_problem, visible_text
from chat.reply_plan import plan_reply
from chat.parsing import read_text
from chat.replies import reply
from market.errors import InvalidSymbolFormat, UnknownSymbol
from messages.chat import ChatCommand

COMMAND = ChatCommand(request_id="r1", chat_id=5, user_id=7, text="/price",
                      parsed=read_text("/price btc"), chat_type="group", received_at=3.0)


def test_ten_long_unknown_coins_are_one_line_with_one_excerpt() -> None:
    unknown = [(chr(ord("a") + n) * 400, "not a coin: too long") for n in range(10)]
    text = cards.quotes_text([], unknown)
    assert text.count("\n") == 0 and len(text) < 200, text
    assert "10 of your coins were not recognised" in text and "and 9 more" in text
    assert text.count("a" * 23) == 1 and "b" * 5 not in text


def test_one_unknown_coin_is_quoted_cut_short_with_its_reason() -> None:
    text = cards.quotes_text([], [("q" * 3000, "unknown coin; did you mean QNTUSDT?")])
    assert text.count("q" * 23) == 1 and "q" * 24 not in text and "QNTUSDT" in text


def test_symbol_errors_quote_at_most_24_characters() -> None:
    for error in (UnknownSymbol("w" * 3000), InvalidSymbolFormat("w" * 3000, "too long"),
                  UnknownSymbol("w" * 3000, status="H" * 3000)):
        text = cards.symbol_error_text(error)
        assert "w" * 24 not in text and "H" * 24 not in text and len(text) < 200, text


def test_no_reply_becomes_more_than_the_cap_of_messages() -> None:
    for text in ("x" * 100_000, "line of text\n" * 20_000, "<b>" + "word " * 30_000 + "</b>",
                 "<pre>" + "a\n" + "y" * 50_000 + "</pre>"):
        capped = reply(COMMAND, text)
        steps = plan_reply(capped, split_html)
        assert 1 <= len(steps) <= MAX_REPLY_MESSAGES, len(steps)
        assert steps[-1].text.endswith(CUT_NOTE.strip())
        assert html_problem(capped.text) is None


def test_a_reply_that_fits_is_left_alone() -> None:
    text = "<b>BTCUSDT</b> 1\n" * 1000  # ~18 KB: 5 messages of 4096
    assert cap_messages("short") == "short"
    assert cap_messages(text[:12_000]) == text[:12_000]


unknown_lists = st.lists(st.tuples(st.text(min_size=1, max_size=3000),
                                   st.text(max_size=400)), min_size=1, max_size=10)


@given(unknown_lists)
def test_unknown_coins_are_one_valid_short_line_quoting_one_excerpt(
        unknown: list[tuple[str, str]]) -> None:
    lines = cards.unknown_coins_lines(unknown)
    assert len(lines) == 1
    assert html_problem(lines[0]) is None
    assert len(visible_text(lines[0])) <= 24 + 160 + 80


@given(st.text(max_size=60_000))
def test_any_text_becomes_at_most_the_cap_of_valid_messages(text: str) -> None:
    from chat.html import escape
    capped = cap_messages(escape(text))
    assert len(split_html(capped)) <= MAX_REPLY_MESSAGES
    assert html_problem(capped) is None
