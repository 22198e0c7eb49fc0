"""The asyncio side of the Telegram transport: PTB's lifecycle on an event loop of its own.

Why a thread of its own: python-telegram-bot is asyncio, actors are threads. One event loop on
one thread hosts the ``Application`` (polling or webhook), the update handler and the
:class:`~actors.telegram_outbox.Outbox`. The actor hands replies over with
``call_soon_threadsafe`` and waits on the loop only to start and stop it, with timeouts.

Start: ``initialize`` (getMe) -> ``start`` -> ``updater.start_polling`` (deleteWebhook, then
getUpdates long polls) or ``start_webhook``; then the outbox and a task that sets the command
menus (:mod:`actors.telegram_menus`: the public one, then each admin's). Stop: the reverse, and
every reply not yet delivered is reported failed. The token never leaves this module in an error
or log line.

With Redis (``shared``) PTB's updater does not poll: :class:`~actors.update_relay.UpdateRelay`
polls while this instance holds the lease, feeds entries of the shared stream to the same
handlers through ``process_update``, and acks each once its replies are out (the outbox's
``on_settled`` and the conversation's ``RequestClosed``); webhook POSTs go into the stream.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from telegram import Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ContextTypes,
    InlineQueryHandler,
    TypeHandler,
)
from telegram.request import HTTPXRequest

from actors.telegram_inline import InlineAnswerer
from actors.telegram_menus import CommandMenus, MenuRegistrar
from actors.telegram_outbox import Outbox
from actors.telegram_stats import TransportCounters, TransportStats
from actors.telegram_updates_request import UpdatesRequest
from actors.telegram_webhook import WebhookSettings
from actors.update_poller import StreamQueue
from actors.update_relay import UpdateRelay
from actors.update_settings import RelayTuning, SharedStream
from cluster.flood_budget import FloodBudget
from chat.outbound import DeliveryPolicy, OutboundLimits
from core.errors import BotError, PermanentFault
from core.logs import Redactor, log_event
from messages.chat import ChatAction, ChatReply, ReplyFailed
from messages.inline import InlineAnswer

__all__ = ["TelegramLoop", "TokenRejected", "TransportError", "TransportTuning",
           "quiet_token_leaking_loggers"]

logger = logging.getLogger(__name__)

# Loggers that print the token-bearing URL: httpx/httpcore every request at INFO, PTB's Bot
# "Set Bot API URL: ..." at DEBUG. Redaction covers formatted output; these keep it off records.
_LEAKY_LOGGERS = (("httpx", logging.WARNING), ("httpcore", logging.WARNING),
                  ("telegram.Bot", logging.INFO), ("telegram.ext.ExtBot", logging.INFO))
_UPDATE_TYPES = ["message", "callback_query", "inline_query"]


class TransportError(BotError):
    """The Telegram transport could not start or lost its event loop (no token inside)."""


class TokenRejected(TransportError, PermanentFault):
    """The Bot API refused the token (401 on getMe): no restart fixes that, the bot exits 2."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TransportTuning:
    """Knobs of the transport that are not user settings (tests make them fast)."""

    limits: OutboundLimits = OutboundLimits()
    """Our side of Telegram's flood limits."""
    delivery: DeliveryPolicy = DeliveryPolicy()
    """Retries before a reply is reported failed."""
    poll_timeout_s: int = 10
    """getUpdates long-poll length."""
    request_timeout_s: float = 15.0
    """Read and write timeout of ordinary calls."""
    connect_timeout_s: float = 5.0
    pool_timeout_s: float = 5.0
    media_write_timeout_s: float = 30.0
    lifecycle_timeout_s: float = 30.0
    """Longest wait for PTB to start or to stop."""
    startup_retry_base_s: float = 2.0
    """First delay before retrying setMyCommands (each menu's call)."""
    startup_retry_cap_s: float = 300.0
    slot_capacity: int = 4096
    """Reply slots remembered (least recently used forgotten)."""
    bootstrap_retries: int = 2
    """deleteWebhook/setWebhook retries at start."""
    relay: RelayTuning = RelayTuning()
    """The polling lease and the shared update stream (only with Redis)."""
    flood_gate: FloodBudget | None = None
    """The flood budget shared by every instance (``redis_url``); None: local limits only."""


def quiet_token_leaking_loggers() -> None:
    """Raise the loggers that print the token to a level where they no longer do."""
    for name, level in _LEAKY_LOGGERS:
        named = logging.getLogger(name)
        if named.level < level:
            named.setLevel(level)


class TelegramLoop:
    """PTB on an event-loop thread plus the outbound queue; thread-safe entry points only."""

    def __init__(self, *, token: str, api_url: str, on_update: Callable[[Update, float], None],
                 on_failed: Callable[[ReplyFailed], None], menus: CommandMenus = CommandMenus(),
                 webhook: WebhookSettings | None = None,
                 tuning: TransportTuning = TransportTuning(),
                 name: str = "telegram", clock: Callable[[], float] = time.monotonic,
                 shared: SharedStream | None = None) -> None:
        self._token = token
        self._api_url = api_url
        self._on_update = on_update
        self._on_failed = on_failed
        self._menus = menus
        self._webhook = webhook
        self._tuning = tuning
        self._name = name
        self._clock = clock
        self._redactor = Redactor([token] if webhook is None else [token, webhook.secret_token])
        self._inline = InlineAnswerer(redact=self._redact)  # answers in flight, bounded
        self._rng = random.Random()
        self.stats = TransportCounters()
        self._outbox: Outbox | None = None
        self._registrar: MenuRegistrar | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._app: Application[Any, Any, Any, Any, Any, Any] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._requests: tuple[HTTPXRequest, ...] = ()
        # With Redis: updates go through the shared stream (actors.update_relay).
        self._shared = shared
        self._relay: UpdateRelay | None = None
        self._thawed = threading.Event()  # kill() freezes the loop until this is set

    # -- thread-safe entry points --------------------------------------------------------------

    def start(self) -> None:
        """Start the loop thread, then PTB (getMe, deleteWebhook, polling).

        Raises TransportError (never showing the token) when Telegram cannot be reached or
        refuses the token.
        """
        os.environ.setdefault("PTB_TIMEDELTA", "true")  # else reading RetryAfter warns (v22.2+)
        quiet_token_leaking_loggers()
        if self._thread is not None:
            raise TransportError("the Telegram transport was already started")
        loop = self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, args=(loop,),
                                        name=f"{self._name}-loop", daemon=True)
        self._thread.start()
        self._run_blocking(self._start_app(), "start")

    def stop(self) -> None:
        """Stop PTB, report queued replies as failed, end the loop thread; each step bounded."""
        self._thawed.set()
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or not thread.is_alive():
            return
        try:
            self._run_blocking(self._stop_app(), "stop")
        except TransportError as error:
            log_event(logger, "telegram.stop_incomplete", logging.WARNING, transport=self._name,
                      reason=str(error))
        loop.call_soon_threadsafe(loop.stop)
        thread.join(self._tuning.lifecycle_timeout_s)

    def submit(self, reply: ChatReply) -> None:
        """Queue ``reply`` for sending (its callback answer goes at once)."""
        self._call_soon(lambda: self._accept(reply))

    def request_closed(self, request_id: str) -> None:
        """The conversation handed over every reply of ``request_id`` (stream mode: it is
        acked once they are out); nothing to do without Redis."""
        if self._shared is not None:
            self._call_soon(lambda: self._relay_closed(request_id))

    def stream_request_id(self, update: Update) -> str | None:
        """Loop thread: the request id for an update fed from the shared stream, else None."""
        return None if self._relay is None else self._relay.request_id_of(update)

    def snapshot(self) -> TransportStats:
        """The transport's figures, with the shared stream's when there is one."""
        stats, relay = self.stats.snapshot(), self._relay
        return stats if relay is None else dataclasses.replace(stats, stream=relay.snapshot())

    def kill(self, frozen_s: float = 600.0) -> None:
        """Play a process killed with -9 (takeover tests): the relay halts without giving up
        the lease or acking anything, and the loop freezes for ``frozen_s`` or until ``stop``,
        which then cleans up as usual; meanwhile nothing is polled, read, sent or acked."""
        loop = self._loop
        if self._relay is not None:
            self._relay.halt()
        if loop is not None and not loop.is_closed():
            self._thawed.clear()
            loop.call_soon_threadsafe(self._thawed.wait, frozen_s)

    def send_action(self, action: ChatAction) -> None:
        """Show "typing…" (or similar) in a chat, best effort."""
        self._call_soon(lambda: self._spawn(self._require_outbox().send_action(action)))

    def answer_callback(self, callback_id: str, text: str | None = None) -> None:
        """Stop a button's spinner (for presses nobody else will answer)."""
        self._call_soon(
            lambda: self._spawn(self._require_outbox().answer_callback(callback_id, text)))

    def answer_inline(self, answer: InlineAnswer) -> None:
        """Answer an inline query at once, never queued (``actors.telegram_inline``)."""
        if self._app is None:
            raise TransportError("the Telegram transport has not started")
        bot = self._app.bot
        self._call_soon(lambda: self._spawn(self._inline.answer(bot, answer)))

    # -- lifecycle (loop thread) ---------------------------------------------------------------

    @staticmethod
    def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def _run_blocking(self, work: Coroutine[Any, Any, None], what: str) -> None:
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(work, self._loop)
        try:
            future.result(self._tuning.lifecycle_timeout_s)
        except TimeoutError:
            future.cancel()
            raise TransportError(f"Telegram transport did not {what} within "
                                 f"{self._tuning.lifecycle_timeout_s}s") from None
        except InvalidToken:
            # PTB's message quotes the token; say what happened without it or its chain.
            raise TokenRejected("Telegram rejected the bot token (401 Unauthorized): set "
                                "TELEGRAM_BOT_TOKEN to the token @BotFather gave this bot") from None
        except TelegramError as error:
            raise TransportError(f"Telegram transport could not {what}: "
                                 f"{self._redact(error)}") from None
        except RuntimeError as error:  # e.g. webhook mode without the webhooks extra
            raise TransportError(f"Telegram transport could not {what}: "
                                 f"{self._redact(error)}") from None

    def _call_soon(self, callback: Callable[[], object]) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or not thread.is_alive() or loop.is_closed():
            raise TransportError("the Telegram event loop is not running")
        loop.call_soon_threadsafe(callback)

    def _build_app(self) -> Application[Any, Any, Any, Any, Any, Any]:
        tuning = self._tuning
        # Telegram takes ~30 calls/s; at up to 0.3 s a call that is <= 9 in flight. 16 leaves
        # room and bounds the keep-alive sockets (and so the fds) a busy hour leaves open.
        request = HTTPXRequest(connection_pool_size=16, read_timeout=tuning.request_timeout_s,
                               write_timeout=tuning.request_timeout_s,
                               connect_timeout=tuning.connect_timeout_s,
                               pool_timeout=tuning.pool_timeout_s,
                               media_write_timeout=tuning.media_write_timeout_s)
        # PTB adds the long-poll timeout to this read timeout for getUpdates.
        updates_request = UpdatesRequest(connection_pool_size=2,
                                          read_timeout=tuning.request_timeout_s,
                                          connect_timeout=tuning.connect_timeout_s,
                                          pool_timeout=tuning.pool_timeout_s)
        self._requests = (request, updates_request)
        builder = (ApplicationBuilder().token(self._token).base_url(self._api_url)
                   .request(request).get_updates_request(updates_request).job_queue(None))
        if self._shared is not None and self._webhook is not None:
            # A POST is answered once its update is in the shared stream (update_poller).
            builder = builder.update_queue(StreamQueue(self._append_webhook_update))
        app = builder.build()
        # In one group the first matching handler wins: inline queries through PTB's
        # InlineQueryHandler, everything else through the TypeHandler; both reach the same
        # converter (actors.telegram_io.convert_update), so there is one path per update.
        app.add_handler(InlineQueryHandler(self._handle_update), group=0)
        app.add_handler(TypeHandler(Update, self._handle_update), group=0)
        app.add_error_handler(self._handle_error)
        return app

    async def _start_app(self) -> None:
        app = self._app = self._build_app()
        await app.initialize()
        await app.start()
        if self._shared is not None:  # before the webhook server: its POSTs go to the relay
            self._relay = UpdateRelay(shared=self._shared, app=app,
                                      loop=asyncio.get_running_loop(),
                                      polls=self._webhook is None, tuning=self._tuning.relay,
                                      poll_timeout_s=self._tuning.poll_timeout_s,
                                      allowed_updates=_UPDATE_TYPES, redact=self._redact,
                                      clock=self._clock)
        assert app.updater is not None
        tuning = self._tuning
        if self._webhook is None and self._shared is not None:
            pass  # the lease holder polls (actors.update_relay), not PTB's updater
        elif self._webhook is None:
            await app.updater.start_polling(
                timeout=timedelta(seconds=tuning.poll_timeout_s),
                bootstrap_retries=tuning.bootstrap_retries, allowed_updates=_UPDATE_TYPES,
                error_callback=self._polling_error)
        else:
            path = urlsplit(self._webhook.url).path.lstrip("/")
            await app.updater.start_webhook(
                listen=self._webhook.listen, port=self._webhook.port, url_path=path,
                webhook_url=self._webhook.url, allowed_updates=_UPDATE_TYPES,
                bootstrap_retries=tuning.bootstrap_retries,
                secret_token=self._webhook.secret_token)
        self._outbox = Outbox(bot=app.bot, policy=tuning.delivery, limits=tuning.limits,
                              slot_capacity=tuning.slot_capacity, stats=self.stats,
                              on_failed=self._on_failed, redact=self._redact, spawn=self._spawn,
                              clock=self._clock, rng=self._rng, gate=tuning.flood_gate,
                              on_settled=None if self._shared is None else self._reply_settled,
                              still_ours=None if self._relay is None else self._relay.still_ours)
        self._spawn(self._outbox.dispatch_forever())
        if self._relay is not None:
            self._relay.start()  # reads and polls from here on
        self._registrar = MenuRegistrar(bot=app.bot, menus=self._menus,
                                        retry_base_s=tuning.startup_retry_base_s,
                                        retry_cap_s=tuning.startup_retry_cap_s,
                                        redact=self._redact, rng=self._rng)
        self._spawn(self._registrar.register())

    async def _stop_app(self) -> None:
        app = self._app
        if self._relay is not None:
            await self._relay.stop()  # first: no entry is acked for a reply abandoned below
        if app is not None and app.updater is not None and app.updater.running:
            await app.updater.stop()  # no new updates from here on
        background = set(self._background)
        for task in background:
            task.cancel()
        if background:
            await asyncio.wait(background, timeout=self._tuning.lifecycle_timeout_s)
        if self._outbox is not None:
            abandoned = self._outbox.abandon("transport stopped before sending it")
            if abandoned:
                log_event(logger, "telegram.replies_abandoned", logging.WARNING,
                          transport=self._name, replies=abandoned)
        if app is not None:
            if app.running:
                await app.stop()
            await app.shutdown()
        for request in self._requests:
            # app.shutdown() skips them when initialize() failed half-way (a rejected token).
            await request.shutdown()

    def _accept(self, reply: ChatReply) -> None:
        if self._relay is not None:
            self._relay.accepted(reply.request_id)
        self._require_outbox().accept(reply)

    def _relay_closed(self, request_id: str) -> None:
        if self._relay is not None:
            self._relay.closed(request_id)

    def _reply_settled(self, request_id: str) -> None:
        if self._relay is not None:
            self._relay.settled(request_id)

    async def _append_webhook_update(self, update: Update) -> None:
        if self._relay is None:
            raise TransportError("a webhook update arrived before the stream relay started")
        await self._relay.append_webhook_update(update)

    def _require_outbox(self) -> Outbox:
        if self._outbox is None:
            raise TransportError("the Telegram transport has not started")
        return self._outbox

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- inbound (loop thread) ------------------------------------------------------------------

    async def _handle_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        self.stats.updates += 1
        self._on_update(update, self._clock())
        chat, user, registrar = update.effective_chat, update.effective_user, self._registrar
        if (chat is not None and user is not None and registrar is not None
                and registrar.claim_unknown_admin(chat.id, user.id, chat.type)):
            self._spawn(registrar.set_admin_menu(user.id))  # their chat exists now

    async def _handle_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log_event(logger, "telegram.handler_error", logging.ERROR, transport=self._name,
                  error=self._redact(context.error))

    def _polling_error(self, error: TelegramError) -> None:
        log_event(logger, "telegram.polling_error", logging.WARNING, transport=self._name,
                  error=self._redact(error))

    def _redact(self, error: object) -> str:
        text = f"{type(error).__name__}: {error}" if isinstance(error, Exception) else str(error)
        return self._redactor.redact(text)
