"""Every outgoing Telegram call of the transport: paced, retried, and never silently lost.

Why apart from the loop: this is the part with the decisions (what a 429 or a BadRequest
means for a reply), while ``actors.telegram_loop`` only runs PTB. It lives on the transport's
event loop: calls leave in the order and at the pace :class:`chat.outbound.OutboundScheduler`
allows, and each failure is sorted by PTB exception:

================================  ============================================================
``RetryAfter`` (429)              pause the chat (every chat if several were hit) and retry
``BadRequest`` "not modified"     success: the message already shows this
``BadRequest`` "can't parse       retry once as plain text (tags stripped): never lose a reply
entities"
``BadRequest`` edit target gone   send it as a new message instead
``NetworkError`` / ``TimedOut``   retry with full-jitter backoff, ``max_attempts`` times and
                                  for ``retry_window_s`` at least (5xx, dropped connections)
anything else                     the reply failed: ``ReplyFailed`` to the conversation
================================  ============================================================

Callback answers and chat actions skip the queue (a spinner or "typing…" is only useful now).

Several instances on one token (``redis_url``, ``gate`` given): a call the scheduler releases
must also be granted by the flood budget they share (``actors.flood_gate.SharedGate``) before
it leaves, each grant is settled when the call ends, and a 429 is published to every instance.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError

from actors.flood_gate import SharedGate
from actors.telegram_documents import send_document
from actors.telegram_stats import TransportCounters
from chat.chunking import split_html
from chat.html import visible_text
from chat.outbound import (
    DeliveryPolicy,
    OutboundLimits,
    OutboundScheduler,
    Value,
)
from chat.reply_plan import OutboundStep, SlotMap, StepKind, plan_reply
from cluster.flood_budget import FloodBudget, FloodGrant
from core.logs import log_event
from messages.chat import Button, ChatAction, ChatReply, ReplyFailed
from resilience.backoff import full_jitter_delay

__all__ = ["Outbox", "retry_after_seconds"]

logger = logging.getLogger(__name__)

_ANSWERED_MEMORY = 4096
_OWNER_UNKNOWN_RETRY_S = 1.0
_CALLBACK_TEXT_LIMIT = 200
_EDIT_TARGET_GONE = ("message to edit not found", "message can't be edited",
                     "there is no text in the message to edit")


@dataclass(eq=False, slots=True)
class _Delivery:
    reply: ChatReply
    failed: bool = False
    """Failed or dropped: ended, and reported once."""
    settled: bool = False
    """Delivered, failed or dropped, and told to ``on_settled`` once."""


@dataclass(eq=False, slots=True)
class _Job:
    delivery: _Delivery
    step: OutboundStep
    attempts: int = 0
    first_failed_at: float | None = None
    flood_waits: int = 0
    plain: bool = False
    as_new: bool = False
    grant: FloodGrant | None = None
    """The shared budget's grant for the attempt in flight."""


def retry_after_seconds(error: RetryAfter) -> float:
    """``error.retry_after`` in seconds, whether PTB hands out an int or a timedelta."""
    value: object = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(str(value))


def _keyboard(rows: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(b.text, callback_data=b.data) for b in row]
                                 for row in rows])


class Outbox:
    """Queues, paces and sends replies; every method runs on the transport's event loop."""

    def __init__(self, *, bot: Bot, policy: DeliveryPolicy, limits: OutboundLimits,
                 slot_capacity: int, stats: TransportCounters,
                 on_failed: Callable[[ReplyFailed], None], redact: Callable[[object], str],
                 spawn: Callable[[Coroutine[Any, Any, None]], None],
                 clock: Callable[[], float], rng: random.Random,
                 gate: FloodBudget | None = None,
                 on_settled: Callable[[str], None] | None = None,
                 still_ours: Callable[[str], bool | None] | None = None) -> None:
        self._bot = bot
        # Told each accepted reply's request id once, when it is delivered or has failed for
        # good (the shared update stream acks an update only then: actors.update_relay).
        self._on_settled = on_settled
        # Several instances: asked (off the loop) before each call whether the update this
        # reply answers is still this instance's to answer (actors.update_relay.still_ours).
        self._still_ours = still_ours
        self._policy = policy
        self._stats = stats
        self._on_failed = on_failed
        self._redact = redact
        self._spawn = spawn
        self._clock = clock
        self._rng = rng
        self._scheduler: OutboundScheduler[_Job] = OutboundScheduler(limits)
        self._gate = (None if gate is None
                      else SharedGate(gate, self._scheduler, limits, stats, clock))
        self._slots = SlotMap(slot_capacity)
        self._answered: dict[str, None] = {}
        # Every reply accepted and neither fully sent nor failed, queued or in flight, so a
        # stop can report each one instead of losing it silently.
        self._open: dict[int, _Delivery] = {}
        self._wakeup = asyncio.Event()

    def accept(self, reply: ChatReply) -> None:
        """Queue ``reply``'s messages; its callback answer goes at once."""
        if reply.callback_id is not None:
            self._spawn(self.answer_callback(reply.callback_id, reply.toast))
        try:
            steps = plan_reply(reply, split_html)
        except ValueError as error:
            self._report_failure(_Delivery(reply), f"could not split the text: {error}")
            return
        if not steps and reply.callback_id is None:
            log_event(logger, "chat.reply_empty", logging.WARNING, request_id=reply.request_id,
                      chat_id=reply.chat_id)
        delivery = _Delivery(reply)
        if steps:
            self._open[id(delivery)] = delivery
        else:
            self._settle(delivery)  # a callback answer only (sent at once) or nothing
        value = Value.KEEP if reply.keep else Value.ORDINARY if reply.final else Value.INTERIM
        for step in steps:
            # Only a whole reply that is one edit can stand in for an older edit of its message.
            target = (("slot", step.edit_slot) if step.edit_slot is not None
                      else ("id", step.edit_message_id))
            edits = target if step.is_edit and step.total == 1 else None
            dropped = self._scheduler.submit(reply.chat_id, reply.chat_type, _Job(delivery, step),
                                             is_message=not step.is_edit, value=value,
                                             supersedes=edits)
            for job, reason in dropped:
                self._drop(job, reason)
        self._wake()

    def abandon(self, reason: str) -> int:
        """Report every reply not yet delivered as failed (the transport is stopping)."""
        open_deliveries = list(self._open.values())
        for delivery in open_deliveries:
            self._report_failure(delivery, reason)
        return len(open_deliveries)

    async def dispatch_forever(self) -> None:
        """Hand each call to its own task as soon as the limits allow; runs until cancelled."""
        while True:
            job, wait = self._scheduler.next_ready(self._clock())
            if job is not None:
                if self._gate is not None:  # several instances: the shared budget decides too
                    reply = job.delivery.reply
                    try:
                        go, job.grant = await self._gate.release(
                            reply.chat_id, reply.chat_type, not job.step.is_edit, job)
                    except Exception:  # a bug there must not end every delivery for good
                        logger.exception("the shared flood budget failed; local limits decide")
                        go, job.grant = True, None
                    if not go:
                        continue
                self._spawn(self._deliver(job))
                continue
            self._stats.queue_depth = self._scheduler.pending()
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), None if wait == float("inf") else wait)
            except TimeoutError:
                pass

    async def answer_callback(self, callback_id: str, text: str | None) -> None:
        """Answer a button press once (a second answer is an error on Telegram's side)."""
        if callback_id in self._answered:
            return
        self._answered[callback_id] = None
        if len(self._answered) > _ANSWERED_MEMORY:
            del self._answered[next(iter(self._answered))]
        policy = self._policy
        for attempt in range(1, policy.max_attempts + 1):
            try:
                await self._bot.answer_callback_query(
                    callback_id, text=text[:_CALLBACK_TEXT_LIMIT] if text else None)
                self._stats.callbacks_answered += 1
                return
            except RetryAfter as error:
                delay = min(retry_after_seconds(error), policy.retry_after_cap_s)
            except BadRequest:
                break  # expired or already answered: no spinner left to stop
            except NetworkError:
                delay = full_jitter_delay(attempt - 1, base_s=policy.backoff_base_s,
                                          cap_s=policy.backoff_cap_s, rng=self._rng)
            except TelegramError:
                break
            await asyncio.sleep(delay)
        log_event(logger, "telegram.callback_unanswered", logging.WARNING, callback_id=callback_id)

    async def send_action(self, action: ChatAction) -> None:
        """"typing…" and friends: best effort, never retried."""
        try:
            await self._bot.send_chat_action(action.chat_id, action.action)
            self._stats.actions += 1
        except TelegramError as error:
            log_event(logger, "telegram.action_failed", logging.INFO, chat_id=action.chat_id,
                      error=self._redact(error))

    # -- one call ------------------------------------------------------------------------------

    def _wake(self) -> None:
        self._stats.queue_depth = self._scheduler.pending()
        self._wakeup.set()

    async def _deliver(self, job: _Job) -> None:
        try:
            if not await self._may_send(job):
                return
            message_id = await self._call(job)
        except RetryAfter as error:
            self._on_flood(job, retry_after_seconds(error))
        except BadRequest as error:
            self._on_bad_request(job, error)
        except NetworkError as error:  # TimedOut included; BadRequest is handled above
            self._on_network_error(job, error)
        except TelegramError as error:  # Forbidden, InvalidToken, ChatMigrated, Conflict
            self._fail(job, self._redact(error))
        except Exception as error:  # a bug must not wedge the chat's queue forever
            logger.exception("sending a reply failed unexpectedly")
            self._fail(job, f"unexpected {type(error).__name__}")
        else:
            self._succeeded(job, message_id)
        finally:
            if self._gate is not None:
                grant, job.grant = job.grant, None
                await self._gate.settle(grant)
            self._wake()

    async def _may_send(self, job: _Job) -> bool:
        """False (and the job dropped or put back) when this reply must not go out now: its
        update was taken over by another instance while this one stalled (that one answers),
        or Redis cannot say whose it is (asked again in a second)."""
        if self._still_ours is None:
            return True
        verdict = await asyncio.to_thread(self._still_ours, job.delivery.reply.request_id)
        if verdict is None:  # no call was made: counted nowhere, or it would fill the windows
            chat_id = job.delivery.reply.chat_id
            self._scheduler.give_back(chat_id, job)
            self._scheduler.pause_chat(chat_id, self._clock() + _OWNER_UNKNOWN_RETRY_S)
            return False
        if not verdict:
            self._scheduler.complete(job.delivery.reply.chat_id, self._clock())
            self._drop(job, "taken_over")
            return False
        return True

    async def _call(self, job: _Job) -> int | None:
        step, chat_id = job.step, job.delivery.reply.chat_id
        text = visible_text(step.text) if job.plain else step.text
        parse_mode = None if job.plain else ParseMode.HTML
        markup = _keyboard(step.buttons)
        if step.kind is StepKind.PHOTO:
            assert step.photo is not None
            photo = await self._bot.send_photo(chat_id, photo=step.photo, caption=text or None,
                                               parse_mode=parse_mode, reply_markup=markup)
            self._stats.photos += 1
            return int(photo.message_id)
        if step.kind is StepKind.DOCUMENT:
            sent_id = await send_document(self._bot, chat_id, step, caption=text,
                                          parse_mode=parse_mode, markup=markup)
            self._stats.sent += 1  # a document is a message
            return sent_id
        target = None if job.as_new else self._edit_target(chat_id, step)
        if target is not None:
            await self._bot.edit_message_text(text, chat_id=chat_id, message_id=target,
                                              parse_mode=parse_mode, reply_markup=markup)
            self._stats.edited += 1
            return target
        message = await self._bot.send_message(chat_id, text, parse_mode=parse_mode,
                                               reply_markup=markup)
        self._stats.sent += 1
        return int(message.message_id)

    def _edit_target(self, chat_id: int, step: OutboundStep) -> int | None:
        if step.edit_message_id is not None:
            return step.edit_message_id
        if step.edit_slot is not None:
            return self._slots.lookup(chat_id, step.edit_slot)  # None: forgotten, send anew
        return None

    def _retry_later(self, job: _Job, delay_s: float) -> None:
        chat_id = job.delivery.reply.chat_id
        self._scheduler.requeue_front(chat_id, job, self._clock())
        if delay_s > 0:
            self._scheduler.pause_chat(chat_id, self._clock() + delay_s)

    def _on_flood(self, job: _Job, retry_after_s: float) -> None:
        self._stats.too_many_requests += 1
        job.flood_waits += 1
        policy = self._policy
        if job.flood_waits > policy.max_flood_waits:
            self._fail(job, f"still flood-limited after {policy.max_flood_waits} waits")
            return
        chat_id = job.delivery.reply.chat_id
        pause = min(retry_after_s, policy.retry_after_cap_s)
        self._scheduler.requeue_front(chat_id, job, self._clock())
        everyone = self._scheduler.throttled(chat_id, pause, self._clock())
        if self._gate is not None:
            self._spawn(self._gate.pause(None if everyone else chat_id, pause))
        log_event(logger, "telegram.flood_wait", logging.WARNING, chat_id=chat_id,
                  retry_after_s=pause, all_chats=everyone,
                  request_id=job.delivery.reply.request_id)

    def _on_bad_request(self, job: _Job, error: BadRequest) -> None:
        problem = str(error).lower()
        if "message is not modified" in problem:
            self._stats.not_modified += 1
            self._succeeded(job, self._edit_target(job.delivery.reply.chat_id, job.step))
        elif "can't parse entities" in problem and not job.plain:
            self._stats.plain_fallbacks += 1
            log_event(logger, "telegram.html_rejected", logging.WARNING,
                      request_id=job.delivery.reply.request_id, error=self._redact(error))
            job.plain = True
            self._retry_later(job, 0.0)
        elif job.step.is_edit and not job.as_new and any(
                phrase in problem for phrase in _EDIT_TARGET_GONE):
            job.as_new = True
            self._retry_later(job, 0.0)
        else:
            self._fail(job, self._redact(error))

    def _on_network_error(self, job: _Job, error: NetworkError) -> None:
        job.attempts += 1
        policy = self._policy
        now = self._clock()
        if job.first_failed_at is None:
            job.first_failed_at = now
        if (job.attempts >= policy.max_attempts
                and now - job.first_failed_at >= policy.retry_window_s):
            self._fail(job, f"{self._redact(error)} (after {job.attempts} attempts)")
            return
        self._stats.retries += 1
        delay = full_jitter_delay(job.attempts - 1, base_s=policy.backoff_base_s,
                                  cap_s=policy.backoff_cap_s, rng=self._rng)
        self._retry_later(job, delay)

    def _succeeded(self, job: _Job, message_id: int | None) -> None:
        reply, step = job.delivery.reply, job.step
        self._scheduler.complete(reply.chat_id, self._clock())
        if step.remember_slot is not None and message_id is not None:
            self._slots.remember(reply.chat_id, step.remember_slot, message_id)
        if not step.is_last:
            return
        self._open.pop(id(job.delivery), None)
        self._settle(job.delivery)
        if reply.final:
            latency = (self._clock() - reply.received_at) if reply.received_at else None
            log_event(logger, "chat.reply_sent", logging.INFO, request_id=reply.request_id,
                      chat_id=reply.chat_id, messages=step.total,
                      latency_ms=None if latency is None else round(latency * 1000, 1))

    def _fail(self, job: _Job, reason: str) -> None:
        delivery = job.delivery
        self._scheduler.complete(delivery.reply.chat_id, self._clock())
        self._scheduler.discard(delivery.reply.chat_id, lambda other: other.delivery is delivery)
        self._report_failure(delivery, reason)

    def _drop(self, job: _Job, reason: str) -> None:
        """The scheduler let ``job`` go: drop the rest of its reply too, log and count it."""
        delivery, reply = job.delivery, job.delivery.reply
        rest = self._scheduler.discard(reply.chat_id, lambda other: other.delivery is delivery)
        self._stats.dropped += 1 + rest
        self._open.pop(id(delivery), None)
        delivery.failed = True
        self._settle(delivery)
        log_event(logger, "chat.reply_dropped", logging.INFO if reason == "superseded"
                  else logging.WARNING, request_id=reply.request_id, chat_id=reply.chat_id,
                  reason=reason, calls=1 + rest)

    def _report_failure(self, delivery: _Delivery, reason: str) -> None:
        if delivery.failed:
            return
        delivery.failed = True
        self._open.pop(id(delivery), None)
        self._settle(delivery)
        reply = delivery.reply
        self._stats.failed += 1
        log_event(logger, "chat.reply_failed", logging.WARNING, request_id=reply.request_id,
                  chat_id=reply.chat_id, reason=reason)
        self._on_failed(ReplyFailed(request_id=reply.request_id, chat_id=reply.chat_id,
                                    reason=reason))

    def _settle(self, delivery: _Delivery) -> None:
        if delivery.settled:
            return
        delivery.settled = True
        if self._on_settled is not None:
            self._on_settled(delivery.reply.request_id)
