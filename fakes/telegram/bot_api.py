"""A fake Telegram Bot API server on loopback: the real PTB stack talks to it in tests and demos.

Why: the transport must be tested with python-telegram-bot itself (its encoding, its error
mapping, its polling loop), without Telegram's network and without a real token. ``FakeBotApi``
serves ``/bot<token>/<method>`` with real status codes and descriptions, validates what the real
server validates (HTML entities, 4096/1024/200/64-byte limits, keyboards, commands), enforces
the flood limits (429 with retry_after), and misbehaves on demand (429, 5xx, dropped
connections, slow answers). Tests drive it in-process (push a user message, read what the bot
sent, wait for a condition); the bench and soak runs use the same controls over HTTP under
``/_fake``. Semantics live in ``fakes.telegram.state`` and ``fakes.telegram.rules``; this module
holds the lock, owns the threads and does the long poll. See docs/telegram.md.
"""

from __future__ import annotations

import argparse
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from fakes.faults import FaultBook, FaultMode, FaultRule
from fakes.loopback import LOOPBACK, LoopbackService, serve_until_signalled
from fakes.telegram.control import CONTROL_SUMMARY, handle_control
from fakes.telegram.http import BodyError, BotApiHandler
from fakes.telegram.menus import DEFAULT_SCOPE, Scope, parse_scope
from fakes.telegram.records import CallRecord, InlineAnswerRecord, SentRecord
from fakes.telegram.rules import BOT_API_FAULTS, BotApiError, FloodControl, FloodRules
from fakes.telegram.state import BotApiState

__all__ = ["CallRecord", "DEMO_TOKEN", "FakeBotApi", "FloodRules", "InlineAnswerRecord",
           "SentRecord", "main"]

_log = logging.getLogger(__name__)

_LONG_POLL_CAP_S = 50.0
DEMO_TOKEN = "1000001:FAKE-local-token-for-demos-only-xyz"


class FakeBotApi(LoopbackService):
    """Telegram's Bot API on ``http://127.0.0.1:<port>``, for one bot token.

    Use as a context manager, or ``start()``/``stop()``. ``clock`` (monotonic seconds) drives
    the flood limits and the ``at`` of every record.
    """

    service_name = "fake Bot API"
    thread_name = "fake-bot-api"
    handler_class = BotApiHandler

    def __init__(self, *, token: str, host: str = LOOPBACK, port: int = 0,
                 enforce_limits: bool = True, clock: Callable[[], float] = time.monotonic,
                 flood: FloodRules = FloodRules()) -> None:
        super().__init__(host=host, port=port)
        if not token:
            raise ValueError("token must not be empty")
        self._token = token
        self._clock = clock
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        flood_control = FloodControl(flood) if enforce_limits else None
        self._state = BotApiState(token=token, flood=flood_control, clock=clock)
        self._faults = FaultBook(BOT_API_FAULTS.target_key)
        self._polls_held = 0
        self._polls_peak = 0

    def _release_held(self, timeout_s: float) -> None:
        with self._changed:
            self._changed.notify_all()
            # Held long polls answer [] now; let them finish writing before sockets are cut.
            self._changed.wait_for(lambda: self._polls_held == 0, min(timeout_s, 1.0))

    @property
    def base_url(self) -> str:
        """python-telegram-bot's ``base_url`` (it appends the token and the method)."""
        return f"{self.url}/bot"

    @property
    def control_url(self) -> str:
        return f"{self.url}/_fake"

    # -- driving: what users do ----------------------------------------------------------------

    def push_message(self, chat_id: int, user_id: int, text: str, chat_type: str = "private",
                     username: str | None = None) -> int:
        """A user sends ``text``; returns the update_id. Commands get a bot_command entity.

        A user who blocked the bot cannot write to it in private (their app unblocks first):
        ValueError, so a test cannot model what Telegram does not allow."""
        with self._changed:
            if chat_type == "private" and self._state.blocks.is_blocked(user_id):
                raise ValueError(f"user {user_id} blocked the bot: unblock() first")
            update_id = self._state.push_message(chat_id, user_id, text, chat_type, username)
            self._changed.notify_all()
            return update_id

    def push_callback(self, chat_id: int, user_id: int, message_id: int, data: str) -> str:
        """A user presses a button with ``data`` under ``message_id``; returns the query id."""
        with self._changed:
            callback_id = self._state.push_callback(chat_id, user_id, message_id, data)
            self._changed.notify_all()
            return callback_id

    def push_inline_query(self, user_id: int, query: str, *, offset: str = "",
                          chat_type: str | None = "sender", username: str | None = None) -> str:
        """A user types ``@bot query`` (one update per keystroke); returns the query id."""
        with self._changed:
            query_id, inline = self._state.inline.new_query(
                user_id, query, offset=offset, chat_type=chat_type, username=username)
            self._state.push_update({"inline_query": inline})
            self._changed.notify_all()
            return query_id


    def block(self, user_id: int) -> int:
        """The user blocks the bot: sends to their private chat get 403 until :meth:`unblock`.
        Queues the ``my_chat_member`` update (status ``kicked``) Telegram sends; its update_id."""
        return self._change_block(user_id, blocked=True)

    def unblock(self, user_id: int) -> int:
        """The user unblocks the bot (``my_chat_member`` back to ``member``); the update_id."""
        return self._change_block(user_id, blocked=False)

    def _change_block(self, user_id: int, *, blocked: bool) -> int:
        with self._changed:
            update = self._state.blocks.change(user_id, self._state.bot_user, blocked=blocked)
            update_id = self._state.push_update(update)
            self._changed.notify_all()
            return update_id

    def push_raw_update(self, update: dict[str, Any]) -> int:
        """Queue any update object as is (its update_id is replaced); returns the update_id."""
        with self._changed:
            update_id = self._state.push_update(update)
            self._changed.notify_all()
            return update_id

    # -- reading: what the bot did -------------------------------------------------------------

    def sent(self, chat_id: int | None = None, method: str | None = None) -> list[SentRecord]:
        """Every accepted outgoing call (messages, edits, photos, answers, actions), in order."""
        with self._lock:
            return [record for record in self._state.sent
                    if (chat_id is None or record.chat_id == chat_id)
                    and (method is None or record.method == method)]

    def inline_answers(self, user_id: int | None = None) -> list[InlineAnswerRecord]:
        """Every accepted answerInlineQuery (of ``user_id``'s queries), in order."""
        with self._lock:
            return [record for record in self._state.inline.answers
                    if user_id is None or record.user_id == user_id]

    def calls(self, method: str | None = None) -> list[CallRecord]:
        """Every received Bot API call, rejected ones included, in order."""
        with self._lock:
            return [record for record in self._state.calls
                    if method is None or record.method.lower() == method.lower()]

    def commands(self, chat_id: int | None = None) -> tuple[tuple[str, str], ...]:
        """The menu last set with setMyCommands for the default scope, or for ``chat_id``'s
        ``{"type": "chat"}`` scope (what that chat sees over the default); empty if none."""
        scope = DEFAULT_SCOPE if chat_id is None else Scope("chat", chat_id)
        with self._lock:
            return self._state.menus.menu(scope)

    def pending_updates(self) -> int:
        """Updates not yet confirmed by a getUpdates offset."""
        with self._lock:
            return len(self._state.updates)

    def polling(self) -> int:
        """getUpdates long polls being held right now (1 while a bot polls and waits)."""
        with self._lock:
            return self._polls_held

    def most_polling(self) -> int:
        """The most getUpdates long polls ever held at once since the start or ``reset``
        (1 when one client at a time polled: several instances sharing a token)."""
        with self._lock:
            return self._polls_peak

    def too_many_requests_count(self) -> int:
        """429 answers so far (flood limits and injected ones)."""
        with self._lock:
            return self._state.too_many_requests

    def counters(self) -> dict[str, object]:
        with self._lock:
            per_method: dict[str, int] = {}
            for record in self._state.calls:
                per_method[record.method] = per_method.get(record.method, 0) + 1
            return {"calls": per_method, "statuses": dict(self._state.statuses),
                    "too_many_requests": self._state.too_many_requests,
                    "sent": len(self._state.sent), "pending_updates": len(self._state.updates),
                    "webhook_url": self._state.webhook_url}

    def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Block until ``predicate()`` is true (re-checked after every call); False on timeout."""
        with self._changed:
            return self._changed.wait_for(predicate, timeout)

    # -- controls ------------------------------------------------------------------------------

    def inject(self, method: str, mode: str, count: int | None = 1, *, retry_after_s: int = 1,
               status: int = 500, delay_s: float = 1.0) -> FaultRule:
        """Make the next ``count`` calls of ``method`` ("*" = any) fail as ``mode``.

        Modes: "429" (retry_after_s), "5xx" (status), "disconnect" or "drop" (close without
        answering), "slow" (wait delay_s, then answer). ``count=None`` lasts until
        ``clear_faults``. See ``fakes.faults`` for the rule model.
        """
        return self.add_fault(BOT_API_FAULTS.parse({
            "method": method, "mode": mode, "count": count, "retry_after_s": retry_after_s,
            "status": status, "delay_s": delay_s}))

    def add_fault(self, rule: FaultRule) -> FaultRule:
        """Activate ``rule`` (after every fault added before it)."""
        with self._lock:
            return self._faults.add(rule)

    def clear_faults(self) -> int:
        with self._lock:
            return self._faults.clear()

    def faults(self) -> list[dict[str, object]]:
        with self._lock:
            return self._faults.active()

    def reset(self) -> None:
        """Forget updates, chats, messages, records, commands, faults and flood state."""
        with self._changed:
            self._state.reset()
            self._faults.clear()
            self._polls_peak = self._polls_held
            self._changed.notify_all()

    # -- request handling (server threads) -----------------------------------------------------

    def _dispatch(self, handler: BotApiHandler, http_method: str) -> None:
        path = urlsplit(handler.path).path
        try:
            if path == "/_fake" or path.startswith("/_fake/"):
                handle_control(self, handler, http_method, path.rstrip("/"))
                return
            token, _, method = path.removeprefix("/bot").partition("/")
            if not path.startswith("/bot") or not method or "/" in method:
                handler.send_api_error(BotApiError(404, "Not Found"))
            elif token != self._token:
                self._answer_error(handler, method, None, BotApiError(401, "Unauthorized"))
            else:
                self._handle_api(handler, method)
        except OSError:
            handler.hang_up()  # the client went away mid-answer (a timeout, a stop): routine
        except Exception as error:  # a fake's bug must still answer, like a real 500
            _log.error("fake Bot API failed on %s: %s", http_method, type(error).__name__)
            handler.send_api_error(BotApiError(500, "Internal Server Error"))

    def _handle_api(self, handler: BotApiHandler, method: str) -> None:
        try:
            params, files = handler.read_params()
        except BodyError as error:
            self._answer_error(handler, method, None, BotApiError(400, f"Bad Request: {error}"))
            return
        chat_id = _chat_id(params)
        with self._lock:
            fault = self._faults.take(method.lower())
        if fault is not None and fault.mode is FaultMode.SLOW:
            if self._stopping.wait(fault.delay_s):
                fault = replace(fault, mode=FaultMode.DISCONNECT)
            else:
                fault = None
        if fault is not None:
            self._answer_fault(handler, method, chat_id, fault)
            return
        try:
            if method.lower() == "getupdates":
                result = self._long_poll(params)
            else:
                with self._changed:
                    result = self._state.call(method, params, files)
                    self._state.record_call(method, 200, chat_id)
                    self._changed.notify_all()
        except BotApiError as error:
            self._answer_error(handler, method, chat_id, error)
            return
        handler.send_json(200, {"ok": True, "result": result})

    def _long_poll(self, params: dict[str, Any]) -> object:
        offset = _number(params, "offset", 0)
        limit = min(max(_number(params, "limit", 100), 1), 100)
        timeout = min(max(_number(params, "timeout", 0), 0), _LONG_POLL_CAP_S)
        deadline = time.monotonic() + timeout
        with self._changed:
            if self._state.webhook_url:
                raise BotApiError(409, "Conflict: can't use getUpdates method while webhook is "
                                    "active; use deleteWebhook to delete the webhook first")
            self._state.confirm(offset)
            self._polls_held += 1
            self._polls_peak = max(self._polls_peak, self._polls_held)
            self._changed.notify_all()
            try:
                while True:
                    updates = self._state.pending_updates(limit)
                    remaining = deadline - time.monotonic()
                    if updates or remaining <= 0 or self._stopping.is_set():
                        self._state.record_call("getUpdates", 200, None)
                        return updates
                    self._changed.wait(remaining)
            finally:
                self._polls_held -= 1
                self._changed.notify_all()

    def _answer_fault(self, handler: BotApiHandler, method: str, chat_id: int | None,
                      fault: FaultRule) -> None:
        if fault.mode is FaultMode.DISCONNECT:
            with self._changed:
                self._state.record_call(method, 0, chat_id, "dropped", fault.mode.value)
                self._changed.notify_all()
            handler.hang_up()
            return
        if fault.mode is FaultMode.TOO_MANY_REQUESTS:
            seconds = fault.retry_after_s
            error = BotApiError(429, f"Too Many Requests: retry after {seconds}",
                                retry_after=seconds)
        else:
            error = BotApiError(fault.status, "Internal Server Error")
        self._answer_error(handler, method, chat_id, error, fault=fault.mode.value)

    def _answer_error(self, handler: BotApiHandler, method: str, chat_id: int | None,
                      error: BotApiError, fault: str | None = None) -> None:
        with self._changed:
            self._state.record_call(method, error.status, chat_id, error.description, fault)
            self._changed.notify_all()
        handler.send_api_error(error)


def _chat_id(params: dict[str, Any]) -> int | None:
    """The chat a call is about, for its record: chat_id, else a command scope's chat."""
    value = params.get("chat_id")
    if value is None and "scope" in params:
        try:
            return parse_scope(params["scope"]).chat_id
        except BotApiError:
            return None  # the call itself answers the 400
    try:
        return int(value) if value not in (None, "") and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def _number(params: dict[str, Any], name: str, default: int) -> int:
    try:
        return int(float(params.get(name, default)))
    except (TypeError, ValueError):
        raise BotApiError(400, f"Bad Request: {name} must be a number") from None


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m fakes.telegram.bot_api``: serve on loopback until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m fakes.telegram.bot_api",
                                     description="Fake Telegram Bot API for local runs")
    parser.add_argument("--port", type=int, default=8081, help="TCP port on 127.0.0.1")
    parser.add_argument("--token", default=DEMO_TOKEN, help="the only token accepted")
    parser.add_argument("--no-limits", action="store_true", help="do not answer 429 on floods")
    parser.add_argument("--chat-burst", type=int, default=FloodRules().chat_burst,
                        help="messages a private chat may get at once (default: %(default)s)")
    parser.add_argument("--group-burst", type=int, default=FloodRules().group_burst,
                        help="messages a group may get at once (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.chat_burst < 1 or args.group_burst < 1:
        parser.error("bursts must be >= 1")
    fake = FakeBotApi(token=args.token, port=args.port, enforce_limits=not args.no_limits,
                      flood=FloodRules(chat_burst=args.chat_burst, group_burst=args.group_burst))

    def banner() -> list[str]:
        return [f"fake Bot API on {fake.base_url} (control: {fake.control_url})",
                *(f"  {route:<34} {meaning}" for route, meaning in CONTROL_SUMMARY.items())]

    return serve_until_signalled(fake, banner)

if __name__ == "__main__":
    raise SystemExit(main())
