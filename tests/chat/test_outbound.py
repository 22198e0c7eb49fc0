"""Outbound flood control, with a hand-driven clock: limits hold, order holds, nothing is lost."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chat.chunking import split_html
from chat.outbound import (
    OutboundLimits,
    OutboundScheduler,
    Value,
)
from chat.reply_plan import SlotMap, StepKind, plan_reply
from fakes.telegram.rules import FloodControl, FloodRules
from messages.chat import Button, ChatReply

LIMITS = OutboundLimits()
Sent = tuple[float, int, str]  # (time, chat id, item)


def drain(
    scheduler: OutboundScheduler[str], chat_of: dict[str, int], now: float = 0.0
) -> list[Sent]:
    """Hand out everything, jumping the clock over each wait; every call succeeds at once."""
    sent: list[Sent] = []
    while scheduler.pending():
        item, wait = scheduler.next_ready(now)
        if item is None:
            assert math.isfinite(wait) and wait > 0
            now += wait
            continue
        sent.append((now, chat_of[item], item))
        scheduler.complete(chat_of[item], now)
    return sent


def submit_all(
    scheduler: OutboundScheduler[str], chat_id: int, chat_type: str, count: int
) -> dict[str, int]:
    items = {f"{chat_id}:{n}": chat_id for n in range(count)}
    for item in items:
        scheduler.submit(chat_id, chat_type, item)
    return items


def times_for(sent: list[Sent], chat_id: int) -> list[float]:
    return [at for at, chat, _ in sent if chat == chat_id]


def most_in_any_window(times: list[float], window: float) -> int:
    """Largest number of times inside any half-open window [t, t + window)."""
    ordered = sorted(times)
    return max((sum(1 for u in ordered if t <= u < t + window) for t in ordered), default=0)


def test_an_empty_scheduler_has_nothing_and_no_deadline() -> None:
    assert OutboundScheduler[str]().next_ready(0.0) == (None, math.inf)


def test_a_burst_to_one_private_chat_goes_three_at_once_then_one_a_second_in_order() -> None:
    scheduler: OutboundScheduler[str] = OutboundScheduler(LIMITS)
    chat_of = submit_all(scheduler, 42, "private", 20)

    sent = drain(scheduler, chat_of)

    assert [item for _, _, item in sent] == list(chat_of)
    assert times_for(sent, 42) == pytest.approx([0.0, 0.0, 0.0] + [float(n) for n in range(1, 18)])


def test_a_replys_chunks_go_back_to_back_within_the_burst() -> None:
    scheduler: OutboundScheduler[str] = OutboundScheduler(LIMITS)
    for chunk in ("part 1", "part 2", "part 3"):
        scheduler.submit(42, "private", chunk)
    now, sent = 0.0, []
    while scheduler.pending():
        item, wait = scheduler.next_ready(now)
        assert item is not None and wait == 0.0  # never waits on a limit
        sent.append((now, item))
        now += 0.005  # each call takes 5 ms
        scheduler.complete(42, now)

    assert [item for _, item in sent] == ["part 1", "part 2", "part 3"]
    assert sent[-1][0] == pytest.approx(0.010)


def test_a_person_at_human_pace_gets_every_answer_at_once_within_the_sustained_rate() -> None:
    scheduler: OutboundScheduler[str] = OutboundScheduler(LIMITS)
    now = 0.0
    for n in range(20):
        scheduler.submit(42, "private", f"answer {n}")
        assert scheduler.next_ready(now) == (f"answer {n}", 0.0)
        scheduler.complete(42, now + 0.02)
        now += 1.05  # next question a second after the answer


def test_asking_faster_than_the_sustained_rate_spends_the_burst_then_waits() -> None:
    scheduler: OutboundScheduler[str] = OutboundScheduler(LIMITS)
    waits = []
    now = 0.0
    for n in range(6):
        scheduler.submit(42, "private", f"answer {n}")
        item, wait = scheduler.next_ready(now)
        if item is None:
            now += wait
            item, _ = scheduler.next_ready(now)
        waits.append(wait)
        scheduler.complete(42, now)
        now += 0.3  # next question 0.3 s after the answer

    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] == pytest.approx(0.1)  # 3 tokens spent by 0.6 s, 0.9 refilled by 0.9 s
    assert waits[4:] == pytest.approx([0.7, 0.7])  # then one a second


def test_the_sustained_rate_counts_from_each_calls_completion() -> None:
    scheduler: OutboundScheduler[str] = OutboundScheduler(OutboundLimits(chat_burst=1))
    scheduler.submit(7, "private", "slow")
    scheduler.submit(7, "private", "next")
    assert scheduler.next_ready(0.0) == ("slow", 0.0)

    scheduler.complete(7, 0.4)  # Telegram may have counted it as late as this

    assert scheduler.next_ready(0.5) == (None, pytest.approx(0.9))
    assert scheduler.next_ready(1.4)[0] == "next"


def test_a_margin_delays_every_limit_by_that_much() -> None:
    scheduler: OutboundScheduler[str] = OutboundScheduler(
        OutboundLimits(chat_burst=1, margin_s=0.05))
    chat_of = submit_all(scheduler, 7, "private", 3)

    assert times_for(drain(scheduler, chat_of), 7) == pytest.approx([0.0, 1.05, 2.1])


def test_a_group_gets_its_own_burst_and_at_most_twenty_messages_a_minute() -> None:
    scheduler: OutboundScheduler[str] = OutboundScheduler(replace(LIMITS, group_burst=5))
    chat_of = submit_all(scheduler, -100, "supergroup", 45) | submit_all(scheduler, 9, "private",
                                                                          5)

    sent = drain(scheduler, chat_of)

    group = times_for(sent, -100)
    assert len(group) == 45
    assert group[:6] == pytest.approx([0.0] * 5 + [1.0])
    assert times_for(sent, 9) == pytest.approx([0.0] * 3 + [1.0, 2.0])
    assert most_in_any_window(group, LIMITS.group_window_s) <= 20


def test_many_chats_together_stay_under_thirty_calls_a_second() -> None:
    scheduler: OutboundScheduler[str] = OutboundScheduler(LIMITS)
    chat_of: dict[str, int] = {}
    for chat_id in range(1, 101):
        chat_of |= submit_all(scheduler, chat_id, "private", 2)

    sent = drain(scheduler, chat_of)

    assert len(sent) == 200
    assert most_in_any_window([at for at, _, _ in sent], LIMITS.global_window_s) <= 30


def test_chats_are_served_round_robin() -> None:
    scheduler: OutboundScheduler[str] = OutboundScheduler(LIMITS)
    chat_of = submit_all(scheduler, 1, "private", 3) | submit_all(scheduler, 2, "private", 3)

    order = [chat for _, chat, _ in drain(scheduler, chat_of)]

    assert order == [1, 2, 1, 2, 1, 2]


def test_a_chat_with_a_call_in_flight_gets_nothing_more_until_it_completes() -> None:
    scheduler: OutboundScheduler[str] = OutboundScheduler(LIMITS.scaled(0.0))
    scheduler.submit(7, "private", "first")
    scheduler.submit(7, "private", "second")

    assert scheduler.next_ready(0.0) == ("first", 0.0)
    assert scheduler.next_ready(5.0) == (None, math.inf)
    assert scheduler.in_flight() == 1

    scheduler.complete(7, 5.0)
    assert scheduler.next_ready(5.0) == ("second", 0.0)


def test_a_requeued_call_goes_before_the_rest_of_its_chat() -> None:
    scheduler: OutboundScheduler[str] = OutboundScheduler(LIMITS)
    scheduler.submit(7, "private", "first")
    scheduler.submit(7, "private", "second")
    item, _ = scheduler.next_ready(0.0)
    assert item == "first"

    scheduler.requeue_front(7, "first", 0.0)
    scheduler.pause_chat(7, until=3.0)

    assert scheduler.next_ready(1.5) == (None, 1.5)
    assert scheduler.next_ready(3.0) == ("first", 0.0)


def test_pausing_every_chat_holds_all_of_them() -> None:
    scheduler: OutboundScheduler[str] = OutboundScheduler(LIMITS)
    scheduler.submit(1, "private", "a")
    scheduler.submit(2, "private", "b")
    scheduler.pause_all(until=10.0)

    assert scheduler.next_ready(4.0) == (None, 6.0)
    assert scheduler.next_ready(10.0)[0] == "a"


def test_a_429_in_one_chat_pauses_only_that_chat() -> None:
    scheduler: OutboundScheduler[str] = OutboundScheduler(LIMITS)
    scheduler.submit(1, "private", "a")
    scheduler.submit(2, "private", "b")

    assert scheduler.throttled(1, retry_after_s=5.0, now=0.0) is False
    assert scheduler.next_ready(0.0) == ("b", 0.0)


def test_429s_in_two_chats_at_once_pause_every_chat() -> None:
    scheduler: OutboundScheduler[str] = OutboundScheduler(LIMITS)
    scheduler.submit(3, "private", "c")

    scheduler.throttled(1, retry_after_s=5.0, now=0.0)
    assert scheduler.throttled(2, retry_after_s=5.0, now=0.5) is True

    assert scheduler.next_ready(1.0) == (None, 4.5)


def test_429s_far_apart_in_time_stay_per_chat() -> None:
    scheduler: OutboundScheduler[str] = OutboundScheduler(LIMITS)

    scheduler.throttled(1, retry_after_s=1.0, now=0.0)

    assert scheduler.throttled(2, retry_after_s=1.0, now=5.0) is False


def test_edits_skip_the_per_chat_interval_but_count_globally() -> None:
    scheduler: OutboundScheduler[str] = OutboundScheduler(LIMITS)
    scheduler.submit(7, "private", "message")
    scheduler.submit(7, "private", "edit", is_message=False)

    assert scheduler.next_ready(0.0)[0] == "message"
    scheduler.complete(7, 0.0)
    assert scheduler.next_ready(0.1) == ("edit", 0.0)


def test_the_global_window_counts_from_completion_so_slow_calls_cannot_bunch_up() -> None:
    scheduler: OutboundScheduler[str] = OutboundScheduler(LIMITS)
    for chat_id in range(60):
        scheduler.submit(chat_id, "private", f"m{chat_id}")
    handed = [scheduler.next_ready(0.0)[0] for _ in range(30)]
    assert None not in handed
    assert scheduler.next_ready(0.3) == (None, math.inf)  # 30 in flight: nothing more
    for chat_id in range(30):
        scheduler.complete(chat_id, 0.4)  # Telegram may have counted them as late as this
    item, wait = scheduler.next_ready(0.5)
    assert item is None
    assert wait == pytest.approx(0.4 + LIMITS.global_window_s + LIMITS.margin_s - 0.5)


def test_discard_removes_only_matching_queued_items() -> None:
    scheduler: OutboundScheduler[str] = OutboundScheduler(LIMITS)
    for item in ("r1-a", "r2-a", "r1-b"):
        scheduler.submit(7, "private", item)

    assert scheduler.discard(7, lambda item: item.startswith("r1")) == 2
    assert scheduler.pending() == 1
    assert scheduler.next_ready(0.0)[0] == "r2-a"


def test_idle_chats_are_forgotten_once_their_limits_no_longer_matter() -> None:
    scheduler: OutboundScheduler[str] = OutboundScheduler(LIMITS, max_idle_chats=10)
    chat_of: dict[str, int] = {}
    for chat_id in range(50):
        chat_of |= submit_all(scheduler, chat_id, "private", 1)
    drain(scheduler, chat_of)

    scheduler.next_ready(1_000.0)

    assert scheduler.known_chats() == 0


def test_scaled_limits_shrink_every_duration_but_no_count() -> None:
    fast = LIMITS.scaled(0.1)

    assert math.isclose(fast.chat_per_s, 10.0)
    assert math.isclose(fast.group_window_s, 6.0)
    assert (fast.chat_burst, fast.group_messages, fast.global_calls) == (3, 20, 30)


_CHATS = {1: "private", 2: "private", 3: "private", -10: "group", -20: "supergroup"}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(sorted(_CHATS)), st.integers(0, 30)), min_size=1,
             max_size=120),
    st.lists(st.sampled_from(["ok", "ok", "ok", "429", "network"]), min_size=1, max_size=50),
)
def test_limits_order_and_delivery_hold_under_any_arrivals_and_failures(
    arrivals: list[tuple[int, int]], outcomes: list[str]
) -> None:
    scheduler: OutboundScheduler[str] = OutboundScheduler(LIMITS)
    submitted: dict[int, list[str]] = defaultdict(list)
    # Arrivals are spread over time (in tenths of a second after the previous one).
    arrival_times: list[tuple[float, int, str]] = []
    clock = 0.0
    for n, (chat_id, gap) in enumerate(arrivals):
        clock += gap / 10
        arrival_times.append((clock, chat_id, f"{chat_id}#{n}"))
    dispatched: list[tuple[float, int, str]] = []
    delivered: dict[int, list[str]] = defaultdict(list)
    failures: dict[str, int] = defaultdict(int)
    now, next_arrival, attempt = 0.0, 0, 0
    while next_arrival < len(arrival_times) or scheduler.pending():
        while next_arrival < len(arrival_times) and arrival_times[next_arrival][0] <= now:
            _, chat_id, name = arrival_times[next_arrival]
            scheduler.submit(chat_id, _CHATS[chat_id], name)
            submitted[chat_id].append(name)
            next_arrival += 1
        ready, wait = scheduler.next_ready(now)
        if ready is None:
            upcoming = (arrival_times[next_arrival][0] if next_arrival < len(arrival_times)
                        else math.inf)
            now = min(now + wait, upcoming)
            assert math.isfinite(now)
            continue
        item = ready
        chat_id = int(item.split("#")[0])
        dispatched.append((now, chat_id, item))
        # Each call fails at most twice, so the run ends whatever the outcomes drawn.
        outcome = outcomes[attempt % len(outcomes)] if failures[item] < 2 else "ok"
        attempt += 1
        failures[item] += outcome != "ok"
        if outcome == "429":
            scheduler.requeue_front(chat_id, item, now)
            scheduler.throttled(chat_id, retry_after_s=2.0, now=now)
        elif outcome == "network":
            scheduler.requeue_front(chat_id, item, now)
            scheduler.pause_chat(chat_id, now + 0.7)
        else:
            delivered[chat_id].append(item)
            scheduler.complete(chat_id, now)

    assert dict(delivered) == dict(submitted)
    assert most_in_any_window([at for at, _, _ in dispatched], 1.0) <= 30
    judge = FloodControl(FloodRules())  # the fake Bot API's own flood model
    refused = [item for at, chat_id, item in dispatched
               if judge.admit(chat_id, is_group=_CHATS[chat_id] != "private", is_message=True,
                              now=at) is not None]
    assert refused == []
    for chat_id, chat_type in _CHATS.items():
        if chat_type != "private":
            assert most_in_any_window(times_for(dispatched, chat_id), 60.0) <= 20


def test_the_slot_map_forgets_the_least_recently_used_slot() -> None:
    slots = SlotMap(capacity=2)
    slots.remember(1, "a", 10)
    slots.remember(1, "b", 11)
    assert slots.lookup(1, "a") == 10  # "a" is now the most recent

    slots.remember(2, "a", 12)

    assert slots.lookup(1, "b") is None
    assert (slots.lookup(1, "a"), slots.lookup(2, "a"), len(slots)) == (10, 12, 2)


def test_a_short_reply_is_one_step_carrying_slot_keyboard_and_edit() -> None:
    keyboard = ((Button("Refresh", "r:1"),),)
    reply = ChatReply(request_id="r", chat_id=1, text="<b>hi</b>", buttons=keyboard,
                      slot="s1", edit_slot="s0")

    (step,) = plan_reply(reply, split_html)

    assert (step.kind, step.text, step.buttons) == (StepKind.TEXT, "<b>hi</b>", keyboard)
    assert (step.edit_slot, step.remember_slot) == ("s0", "s1")
    assert step.is_edit and step.is_last


def test_a_long_reply_puts_the_edit_first_and_the_keyboard_last() -> None:
    keyboard = ((Button("More", "m"),),)
    text = "\n".join(f"line {n} " + "x" * 50 for n in range(200))
    reply = ChatReply(request_id="r", chat_id=1, text=text, buttons=keyboard, edit_message_id=5)

    steps = plan_reply(reply, split_html)

    assert len(steps) > 1
    assert all(len(step.text) <= 4096 for step in steps)
    assert [step.edit_message_id for step in steps] == [5] + [None] * (len(steps) - 1)
    assert [bool(step.buttons) for step in steps] == [False] * (len(steps) - 1) + [True]
    assert "\n".join(step.text for step in steps) == text


def test_a_photo_keeps_a_short_caption_and_is_never_an_edit() -> None:
    reply = ChatReply(request_id="r", chat_id=1, text="BTC 1h", photo=b"png", edit_slot="s")

    (step,) = plan_reply(reply, split_html)

    assert (step.kind, step.text, step.photo) == (StepKind.PHOTO, "BTC 1h", b"png")
    assert not step.is_edit


def test_a_photo_with_a_long_caption_sends_the_rest_as_messages() -> None:
    text = "\n".join("caption line " + "y" * 60 for _ in range(40))
    reply = ChatReply(request_id="r", chat_id=1, text=text, photo=b"png")

    steps = plan_reply(reply, split_html)

    assert steps[0].kind is StepKind.PHOTO and len(steps[0].text) <= 1024
    assert {step.kind for step in steps[1:]} == {StepKind.TEXT}
    assert sum(step.text.count("caption line") for step in steps) == 40


def test_a_document_goes_as_one_upload_with_its_name_and_caption_and_is_never_an_edit() -> None:
    reply = ChatReply(request_id="r", chat_id=1, text="Your data", document=b"{}",
                      filename="export.json", edit_slot="s")

    (step,) = plan_reply(reply, split_html)

    assert (step.kind, step.text, step.document, step.filename) == (
        StepKind.DOCUMENT, "Your data", b"{}", "export.json")
    assert step.photo is None and not step.is_edit


def test_a_reply_with_nothing_to_show_has_no_steps() -> None:
    assert plan_reply(ChatReply(request_id="r", chat_id=1, callback_id="q"), split_html) == ()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from([1, 2, 7, -10]), st.integers(0, 8)),
             min_size=1, max_size=150),
    st.lists(st.tuples(st.floats(0.0, 0.4), st.floats(0.0, 0.4)), min_size=1, max_size=30),
)
def test_a_server_counting_calls_on_arrival_never_refuses_one_however_late_they_arrive(
    arrivals: list[tuple[int, int]], latencies: list[tuple[float, float]]
) -> None:
    """Each call reaches the judge (the fake's flood model) some time after it is handed out
    and completes some time after that: the scheduler, with no margin, must never be early."""
    chat_types = {**_CHATS, 4: "private", 5: "private", 6: "private", 7: "group", 8: "private"}
    scheduler: OutboundScheduler[str] = OutboundScheduler(LIMITS)
    judge = FloodControl(FloodRules())
    arrival_times, clock = [], 0.0
    for n, (chat_id, gap) in enumerate(arrivals):
        clock += gap / 20
        arrival_times.append((clock, chat_id, f"{chat_id}#{n}"))
    completions: list[tuple[float, int]] = []  # (time, chat) of calls in flight
    refused, delivered, now, next_arrival, calls = [], 0, 0.0, 0, 0
    while next_arrival < len(arrival_times) or scheduler.pending() or completions:
        while next_arrival < len(arrival_times) and arrival_times[next_arrival][0] <= now:
            _, chat_id, name = arrival_times[next_arrival]
            scheduler.submit(chat_id, chat_types[chat_id], name)
            next_arrival += 1
        for done_at, chat_id in sorted(completions):
            if done_at <= now:
                completions.remove((done_at, chat_id))
                scheduler.complete(chat_id, done_at)
                delivered += 1
        item, wait = scheduler.next_ready(now)
        if item is not None:
            chat_id = int(item.split("#")[0])
            to_server, back = latencies[calls % len(latencies)]
            calls += 1
            if judge.admit(chat_id, is_group=chat_types[chat_id] != "private", is_message=True,
                           now=now + to_server) is not None:
                refused.append(item)
            completions.append((now + to_server + back, chat_id))
            continue
        upcoming = min([arrival_times[next_arrival][0]] if next_arrival < len(arrival_times)
                       else [math.inf])
        now = min(now + wait, upcoming, *(at for at, _ in completions))
        assert math.isfinite(now) or not (scheduler.pending() or completions or math.isfinite(
            upcoming))

    assert refused == []
    assert delivered == len(arrivals)


def test_only_the_latest_queued_edit_of_a_message_is_sent() -> None:
    scheduler: OutboundScheduler[str] = OutboundScheduler(LIMITS)
    scheduler.submit(7, "private", "in flight", is_message=False, supersedes=("id", 5))
    assert scheduler.next_ready(0.0)[0] == "in flight"
    dropped = []
    for n in range(1000):  # a thousand presses of one button
        dropped += scheduler.submit(7, "private", f"edit {n}", is_message=False,
                                    supersedes=("id", 5))
    scheduler.submit(7, "private", "other message")

    assert dropped == [(f"edit {n}", "superseded") for n in range(999)]
    assert scheduler.queued(7) == 2
    scheduler.complete(7, 0.01)
    assert drain(scheduler, {"edit 999": 7, "other message": 7}, 0.01) == [
        (0.01, 7, "edit 999"), (0.01, 7, "other message")]


def test_a_full_queue_drops_loading_messages_then_the_oldest_answers_never_a_confirmation() -> None:
    scheduler: OutboundScheduler[str] = OutboundScheduler(replace(LIMITS, max_queued_per_chat=4))
    scheduler.submit(7, "private", "saved", value=Value.KEEP)
    scheduler.submit(7, "private", "answer 1")
    scheduler.submit(7, "private", "loading", value=Value.INTERIM)
    scheduler.submit(7, "private", "answer 2")

    assert scheduler.submit(7, "private", "answer 3") == [("loading", "queue_full")]
    assert scheduler.submit(7, "private", "deleted", value=Value.KEEP) == [
        ("answer 1", "queue_full")]
    assert scheduler.submit(7, "private", "answer 4") == [("answer 2", "queue_full")]
    for n in range(3):
        scheduler.submit(7, "private", f"kept {n}", value=Value.KEEP)

    chat_of = {item: 7 for item in ("saved", "deleted", "kept 0", "kept 1", "kept 2")}
    assert [item for _, _, item in drain(scheduler, chat_of)] == list(chat_of)


def test_a_retried_edit_is_not_superseded_by_a_newer_one_but_followed_by_it() -> None:
    scheduler: OutboundScheduler[str] = OutboundScheduler(LIMITS)
    scheduler.submit(7, "private", "edit 1", is_message=False, supersedes=("id", 5))
    assert scheduler.next_ready(0.0)[0] == "edit 1"
    scheduler.requeue_front(7, "edit 1", 0.1)

    assert scheduler.submit(7, "private", "edit 2", is_message=False, supersedes=("id", 5)) == []
    assert scheduler.queued(7) == 2
