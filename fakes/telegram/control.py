"""The fake Bot API's control API under ``/_fake``: drive and inspect it over HTTP.

Why: the bench and soak runs (and a human with curl) use the fake from another process, so
everything a test does in-process (push an update, read what the bot sent, inject a fault)
is also a JSON route. Each route calls the same public method of :class:`FakeBotApi`.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from fakes.telegram.records import CallRecord, InlineAnswerRecord, SentRecord
from fakes.telegram.rules import BOT_API_FAULTS
from fakes.telegram.state import chat_type_of

if TYPE_CHECKING:
    from fakes.telegram.bot_api import FakeBotApi
    from fakes.telegram.http import BotApiHandler

__all__ = ["CONTROL_SUMMARY", "handle_control"]

CONTROL_SUMMARY = {
    "GET /_fake": "this summary",
    "POST /_fake/updates/message": '{"chat_id", "user_id", "text", "chat_type"?, "username"?}',
    "POST /_fake/updates/callback": '{"chat_id", "user_id", "message_id", "data"}',
    "POST /_fake/updates/raw": "any Update object (update_id is assigned)",
    "POST /_fake/updates/inline": '{"user_id", "query", "offset"?, "chat_type"?, "username"?}',
    "GET /_fake/inline_answers?user_id=": "accepted answerInlineQuery calls with their results",
    "POST /_fake/users/block": '{"user_id", "blocked": true|false}: the user (un)blocks the bot',
    "GET /_fake/sent?chat_id=&method=": "accepted outgoing calls",
    "GET /_fake/calls?method=": "every received call with its status",
    "GET /_fake/counters": "calls per method, statuses, 429s, pending updates",
    "GET /_fake/commands?chat_id=": "the menu set with setMyCommands (default or chat scope)",
    "GET|POST|DELETE /_fake/faults": '{"method": "sendMessage"|"*", '
                                     '"mode": "429|5xx|disconnect|slow", "count": N|null, '
                                     '"skip", "retry_after_s", "status", "delay_s"}',
    "POST /_fake/reset": "forget everything",
}


def handle_control(fake: FakeBotApi, handler: BotApiHandler, http_method: str,
                   path: str) -> None:
    """Answer one control request; bad input is a 400 with the reason."""
    try:
        params, _files = handler.read_params()
        status, answer = _route(fake, http_method, path, params)
    except (ValueError, TypeError, KeyError) as error:
        status, answer = 400, {"error": f"{type(error).__name__}: {error}"}
    handler.send_json(status, answer)


def _route(fake: FakeBotApi, http_method: str, path: str,
           params: dict[str, Any]) -> tuple[int, object]:
    route = (http_method, path)
    if route == ("GET", "/_fake"):
        return 200, {"base_url": fake.base_url, "control": CONTROL_SUMMARY}
    if route == ("POST", "/_fake/updates/message"):
        chat_id = int(params["chat_id"])
        update_id = fake.push_message(chat_id, int(params["user_id"]), str(params["text"]),
                                      str(params.get("chat_type") or chat_type_of(chat_id)),
                                      params.get("username"))
        return 201, {"update_id": update_id}
    if route == ("POST", "/_fake/updates/callback"):
        callback_id = fake.push_callback(int(params["chat_id"]), int(params["user_id"]),
                                         int(params["message_id"]), str(params["data"]))
        return 201, {"callback_query_id": callback_id}
    if route == ("POST", "/_fake/users/block"):
        user_id, blocked = int(params["user_id"]), params.get("blocked", True) is not False
        update_id = fake.block(user_id) if blocked else fake.unblock(user_id)
        return 201, {"update_id": update_id}
    if route == ("POST", "/_fake/updates/raw"):
        return 201, {"update_id": fake.push_raw_update(dict(params))}
    if route == ("POST", "/_fake/updates/inline"):
        chat_type = params.get("chat_type", "sender")
        query_id = fake.push_inline_query(int(params["user_id"]), str(params["query"]),
                                          offset=str(params.get("offset") or ""),
                                          chat_type=None if chat_type is None else str(chat_type),
                                          username=params.get("username"))
        return 201, {"inline_query_id": query_id}
    if route == ("GET", "/_fake/inline_answers"):
        wanted = params.get("user_id")
        answers = fake.inline_answers(None if wanted in (None, "") else int(wanted))
        return 200, {"answers": [inline_answer_json(answer) for answer in answers]}
    if route == ("GET", "/_fake/sent"):
        wanted = params.get("chat_id")
        records = fake.sent(None if wanted in (None, "") else int(wanted),
                            params.get("method") or None)
        return 200, {"sent": [record_json(record) for record in records]}
    if route == ("GET", "/_fake/calls"):
        calls = fake.calls(params.get("method") or None)
        return 200, {"calls": [record_json(record) for record in calls]}
    if route == ("GET", "/_fake/counters"):
        return 200, fake.counters()
    if route == ("GET", "/_fake/commands"):
        wanted = params.get("chat_id")
        menu = fake.commands(None if wanted in (None, "") else int(wanted))
        return 200, {"commands": [list(pair) for pair in menu]}
    if route == ("GET", "/_fake/faults"):
        return 200, {"faults": fake.faults()}
    if route == ("POST", "/_fake/faults"):
        rule = fake.add_fault(BOT_API_FAULTS.parse(params))
        return 201, {"fault": rule.to_json(BOT_API_FAULTS.target_key)}
    if route == ("DELETE", "/_fake/faults"):
        return 200, {"cleared": fake.clear_faults()}
    if route == ("POST", "/_fake/reset"):
        fake.reset()
        return 200, {"reset": "all"}
    return 404, {"error": f"no control route {http_method} {path}", "control": CONTROL_SUMMARY}


def record_json(record: SentRecord | CallRecord) -> dict[str, object]:
    """A record as plain JSON data."""
    fields = {name: getattr(record, name) for name in record.__slots__}
    if isinstance(record, SentRecord):
        fields["buttons"] = [[list(button) for button in row] for row in record.buttons]
        if record.document is not None:  # JSON has no bytes: the file as base64
            fields["document"] = base64.b64encode(record.document).decode("ascii")
    return fields


def inline_answer_json(answer: InlineAnswerRecord) -> dict[str, object]:
    """An inline answer as plain JSON data, its results as objects."""
    fields = {name: getattr(answer, name) for name in answer.__slots__}
    fields["results"] = [{name: getattr(result, name) for name in result.__slots__}
                         | {"buttons": [[list(b) for b in row] for row in result.buttons]}
                         for result in answer.results]
    return fields
