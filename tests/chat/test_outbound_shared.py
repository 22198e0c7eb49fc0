"""The scheduler's side of a shared flood budget: a call given back counts nowhere, and the
limits can be cut to a safe share while the shared budget cannot be reached."""

from __future__ import annotations

from chat.outbound import OutboundLimits, OutboundScheduler


def test_a_call_given_back_goes_next_and_was_counted_nowhere() -> None:
    scheduler: OutboundScheduler[str] = OutboundScheduler(OutboundLimits(chat_burst=1))
    scheduler.submit(7, "private", "first")
    scheduler.submit(7, "private", "second")
    item, _ = scheduler.next_ready(0.0)
    assert item == "first" and scheduler.in_flight() == 1

    scheduler.give_back(7, "first")

    assert (scheduler.in_flight(), scheduler.pending()) == (0, 2)
    assert scheduler.next_ready(0.0) == ("first", 0.0)  # the burst of 1 is still unspent


def test_a_safe_share_halves_every_rate_but_never_below_one_call() -> None:
    half = OutboundLimits().share(0.5)
    assert (half.global_calls, half.group_messages, half.chat_burst, half.group_burst) == (
        15, 10, 1, 1)
    assert half.chat_per_s == 0.5 and half.global_window_s == OutboundLimits().global_window_s
    assert OutboundLimits(global_calls=1).share(0.1).global_calls == 1


def test_cut_limits_apply_from_the_next_call() -> None:
    limits = OutboundLimits(global_calls=4)
    scheduler: OutboundScheduler[int] = OutboundScheduler(limits)
    for chat in range(4):
        scheduler.submit(chat, "private", chat)
    scheduler.use_limits(limits.share(0.5))
    released = []
    while (item := scheduler.next_ready(0.0)[0]) is not None:
        released.append(item)
        scheduler.complete(item, 0.0)
    assert released == [0, 1]  # two of four per window now
    scheduler.use_limits(limits)
    assert scheduler.next_ready(0.0)[0] == 2
