"""The Telegram transport actor: updates in as ChatCommand/ButtonPressed, ChatReply out.

A thin shell (the supervision tree knows it as "transport"): ``setup`` starts
:class:`~actors.telegram_loop.TelegramLoop`, which runs python-telegram-bot on an event loop of
its own, ``release`` stops it, and ``handle`` passes replies and chat actions to that loop
without waiting. Each update is turned into an immutable message by :func:`convert_update`
(which reads a text message's meaning, once, with the bot's username: ``ChatCommand.parsed``)
and *told* to the conversation actor from the loop thread; nothing here ever waits on an actor.
An inline query becomes an ``InlineQueryReceived``; its ``InlineAnswer`` comes back here.
Anything that is not a text message, a callback button or an inline query (edits, channel
posts, photos, unknown kinds) is logged as ``telegram.update_ignored`` and dropped; a press
that is ignored still gets its callback answered so the user's spinner stops.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from telegram import Message, Update
from telegram.constants import UpdateType

from actors.telegram_menus import CommandMenus
from actors.telegram_loop import TelegramLoop, TransportTuning
from actors.flood_gate import flood_gate
from actors.shared_link import shared_link
from actors.update_settings import SharedStream
from actors.telegram_webhook import WebhookSettings, exposure_warning
from chat.outbound import OutboundLimits
from chat.commands import menu_commands
from chat.inline_query import QUERY_MAX
from chat.parsing import NotACommand, read_text
from core.config import BotConfig, with_webhook_secret
from core.errors import ConfigError
from core.instance import InstanceId, this_instance
from core.logs import log_event, new_request_id
from messages.chat import ButtonPressed, ChatAction, ChatCommand, ChatReply, RequestClosed
from messages.inline import InlineAnswer, InlineQueryReceived
from supervision.actor import SupervisedActor
from supervision.address import Address
from supervision.context import ChildContext
from core.stats import NO_STATS, ActorStats

__all__ = ["SHARED_SENDER_IDS", "IgnoredUpdate", "TelegramIO", "convert_update"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IgnoredUpdate:
    """An update the bot does not act on, and why."""

    kind: str
    """The update's type ("edited_message", "channel_post", ... or "unknown")."""
    reason: str
    """Why it is ignored."""
    callback_id: str | None = None
    """Set for ignored button presses: they must still be answered."""


def _kind_of(update: Update) -> str:
    for kind in UpdateType:
        if getattr(update, kind.value, None) is not None:
            return str(kind.value)
    return "unknown"


def _bot_username(update: Update) -> str | None:
    try:
        return update.get_bot().username
    except RuntimeError:  # an update built without a bot, or a bot not initialised yet
        return None


def convert_update(
    update: Update, received_at: float, bot_username: str | None = None,
    request_id: str | None = None,
) -> ChatCommand | ButtonPressed | InlineQueryReceived | IgnoredUpdate:
    """The message an update becomes for the conversation, each with a fresh request id
    unless ``request_id`` is given (an update from the shared stream: derived from its id).

    ``bot_username`` tells ``/price@ThisBot`` (ours) from ``/price@OtherBot`` (ignored).
    """
    request_id = request_id or new_request_id()
    message = update.message
    if message is not None:
        if message.text is None:
            return IgnoredUpdate("message", "no text")
        if message.from_user is None or message.chat.type == "channel":
            return IgnoredUpdate("message", "no user sender")
        sender = _sender(message)
        if isinstance(sender, str):
            return IgnoredUpdate("message", sender)
        identity, username = sender
        parsed = read_text(message.text, bot_username)
        if isinstance(parsed, NotACommand) and parsed.addressed_elsewhere:
            return IgnoredUpdate("message", "a command for another bot")
        return ChatCommand(request_id=request_id, chat_id=message.chat.id,
                           user_id=identity, text=message.text, parsed=parsed,
                           chat_type=message.chat.type, username=username,
                           message_id=message.message_id, received_at=received_at)
    query = update.callback_query
    if query is not None:
        if query.data is None:
            return IgnoredUpdate("callback_query", "no callback data", query.id)
        if query.message is None:
            return IgnoredUpdate("callback_query", "inline message", query.id)
        return ButtonPressed(request_id=request_id, chat_id=query.message.chat.id,
                             user_id=query.from_user.id, message_id=query.message.message_id,
                             callback_id=query.id, data=query.data,
                             chat_type=query.message.chat.type, received_at=received_at,
                             data_on_message=query.data in _keyboard_data(query.message),
                             message_date=query.message.date.timestamp())
    inline = update.inline_query
    if inline is not None:
        return InlineQueryReceived(request_id=request_id, query_id=inline.id,
                                   user_id=inline.from_user.id, query=inline.query[:QUERY_MAX],
                                   offset=inline.offset, chat_type=inline.chat_type,
                                   received_at=received_at)
    return IgnoredUpdate(_kind_of(update), "not a message, a button press or an inline query")


SHARED_SENDER_IDS = frozenset({1087968824, 136817688, 777000})
"""Telegram's stand-in senders: GroupAnonymousBot (anonymous group admins, in every group),
Channel_Bot (messages posted as a channel) and Telegram (automatic forwards). The real
sender of such a message is its ``sender_chat``."""


def _sender(message: Message) -> tuple[int, str | None] | str:
    """Who a message speaks for, as (identity, username), or why it is ignored.

    Several senders share one ``from.id`` (see :data:`SHARED_SENDER_IDS`), so keying by it
    gave every anonymous admin of every group one identity: one's alerts were listed and
    deleted by another. A message sent on behalf of a chat is keyed by that chat's id
    instead, which is negative and so never a user's: an anonymous admin acts as their group,
    a post as a channel as that channel (their alerts, watchlist and rate budget; never an
    admin or an allowed user). An automatic forward is a copy of a channel post, said to the
    channel's readers rather than to the bot, so it is ignored.
    """
    assert message.from_user is not None
    if message.is_automatic_forward or message.from_user.id == 777000:
        return "an automatic forward of a channel post"
    chat = message.sender_chat
    if chat is not None:
        if chat.id >= 0:  # a chat id is negative; anything else would pose as a user
            return "sender_chat with a non-negative id"
        return chat.id, chat.username
    if message.from_user.id in SHARED_SENDER_IDS:
        return "a shared Telegram sender without sender_chat"
    return message.from_user.id, message.from_user.username


def _keyboard_data(message: object) -> frozenset[str]:
    """The callback data of the buttons Telegram says ``message`` carries (none if unknown)."""
    markup = getattr(message, "reply_markup", None)  # absent on an InaccessibleMessage
    rows = getattr(markup, "inline_keyboard", None) or ()
    return frozenset(button.callback_data for row in rows for button in row
                     if isinstance(button.callback_data, str))


class _UpdateRouter:
    """Runs on the loop thread: converts each update and tells the conversation."""

    def __init__(self, conversation: Address, loop: TelegramLoop, name: str) -> None:
        self._conversation = conversation
        self._loop = loop
        self._stats = loop.stats
        self._name = name

    def __call__(self, update: Update, received_at: float) -> None:
        request_id = self._loop.stream_request_id(update)  # None without Redis
        converted = convert_update(update, received_at, _bot_username(update), request_id)
        if isinstance(converted, IgnoredUpdate):
            self._stats.ignored_updates += 1
            log_event(logger, "telegram.update_ignored", logging.INFO, transport=self._name,
                      update_id=update.update_id, kind=converted.kind, reason=converted.reason)
            if converted.callback_id is not None:
                self._loop.answer_callback(converted.callback_id)
            if request_id is not None:
                self._loop.request_closed(request_id)  # nothing to answer: ack it
            return
        self._conversation.tell(converted)


class TelegramIO(SupervisedActor):
    """Hosts the PTB application; forwards updates and sends replies within Telegram's limits."""

    def __init__(self, ctx: ChildContext, *, config: BotConfig, conversation: str = "conversation",
                 name_for_logs: str = "telegram", tuning: TransportTuning | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 instance: InstanceId | None = None) -> None:
        super().__init__(ctx)
        self._config = config
        self._instance = instance or this_instance(config.instance_name)
        self._conversation = ctx.directory[conversation]
        self._name = name_for_logs
        # The flood limits are settings; the rest of the tuning is for tests.
        self._tuning = tuning if tuning is not None else TransportTuning(limits=OutboundLimits(
            chat_burst=config.telegram_chat_burst, chat_per_s=config.telegram_chat_per_s,
            group_burst=config.telegram_group_burst, global_calls=config.telegram_global_per_s,
            max_queued_per_chat=config.telegram_queue_per_chat))
        self._clock = clock
        self._loop: TelegramLoop | None = None
        self._router: _UpdateRouter | None = None

    def setup(self) -> None:
        config = self._config
        token = config.telegram_token
        if not token:
            raise ConfigError("telegram_token", "<unset>", "a bot token (set TELEGRAM_BOT_TOKEN)")
        webhook = None
        if config.telegram_mode == "webhook":
            # bot.py generates the secret before logging starts (so the redactor knows it);
            # a config built elsewhere still never gets a webhook without one.
            secret = config.webhook_secret_token or with_webhook_secret(config).webhook_secret_token
            assert secret is not None
            webhook = WebhookSettings(listen=config.webhook_listen, port=config.webhook_port,
                                      url=config.webhook_url, secret_token=secret,
                                      behind_tls_proxy=config.webhook_behind_tls_proxy)
            warning = exposure_warning(webhook)
            if warning is not None:
                log_event(logger, "telegram.webhook_exposed", logging.WARNING,
                          transport=self._name, reason=warning)
        tuning = self._tuning
        if tuning.flood_gate is None:  # redis_url set: the flood budget every instance shares
            tuning = dataclasses.replace(tuning, flood_gate=flood_gate(
                config, tuning.limits, this_instance(config.instance_name)))
        loop = TelegramLoop(token=token, api_url=config.telegram_api_url,
                            on_update=self._route, on_failed=self._conversation.tell,  # ReplyFailed
                            menus=CommandMenus(public=menu_commands(admin=False),
                                               admin=menu_commands(admin=True),
                                               admin_ids=config.admin_ids),
                            webhook=webhook, tuning=tuning,
                            name=self._name, clock=self._clock, shared=self._shared_stream())
        self._router = _UpdateRouter(self._conversation, loop, self._name)
        self._loop = loop
        loop.start()
        log_event(logger, "telegram.started", logging.INFO, transport=self._name,
                  mode=config.telegram_mode, api_host=urlsplit(config.telegram_api_url).netloc)

    def release(self) -> None:
        loop, self._loop = self._loop, None
        if loop is not None:
            loop.stop()

    def handle(self, message: Any) -> Any:
        match message:
            case ChatReply():
                return self._on_reply(message)
            case ChatAction():
                return self._on_action(message)
            case InlineAnswer():
                return self._running_loop().answer_inline(message)
            case RequestClosed():
                return self._running_loop().request_closed(message.request_id)
        return super().handle(message)

    def stats(self) -> ActorStats:
        loop = self._loop
        if loop is None:
            return NO_STATS
        return loop.snapshot()

    def _shared_stream(self) -> SharedStream | None:
        """With CRYPTOBOT_REDIS_URL: the shared update stream this instance joins."""
        link = shared_link(self._config, self._instance)
        return None if link is None else SharedStream(link=link, consumer=self._instance.key)

    def _on_reply(self, message: ChatReply) -> None:
        self._running_loop().submit(message)

    def _on_action(self, message: ChatAction) -> None:
        self._running_loop().send_action(message)

    def _running_loop(self) -> TelegramLoop:
        # A dead loop raises here: the actor fails, restarts, and gets this message again.
        loop = self._loop
        assert loop is not None, "handle() before setup()"
        return loop

    def _route(self, update: Update, received_at: float) -> None:
        """Loop thread: forward one update (kept tiny; the router does the work)."""
        router = self._router
        if router is not None:
            router(update, received_at)
