"""Escaping and the HTML checker the other tests rely on."""

from __future__ import annotations

import pytest

from chat.html import bold, code, escape, html_problem, is_balanced, italic, link, pre, tokens
from chat.html import visible_text


def test_escape_handles_the_three_characters_telegram_requires() -> None:
    assert escape("a < b && c > d") == "a &lt; b &amp;&amp; c &gt; d"
    assert escape('"quoted"') == '"quoted"'
    assert escape(42) == "42"


def test_helpers_wrap_escaped_text() -> None:
    assert bold("<x>") == "<b>&lt;x&gt;</b>"
    assert italic("a&b") == "<i>a&amp;b</i>"
    assert code("1<2") == "<code>1&lt;2</code>"
    assert pre("x") == "<pre>x</pre>"
    assert link('https://x.test/?a=1&b="2"', "<here>") == (
        '<a href="https://x.test/?a=1&amp;b=&quot;2&quot;">&lt;here&gt;</a>'
    )


@pytest.mark.parametrize(
    "text",
    [
        "plain",
        "<b>bold <i>both</i></b>",
        '<a href="https://binance.com">x</a>',
        '<pre><code class="language-python">x = 1 &lt; 2</code></pre>',
        "&amp; &lt; &gt; &quot; &#39; &#x1F600;",
        "<tg-spoiler>hidden</tg-spoiler> <blockquote expandable>q</blockquote>",
        "",
    ],
)
def test_valid_telegram_html_is_balanced(text: str) -> None:
    assert html_problem(text) is None
    assert is_balanced(text)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("<b>open", "never closed"),
        ("<b><i>x</b></i>", "expected"),
        ("x</b>", "no closing tag"),
        ("<div>x</div>", "unsupported tag"),
        ("a < b", "unescaped '<'"),
        ("a > b", "unescaped '>'"),
        ("AT&T", "unescaped '&'"),
        ("&nbsp;", "unsupported entity"),
    ],
)
def test_invalid_html_is_named(text: str, problem: str) -> None:
    found = html_problem(text)
    assert found is not None and problem in found
    assert not is_balanced(text)


def test_tokens_lose_nothing() -> None:
    text = '<b>a &amp; b</b> <a href="u">c</a> < d'
    assert "".join(token.text for token in tokens(text)) == text
    kinds = [token.kind for token in tokens(text)]
    assert kinds[:4] == ["open", "text", "entity", "text"]


def test_visible_text_drops_tags_and_decodes_entities() -> None:
    assert visible_text("<b>a &amp; b</b> &lt;3 &#x1F600;") == "a & b <3 😀"
