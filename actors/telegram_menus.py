"""Telegram's command menus, set at start-up: the public one for all, the admin one per admin.

Why per admin: Telegram shows a chat the menu of the narrowest scope set for it, so the admin
commands appear only where ``setMyCommands(scope=BotCommandScopeChat(admin_id))`` put them
(a private chat's id is its user's id). The public menu goes first and is never held up by an
admin's call. Telegram refuses a chat scope for a chat it does not know ("chat not found": the
admin never started the bot): that admin is skipped with one log event, and their menu is set
when they next write to the bot in private. Only network errors, 5xx and 429 are retried, with
full-jitter backoff, the same loop for every call; a refusal is final. Runs on the loop thread.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError

from actors.telegram_outbox import retry_after_seconds
from core.logs import log_event
from resilience.backoff import full_jitter_delay

__all__ = ["ADMIN_MENU_LIMIT", "CommandMenus", "MenuRegistrar"]

logger = logging.getLogger(__name__)

ADMIN_MENU_LIMIT = 100
"""Admin menus set at most (the first ids in config order): one call each, in sequence."""

Menu = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandMenus:
    """What to register: the public menu, the admins' menu, and who the admins are."""

    public: Menu = ()
    admin: Menu = ()
    admin_ids: tuple[int, ...] = ()


class MenuRegistrar:
    """Sets the menus once at start-up and again for an admin skipped because unknown then."""

    def __init__(self, *, bot: Bot, menus: CommandMenus, retry_base_s: float, retry_cap_s: float,
                 redact: Callable[[object], str], rng: random.Random) -> None:
        self._bot = bot
        self._menus = menus
        self._retry_base_s = retry_base_s
        self._retry_cap_s = retry_cap_s
        self._redact = redact
        self._rng = rng
        self._unknown_admins: set[int] = set()

    async def register(self) -> None:
        """The public menu (retried until settled), then each admin's, one after another."""
        public = self._menus.public
        error = await self._until_settled(lambda: self._bot.set_my_commands(_commands(public)),
                                          scope="default")
        if error is None:
            log_event(logger, "telegram.commands_set", logging.INFO, scope="default",
                      count=len(public))
        else:
            log_event(logger, "telegram.startup_call_failed", logging.ERROR, call="setMyCommands",
                      scope="default", retry_in_s=None, error=self._redact(error))
        admin_ids = tuple(dict.fromkeys(self._menus.admin_ids))
        if len(admin_ids) > ADMIN_MENU_LIMIT:
            log_event(logger, "telegram.admin_menus_capped", logging.WARNING,
                      configured=len(admin_ids), limit=ADMIN_MENU_LIMIT)
        for admin_id in admin_ids[:ADMIN_MENU_LIMIT]:
            await self.set_admin_menu(admin_id)

    async def set_admin_menu(self, admin_id: int) -> None:
        """The admin menu in ``admin_id``'s private chat; a refusal is logged, not retried."""
        menu = self._menus.admin
        error = await self._until_settled(
            lambda: self._bot.set_my_commands(_commands(menu),
                                              scope=BotCommandScopeChat(chat_id=admin_id)),
            scope="chat", admin_id=admin_id)
        if error is None:
            log_event(logger, "telegram.commands_set", logging.INFO, scope="chat",
                      admin_id=admin_id, count=len(menu))
            return
        if isinstance(error, BadRequest) and "chat not found" in error.message.lower():
            self._unknown_admins.add(admin_id)  # set once they write to the bot
        log_event(logger, "telegram.admin_menu_skipped", logging.WARNING, admin_id=admin_id,
                  error=self._redact(error))

    def claim_unknown_admin(self, chat_id: int, user_id: int, chat_type: str) -> bool:
        """True once for an admin skipped as unknown whose private chat now exists."""
        if chat_type != "private" or chat_id != user_id or user_id not in self._unknown_admins:
            return False
        self._unknown_admins.discard(user_id)
        return True

    async def _until_settled(self, send: Callable[[], Awaitable[object]], *, scope: str,
                             admin_id: int | None = None) -> TelegramError | None:
        """Run ``send`` until Telegram answers: None when it accepted, else its refusal.

        Network errors (5xx and timeouts included) and 429s are retried; anything else
        (BadRequest, Forbidden, ...) would be refused again and is returned.
        """
        attempt = 0
        while True:
            try:
                await send()
                return None
            except BadRequest as error:  # a NetworkError subclass in PTB, but final
                return error
            except (NetworkError, RetryAfter) as error:
                attempt += 1
                if isinstance(error, RetryAfter):
                    delay = retry_after_seconds(error)
                else:
                    delay = full_jitter_delay(attempt - 1, base_s=self._retry_base_s,
                                              cap_s=self._retry_cap_s, rng=self._rng)
                log_event(logger, "telegram.startup_call_failed", logging.WARNING,
                          call="setMyCommands", attempt=attempt, retry_in_s=round(delay, 3),
                          error=self._redact(error), scope=scope, admin_id=admin_id)
                await asyncio.sleep(delay)
            except TelegramError as error:
                return error


def _commands(menu: Menu) -> list[BotCommand]:
    return [BotCommand(name, description) for name, description in menu]
