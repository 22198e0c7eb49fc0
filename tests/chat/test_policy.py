"""The conversation's rules, decision by decision, with a fake clock and no threads."""

from __future__ import annotations

import itertools

import pytest

from chat.arguments import SymbolInterval
from chat.parsing import read_text
from chat.decisions import AnswerNow, Decision, Deliver, Dispatch, Ignore, ShowLoading, TimeOut
from chat.policy import COMMAND_TIMEOUT_S, ConversationPolicy
from chat.callbacks import DeleteAlertButton, RefreshWatchlist, ShowAnalysis, ShowChart, encode
from chat.replies import ALREADY_RUNNING, LOADING_TEXT, NOT_YOURS, PRIVATE_TEXT, SORRY
from messages.chat import ButtonPressed, ChatAction, ChatCommand, ChatReply, CommandDone

ADMIN = 1
USER = 2
STRANGER = 3
WORKERS = ("w0", "w1")
_ids = itertools.count(1)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_policy(clock: FakeClock, *, allowed: frozenset[int] = frozenset(),
                rate_limit_count: int = 100, workers: tuple[str, ...] = WORKERS
                ) -> ConversationPolicy:
    return ConversationPolicy(workers=workers, admins=frozenset({ADMIN}), allowed=allowed,
                              rate_limit_count=rate_limit_count, rate_limit_window_s=60.0,
                              loading_after_s=0.3, clock=clock)


def message(text: str, *, user: int = USER, chat_type: str = "private",
            received_at: float = 0.0) -> ChatCommand:
    return ChatCommand(request_id=f"r{next(_ids)}", chat_id=user, user_id=user, text=text,
                       parsed=read_text(text, "CryptoBot"), chat_type=chat_type,
                       received_at=received_at)


def press(data: str = "1|w", *, user: int = USER, message_id: int = 9) -> ButtonPressed:
    return ButtonPressed(request_id=f"r{next(_ids)}", chat_id=user, user_id=user,
                         message_id=message_id, callback_id="cb", data=data)


def only(decisions: tuple[Decision, ...]) -> Decision:
    assert len(decisions) == 1, decisions
    return decisions[0]


def answer_text(decisions: tuple[Decision, ...]) -> str:
    decision = only(decisions)
    assert isinstance(decision, AnswerNow), decision
    (reply,) = decision.done.replies
    return reply.text


def dispatched(decisions: tuple[Decision, ...]) -> Dispatch:
    decision = only(decisions)
    assert isinstance(decision, Dispatch), decision
    return decision


def done_for(dispatch: Dispatch, *replies: ChatReply, outcome: str = "ok") -> CommandDone:
    request = dispatch.run.request
    final = replies or (ChatReply(request_id=request.request_id, chat_id=request.chat_id,
                                  text="answer"),)
    return CommandDone(request_id=request.request_id, replies=final,
                       command=dispatch.run.command, outcome=outcome, worker=dispatch.worker)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


# -- access --------------------------------------------------------------------------------------

def test_a_stranger_to_a_private_bot_gets_one_neutral_line(clock: FakeClock) -> None:
    policy = make_policy(clock, allowed=frozenset({ADMIN, USER}))
    decision = only(policy.on_command(message("/price btc", user=STRANGER)))
    assert isinstance(decision, AnswerNow)
    assert decision.done.replies[0].text == PRIVATE_TEXT
    assert decision.done.command == "denied" and policy.counts["denied"] == 1


def test_strangers_are_rate_limited_unlogged_and_never_answered_for_group_chatter(
        clock: FakeClock) -> None:
    """Issue 12 item 5: 50 commands got 50 replies and command-log rows; group chatter too."""
    policy = make_policy(clock, allowed=frozenset({USER}), rate_limit_count=5)
    decisions = [only(policy.on_command(message("/price btc", user=STRANGER)))
                 for _ in range(50)]
    answers = [d for d in decisions if isinstance(d, AnswerNow)]
    assert [a.done.replies[0].text for a in answers[:5]] == [PRIVATE_TEXT] * 5
    assert len(answers) == 6 and "faster than I can answer" in answers[5].done.replies[0].text
    assert not any(a.logged for a in answers)
    assert all(isinstance(d, Ignore) for d in decisions[6:])
    chatter = message("hello everyone", user=STRANGER, chat_type="group")
    clock.advance(61)
    for _ in range(10):
        assert isinstance(only(policy.on_command(chatter)), Ignore)
    assert answer_text(policy.on_command(message("/help", user=STRANGER))) == PRIVATE_TEXT
    assert only(policy.on_command(message("/help"))).logged  # type: ignore[union-attr]


def test_a_strangers_button_press_gets_a_neutral_toast_and_reaches_no_worker(
        clock: FakeClock) -> None:
    policy = make_policy(clock, allowed=frozenset({USER}))
    decision = only(policy.on_button(press(user=STRANGER)))
    assert isinstance(decision, AnswerNow)
    (toast,) = decision.done.replies
    assert toast.toast == PRIVATE_TEXT and toast.callback_id == "cb"
    assert toast.edit_message_id is None and not policy.pending


# -- whose buttons ---------------------------------------------------------------------------------

GROUP = -1001234567890


def group_press(data: str, *, user: int, on_message: bool = True,
                message_id: int = 9) -> ButtonPressed:
    return ButtonPressed(request_id=f"r{next(_ids)}", chat_id=GROUP, user_id=user,
                         message_id=message_id, callback_id=f"cb{next(_ids)}", data=data,
                         chat_type="supergroup", data_on_message=on_message)


def toast_of(decisions: tuple[Decision, ...]) -> str:
    decision = only(decisions)
    assert isinstance(decision, AnswerNow), decision
    (toast,) = decision.done.replies
    assert toast.edit_message_id is None and toast.text == "" and toast.callback_id
    return toast.toast or ""


def test_in_a_group_a_button_answers_only_the_user_it_was_made_for(clock: FakeClock) -> None:
    """Issue 12 item 10: B pressed A's button and A's message showed B's watchlist."""
    policy = make_policy(clock)
    a_watchlist = encode(RefreshWatchlist(), USER)
    assert toast_of(policy.on_button(group_press(a_watchlist, user=STRANGER))) == NOT_YOURS
    # B's own button data sent on A's message: not on the message, so it proves nothing.
    b_watchlist = encode(RefreshWatchlist(), STRANGER)
    assert "out of date" in toast_of(policy.on_button(
        group_press(b_watchlist, user=STRANGER, on_message=False)))
    assert "out of date" in toast_of(policy.on_button(group_press("1|w", user=STRANGER)))
    assert policy.counts["not_owner"] == 1 and not policy.pending
    assert dispatched(policy.on_button(group_press(a_watchlist, user=USER)))


def test_private_chats_keep_their_version_1_buttons(clock: FakeClock) -> None:
    policy = make_policy(clock)
    assert dispatched(policy.on_button(press("1|a|BTCUSDT|1h|1")))
    assert toast_of(policy.on_button(press(encode(RefreshWatchlist(), ADMIN)))) == NOT_YOURS


def test_a_card_made_for_the_group_answers_its_market_buttons_only(clock: FakeClock) -> None:
    policy = make_policy(clock)  # an anonymous admin's card: its owner is the group itself
    chart = encode(ShowChart("BTCUSDT", "1h"), GROUP)
    assert dispatched(policy.on_button(group_press(chart, user=STRANGER)))
    delete = encode(DeleteAlertButton(3), GROUP)
    assert toast_of(policy.on_button(group_press(delete, user=STRANGER))) == NOT_YOURS


def test_an_admin_command_from_a_user_is_refused_without_saying_it_exists(
        clock: FakeClock) -> None:
    policy = make_policy(clock)
    assert answer_text(policy.on_command(message("/actors"))) == "/actors is not available."
    assert policy.counts["denied"] == 1


def test_an_admin_command_with_wrong_arguments_is_refused_before_its_usage_is_shown(
        clock: FakeClock) -> None:
    policy = make_policy(clock)
    assert answer_text(policy.on_command(message("/stats now"))) == "/stats is not available."


def test_a_restart_confirmation_runs_only_for_an_admin_whoever_the_buttons_owner(
        clock: FakeClock) -> None:
    from chat.callbacks import RestartActorButton
    from chat.replies import BUTTON_NOT_AVAILABLE

    policy = make_policy(clock)
    own = encode(RestartActorButton("market", True), USER)  # forged: a user's own button
    assert toast_of(policy.on_button(press(own, user=USER))) == BUTTON_NOT_AVAILABLE
    assert policy.counts["denied"] == 1 and not policy.pending
    assert dispatched(policy.on_button(press(encode(RestartActorButton("market", True), ADMIN),
                                             user=ADMIN)))


def test_an_admin_gets_admin_commands_run_by_a_worker(clock: FakeClock) -> None:
    policy = make_policy(clock)
    decision = dispatched(policy.on_command(message("/actors", user=ADMIN)))
    assert decision.run.command == "actors"


# -- what the conversation answers itself ----------------------------------------------------------

def test_start_and_help_are_answered_inline_from_the_command_table(clock: FakeClock) -> None:
    policy = make_policy(clock)
    assert "Hi!" in answer_text(policy.on_command(message("/start")))
    assert "/price SYM [SYM...]" in answer_text(policy.on_command(message("/help")))
    assert "Example" in answer_text(policy.on_command(message("/help alert")))
    assert not policy.pending


def test_help_on_an_admin_command_gives_users_the_general_help(clock: FakeClock) -> None:
    policy = make_policy(clock)
    for_user = answer_text(policy.on_command(message("/help stats")))
    for_admin = answer_text(policy.on_command(message("/help stats", user=ADMIN)))
    assert "Admin" not in for_user and "/stats" not in for_user
    assert for_admin.startswith("<b>/stats</b>")


def test_wrong_arguments_get_their_usage_at_once_without_a_worker(clock: FakeClock) -> None:
    policy = make_policy(clock)
    decision = only(policy.on_command(message("/chart eth 7x")))
    assert isinstance(decision, AnswerNow)
    assert (decision.done.command, decision.done.outcome) == ("chart", "usage")
    assert "Usage" in decision.done.replies[0].text and not policy.pending


def test_an_unknown_command_gets_the_nearest_one(clock: FakeClock) -> None:
    policy = make_policy(clock)
    assert "Did you mean /price?" in answer_text(policy.on_command(message("/prcie btc")))


def test_plain_text_in_private_points_to_help_and_in_a_group_is_ignored(
        clock: FakeClock) -> None:
    policy = make_policy(clock)
    assert "/help" in answer_text(policy.on_command(message("hello")))
    assert isinstance(only(policy.on_command(message("hello", chat_type="group"))), Ignore)


def test_a_command_for_another_bot_is_ignored_silently(clock: FakeClock) -> None:
    policy = make_policy(clock)
    decision = only(policy.on_command(message("/price@OtherBot btc", chat_type="group")))
    assert isinstance(decision, Ignore) and decision.event is None


# -- rate limits -----------------------------------------------------------------------------------

def test_a_user_over_the_limit_is_warned_once_then_ignored_until_the_window_passes(
        clock: FakeClock) -> None:
    policy = make_policy(clock, rate_limit_count=2)
    policy.on_command(message("/help"))
    policy.on_command(message("/help"))
    assert "faster than I can answer" in answer_text(policy.on_command(message("/help")))
    dropped = only(policy.on_command(message("/help")))
    assert isinstance(dropped, Ignore) and dropped.event == "chat.rate_limited"
    assert "Commands" in answer_text(policy.on_command(message("/help", user=ADMIN)))
    clock.advance(61)
    assert "Commands" in answer_text(policy.on_command(message("/help")))
    assert policy.counts["rate_limited"] == 2


def test_button_presses_spend_the_same_budget_as_commands(clock: FakeClock) -> None:
    """Issue 12 item 3: a user rate-limited for commands had 60 forged Chart presses drawn."""
    policy = make_policy(clock, rate_limit_count=3)
    for _ in range(3):
        policy.on_command(message("/help"))
    assert "faster than I can answer" in answer_text(policy.on_command(message("/help")))
    decisions = [only(policy.on_button(press(encode(ShowChart("BTCUSDT", "1h"), USER),
                                             message_id=m)))
                 for m in range(1, 61)]
    assert not [d for d in decisions if isinstance(d, Dispatch)]
    assert all(isinstance(d, Ignore) and d.event == "chat.rate_limited" for d in decisions)


def test_a_flood_of_chart_presses_is_drawn_only_within_the_budget(clock: FakeClock) -> None:
    policy = make_policy(clock, rate_limit_count=5)
    decisions = [only(policy.on_button(press(encode(ShowChart("BTCUSDT", "1h"), USER),
                                             message_id=m)))
                 for m in range(60)]
    assert len([d for d in decisions if isinstance(d, Dispatch)]) == 5
    warned = [d for d in decisions if isinstance(d, AnswerNow)]
    assert len(warned) == 1 and "faster than I can answer" in (
        warned[0].done.replies[0].toast or "")
    clock.advance(61)
    assert dispatched(policy.on_button(press(encode(ShowChart("BTCUSDT", "1h"), USER))))


def test_details_and_less_cost_half_a_chart(clock: FakeClock) -> None:
    policy = make_policy(clock, rate_limit_count=2)
    toggles = [encode(ShowAnalysis("BTCUSDT", "1h", expanded), USER)
               for expanded in (True, False, True, False)]
    assert all(isinstance(only(policy.on_button(press(data, message_id=m))), Dispatch)
               for m, data in enumerate(toggles))
    assert "faster" in toast_of(policy.on_button(press(toggles[0], message_id=99)))


def test_an_identical_press_while_one_runs_gets_a_toast_and_runs_once(clock: FakeClock) -> None:
    policy = make_policy(clock)
    chart = encode(ShowChart("BTCUSDT", "1h"), USER)
    first = dispatched(policy.on_button(press(chart)))
    assert toast_of(policy.on_button(press(chart))) == ALREADY_RUNNING
    assert toast_of(policy.on_button(press(chart))) == ALREADY_RUNNING
    assert dispatched(policy.on_button(press(chart, message_id=10)))  # another message
    assert dispatched(policy.on_button(press(encode(ShowChart("BTCUSDT", "4h"), USER))))
    assert policy.counts["coalesced"] == 2 and len(policy.pending) == 3
    policy.on_done(done_for(first))
    assert dispatched(policy.on_button(press(chart)))  # done: the next press runs again


def test_a_duplicate_of_a_press_that_timed_out_runs_again(clock: FakeClock) -> None:
    policy = make_policy(clock)
    chart = encode(ShowChart("BTCUSDT", "1h"), USER)
    dispatched(policy.on_button(press(chart)))
    clock.advance(COMMAND_TIMEOUT_S)
    policy.on_tick()
    assert dispatched(policy.on_button(press(chart)))


# -- dispatch --------------------------------------------------------------------------------------

def test_requests_go_to_the_least_busy_worker(clock: FakeClock) -> None:
    policy = make_policy(clock)
    first = dispatched(policy.on_command(message("/price btc")))
    second = dispatched(policy.on_command(message("/price eth")))
    assert {first.worker, second.worker} == set(WORKERS)
    policy.on_done(done_for(second))
    third = dispatched(policy.on_command(message("/top")))
    assert third.worker == second.worker
    assert policy.busy(first.worker) == 1 and policy.busy(second.worker) == 1


def test_a_worker_gets_the_typed_arguments_read_at_the_edge(clock: FakeClock) -> None:
    policy = make_policy(clock)
    run = dispatched(policy.on_command(message("/chart 4h eth"))).run
    assert run.invocation is not None and run.invocation.name == "chart"
    assert run.invocation.args == SymbolInterval("eth", "4h")


def test_a_chart_shows_sending_photo_while_a_worker_draws_it(clock: FakeClock) -> None:
    policy = make_policy(clock)
    chart = dispatched(policy.on_command(message("/chart btc")))
    price = dispatched(policy.on_command(message("/price btc")))
    assert chart.action == ChatAction(chat_id=USER, action="upload_photo")
    assert price.action is None


def test_a_button_press_goes_to_a_worker_as_a_button(clock: FakeClock) -> None:
    policy = make_policy(clock)
    run = dispatched(policy.on_button(press())).run
    assert run.invocation is None and run.command == "button"


# -- loading messages and timeouts -----------------------------------------------------------------

def test_a_fast_answer_gets_no_loading_message(clock: FakeClock) -> None:
    policy = make_policy(clock)
    dispatch = dispatched(policy.on_command(message("/price btc")))
    clock.advance(0.2)
    assert policy.on_tick() == ()
    delivered = only(policy.on_done(done_for(dispatch)))
    assert isinstance(delivered, Deliver)
    assert delivered.done.replies[0].edit_slot is None
    assert delivered.latency_ms == pytest.approx(200.0)


def test_a_slow_answer_gets_one_loading_message_that_the_answer_then_edits(
        clock: FakeClock) -> None:
    policy = make_policy(clock)
    dispatch = dispatched(policy.on_command(message("/analysis sol")))
    request_id = dispatch.run.request_id
    clock.advance(0.31)
    loading = only(policy.on_tick())
    assert isinstance(loading, ShowLoading)
    assert loading.action.action == "typing"
    assert (loading.reply.text, loading.reply.slot, loading.reply.final) == (
        LOADING_TEXT, request_id, False)
    clock.advance(1)
    assert policy.on_tick() == ()  # once only
    delivered = only(policy.on_done(done_for(dispatch)))
    assert isinstance(delivered, Deliver)
    assert delivered.done.replies[0].edit_slot == request_id
    assert policy.counts["loading_shown"] == 1


def test_a_photo_after_a_loading_message_turns_it_into_a_pointer(clock: FakeClock) -> None:
    policy = make_policy(clock)
    dispatch = dispatched(policy.on_command(message("/chart btc")))
    clock.advance(0.5)
    policy.on_tick()
    photo = ChatReply(request_id=dispatch.run.request_id, chat_id=USER, text="caption",
                      photo=b"png")
    delivered = only(policy.on_done(done_for(dispatch, photo)))
    assert isinstance(delivered, Deliver)
    pointer, sent = delivered.done.replies
    assert (pointer.text, pointer.photo, pointer.final) == ("👇", None, False)
    assert pointer.edit_slot == dispatch.run.request_id and sent == photo


def test_a_document_after_a_loading_message_turns_it_into_a_pointer(clock: FakeClock) -> None:
    policy = make_policy(clock)
    dispatch = dispatched(policy.on_command(message("/export")))
    clock.advance(0.5)
    policy.on_tick()
    document = ChatReply(request_id=dispatch.run.request_id, chat_id=USER, text="Your data",
                         document=b"{}", filename="export.json")
    delivered = only(policy.on_done(done_for(dispatch, document)))
    assert isinstance(delivered, Deliver)
    pointer, sent = delivered.done.replies
    assert (pointer.text, pointer.document, pointer.final) == ("👇", None, False)
    assert sent == document


def test_every_answer_names_the_user_it_answers_for_the_command_log(clock: FakeClock) -> None:
    policy = make_policy(clock)
    dispatch = dispatched(policy.on_command(message("/export")))
    clock.advance(60.0)
    (timed_out, *_) = policy.on_tick()

    assert isinstance(timed_out, TimeOut) and timed_out.done.user_id == USER
    assert dispatch.run.request.user_id == USER


def test_button_presses_never_get_a_loading_message(clock: FakeClock) -> None:
    policy = make_policy(clock)
    policy.on_button(press())
    clock.advance(5)
    assert policy.on_tick() == ()


def test_a_worker_that_never_reports_gets_an_apology_after_the_timeout(clock: FakeClock) -> None:
    policy = make_policy(clock)
    dispatch = dispatched(policy.on_command(message("/price btc")))
    clock.advance(1)
    policy.on_tick()  # the loading message
    clock.advance(COMMAND_TIMEOUT_S)
    timed_out = only(policy.on_tick())
    assert isinstance(timed_out, TimeOut)
    assert timed_out.done.outcome == "error" and timed_out.done.command == "price"
    (apology,) = timed_out.done.replies
    assert apology.text == SORRY and apology.edit_slot == dispatch.run.request_id
    assert not policy.pending and policy.busy(dispatch.worker) == 0
    assert policy.counts["timed_out"] == 1


def test_a_report_after_the_apology_is_still_delivered(clock: FakeClock) -> None:
    policy = make_policy(clock)
    dispatch = dispatched(policy.on_command(message("/price btc")))
    clock.advance(COMMAND_TIMEOUT_S)
    policy.on_tick()
    late = only(policy.on_done(done_for(dispatch)))
    assert isinstance(late, Deliver) and late.latency_ms == 0.0
    assert policy.busy(dispatch.worker) == 0


# -- latency and counts ----------------------------------------------------------------------------

def test_an_inline_answer_measures_latency_from_the_transports_receipt(clock: FakeClock) -> None:
    policy = make_policy(clock)
    decision = only(policy.on_command(message("/help", received_at=clock.now - 0.05)))
    assert isinstance(decision, AnswerNow) and decision.latency_ms == pytest.approx(50.0)
    unknown = only(policy.on_command(message("/help")))
    assert isinstance(unknown, AnswerNow) and unknown.latency_ms == 0.0


def test_counts_say_what_happened(clock: FakeClock) -> None:
    policy = make_policy(clock)
    policy.on_command(message("/help"))
    policy.on_command(message("/price btc"))
    policy.on_button(press())
    policy.on_reply_failed()
    assert policy.counts == {"commands": 2, "buttons": 1, "rate_limited": 0, "denied": 0,
                             "not_owner": 0, "coalesced": 0, "loading_shown": 0,
                             "timed_out": 0, "reply_failed": 1}
    assert len(policy.pending) == 2


def test_a_policy_without_workers_is_refused(clock: FakeClock) -> None:
    with pytest.raises(ValueError):
        make_policy(clock, workers=())
