"""What the fake Bot API remembers and how each method changes it: chats, messages, updates.

Why separate from the server: the Bot API semantics (message ids per chat, "message is not
modified", confirming updates by offset, answering a callback once) are plain state changes,
checked here without sockets or threads. The server (``fakes.telegram.bot_api``) holds the lock,
moves bytes and does the one blocking thing, the getUpdates long poll.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fakes.telegram.inline import InlineQueries
from fakes.telegram.menus import CommandMenus
from fakes.telegram.params import integer_param, json_param
from fakes.telegram.records import CallRecord, SentRecord
from fakes.telegram.rules import (
    BotApiError,
    FloodControl,
    check_callback_answer,
    check_caption,
    check_text,
    keyboard_rows,
)
from fakes.telegram.uploads import Blocks, check_document, check_photo, png_size

__all__ = ["BotApiState", "chat_type_of"]

_RECORD_LIMIT = 100_000
_CHAT_ACTIONS = frozenset({
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note",
})
_GROUP_TYPES = ("group", "supergroup", "channel")


@dataclass(slots=True)
class _Message:
    text: str | None
    markup: Any
    from_bot: bool
    has_photo: bool
    date: int = field(default_factory=lambda: int(time.time()))  # sent; an edit keeps it


def chat_type_of(chat_id: int) -> str:
    """A chat's type when nothing was pushed for it: Telegram's id ranges."""
    if chat_id > 0:
        return "private"
    return "supergroup" if str(chat_id).startswith("-100") else "group"


class BotApiState:
    """The fake server's memory; not thread-safe (the server calls it under its lock)."""

    def __init__(self, *, token: str, flood: FloodControl | None,
                 clock: Callable[[], float]) -> None:
        bot_id = token.partition(":")[0]
        self.bot_user = {"id": int(bot_id) if bot_id.isdigit() else 1, "is_bot": True,
                         "first_name": "Fake Bot", "username": "fake_bot",
                         "can_join_groups": True, "can_read_all_group_messages": False,
                         "supports_inline_queries": True}
        self.flood = flood
        self._clock = clock
        self.menus = CommandMenus()
        self.inline = InlineQueries()
        self.blocks = Blocks()
        self._handlers: dict[str, Callable[[dict[str, Any], dict[str, bytes]], object]] = {
            "getme": lambda params, files: self.bot_user,
            "deletewebhook": self._delete_webhook,
            "setwebhook": self._set_webhook,
            "getwebhookinfo": self._webhook_info,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "deletemessage": self._delete_message,
            "answercallbackquery": self._answer_callback_query,
            "sendphoto": self._send_photo,
            "senddocument": self._send_document,
            "sendchataction": self._send_chat_action,
            "answerinlinequery": lambda params, files: self.inline.answer(params, self._clock()),
            "setmycommands": lambda params, files: self.menus.set(
                params, json_param(params, "commands"), self.chats),
            "getmycommands": lambda params, files: self.menus.get(params, self.chats),
            "deletemycommands": lambda params, files: self.menus.delete(params, self.chats),
        }
        self.reset()

    def reset(self) -> None:
        """Forget everything: updates, chats, messages, records, commands, webhook, flood."""
        self.updates: deque[dict[str, Any]] = deque()
        self.next_update_id = 1
        self.chats: dict[int, dict[str, Any]] = {}
        self.messages: dict[tuple[int, int], _Message] = {}
        self.last_message_id: Counter[int] = Counter()
        self.callbacks: dict[str, int | None] = {}
        self.answered: set[str] = set()
        self.next_callback = 1
        self.menus.clear()
        self.inline.clear()
        self.blocks.clear()
        self.webhook_url = ""
        self.sent: deque[SentRecord] = deque(maxlen=_RECORD_LIMIT)
        self.calls: deque[CallRecord] = deque(maxlen=_RECORD_LIMIT)
        self.statuses: Counter[str] = Counter()
        self.too_many_requests = 0
        if self.flood is not None:
            self.flood.reset()

    # -- driving (what users do) ---------------------------------------------------------------

    def push_message(self, chat_id: int, user_id: int, text: str, chat_type: str,
                     username: str | None) -> int:
        user = {"id": user_id, "is_bot": False, "first_name": username or f"user{user_id}"}
        if username:
            user["username"] = username
        chat = self._remember_chat(chat_id, chat_type, username)
        message_id = self._next_message_id(chat_id)
        self.messages[(chat_id, message_id)] = _Message(text, None, False, False)
        message: dict[str, Any] = {"message_id": message_id, "date": int(time.time()),
                                   "chat": chat, "from": user, "text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            # CommandHandler only fires on a bot_command entity at offset 0 (UTF-16 length).
            length = len(command.encode("utf-16-le")) // 2
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return self.push_update({"message": message})

    def push_callback(self, chat_id: int, user_id: int, message_id: int, data: str) -> str:
        callback_id = f"{self.next_callback:08d}"
        self.next_callback += 1
        chat = self._remember_chat(chat_id, self.chats.get(chat_id, {}).get("type")
                                   or chat_type_of(chat_id), None)
        stored = self.messages.get((chat_id, message_id))
        date = stored.date if stored is not None else int(time.time())
        message: dict[str, Any] = {"message_id": message_id, "date": date,
                                   "chat": chat, "from": self.bot_user}
        if stored is not None and stored.text is not None:
            message["text"] = stored.text
        if stored is not None and stored.markup is not None:
            message["reply_markup"] = stored.markup
        query = {"id": callback_id, "chat_instance": str(-abs(chat_id)), "data": data,
                 "from": {"id": user_id, "is_bot": False, "first_name": f"user{user_id}"},
                 "message": message}
        self.push_update({"callback_query": query})
        return callback_id

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue an update (any shape); its update_id is assigned here."""
        update_id = self.next_update_id
        self.next_update_id += 1
        self.updates.append({**update, "update_id": update_id})
        query = update.get("callback_query")
        if isinstance(query, dict) and isinstance(query.get("id"), str):
            message = query.get("message")
            chat = message.get("chat") if isinstance(message, dict) else None
            chat_id = chat.get("id") if isinstance(chat, dict) else None
            self.callbacks[query["id"]] = chat_id if isinstance(chat_id, int) else None
        return update_id

    def confirm(self, offset: int) -> None:
        """getUpdates' offset: updates below it are confirmed and forgotten."""
        if offset < 0:
            while len(self.updates) > -offset:
                self.updates.popleft()
            return
        while self.updates and self.updates[0]["update_id"] < offset:
            self.updates.popleft()

    def pending_updates(self, limit: int) -> list[dict[str, Any]]:
        return [update for _, update in zip(range(limit), self.updates)]

    # -- Bot API methods -----------------------------------------------------------------------

    def call(self, method: str, params: dict[str, Any], files: dict[str, bytes]) -> object:
        """Run ``method``; returns its result or raises BotApiError."""
        handler = self._handlers.get(method.lower())
        if handler is None:
            raise BotApiError(404, "Not Found")
        return handler(params, files)

    def record_call(self, method: str, status: int, chat_id: int | None,
                    description: str | None = None, fault: str | None = None) -> None:
        self.calls.append(CallRecord(method, status, chat_id, description, fault, self._clock()))
        self.statuses[str(status)] += 1
        if status == 429:
            self.too_many_requests += 1

    def _record_sent(self, method: str, chat_id: int | None, *, text: str | None = None,
                     markup: Any = None, message_id: int | None = None, photo_bytes: int = 0,
                     parse_mode: str | None = None, callback_query_id: str | None = None,
                     action: str | None = None, document: bytes | None = None,
                     filename: str | None = None) -> None:
        self.sent.append(SentRecord(method, chat_id, text, keyboard_rows(markup), message_id,
                                    photo_bytes, parse_mode, callback_query_id, action,
                                    self._clock(), document, filename))

    def _delete_webhook(self, params: dict[str, Any], files: dict[str, bytes]) -> bool:
        self.webhook_url = ""
        if json_param(params, "drop_pending_updates") is True:
            self.updates.clear()
        return True

    def _set_webhook(self, params: dict[str, Any], files: dict[str, bytes]) -> bool:
        url = params.get("url")
        if not isinstance(url, str):
            raise BotApiError(400, "Bad Request: url is empty")
        if url and not url.startswith("https://"):
            raise BotApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for "
                                "webhook")
        self.webhook_url = url
        return True

    def _webhook_info(self, params: dict[str, Any], files: dict[str, bytes]) -> dict[str, Any]:
        return {"url": self.webhook_url, "has_custom_certificate": False,
                "pending_update_count": len(self.updates)}

    def _send_message(self, params: dict[str, Any], files: dict[str, bytes]) -> dict[str, Any]:
        chat_id = integer_param(params, "chat_id")
        assert chat_id is not None
        parse_mode = params.get("parse_mode")
        visible = check_text(params.get("text"), parse_mode)
        markup = json_param(params, "reply_markup")
        keyboard_rows(markup)
        self._admit(chat_id, is_message=True)
        message_id = self._next_message_id(chat_id)
        self.messages[(chat_id, message_id)] = _Message(params["text"], markup, True, False)
        self._record_sent("sendMessage", chat_id, text=params["text"], markup=markup,
                          message_id=message_id, parse_mode=parse_mode)
        return self._message_json(chat_id, message_id, text=visible, markup=markup)

    def _edit_message_text(self, params: dict[str, Any],
                           files: dict[str, bytes]) -> dict[str, Any]:
        chat_id = integer_param(params, "chat_id")
        message_id = integer_param(params, "message_id")
        assert chat_id is not None and message_id is not None
        parse_mode = params.get("parse_mode")
        visible = check_text(params.get("text"), parse_mode)
        markup = json_param(params, "reply_markup")
        keyboard_rows(markup)
        stored = self.messages.get((chat_id, message_id))
        if stored is None:
            raise BotApiError(400, "Bad Request: message to edit not found")
        if not stored.from_bot:
            raise BotApiError(400, "Bad Request: message can't be edited")
        if stored.has_photo:
            raise BotApiError(400, "Bad Request: there is no text in the message to edit")
        if stored.text == params["text"] and stored.markup == markup:
            raise BotApiError(400, "Bad Request: message is not modified: specified new message "
                                "content and reply markup are exactly the same as a current "
                                "content and reply markup of the message")
        self._admit(chat_id, is_message=False)
        stored.text, stored.markup = params["text"], markup
        self._record_sent("editMessageText", chat_id, text=params["text"], markup=markup,
                          message_id=message_id, parse_mode=parse_mode)
        return self._message_json(chat_id, message_id, text=visible, markup=markup)

    def _delete_message(self, params: dict[str, Any], files: dict[str, bytes]) -> bool:
        chat_id = integer_param(params, "chat_id")
        message_id = integer_param(params, "message_id")
        assert chat_id is not None and message_id is not None
        if self.messages.pop((chat_id, message_id), None) is None:
            raise BotApiError(400, "Bad Request: message to delete not found")
        return True

    def _answer_callback_query(self, params: dict[str, Any], files: dict[str, bytes]) -> bool:
        callback_id = params.get("callback_query_id")
        text = check_callback_answer(params.get("text"))
        if callback_id not in self.callbacks or callback_id in self.answered:
            raise BotApiError(400, "Bad Request: query is too old and response timeout expired or "
                                "query ID is invalid")
        self.answered.add(callback_id)
        self._record_sent("answerCallbackQuery", self.callbacks[callback_id], text=text or None,
                          callback_query_id=callback_id)
        return True

    def _send_photo(self, params: dict[str, Any], files: dict[str, bytes]) -> dict[str, Any]:
        chat_id = integer_param(params, "chat_id")
        assert chat_id is not None
        photo = check_photo(params, files)
        parse_mode = params.get("parse_mode")
        caption = params.get("caption")
        visible = check_caption(caption, parse_mode)
        markup = json_param(params, "reply_markup")
        keyboard_rows(markup)
        self._admit(chat_id, is_message=True)
        message_id = self._next_message_id(chat_id)
        self.messages[(chat_id, message_id)] = _Message(None, markup, True, True)
        self._record_sent("sendPhoto", chat_id, text=caption or None, markup=markup,
                          message_id=message_id, photo_bytes=len(photo or b""),
                          parse_mode=parse_mode)
        width, height = png_size(photo or b"")
        result = self._message_json(chat_id, message_id, text=None, markup=markup)
        result["photo"] = [{"file_id": f"photo-{chat_id}-{message_id}",
                            "file_unique_id": f"u{chat_id}x{message_id}", "width": width,
                            "height": height, "file_size": len(photo or b"")}]
        if visible:
            result["caption"] = visible
        return result

    def _send_document(self, params: dict[str, Any], files: dict[str, bytes]) -> dict[str, Any]:
        chat_id = integer_param(params, "chat_id")
        assert chat_id is not None
        document = check_document(params, files)
        parse_mode, caption = params.get("parse_mode"), params.get("caption")
        visible = check_caption(caption, parse_mode)
        markup = json_param(params, "reply_markup")
        keyboard_rows(markup)
        self._admit(chat_id, is_message=True)
        message_id = self._next_message_id(chat_id)
        self.messages[(chat_id, message_id)] = _Message(None, markup, True, True)
        self._record_sent("sendDocument", chat_id, text=caption or None, markup=markup,
                          message_id=message_id, parse_mode=parse_mode,
                          document=document.data, filename=document.filename)
        result = self._message_json(chat_id, message_id, text=None, markup=markup)
        result["document"] = {"file_id": f"document-{chat_id}-{message_id}",
                              "file_unique_id": f"d{chat_id}x{message_id}",
                              "file_name": document.filename or "document",
                              "file_size": len(document.data)}
        if visible:
            result["caption"] = visible
        return result

    def _send_chat_action(self, params: dict[str, Any], files: dict[str, bytes]) -> bool:
        chat_id = integer_param(params, "chat_id")
        action = params.get("action")
        if action not in _CHAT_ACTIONS:
            raise BotApiError(400, "Bad Request: wrong parameter action in request")
        self.blocks.check_send(chat_id or 0)
        self._record_sent("sendChatAction", chat_id, action=str(action))
        return True

    # -- helpers -------------------------------------------------------------------------------

    def _admit(self, chat_id: int, *, is_message: bool) -> None:
        self.blocks.check_send(chat_id)
        if self.flood is None:
            return
        chat_type = self.chats.get(chat_id, {}).get("type") or chat_type_of(chat_id)
        wait = self.flood.admit(chat_id, is_group=chat_type in _GROUP_TYPES,
                                is_message=is_message, now=self._clock())
        if wait is not None:
            raise BotApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)

    def _remember_chat(self, chat_id: int, chat_type: str, username: str | None) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = username or f"user{chat_id}"
            if username:
                chat["username"] = username
        else:
            chat["title"] = f"Chat {chat_id}"
        self.chats[chat_id] = chat
        return chat

    def _next_message_id(self, chat_id: int) -> int:
        self.last_message_id[chat_id] += 1
        return self.last_message_id[chat_id]

    def _message_json(self, chat_id: int, message_id: int, *, text: str | None,
                      markup: Any) -> dict[str, Any]:
        chat = self.chats.get(chat_id) or {"id": chat_id, "type": chat_type_of(chat_id)}
        if chat["type"] == "private":
            chat.setdefault("first_name", f"user{chat_id}")
        message: dict[str, Any] = {"message_id": message_id, "date": int(time.time()),
                                   "chat": chat, "from": self.bot_user}
        if text is not None:
            message["text"] = text
        if markup is not None:
            message["reply_markup"] = markup
        return message
