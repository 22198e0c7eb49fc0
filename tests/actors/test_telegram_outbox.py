"""The outbox's bounded queue: what it drops is logged and counted, answers to presses still go.

No event loop runs the dispatcher here: replies are only accepted and queued, so what stays
queued and what was dropped is exact, without a server or a clock.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Coroutine
from types import SimpleNamespace
from typing import Any, cast

import pytest
from telegram import Bot

from actors.telegram_outbox import Outbox
from actors.telegram_stats import TransportCounters
from chat.outbound import DeliveryPolicy, OutboundLimits
from messages.chat import ChatReply, ReplyFailed


def make_outbox(limits: OutboundLimits | None = None,
                settled: list[str] | None = None) -> tuple[
        Outbox, TransportCounters, list[str], list[ReplyFailed]]:
    stats, spawned, failed = TransportCounters(), [], []

    def spawn(coroutine: Coroutine[Any, Any, None]) -> None:
        spawned.append(coroutine.cr_code.co_name)  # type: ignore[attr-defined]
        coroutine.close()

    outbox = Outbox(bot=cast(Bot, object()), policy=DeliveryPolicy(),
                    limits=limits if limits is not None else OutboundLimits(),
                    slot_capacity=16, stats=stats, on_failed=failed.append, redact=str,
                    spawn=spawn, clock=lambda: 0.0, rng=random.Random(1),
                    on_settled=None if settled is None else settled.append)
    return outbox, stats, spawned, failed


def dropped_events(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    return [dict(record.fields) for record in caplog.records  # type: ignore[attr-defined]
            if getattr(record, "event", None) == "chat.reply_dropped"]


def test_a_thousand_presses_of_one_button_leave_one_edit_queued_and_every_press_answered(
    caplog: pytest.LogCaptureFixture
) -> None:
    outbox, stats, spawned, failed = make_outbox()
    caplog.set_level(logging.INFO, logger="actors.telegram_outbox")

    for n in range(1000):
        outbox.accept(ChatReply(request_id=f"r{n}", chat_id=7, text=f"page {n}",
                                edit_message_id=5, callback_id=f"cb{n}"))

    assert spawned == ["answer_callback"] * 1000
    assert (stats.queue_depth, stats.dropped, stats.failed) == (1, 999, 0)
    assert failed == []
    events = dropped_events(caplog)
    assert len(events) == 999
    assert {event["reason"] for event in events} == {"superseded"}


def test_a_full_chat_queue_drops_loading_messages_and_old_answers_but_never_a_confirmation(
    caplog: pytest.LogCaptureFixture
) -> None:
    outbox, stats, _, failed = make_outbox(OutboundLimits(max_queued_per_chat=3))

    outbox.accept(ChatReply(request_id="saved", chat_id=7, text="Alert #1 saved", keep=True))
    outbox.accept(ChatReply(request_id="loading", chat_id=7, text="Working on it", final=False))
    for n in range(4):
        outbox.accept(ChatReply(request_id=f"answer{n}", chat_id=7, text=f"answer {n}"))
    outbox.accept(ChatReply(request_id="deleted", chat_id=7, text="Alert #1 deleted", keep=True))
    outbox.accept(ChatReply(request_id="watched", chat_id=7, text="Added", keep=True))
    outbox.accept(ChatReply(request_id="unwatched", chat_id=7, text="Removed", keep=True))

    dropped = [event["reason"] for event in dropped_events(caplog)]
    assert dropped == ["queue_full"] * 5
    assert [record.request_id for record in caplog.records  # type: ignore[attr-defined]
            if getattr(record, "event", None) == "chat.reply_dropped"] == [
        "loading", "answer0", "answer1", "answer2", "answer3"]
    assert (stats.queue_depth, stats.dropped, failed) == (4, 5, [])  # over the cap of 3
    assert outbox.abandon("stopping") == 4  # the four confirmations are still owed


def test_every_accepted_reply_is_settled_once_whether_dropped_failed_or_with_nothing_to_send(
) -> None:
    """The shared update stream acks an update only once each of its replies has settled."""
    settled: list[str] = []
    outbox, _, _, failed = make_outbox(OutboundLimits(max_queued_per_chat=1), settled)

    outbox.accept(ChatReply(request_id="toast", chat_id=7, callback_id="cb1", toast="ok"))
    outbox.accept(ChatReply(request_id="loading", chat_id=7, text="Working", final=False))
    outbox.accept(ChatReply(request_id="answer", chat_id=7, text="Done", keep=True))
    assert settled == ["toast", "loading"]  # nothing to send; dropped from the full queue

    assert outbox.abandon("stopping") == 1
    assert settled == ["toast", "loading", "answer"]
    assert [f.request_id for f in failed] == ["answer"]
    assert outbox.abandon("again") == 0 and len(settled) == 3


class RecordingBot:
    """Just enough of a Bot for text replies: records each send."""

    def __init__(self) -> None:
        self.sent: list[int] = []
        self.alert_sent = asyncio.Event()

    async def send_message(self, chat_id: int, text: str, **_: object) -> object:
        self.sent.append(chat_id)
        if chat_id == 2:
            self.alert_sent.set()
        return SimpleNamespace(message_id=len(self.sent))


def test_a_reply_whose_owner_redis_cannot_tell_waits_without_spending_the_other_chats_budget(
) -> None:
    """While Redis is silent a reply to a stream update is asked about again every second.
    Those asks are not calls: counted as calls, they filled the global window and held back
    every other chat's reply (an alert, say) for as long as Redis stayed silent."""
    async def scenario() -> list[int]:
        bot = RecordingBot()
        tasks: set[asyncio.Task[None]] = set()

        def spawn(coroutine: Coroutine[Any, Any, None]) -> None:
            task = asyncio.get_running_loop().create_task(coroutine)
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        outbox = Outbox(bot=cast(Bot, bot), policy=DeliveryPolicy(),
                        limits=OutboundLimits(global_calls=1, global_window_s=30.0),
                        slot_capacity=16, stats=TransportCounters(), on_failed=lambda _: None,
                        redact=str, spawn=spawn, clock=time.monotonic, rng=random.Random(1),
                        still_ours=lambda request_id: None if request_id == "u1" else True)
        outbox.accept(ChatReply(request_id="u1", chat_id=1, text="your price"))
        outbox.accept(ChatReply(request_id="alert", chat_id=2, text="BTC crossed 70k"))
        dispatcher = asyncio.get_running_loop().create_task(outbox.dispatch_forever())
        try:
            await asyncio.wait_for(bot.alert_sent.wait(), 5.0)
        finally:
            dispatcher.cancel()
            for task in (dispatcher, *tasks):
                task.cancel()
            await asyncio.gather(dispatcher, *tasks, return_exceptions=True)
        return bot.sent

    assert asyncio.run(scenario()) == [2]  # the alert went; the stream reply still waits
