"""The fake Bot API's inline mode: InlineQuery updates pushed by tests, answerInlineQuery checked.

Why a module of its own (like ``menus``): inline mode has rules of its own that a bot gets
wrong quietly, and the fake must refuse what Telegram refuses (Bot API docs,
tdlib/telegram-bot-api wording): a query id is answered at most once, at most 50 results, each
result id 1-64 bytes and unique within the answer, an article needs a title and a message
whose text passes the same checks as sendMessage, cache_time a non-negative integer (300 when
absent), next_offset at most 64 bytes. Only article results are modelled (the bot sends no
other). A query is at most 256 characters, as Telegram's clients send it; ``chat_type`` is
one of Telegram's values.
"""

from __future__ import annotations

import json
from collections import deque
from typing import Any

from fakes.telegram.records import InlineAnswerRecord, InlineResultRecord
from fakes.telegram.rules import BotApiError, check_text, keyboard_rows

__all__ = ["CHAT_TYPES", "InlineQueries", "MAX_RESULTS", "QUERY_LIMIT", "check_inline_results"]

MAX_RESULTS = 50
QUERY_LIMIT = 256
RESULT_ID_MAX_BYTES = 64
NEXT_OFFSET_MAX_BYTES = 64
DEFAULT_CACHE_TIME = 300
CHAT_TYPES = frozenset({"sender", "private", "group", "supergroup", "channel"})
"""InlineQuery.chat_type: "sender" is the user's own chat with the bot."""
_RECORD_LIMIT = 100_000


def _bad_request(detail: str) -> BotApiError:
    return BotApiError(400, f"Bad Request: {detail}")


def _json(value: Any, name: str) -> Any:
    """A JSON-typed parameter: PTB sends it json.dumps'd in a form field."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        raise _bad_request(f"can't parse {name} JSON object") from None


def check_inline_results(results: Any) -> tuple[InlineResultRecord, ...]:
    """answerInlineQuery's results (already JSON-decoded), as records; else BotApiError 400."""
    if not isinstance(results, list):
        raise _bad_request("can't parse inline query results JSON object")
    if len(results) > MAX_RESULTS:
        raise _bad_request("RESULTS_TOO_MUCH")
    seen: set[str] = set()
    checked: list[InlineResultRecord] = []
    for result in results:
        if not isinstance(result, dict) or result.get("type") != "article":
            raise _bad_request("RESULT_TYPE_INVALID")
        result_id = result.get("id")
        if not isinstance(result_id, str) or not 1 <= len(result_id.encode()) <= \
                RESULT_ID_MAX_BYTES:
            raise _bad_request("RESULT_ID_INVALID")
        if result_id in seen:
            raise _bad_request("RESULT_ID_DUPLICATE")
        seen.add(result_id)
        title = result.get("title")
        if not isinstance(title, str) or not title.strip():
            raise _bad_request("ARTICLE_TITLE_EMPTY")
        content = result.get("input_message_content")
        if not isinstance(content, dict) or "message_text" not in content:
            raise _bad_request('can\'t parse inline query result: Can\'t find field "message_text"')
        parse_mode = content.get("parse_mode")
        check_text(content["message_text"], parse_mode)
        description = result.get("description")
        checked.append(InlineResultRecord(
            result_id, "article", title, description if isinstance(description, str) else None,
            content["message_text"], parse_mode, keyboard_rows(result.get("reply_markup"))))
    return tuple(checked)


def _cache_time(value: Any) -> int:
    if value is None or value == "":
        return DEFAULT_CACHE_TIME
    try:
        seconds = int(str(value))
    except ValueError:
        raise _bad_request("cache_time must be an integer") from None
    if seconds < 0:
        raise _bad_request("cache_time must be non-negative")
    return seconds


class InlineQueries:
    """Inline queries pushed and answers accepted; not thread-safe (the server's lock)."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        """Forget every query and answer."""
        self._queries: dict[str, tuple[int, str]] = {}
        """Open and answered query ids -> (user, query)."""
        self._answered: set[str] = set()
        self._next = 1
        self.answers: deque[InlineAnswerRecord] = deque(maxlen=_RECORD_LIMIT)

    def new_query(self, user_id: int, query: str, *, offset: str = "",
                  chat_type: str | None = "sender", username: str | None = None
                  ) -> tuple[str, dict[str, Any]]:
        """A user typed ``@bot query``: (query id, the InlineQuery object of the update)."""
        if len(query) > QUERY_LIMIT:
            raise ValueError(f"Telegram sends at most {QUERY_LIMIT} characters of a query")
        if chat_type is not None and chat_type not in CHAT_TYPES:
            raise ValueError(f"chat_type must be one of {sorted(CHAT_TYPES)}")
        query_id = str(4_000_000_000_000_000 + self._next)  # Telegram's ids: long digit strings
        self._next += 1
        sender: dict[str, Any] = {"id": user_id, "is_bot": False,
                                  "first_name": username or f"user{user_id}"}
        if username:
            sender["username"] = username
        inline: dict[str, Any] = {"id": query_id, "from": sender, "query": query,
                                  "offset": offset}
        if chat_type is not None:
            inline["chat_type"] = chat_type
        self._queries[query_id] = (user_id, query)
        return query_id, inline

    def answer(self, params: dict[str, Any], now: float) -> bool:
        """answerInlineQuery: checks everything, then records the answer."""
        query_id = params.get("inline_query_id")
        results = check_inline_results(_json(params.get("results"), "results"))
        cache_time = _cache_time(params.get("cache_time"))
        personal = _json(params.get("is_personal"), "is_personal")
        next_offset = params.get("next_offset") or ""
        if not isinstance(next_offset, str) or len(next_offset.encode()) > NEXT_OFFSET_MAX_BYTES:
            raise _bad_request("NEXT_OFFSET_INVALID")
        if not isinstance(query_id, str) or query_id not in self._queries \
                or query_id in self._answered:
            raise _bad_request("query is too old and response timeout expired or query ID is "
                               "invalid")
        self._answered.add(query_id)
        user_id, query = self._queries[query_id]
        self.answers.append(InlineAnswerRecord(query_id, user_id, query, results, cache_time,
                                               personal is True, next_offset, now))
        return True
