"""Inline queries, decision by decision: the latest query of each user, within a budget."""

from __future__ import annotations

import itertools

from chat.cards_inline import HELP_TITLE, answer_to, help_results
from chat.inline_policy import (
    ANSWER_WINDOW_S,
    SETTLE_S,
    InlineDecision,
    InlineDispatch,
    InlineDrop,
    InlinePolicy,
    InlineReply,
)
from chat.inline_query import PriceQuery
from messages.inline import InlineDone, InlineQueryReceived
from tests.chat.test_policy import FakeClock

USER = 2
OTHER = 3
WORKERS = ("w0", "w1", "w2", "w3")
_ids = itertools.count(1)


def make_policy(clock: FakeClock, *, count: int = 100, workers: tuple[str, ...] = WORKERS,
                allowed: frozenset[int] = frozenset(), max_waiting: int = 100,
                settle_s: float = 0.0) -> InlinePolicy:
    """Without a settle time unless asked: a lookup starts when it arrives, if it can."""
    return InlinePolicy(workers=workers, rate_limit_count=count, rate_limit_window_s=60.0,
                        allowed=allowed, max_waiting=max_waiting, settle_s=settle_s,
                        clock=clock)


def typed(text: str, *, user: int = USER) -> InlineQueryReceived:
    n = next(_ids)
    return InlineQueryReceived(request_id=f"r{n}", query_id=f"q{n}", user_id=user, query=text)


def done(dispatch: InlineDecision) -> InlineDone:
    assert isinstance(dispatch, InlineDispatch)
    query = dispatch.run.query
    answer = answer_to(query, help_results())  # what the worker found does not matter here
    return InlineDone(request_id=query.request_id, user_id=query.user_id, answer=answer,
                      outcome="ok", worker=dispatch.worker)


def test_a_query_goes_to_a_worker_with_its_reading_and_its_results_are_sent() -> None:
    policy = make_policy(FakeClock())

    (dispatch,) = policy.on_query(typed("btc eth"))
    assert isinstance(dispatch, InlineDispatch)
    assert dispatch.run.reading == PriceQuery(("btc", "eth"))
    (reply,) = policy.on_done(done(dispatch))
    assert isinstance(reply, InlineReply) and reply.answer.query_id == dispatch.run.query.query_id
    assert policy.counts["inline_answered"] == 1 and policy.in_flight() == 0


def test_keystrokes_closer_than_the_settle_time_replace_each_other_before_any_lookup() -> None:
    clock = FakeClock()
    policy = make_policy(clock, settle_s=SETTLE_S)
    decisions: list[InlineDecision] = []
    for text in ("b", "bt", "btc"):
        decisions += policy.on_query(typed(text))
        clock.advance(SETTLE_S / 2)
        decisions += policy.on_tick()

    assert not [d for d in decisions if isinstance(d, InlineDispatch)]
    clock.advance(SETTLE_S / 2)
    (dispatch,) = policy.on_tick()
    assert isinstance(dispatch, InlineDispatch) and dispatch.run.query.query == "btc"
    assert policy.counts["inline_superseded"] == 2


def test_a_user_who_pauses_between_lookups_is_answered_each_time() -> None:
    clock = FakeClock()
    policy = make_policy(clock, settle_s=SETTLE_S)
    for text in ("btc", "eth"):
        assert policy.on_query(typed(text)) == ()
        clock.advance(SETTLE_S)
        (dispatch,) = policy.on_tick()
        (reply,) = policy.on_done(done(dispatch))
        assert isinstance(reply, InlineReply)


def test_an_empty_query_is_answered_with_help_at_once_without_a_worker() -> None:
    policy = make_policy(FakeClock(), settle_s=SETTLE_S)

    (reply,) = policy.on_query(typed(""))
    assert isinstance(reply, InlineReply) and reply.outcome == "help"
    assert reply.answer.results[0].title == HELP_TITLE
    assert policy.in_flight() == 0


def test_keystrokes_while_a_lookup_runs_leave_only_the_latest_waiting() -> None:
    policy = make_policy(FakeClock())
    (first,) = policy.on_query(typed("b"))

    assert policy.on_query(typed("bt")) == ()
    (superseded,) = policy.on_query(typed("btc"))
    assert isinstance(superseded, InlineDrop) and superseded.event == "chat.inline_superseded"
    assert policy.waiting() == 1


def test_when_the_lookup_ends_its_superseded_results_are_dropped_and_the_latest_runs() -> None:
    policy = make_policy(FakeClock())
    (first,) = policy.on_query(typed("b"))
    policy.on_query(typed("bt"))
    policy.on_query(typed("btc"))

    dropped, latest = policy.on_done(done(first))
    assert isinstance(dropped, InlineDrop) and dropped.event == "chat.inline_superseded"
    assert isinstance(latest, InlineDispatch) and latest.run.query.query == "btc"
    (reply,) = policy.on_done(done(latest))
    assert isinstance(reply, InlineReply)
    assert policy.counts == {"inline_queries": 3, "inline_answered": 1, "inline_superseded": 2,
                             "inline_rate_limited": 0, "inline_expired": 0}


def test_a_burst_of_a_hundred_keystrokes_costs_at_most_two_lookups() -> None:
    policy = make_policy(FakeClock())
    decisions: list[InlineDecision] = []
    for n in range(1, 101):
        decisions += policy.on_query(typed("bitcoin"[: 1 + n % 7] + str(n)))
    decisions += policy.on_done(done(decisions[0]))

    dispatched = [d for d in decisions if isinstance(d, InlineDispatch)]
    assert len(dispatched) == 2
    assert dispatched[-1].run.query.query.endswith("100")


def test_only_answered_queries_spend_the_budget_and_one_warning_then_silence() -> None:
    clock = FakeClock()
    policy = make_policy(clock, count=2)
    for _ in range(2):
        (dispatch,) = policy.on_query(typed("btc"))
        policy.on_done(done(dispatch))

    (warning,) = policy.on_query(typed("eth"))
    (silence,) = policy.on_query(typed("sol"))
    assert isinstance(warning, InlineReply) and warning.answer.is_personal
    assert warning.answer.cache_time_s == 0 and warning.outcome == "rate_limited"
    assert isinstance(silence, InlineDrop) and silence.event == "chat.inline_rate_limited"
    clock.advance(60.0)
    assert isinstance(policy.on_query(typed("sol"))[0], InlineDispatch)


def test_the_inline_budget_is_its_own_so_other_users_are_untouched() -> None:
    policy = make_policy(FakeClock(), count=1)
    policy.on_done(done(policy.on_query(typed("btc"))[0]))
    policy.on_query(typed("eth"))

    assert isinstance(policy.on_query(typed("eth", user=OTHER))[0], InlineDispatch)


def test_lookups_at_the_workers_are_bounded_to_half_the_pool_the_rest_wait_in_order() -> None:
    policy = make_policy(FakeClock())
    started = [policy.on_query(typed("btc", user=user)) for user in range(10, 15)]

    assert [len(d) for d in started] == [1, 1, 0, 0, 0]
    assert policy.in_flight() == 2 and policy.waiting() == 3
    reply, next_one = policy.on_done(done(started[0][0]))
    assert isinstance(reply, InlineReply)
    assert isinstance(next_one, InlineDispatch) and next_one.run.query.user_id == 12


def test_help_is_answered_even_when_the_workers_are_busy() -> None:
    policy = make_policy(FakeClock(), workers=("w0",))
    policy.on_query(typed("btc", user=10))

    (reply,) = policy.on_query(typed("", user=11))
    assert isinstance(reply, InlineReply)


def test_waiting_users_beyond_the_bound_shed_the_oldest() -> None:
    policy = make_policy(FakeClock(), workers=("w0",), max_waiting=2)
    policy.on_query(typed("btc", user=10))
    first = typed("btc", user=11)
    policy.on_query(first)
    policy.on_query(typed("btc", user=12))

    (shed,) = policy.on_query(typed("btc", user=13))
    assert isinstance(shed, InlineDrop) and shed.event == "chat.inline_shed"
    assert shed.request_id == first.request_id and policy.waiting() == 2


def test_a_lookup_telegram_stopped_waiting_for_frees_its_slot_and_its_late_results_are_dropped(
) -> None:
    clock = FakeClock()
    policy = make_policy(clock, workers=("w0",))
    (lost,) = policy.on_query(typed("btc", user=10))
    policy.on_query(typed("eth", user=11))
    clock.advance(ANSWER_WINDOW_S - 1)
    assert policy.on_tick() == ()

    clock.advance(1)
    expired, waiting_expired = policy.on_tick()
    assert isinstance(expired, InlineDrop) and expired.event == "chat.inline_expired"
    assert isinstance(waiting_expired, InlineDrop) and waiting_expired.user_id == 11
    (late,) = policy.on_done(done(lost))
    assert isinstance(late, InlineDrop) and late.event == "chat.inline_expired"
    assert isinstance(policy.on_query(typed("sol", user=12))[0], InlineDispatch)


def test_users_outside_allowed_users_are_told_the_bot_is_private() -> None:
    policy = make_policy(FakeClock(), allowed=frozenset({USER}))

    (reply,) = policy.on_query(typed("btc", user=OTHER))
    assert isinstance(reply, InlineReply) and reply.outcome == "denied"
    assert reply.answer.is_personal


def test_in_a_private_bot_every_answer_is_personal_so_telegram_never_reuses_it_for_a_stranger(
) -> None:
    """Telegram serves a non-personal answer again to *any* user typing the same query within
    cache_time, without asking the bot: a stranger would get an allowed user's cards."""
    policy = make_policy(FakeClock(), allowed=frozenset({USER}))

    (dispatch,) = policy.on_query(typed("btc"))
    (lookup,) = policy.on_done(done(dispatch))
    (help_reply,) = policy.on_query(typed(""))
    assert isinstance(lookup, InlineReply) and lookup.answer.is_personal
    assert isinstance(help_reply, InlineReply) and help_reply.answer.is_personal


def test_in_a_public_bot_market_answers_stay_shared() -> None:
    policy = make_policy(FakeClock())

    (reply,) = policy.on_done(done(policy.on_query(typed("btc"))[0]))
    assert isinstance(reply, InlineReply) and not reply.answer.is_personal


def test_strangers_are_refused_at_once_and_never_shed_an_allowed_users_waiting_query() -> None:
    clock = FakeClock()
    policy = make_policy(clock, allowed=frozenset({USER}), max_waiting=1, settle_s=SETTLE_S)
    assert policy.on_query(typed("btc")) == ()  # waits for USER to pause typing

    for stranger in range(100, 110):
        (reply,) = policy.on_query(typed("eth", user=stranger))
        assert isinstance(reply, InlineReply) and reply.outcome == "denied"
    assert policy.waiting() == 1
    clock.advance(SETTLE_S)
    (dispatch,) = policy.on_tick()
    assert isinstance(dispatch, InlineDispatch) and dispatch.run.query.user_id == USER
