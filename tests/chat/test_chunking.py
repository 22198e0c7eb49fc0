"""Long replies split into Telegram-sized, well-formed chunks on line boundaries."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chat.chunking import TEXT_LIMIT, message_size, split_html
from chat.html import escape, html_problem, tokens, visible_text


def without_whitespace(text: str) -> str:
    return "".join(text.split())


def test_a_short_text_is_one_chunk_unchanged() -> None:
    assert split_html("<b>BTC</b> 65,000") == ["<b>BTC</b> 65,000"]


def test_blank_text_gives_no_chunk() -> None:
    assert split_html("") == []
    assert split_html("<b> </b>\n") == []


def test_lines_are_kept_whole_and_the_newline_at_a_cut_is_dropped() -> None:
    lines = [f"line {index:03d} " + "x" * 40 for index in range(300)]
    chunks = split_html("\n".join(lines))
    assert len(chunks) > 1
    assert all(len(chunk) <= TEXT_LIMIT for chunk in chunks)
    assert [line for chunk in chunks for line in chunk.split("\n")] == lines


def test_a_long_pre_block_is_closed_and_reopened_at_each_cut() -> None:
    tree = "\n".join(f"├─ ● actor-{index}  running" for index in range(400))
    chunks = split_html(f"<b>Actors</b>\n<pre>{escape(tree)}</pre>")
    assert len(chunks) > 1
    for chunk in chunks:
        assert html_problem(chunk) is None
        assert message_size(chunk) <= TEXT_LIMIT
    assert chunks[0].startswith("<b>Actors</b>\n<pre>")
    assert all(chunk.startswith("<pre>") and chunk.endswith("</pre>") for chunk in chunks[1:])


def test_nested_tags_with_attributes_are_reopened_in_order() -> None:
    text = '<pre><code class="language-text">' + "\n".join(["word"] * 30) + "</code></pre>"
    chunks = split_html(text, limit=120)
    assert len(chunks) > 1
    for chunk in chunks:
        assert chunk.startswith('<pre><code class="language-text">')
        assert chunk.endswith("</code></pre>")
        assert len(chunk) <= 120


def test_a_line_longer_than_the_limit_is_cut_at_a_space() -> None:
    words = " ".join(f"w{index:04d}" for index in range(2000))
    chunks = split_html(words)
    assert len(chunks) > 1
    for chunk in chunks:
        assert len(chunk) <= TEXT_LIMIT
        assert chunk.rstrip().split(" ")[-1].startswith("w")  # no word cut in two
    assert without_whitespace("".join(chunks)) == without_whitespace(words)


def test_a_long_word_is_cut_between_characters_but_never_inside_an_entity() -> None:
    text = "&amp;" * 1000
    chunks = split_html(text, limit=103)
    for chunk in chunks:
        assert html_problem(chunk) is None
        assert len(chunk) <= 103
    assert "".join(chunks) == text


def test_an_emoji_outside_the_bmp_counts_as_two() -> None:
    text = "😀" * 3000
    chunks = split_html(text)
    assert [message_size(chunk) for chunk in chunks] == [4096, 1904]
    assert "".join(chunks) == text


def test_a_limit_that_cannot_hold_the_open_tags_is_refused() -> None:
    with pytest.raises(ValueError, match="too small"):
        split_html('<a href="https://example.com/a/long/path">' + "x" * 100 + "</a>", limit=30)
    nested = "<b><i><u><s>" * 20 + "x" * 200 + "</s></u></i></b>" * 20
    with pytest.raises(ValueError, match="too small"):
        split_html(nested, limit=120)


# --- properties ------------------------------------------------------------------------------

TAGS = [("<b>", "</b>"), ("<i>", "</i>"), ("<u>", "</u>"), ("<s>", "</s>"),
        ("<code>", "</code>"), ("<pre>", "</pre>"), ("<tg-spoiler>", "</tg-spoiler>"),
        ("<blockquote>", "</blockquote>"), ('<a href="https://t.me/x?a=1&amp;b=2">', "</a>"),
        ('<pre><code class="language-python">', "</code></pre>")]
plain_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=80).map(escape)
long_line = st.integers(min_value=50, max_value=400).map(lambda n: "z" * n)
entities = st.sampled_from(["&amp;", "&lt;", "&gt;", "&quot;", "&#128512;", "&#x1F600;"])
newlines = st.sampled_from(["\n", "\n\n", " \n"])


def html_documents() -> st.SearchStrategy[str]:
    leaf = st.one_of(plain_text, long_line, entities, newlines)
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.lists(inner, max_size=6).map("".join),
            st.tuples(st.sampled_from(TAGS), inner).map(lambda t: t[0][0] + t[1] + t[0][1]),
        ),
        max_leaves=40,
    )


def deepest_tags_size(text: str) -> int:
    """Size of the longest opening-plus-closing tags a chunk may have to carry."""
    stack: list[int] = []
    deepest = 0
    for token in tokens(text):
        if token.kind == "open":
            stack.append(message_size(token.text) + len(token.name) + 3)
            deepest = max(deepest, sum(stack))
        elif token.kind == "close":
            stack.pop()
    return deepest


@settings(max_examples=300, deadline=None)
@given(html_documents(), st.integers(min_value=120, max_value=600))
def test_every_chunk_fits_is_well_formed_and_the_text_survives(text: str, limit: int) -> None:
    assert html_problem(text) is None  # the generator only makes valid documents
    # The limit must hold the deepest nesting plus the longest entity (see the next test).
    limit = max(limit, deepest_tags_size(text) + len("&#x1F600;"))
    chunks = split_html(text, limit)
    for chunk in chunks:
        assert message_size(chunk) <= limit
        assert html_problem(chunk) is None, chunk
        assert visible_text(chunk).strip()
    joined = "".join(visible_text(chunk) for chunk in chunks)
    assert without_whitespace(joined) == without_whitespace(visible_text(text))


@settings(max_examples=50, deadline=None)
@given(st.lists(html_documents(), min_size=5, max_size=40).map("\n".join))
def test_long_documents_split_at_the_telegram_limit(text: str) -> None:
    chunks = split_html(text * 4)
    assert all(message_size(chunk) <= TEXT_LIMIT for chunk in chunks)
    assert all(html_problem(chunk) is None for chunk in chunks)
    joined = "".join(visible_text(chunk) for chunk in chunks)
    assert without_whitespace(joined) == without_whitespace(visible_text(text * 4))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="abc<>&😀", max_size=60).map(escape), max_size=80))
def test_lines_without_spaces_lose_only_newlines(lines: list[str]) -> None:
    text = "\n".join(lines)
    chunks = split_html(text, limit=100)
    assert all(message_size(chunk) <= 100 for chunk in chunks)
    joined = "".join(visible_text(chunk) for chunk in chunks)
    assert joined.replace("\n", "") == visible_text(text).replace("\n", "")
