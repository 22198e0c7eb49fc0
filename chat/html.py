"""Telegram-flavoured HTML: escaping, a few tag helpers, and a tokenizer shared with the chunker.

Why: Telegram rejects a whole message ("can't parse entities") for one stray ``<`` or ``&`` or an
unsupported tag, so every dynamic value goes through :func:`escape` and the renderers only use
the tags Telegram allows. :func:`html_problem` states what is wrong with a text, which the tests
(and the chunker's property tests) use to prove the output is always accepted.
"""

from __future__ import annotations

import html as _stdlib_html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "ALLOWED_TAGS",
    "Token",
    "bold",
    "code",
    "escape",
    "html_problem",
    "is_balanced",
    "italic",
    "link",
    "pre",
    "tokens",
    "visible_text",
]

ALLOWED_TAGS = frozenset({
    "a", "b", "blockquote", "code", "del", "em", "i", "ins", "pre", "s", "span", "strike",
    "strong", "tg-emoji", "tg-spoiler", "u",
})
"""Tags Telegram's HTML parse mode accepts (api-contracts §3.5)."""

_TOKEN = re.compile(
    r"(?P<tag><(?P<slash>/?)(?P<name>[A-Za-z][A-Za-z0-9-]*)(?P<attrs>[^<>]*)>)"
    r"|(?P<entity>&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z]{2,8});)"
)
_NAMED_ENTITIES = frozenset({"&lt;", "&gt;", "&amp;", "&quot;"})

TokenKind = Literal["open", "close", "entity", "text"]


@dataclass(frozen=True, slots=True)
class Token:
    """One piece of an HTML text: a tag, an entity, or a run of plain text."""

    kind: TokenKind
    """open/close tag, character entity, or text."""
    text: str
    """The exact source text of the piece."""
    name: str = ""
    """Lower-case tag name for tags; empty otherwise."""


def tokens(text: str) -> Iterator[Token]:
    """Split ``text`` into tags, entities and plain-text runs, in order, losing nothing."""
    position = 0
    for match in _TOKEN.finditer(text):
        if match.start() > position:
            yield Token("text", text[position:match.start()])
        if match.group("tag"):
            kind: TokenKind = "close" if match.group("slash") else "open"
            yield Token(kind, match.group(0), match.group("name").lower())
        else:
            yield Token("entity", match.group(0))
        position = match.end()
    if position < len(text):
        yield Token("text", text[position:])


def escape(value: object) -> str:
    """``value`` as text safe anywhere in Telegram HTML (escapes ``&``, ``<`` and ``>``)."""
    return _stdlib_html.escape(str(value), quote=False)


def bold(value: object) -> str:
    return f"<b>{escape(value)}</b>"


def italic(value: object) -> str:
    return f"<i>{escape(value)}</i>"


def code(value: object) -> str:
    return f"<code>{escape(value)}</code>"


def pre(value: object) -> str:
    return f"<pre>{escape(value)}</pre>"


def link(url: str, label: object) -> str:
    """An ``<a href>`` link; the URL is attribute-escaped, the label text-escaped."""
    return f'<a href="{_stdlib_html.escape(url, quote=True)}">{escape(label)}</a>'


def html_problem(text: str) -> str | None:
    """What makes ``text`` unacceptable to Telegram's HTML parser, or None when it is fine.

    Checks: only allowed tags, every tag closed in order, no stray ``<``, ``>`` or ``&``, and
    only the named entities Telegram knows.
    """
    stack: list[str] = []
    for token in tokens(text):
        if token.kind == "text":
            for char in "<>&":
                if char in token.text:
                    return f"unescaped {char!r} in {token.text[:40]!r}"
        elif token.kind == "entity":
            if not token.text.startswith("&#") and token.text not in _NAMED_ENTITIES:
                return f"unsupported entity {token.text}"
        elif token.name not in ALLOWED_TAGS:
            return f"unsupported tag <{token.name}>"
        elif token.kind == "open":
            stack.append(token.name)
        elif not stack or stack[-1] != token.name:
            expected = f"</{stack[-1]}>" if stack else "no closing tag"
            return f"{token.text} where {expected} was expected"
        else:
            stack.pop()
    if stack:
        return f"<{stack[-1]}> is never closed"
    return None


def is_balanced(text: str) -> bool:
    """True when Telegram would parse ``text``: see :func:`html_problem`."""
    return html_problem(text) is None


def visible_text(text: str) -> str:
    """What the user sees: tags dropped, entities decoded."""
    parts = []
    for token in tokens(text):
        if token.kind == "text":
            parts.append(token.text)
        elif token.kind == "entity":
            parts.append(_stdlib_html.unescape(token.text))
    return "".join(parts)
