"""The conversation actor: every update becomes exactly one answer, quickly.

It never waits on anything. Cheap answers (help, usage errors, access denials, rate-limit
warnings) go straight back to the transport; slow ones (anything that needs the exchange, a
chart or the database) go to the least busy command worker, and the final replies come back as
``CommandDone``. Its own timer (``LoadingCheck``) shows a loading message when an answer takes
more than ~300 ms — the final reply then edits it in place — and answers with an apology if a
worker never reports (it crashed on that request twice), so no user is left without a reply.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from actors.chat_commands import SORRY, reply
from chat.commands import command_help, help_text, lookup, welcome_text
from chat.parsing import PLAIN_TEXT_REPLY, NotACommand, ParsedCommand, UnknownCommand, UsageError, parse
from chat.ratelimit import Admission, UserRateLimiter
from core.config import BotConfig
from core.logs import log_event
from messages.chat import (
    ButtonPressed,
    ChatAction,
    ChatCommand,
    ChatReply,
    CommandDone,
    LoadingCheck,
    ReplyFailed,
    RunCommand,
)
from supervision.actor import SupervisedActor
from supervision.context import ChildContext
from supervision.timer import PeriodicTimer

__all__ = ["Conversation"]

logger = logging.getLogger(__name__)

LOADING_TEXT = "⏳ Working on it…"
PRIVATE_TEXT = "Sorry, this bot is private."
COMMAND_TIMEOUT_S = 30.0
"""A worker that has not answered by then crashed on the request: apologise instead."""


@dataclass(slots=True)
class _Pending:
    request: ChatCommand | ButtonPressed
    command: str
    worker: str
    started: float
    loading_sent: bool = False


class Conversation(SupervisedActor):
    """Routes updates to answers; owns access control, rate limits and loading messages."""

    def __init__(
        self,
        ctx: ChildContext,
        *,
        config: BotConfig,
        workers: Sequence[str],
        transport: str = "transport",
        bot_username: str | None = None,
        on_command: Callable[[CommandDone, float], None] | None = None,
        loading_after_s: float = 0.3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(ctx)
        self._admins = frozenset(config.admin_ids)
        self._allowed = frozenset(config.allowed_users)
        self._limiter = UserRateLimiter(
            config.user_rate_limit_count, config.user_rate_limit_window_s, clock=clock)
        self._workers = {name: ctx.directory[name] for name in workers}
        self._busy = dict.fromkeys(workers, 0)
        self._transport = ctx.directory[transport]
        self._bot_username = bot_username
        self._command_listener = on_command
        self._loading_after_s = loading_after_s
        self._clock = clock
        self._pending: dict[str, _Pending] = {}
        self._timer: PeriodicTimer | None = None
        self._counts = {"commands": 0, "buttons": 0, "rate_limited": 0, "denied": 0,
                        "loading_shown": 0, "timed_out": 0, "reply_failed": 0}

    def setup(self) -> None:
        self._timer = PeriodicTimer(self.actor_ref, LoadingCheck(), 0.05, self.ctx.name).start()

    def release(self) -> None:
        if self._timer is not None:
            self._timer.stop()

    def handle(self, message: Any) -> Any:
        match message:
            case ChatCommand():
                return self._on_command(message)
            case ButtonPressed():
                return self._on_button(message)
            case CommandDone():
                return self._on_done(message)
            case LoadingCheck():
                return self._on_loading_check()
            case ReplyFailed():
                self._counts["reply_failed"] += 1
                return None
        return super().handle(message)

    def stats(self) -> Mapping[str, object]:
        return {**self._counts, "pending": len(self._pending)}

    # -- inbound -------------------------------------------------------------------------------

    def _on_command(self, command: ChatCommand) -> None:
        self._counts["commands"] += 1
        if not self._admitted(command):
            return
        try:
            parsed = parse(command.text, self._bot_username)
        except UsageError as exc:
            self._answer_now(command, "usage", exc.html)
            return
        match parsed:
            case NotACommand(addressed_elsewhere=True):
                return
            case NotACommand():
                if command.chat_type == "private":  # in groups, plain text is not for us
                    self._answer_now(command, "text", PLAIN_TEXT_REPLY)
            case UnknownCommand():
                self._answer_now(command, "unknown", parsed.html)
            case ParsedCommand():
                self._on_parsed(command, parsed)

    def _on_parsed(self, command: ChatCommand, parsed: ParsedCommand) -> None:
        is_admin = command.user_id in self._admins
        name = parsed.name
        if parsed.spec.admin and not is_admin:
            self._counts["denied"] += 1
            self._answer_now(command, name, f"/{name} is not available.")
        elif name == "start":
            self._answer_now(command, name, welcome_text(is_admin))
        elif name == "help":
            topic = lookup(parsed.args[0].lstrip("/")) if parsed.args else None
            visible = topic is not None and (not topic.admin or is_admin)
            self._answer_now(command, name,
                             command_help(topic) if visible and topic else help_text(is_admin))
        else:
            if name == "chart":
                self._transport.tell(ChatAction(chat_id=command.chat_id, action="upload_photo"))
            self._dispatch(RunCommand(request=command, command=name, args=parsed.args,
                                      is_admin=is_admin))

    def _on_button(self, pressed: ButtonPressed) -> None:
        self._counts["buttons"] += 1
        if self._allowed and pressed.user_id not in self._allowed:
            self._transport.tell(reply(pressed, "", edit_message_id=None, toast=PRIVATE_TEXT))
            return
        self._dispatch(RunCommand(request=pressed, command="button",
                                  is_admin=pressed.user_id in self._admins))

    def _admitted(self, command: ChatCommand) -> bool:
        if self._allowed and command.user_id not in self._allowed:
            self._counts["denied"] += 1
            self._answer_now(command, "denied", PRIVATE_TEXT)
            return False
        match self._limiter.admit(command.user_id):
            case Admission.ALLOW:
                return True
            case Admission.WARN:
                self._counts["rate_limited"] += 1
                wait = self._limiter.retry_after_s(command.user_id)
                self._answer_now(command, "rate_limited",
                                 f"🐢 You're sending commands faster than I can answer. "
                                 f"I'll listen again in {wait:.0f} s.")
            case Admission.DROP:
                self._counts["rate_limited"] += 1
                log_event(logger, "chat.rate_limited", logging.INFO, user_id=command.user_id,
                          request_id=command.request_id)
        return False

    # -- dispatch and completion ---------------------------------------------------------------

    def _dispatch(self, run: RunCommand) -> None:
        worker = min(self._busy, key=self._busy.__getitem__)
        self._busy[worker] += 1
        self._pending[run.request_id] = _Pending(run.request, run.command, worker, self._clock())
        self._workers[worker].tell(run)

    def _on_done(self, done: CommandDone) -> None:
        pending = self._pending.pop(done.request_id, None)
        if done.worker in self._busy:
            self._busy[done.worker] = max(0, self._busy[done.worker] - 1)
        replies = done.replies
        if pending is not None and pending.loading_sent and replies:
            replies = self._replace_loading(done.request_id, replies)
        for answer in replies:
            self._transport.tell(answer)
        self._finished(done, pending)

    def _replace_loading(self, request_id: str, replies: tuple[ChatReply, ...]) -> tuple[ChatReply, ...]:
        first = replies[0]
        if first.photo is None and first.edit_message_id is None:
            return (dataclasses.replace(first, edit_slot=request_id), *replies[1:])
        # A photo cannot replace a text message: turn the loading text into a pointer.
        pointer = dataclasses.replace(first, text="👇", photo=None, buttons=(),
                                      edit_slot=request_id, final=False)
        return (pointer, *replies)

    def _on_loading_check(self) -> None:
        now = self._clock()
        for request_id, pending in list(self._pending.items()):
            age = now - pending.started
            if age >= COMMAND_TIMEOUT_S:
                self._counts["timed_out"] += 1
                self._on_done(CommandDone(request_id=request_id, command=pending.command,
                                          outcome="error", worker=pending.worker,
                                          replies=(reply(pending.request, SORRY),)))
            elif (not pending.loading_sent and age >= self._loading_after_s
                  and isinstance(pending.request, ChatCommand)):
                pending.loading_sent = True
                self._counts["loading_shown"] += 1
                self._transport.tell(ChatAction(chat_id=pending.request.chat_id, action="typing"))
                self._transport.tell(reply(pending.request, LOADING_TEXT, slot=request_id,
                                           final=False))

    def _answer_now(self, command: ChatCommand, name: str, text: str) -> None:
        done = CommandDone(request_id=command.request_id, command=name, outcome="ok",
                           replies=(reply(command, text),))
        for answer in done.replies:
            self._transport.tell(answer)
        self._finished(done, None, started=command.received_at)

    def _finished(self, done: CommandDone, pending: _Pending | None,
                  started: float | None = None) -> None:
        begun = pending.started if pending is not None else started
        latency_ms = (self._clock() - begun) * 1000 if begun else 0.0
        log_event(logger, "chat.command_handled", logging.INFO, command=done.command,
                  outcome=done.outcome, latency_ms=round(latency_ms, 2),
                  request_id=done.request_id)
        if self._command_listener is not None:
            self._command_listener(done, latency_ms)
