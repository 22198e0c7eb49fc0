"""The conversation actor: every update becomes exactly one answer, quickly.

A thin shell around :class:`chat.policy.ConversationPolicy`, which decides everything (who may
ask what, rate limits, which worker, loading messages, timeouts) from the message and its
clock; this actor feeds it messages and carries out its decisions. It never waits on
anything: cheap answers go straight back to the transport, slow ones to a command worker,
whose final replies come back as ``CommandDone``. Its own timer (``LoadingCheck``) lets the
policy show a loading message when an answer takes more than ~300 ms and apologise if a
worker never reports (it crashed on that request twice), so no user is left without a reply.
Inline queries take a parallel path (:class:`chat.inline_policy.InlinePolicy`): only each
user's latest query goes to a worker, and its results go back to the transport.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from actors.shared_limits import LimiterFactory
from chat.ratelimit import RateLimiter, UserRateLimiter
from chat.decisions import AnswerNow, Decision, Deliver, Dispatch, Ignore, ShowLoading, TimeOut
from chat.policy import LOADING_AFTER_S, ConversationPolicy
from chat.inline_policy import InlineDecision, InlineDispatch, InlineDrop, InlinePolicy, InlineReply
from core.config import BotConfig
from core.logs import log_event
from messages.chat import (
    ButtonPressed,
    ChatCommand,
    CommandDone,
    LoadingCheck,
    ReplyFailed,
    RequestClosed,
)
from messages.inline import InlineDone, InlineQueryReceived
from supervision.actor import SupervisedActor
from supervision.context import ChildContext
from core.stats import ActorStats
from supervision.timer import PeriodicTimer, start_periodic, stop_periodic

__all__ = ["CommandListener", "Conversation", "ConversationStats"]

logger = logging.getLogger(__name__)

CommandListener = Callable[[CommandDone, float], None]
"""Told every answered command with its latency (ms): the command log, the SLO figures."""


@dataclass(frozen=True, slots=True)
class ConversationStats(ActorStats):
    """The conversation actor's figures."""

    commands: int
    """Commands received."""
    buttons: int
    """Button presses received."""
    rate_limited: int
    """Requests refused by the per-user rate limit."""
    denied: int
    """Admin requests from non-admins, and anything from users outside allowed_users."""
    loading_shown: int
    """Slow requests that got a "working on it" notice."""
    timed_out: int
    """Requests whose worker did not answer in time."""
    reply_failed: int
    """Replies the transport could not deliver."""
    pending: int
    """Requests waiting for a worker's answer now."""
    not_owner: int = 0
    """Presses of buttons made for someone else (answered with a toast only)."""
    coalesced: int = 0
    """Presses identical to one still running (answered with a toast, not run twice)."""
    inline_queries: int = 0
    """Inline queries received (one per keystroke)."""
    inline_answered: int = 0
    """Inline queries answered (the latest of each user's burst)."""
    inline_superseded: int = 0
    """Inline queries left unanswered because the same user typed on."""
    inline_rate_limited: int = 0
    """Inline queries over the user's inline budget (one warning, then silence)."""
    inline_expired: int = 0
    """Inline queries dropped after Telegram stopped waiting for them."""


class Conversation(SupervisedActor):
    """Feeds updates to the conversation policy and carries out what it decides."""

    def __init__(
        self,
        ctx: ChildContext,
        *,
        config: BotConfig,
        workers: Sequence[str],
        transport: str = "transport",
        on_command: CommandListener | tuple[CommandListener, ...] | None = None,
        loading_after_s: float = LOADING_AFTER_S,
        clock: Callable[[], float] = time.monotonic,
        limiters: LimiterFactory | None = None,
    ) -> None:
        super().__init__(ctx)
        # Several instances (redis_url): the per-user budgets are shared, the local ones
        # stand in while Redis does not answer.
        self._limiters = limiters
        command_limiter = self._limiter("", config, clock)
        self._policy = ConversationPolicy(
            workers=workers, admins=frozenset(config.admin_ids),
            allowed=frozenset(config.allowed_users),
            rate_limit_count=config.user_rate_limit_count,
            rate_limit_window_s=config.user_rate_limit_window_s,
            loading_after_s=loading_after_s, clock=clock, limiter=command_limiter)
        self._workers = {name: ctx.directory[name] for name in workers}
        self._transport = ctx.directory[transport]
        # One listener or several (the command log, the SLO tracker), each called in turn.
        self._command_listeners: tuple[CommandListener, ...] = (
            () if on_command is None else on_command if isinstance(on_command, tuple)
            else (on_command,))
        self._timer: PeriodicTimer | None = None
        # Inline queries: the same workers, a parallel per-user bucket (chat.inline_policy).
        self._inline = InlinePolicy(
            workers=workers, allowed=frozenset(config.allowed_users),
            rate_limit_count=config.user_rate_limit_count,
            rate_limit_window_s=config.user_rate_limit_window_s, clock=clock,
            limiter=self._limiter("inline", config, clock))
        # The policy's live figures, read by stats().
        self._counts = self._policy.counts
        self._inline_counts = self._inline.counts
        self._pending = self._policy.pending
        # With the shared update stream (CRYPTOBOT_REDIS_URL) the transport acks an update
        # once its request is closed here and its replies are out (actors.update_relay).
        self._close_requests = config.redis_url is not None

    def _limiter(self, bucket: str, config: BotConfig,
                 clock: Callable[[], float]) -> RateLimiter | None:
        """The shared limiter for ``bucket``, or None: the policy makes its local one."""
        if self._limiters is None:
            return None
        local = UserRateLimiter(config.user_rate_limit_count, config.user_rate_limit_window_s,
                                clock=clock)
        return self._limiters(bucket, local)

    def setup(self) -> None:
        self._timer = start_periodic(self, LoadingCheck(), 0.05)

    def release(self) -> None:
        stop_periodic(self._timer)

    def handle(self, message: Any) -> Any:
        match message:
            case ChatCommand():
                return self._apply(self._policy.on_command(message))
            case ButtonPressed():
                return self._apply(self._policy.on_button(message))
            case CommandDone():
                return self._apply(self._policy.on_done(message))
            case LoadingCheck():
                self._apply_inline(self._inline.on_tick())
                return self._apply(self._policy.on_tick())
            case InlineQueryReceived():
                return self._apply_inline(self._inline.on_query(message))
            case InlineDone():
                return self._apply_inline(self._inline.on_done(message))
            case ReplyFailed():
                return self._policy.on_reply_failed()
        return super().handle(message)

    def stats(self) -> ConversationStats:
        return ConversationStats(**self._counts, **self._inline_counts,
                                 pending=len(self._pending))

    def _apply(self, decisions: tuple[Decision, ...]) -> None:
        for decision in decisions:
            match decision:
                case Dispatch(worker=worker, run=run, action=action):
                    if action is not None:
                        self._transport.tell(action)
                    self._workers[worker].tell(run)
                case ShowLoading(action=action, reply=loading):
                    self._transport.tell(action)
                    self._transport.tell(loading)
                case AnswerNow(done=done, logged=False):
                    # A stranger's answer: sent, but neither a command nor a command-log row.
                    for answer in done.replies:
                        self._transport.tell(answer)
                    log_event(logger, "chat.denied", logging.INFO, reason=done.command,
                              request_id=done.request_id)
                    self._closed(done.request_id)
                case AnswerNow(done=done, latency_ms=latency_ms) | Deliver(
                        done=done, latency_ms=latency_ms) | TimeOut(
                        done=done, latency_ms=latency_ms):
                    for answer in done.replies:
                        self._transport.tell(answer)
                    self._finished(done, latency_ms)
                    self._closed(done.request_id)
                case Ignore(event=str(event)):
                    log_event(logger, event, logging.INFO, user_id=decision.user_id,
                              request_id=decision.request_id)
                    self._closed(decision.request_id)
                case Ignore():
                    self._closed(decision.request_id)

    def _apply_inline(self, decisions: tuple[InlineDecision, ...]) -> None:
        for decision in decisions:
            match decision:
                case InlineDispatch(worker=worker, run=run):
                    self._workers[worker].tell(run)
                case InlineReply(answer=answer, outcome=outcome, latency_ms=latency_ms):
                    self._transport.tell(answer)
                    log_event(logger, "chat.inline_answered", logging.INFO, outcome=outcome,
                              results=len(answer.results), latency_ms=round(latency_ms, 2),
                              request_id=answer.request_id)
                    self._closed(answer.request_id)
                case InlineDrop(event=event):
                    log_event(logger, event, logging.INFO, user_id=decision.user_id,
                              request_id=decision.request_id)
                    self._closed(decision.request_id)

    def _closed(self, request_id: str) -> None:
        """Told after the request's replies, so the transport sees it after all of them."""
        if self._close_requests:
            self._transport.tell(RequestClosed(request_id=request_id))

    def _finished(self, done: CommandDone, latency_ms: float) -> None:
        log_event(logger, "chat.command_handled", logging.INFO, command=done.command,
                  outcome=done.outcome, latency_ms=round(latency_ms, 2),
                  request_id=done.request_id)
        for listener in self._command_listeners:
            listener(done, latency_ms)
