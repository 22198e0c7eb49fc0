"""The fake Bot API's command menus: one list per (scope, language), like Telegram keeps them.

Why a module of its own: a bot that shows admins their own menu depends on Telegram's scope
rules (a ``chat`` scope needs a chat the bot can see, an unknown scope type is refused), so
the fake must check them with the real server's wording (tdlib/telegram-bot-api). The scope
arrives as PTB sends it: a JSON-serialised BotCommandScope in a form field (a JSON body gives
the object itself); absent means the default scope.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fakes.telegram.rules import BotApiError, check_commands

__all__ = ["DEFAULT_SCOPE", "CommandMenus", "Scope", "parse_scope"]

_UNSCOPED_TYPES = frozenset({"default", "all_private_chats", "all_group_chats",
                             "all_chat_administrators"})
_CHAT_TYPES = frozenset({"chat", "chat_administrators", "chat_member"})
_LANGUAGE = re.compile(r"[a-z]{2}")

Menu = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Scope:
    """A parsed BotCommandScope: its type and, for the chat scopes, the chat (and member)."""

    type: str
    chat_id: int | None = None
    user_id: int | None = None


DEFAULT_SCOPE = Scope("default")


def _scope_error(problem: str) -> BotApiError:
    return BotApiError(400, f"Bad Request: can't parse BotCommandScope: {problem}")


def _id_field(scope: dict[str, Any], name: str) -> int:
    value = scope.get(name)
    if value is None:
        raise _scope_error(f'Can\'t find field "{name}"')
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise _scope_error(f'Field "{name}" must be a Number')
    if name == "chat_id" and isinstance(value, str) and value.startswith("@"):
        # A public chat's @username: the fake has none, so like any unknown chat.
        raise BotApiError(400, "Bad Request: chat not found")
    try:
        return int(value)
    except ValueError:
        raise _scope_error(f'Field "{name}" must be a valid Number') from None


def parse_scope(raw: object) -> Scope:
    """The scope parameter (a JSON string, an object or absent) checked like Telegram does."""
    if raw is None or raw == "":
        return DEFAULT_SCOPE
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except (json.JSONDecodeError, RecursionError):
            raise BotApiError(400, "Bad Request: can't parse BotCommandScope JSON object") from None
    if not isinstance(raw, dict):
        raise _scope_error("expected an Object")
    kind = raw.get("type")
    if not isinstance(kind, str):
        raise _scope_error('Can\'t find field "type"')
    if kind in _UNSCOPED_TYPES:
        return Scope(kind)
    if kind not in _CHAT_TYPES:
        raise _scope_error("Unsupported type specified")
    chat_id = _id_field(raw, "chat_id")
    if kind != "chat_member":
        return Scope(kind, chat_id)
    user_id = _id_field(raw, "user_id")
    if user_id <= 0:
        raise _scope_error("Invalid user_id specified")
    return Scope(kind, chat_id, user_id)


def _language(raw: object) -> str:
    if raw is None or raw == "":
        return ""
    if not isinstance(raw, str) or not _LANGUAGE.fullmatch(raw):
        raise BotApiError(400, "Bad Request: invalid language code specified")
    return raw


class CommandMenus:
    """set/get/deleteMyCommands over one menu per (scope, language_code); not thread-safe."""

    def __init__(self) -> None:
        self._menus: dict[tuple[Scope, str], Menu] = {}

    def clear(self) -> None:
        self._menus.clear()

    def menu(self, scope: Scope = DEFAULT_SCOPE, language: str = "") -> Menu:
        """The list set for exactly this scope and language (empty if none, like Telegram)."""
        return self._menus.get((scope, language), ())

    def set(self, params: Mapping[str, Any], commands: object,
            chats: Mapping[int, Mapping[str, Any]]) -> bool:
        """setMyCommands: ``commands`` already JSON-decoded; the scope and language checked first."""
        key = self._key(params, chats)
        self._menus[key] = check_commands(commands)
        return True

    def get(self, params: Mapping[str, Any],
            chats: Mapping[int, Mapping[str, Any]]) -> list[dict[str, str]]:
        menu = self._menus.get(self._key(params, chats), ())
        return [{"command": name, "description": text} for name, text in menu]

    def delete(self, params: Mapping[str, Any], chats: Mapping[int, Mapping[str, Any]]) -> bool:
        self._menus.pop(self._key(params, chats), None)
        return True

    @staticmethod
    def _key(params: Mapping[str, Any],
             chats: Mapping[int, Mapping[str, Any]]) -> tuple[Scope, str]:
        scope = parse_scope(params.get("scope"))
        language = _language(params.get("language_code"))
        if scope.chat_id is not None:
            chat = chats.get(scope.chat_id)
            if chat is None:  # Telegram knows only chats that wrote to (or added) the bot
                raise BotApiError(400, "Bad Request: chat not found")
            if chat.get("type") == "private" and scope.type != "chat":
                raise BotApiError(400, "Bad Request: can't use specified scope in private chats")
        return scope, language
