"""Split long HTML into Telegram-sized messages without breaking a tag, an entity or a line.

Why: Telegram answers a text over 4096 characters with "message is too long" and the whole
reply is lost (the most common complaint about peer bots), while a cut in the middle of a tag or
an entity makes it "can't parse entities" instead. So the splitter cuts at the last line break
that fits, else the last space, else between two characters, never inside a tag or entity. A tag
still open at a cut (a long ``<pre>`` tree) is closed at the end of the chunk and opened again at
the start of the next, and those added tags count towards the limit.

Sizes are counted in UTF-16 code units over the raw HTML. Telegram counts its limit after
entity parsing (tags excluded) and does not say whether in code points or UTF-16 units, so this
is the stricter reading of both: a chunk that fits here fits there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chat.html import tokens, visible_text

__all__ = ["CAPTION_LIMIT", "CUT_NOTE", "MAX_REPLY_MESSAGES", "TEXT_LIMIT", "cap_messages",
           "message_size", "split_html"]

TEXT_LIMIT = 4096
"""Telegram's limit on sendMessage/editMessageText text."""
CAPTION_LIMIT = 1024
"""Telegram's limit on a photo caption."""
MAX_REPLY_MESSAGES = 4
"""The most messages one reply may become: a command must not flood a group (Telegram allows a
bot 20 messages a minute there), so a longer reply is cut, with :data:`CUT_NOTE` at the end."""
CUT_NOTE = "\n✂️ The rest was cut: this answer was too long."
_CAP_ROOM = 64
"""Room kept in each chunk for the newline that joins it and the cut note, so the transport's
own split of the capped text never needs more than ``max_messages`` chunks."""

_EMPTY_ELEMENT = re.compile(r"<([A-Za-z][A-Za-z0-9-]*)(?:\s[^<>]*)?></\1>")

# Atom kinds: a cut may fall between any two atoms.
_NEWLINE, _SPACE, _CHAR, _OPEN, _CLOSE, _ENTITY = range(6)

_OpenTags = tuple[tuple[str, str], ...]
"""The tags open at a point, outermost first, as (name, opening tag text)."""


@dataclass(frozen=True, slots=True)
class _Atom:
    kind: int
    text: str
    name: str
    size: int


@dataclass(frozen=True, slots=True)
class _Cut:
    end: int
    """Atoms before this index go into the chunk."""
    resume: int
    """The next chunk starts at this atom (one past ``end`` when a newline is dropped)."""
    open_tags: _OpenTags
    """Tags open at the cut: closed at the chunk's end, reopened at the next chunk's start."""


def message_size(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _atoms(text: str) -> list[_Atom]:
    atoms: list[_Atom] = []
    for token in tokens(text):
        if token.kind == "text":
            for char in token.text:
                kind = _NEWLINE if char == "\n" else _SPACE if char in " \t" else _CHAR
                atoms.append(_Atom(kind, char, "", message_size(char)))
        else:
            kind = {"open": _OPEN, "close": _CLOSE, "entity": _ENTITY}[token.kind]
            atoms.append(_Atom(kind, token.text, token.name, message_size(token.text)))
    return atoms


def _closing_size(name: str) -> int:
    return len(name) + 3  # "</" + name + ">"


def _render(atoms: list[_Atom], start: int, cut: _Cut, opened: _OpenTags) -> str:
    body = "".join(atom.text for atom in atoms[start:cut.end])
    closing = "".join(f"</{name}>" for name, _ in reversed(cut.open_tags))
    chunk = "".join(tag for _, tag in opened) + body + closing
    # A cut right after an opening tag leaves "<b></b>" behind: invisible, so drop it.
    while (trimmed := _EMPTY_ELEMENT.sub("", chunk)) != chunk:
        chunk = trimmed
    return chunk


def _next_cut(atoms: list[_Atom], start: int, opened: _OpenTags, limit: int) -> _Cut:
    """Where the chunk starting at ``start`` (with ``opened`` tags reopened) must end."""
    stack = list(opened)
    used = sum(message_size(tag) for _, tag in opened)
    closing = sum(_closing_size(name) for name, _ in opened)
    newline_cut: _Cut | None = None
    space_cut: _Cut | None = None
    index = start
    while index < len(atoms):
        atom = atoms[index]
        closing_after = closing
        if atom.kind == _OPEN:
            closing_after += _closing_size(atom.name)
        elif atom.kind == _CLOSE and stack and stack[-1][0] == atom.name:
            closing_after -= _closing_size(atom.name)
        if used + atom.size + closing_after > limit:
            break
        if atom.kind == _NEWLINE and index > start:
            newline_cut = _Cut(index, index + 1, tuple(stack))
        if atom.kind == _OPEN:
            stack.append((atom.name, atom.text))
        elif atom.kind == _CLOSE and stack and stack[-1][0] == atom.name:
            stack.pop()
        used += atom.size
        closing = closing_after
        index += 1
        if atom.kind == _SPACE:
            space_cut = _Cut(index, index, tuple(stack))
    if index == len(atoms):
        return _Cut(index, index, tuple(stack))
    if index == start:
        raise ValueError(
            f"limit {limit} is too small for the open tags plus {atoms[index].text[:40]!r}"
        )
    return newline_cut or space_cut or _Cut(index, index, tuple(stack))


def split_html(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """``text`` as chunks of at most ``limit`` UTF-16 units, each one well-formed HTML.

    Expects well-formed input (what :mod:`chat.cards` renders); a closing tag that matches no
    open tag is passed through unchanged. Chunks with no visible text are left out, so blank
    input gives an empty list. Raises ValueError when ``limit`` cannot hold the open tags plus
    one character.
    """
    if message_size(text) <= limit:
        return [text] if visible_text(text).strip() else []
    atoms = _atoms(text)
    chunks: list[str] = []
    start = 0
    opened: _OpenTags = ()
    while start < len(atoms):
        cut = _next_cut(atoms, start, opened, limit)
        chunk = _render(atoms, start, cut, opened)
        if visible_text(chunk).strip():
            chunks.append(chunk)
        start, opened = cut.resume, cut.open_tags
    return chunks


def cap_messages(text: str, max_messages: int = MAX_REPLY_MESSAGES,
                 limit: int = TEXT_LIMIT) -> str:
    """``text`` unchanged if it fits in ``max_messages`` messages of ``limit``, else its first
    chunks (well-formed, cut at a line where possible) followed by :data:`CUT_NOTE`."""
    if message_size(text) <= limit:
        return text
    chunks = split_html(text, limit - _CAP_ROOM)
    if len(chunks) <= max_messages:
        return text
    return "\n".join(chunks[:max_messages]) + CUT_NOTE
