"""The rules the fake Bot API enforces: HTML entities, sizes, keyboards, commands, flood, faults.

Why separate: these are the checks that make the fake worth testing against (the real server
rejects a stray ``<``, a 65-byte callback_data or a fourth message in a second), and each is a
pure function or a small clock-driven state machine, tested without a socket. Descriptions are
the real server's wording (tdlib/telegram-bot-api, see docs/telegram.md) so code that matches
on them works against both.
"""

from __future__ import annotations

import math
import re
from collections import deque
from dataclasses import dataclass, replace
from typing import Any

from fakes.faults import FaultMode, FaultSchema
from fakes.loopback import ApiError

__all__ = [
    "BOT_API_FAULTS",
    "BotApiError",
    "CAPTION_LIMIT",
    "CALLBACK_ANSWER_LIMIT",
    "CALLBACK_DATA_MAX_BYTES",
    "FloodControl",
    "FloodRules",
    "TEXT_LIMIT",
    "check_callback_answer",
    "check_caption",
    "check_commands",
    "check_text",
    "keyboard_rows",
    "parse_html",
    "Rows",
]

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_MAX_BYTES = 64
CALLBACK_ANSWER_LIMIT = 200

_SUPPORTED_TAGS = frozenset({
    "a", "b", "blockquote", "code", "del", "em", "i", "ins", "pre", "s", "span", "strike",
    "strong", "tg-emoji", "tg-spoiler", "u",
})
_TAG_NAME = re.compile(r"[^\s>/]*")
_ENTITY = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z]+);")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_TOKEN_NOISE = 1e-9


class BotApiError(ApiError):
    """A Bot API error answer: HTTP status, description, optional retry_after."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> dict[str, object]:
        body: dict[str, object] = {"ok": False, "error_code": self.status,
                                   "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if self.retry_after else {}


def _bad_request(detail: str) -> BotApiError:
    return BotApiError(400, f"Bad Request: {detail}")


def _entity_error(detail: str) -> BotApiError:
    return _bad_request(f"can't parse entities: {detail}")


def parse_html(text: str) -> str:
    """The plain text Telegram shows for ``text`` in HTML parse mode, or ApiError 400.

    Rejects what the real parser rejects: unsupported tags, a ``<`` that starts no tag, end
    tags that close nothing or the wrong tag, tags never closed. A ``&`` that starts no entity
    is taken literally, as Telegram does.
    """
    plain: list[str] = []
    stack: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "&":
            match = _ENTITY.match(text, index)
            decoded = _decode_entity(match.group(1)) if match else None
            if match is None or decoded is None:
                plain.append("&")
                index += 1
            else:
                plain.append(decoded)
                index = match.end()
        elif char == "<":
            index = _parse_tag(text, index, stack)
        else:
            plain.append(char)
            index += 1
    if stack:
        raise _entity_error(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(plain)


def _decode_entity(body: str) -> str | None:
    if body.startswith(("#x", "#X")):
        return chr(int(body[2:], 16)) if int(body[2:], 16) <= 0x10FFFF else None
    if body.startswith("#"):
        return chr(int(body[1:])) if int(body[1:]) <= 0x10FFFF else None
    return _NAMED_ENTITIES.get(body)


def _parse_tag(text: str, start: int, stack: list[str]) -> int:
    """Consume the tag at ``text[start] == "<"``; returns the index after it."""
    offset = len(text[:start].encode("utf-8"))
    closing = text.startswith("</", start)
    name_start = start + (2 if closing else 1)
    name = _TAG_NAME.match(text, name_start)
    tag = name.group(0).lower() if name else ""
    if closing:
        end = text.find(">", name_start)
        if end == -1:
            raise _entity_error(f"Unclosed end tag at byte offset {offset}")
        if not stack or stack[-1] != tag:
            expected = f'expected "</{stack[-1]}>"' if stack else "no start tag is open"
            raise _entity_error(
                f'Unmatched end tag at byte offset {offset}, {expected}, found "</{tag}>"'
            )
        stack.pop()
        return end + 1
    if tag not in _SUPPORTED_TAGS:
        raise _entity_error(f'Unsupported start tag "{tag}" at byte offset {offset}')
    end = text.find(">", name_start)
    if end == -1:
        raise _entity_error(f"Unclosed start tag at byte offset {offset}")
    attributes = text[name_start + len(tag):end]
    if tag == "span" and "tg-spoiler" not in attributes:
        raise _entity_error(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
    if tag == "a" and "href" not in attributes:
        raise _entity_error(f'Tag "a" must have attribute "href" at byte offset {offset}')
    stack.append(tag)
    return end + 1


def _visible(text: str, parse_mode: str | None) -> str:
    if parse_mode is None or parse_mode == "":
        return text
    if parse_mode.lower() == "html":
        return parse_html(text)
    if parse_mode.lower() in ("markdown", "markdownv2"):
        return text  # not validated by the fake; counted as sent
    raise _bad_request(f"unsupported parse_mode {parse_mode}")


def check_text(text: object, parse_mode: str | None) -> str:
    """Validate a sendMessage/editMessageText text; returns what the user would see."""
    if not isinstance(text, str) or not text.strip():
        raise _bad_request("message text is empty")
    visible = _visible(text, parse_mode)
    if not visible.strip():
        raise _bad_request("message text is empty")
    if len(visible) > TEXT_LIMIT:
        raise _bad_request("message is too long")
    return visible


def check_caption(caption: object, parse_mode: str | None) -> str:
    """Validate a photo caption (may be empty); returns the visible caption."""
    if caption is None or caption == "":
        return ""
    if not isinstance(caption, str):
        raise _bad_request("caption must be a string")
    visible = _visible(caption, parse_mode)
    if len(visible) > CAPTION_LIMIT:
        raise _bad_request("message caption is too long")
    return visible


def check_callback_answer(text: object) -> str:
    if text is None:
        return ""
    if not isinstance(text, str):
        raise _bad_request("text must be a string")
    if len(text) > CALLBACK_ANSWER_LIMIT:
        raise _bad_request("MESSAGE_TOO_LONG")
    return text


Rows = tuple[tuple[tuple[str, str], ...], ...]
"""Inline keyboard as rows of (text, callback_data or url)."""


def keyboard_rows(markup: Any) -> Rows:
    """Validate an InlineKeyboardMarkup (already JSON-decoded); () when absent."""
    if markup is None:
        return ()
    if not isinstance(markup, dict):
        raise _bad_request("can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _bad_request("can't parse inline keyboard button: field \"inline_keyboard\" must be "
                           "an Array of Arrays")
    parsed: list[tuple[tuple[str, str], ...]] = []
    for row in rows:
        buttons: list[tuple[str, str]] = []
        for button in row:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise _bad_request("can't parse inline keyboard button: Text must be a String")
            if not button["text"]:
                raise _bad_request("BUTTON_TEXT_EMPTY")
            data = button.get("callback_data")
            if data is not None:
                size = len(data.encode()) if isinstance(data, str) else 0
                if not 1 <= size <= CALLBACK_DATA_MAX_BYTES:
                    raise _bad_request("BUTTON_DATA_INVALID")
                buttons.append((button["text"], data))
            elif isinstance(button.get("url"), str):
                buttons.append((button["text"], button["url"]))
            else:
                raise _bad_request("can't parse inline keyboard button: InlineKeyboardButton must "
                                   "have exactly one optional field")
        parsed.append(tuple(buttons))
    return tuple(parsed)


def check_commands(commands: Any) -> tuple[tuple[str, str], ...]:
    """Validate setMyCommands' list of {command, description}."""
    if not isinstance(commands, list) or len(commands) > 100:
        raise _bad_request("can't parse commands JSON object")
    checked: list[tuple[str, str]] = []
    for entry in commands:
        if not isinstance(entry, dict):
            raise _bad_request("can't parse BotCommand")
        name, description = entry.get("command"), entry.get("description")
        if not isinstance(name, str) or not _COMMAND.fullmatch(name.removeprefix("/")):
            raise _bad_request("BOT_COMMAND_INVALID")
        if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
            raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        checked.append((name.removeprefix("/"), description))
    return tuple(checked)


@dataclass(frozen=True, slots=True, kw_only=True)
class FloodRules:
    """How the fake throttles, modelled on the Bots FAQ; ``scaled`` speeds up tests.

    Per chat a token bucket (``chat_burst`` or ``group_burst`` at once, then ``chat_per_s``),
    per group also ``group_messages`` in any ``group_window_s``, and over all chats
    ``global_calls`` messages and edits in any ``global_window_s``. Each counts a call when it
    arrives, as Telegram does; a refused call counts nowhere.
    """

    chat_per_s: float = 1.0
    """Sustained messages per second to one chat."""
    chat_burst: int = 3
    """Messages one private chat may get at once before the per-second rate applies."""
    group_burst: int = 3
    """The same for a group, supergroup or channel (which also gets ``group_messages``)."""
    group_messages: int = 20
    """Messages per ``group_window_s`` to one group."""
    group_window_s: float = 60.0
    global_calls: int = 30
    """Messages and edits per ``global_window_s`` over all chats."""
    global_window_s: float = 1.0

    def scaled(self, factor: float) -> FloodRules:
        """Every duration multiplied by ``factor`` (0.1 makes the limits ten times faster)."""
        return replace(self, chat_per_s=self.chat_per_s / factor,
                       group_window_s=self.group_window_s * factor,
                       global_window_s=self.global_window_s * factor)


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class FloodControl:
    """Admits or refuses (with retry_after) each message and edit, per chat, group and bot."""

    def __init__(self, rules: FloodRules) -> None:
        self.rules = rules
        self._buckets: dict[int, _Bucket] = {}
        self._groups: dict[int, deque[float]] = {}
        self._global: deque[float] = deque()

    def admit(self, chat_id: int, *, is_group: bool, is_message: bool, now: float) -> int | None:
        """None if the call may go (and count it), else whole seconds to wait (at least 1)."""
        rules = self.rules
        waits = [_window_wait(self._global, rules.global_calls, rules.global_window_s, now)]
        bucket: _Bucket | None = None
        if is_message:
            burst = rules.group_burst if is_group else rules.chat_burst
            bucket = self._buckets.setdefault(chat_id, _Bucket(float(burst), now))
            refill = (now - bucket.updated) * rules.chat_per_s
            bucket.tokens = min(burst, bucket.tokens + refill)
            bucket.updated = now
            # Refills add up in floating point: a token short by float noise is a whole one.
            short = 1 - bucket.tokens
            waits.append(0.0 if short <= _TOKEN_NOISE else short / rules.chat_per_s)
            if is_group:
                sends = self._groups.setdefault(chat_id, deque())
                waits.append(_window_wait(sends, rules.group_messages, rules.group_window_s, now))
        wait = max(waits)
        if wait > 0:
            return max(1, math.ceil(wait))
        self._global.append(now)
        if bucket is not None:
            bucket.tokens -= 1
            if is_group:
                self._groups[chat_id].append(now)
        return None

    def reset(self) -> None:
        self._buckets.clear()
        self._groups.clear()
        self._global.clear()


def _window_wait(sends: deque[float], limit: int, window: float, now: float) -> float:
    while sends and sends[0] <= now - window:
        sends.popleft()
    if len(sends) < limit:
        return 0.0
    return sends[len(sends) - limit] + window - now


BOT_API_FAULTS = FaultSchema(
    target_key="method",
    modes=(FaultMode.TOO_MANY_REQUESTS, FaultMode.SERVER_ERROR, FaultMode.DISCONNECT,
           FaultMode.SLOW),
    check_target=str.lower,
    statuses=range(500, 600),
    statuses_text="a 5xx code",
    default_status=500,
    default_count=1,
    default_delay_s=1.0,
    default_retry_after_s=1,
    min_retry_after_s=1,
    aliases={"drop": FaultMode.DISCONNECT},
)
"""What ``POST /_fake/faults`` and ``inject()`` accept: 429 (PTB's RetryAfter), 5xx (its
NetworkError), a dropped connection ("disconnect", also spelt "drop") or a slow answer, on one
method (case-insensitive) or ``*``; one call unless ``count`` says otherwise."""
