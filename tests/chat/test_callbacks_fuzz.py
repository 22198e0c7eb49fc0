"""Property tests of button payloads beyond tests/chat/test_callbacks.py: a payload damaged in
any one place is refused or is another canonical payload, every keyboard the bot builds
carries only payloads that decode to an action about the same coin or alert and its owner,
and a press reaches a worker only from the identity the button was made for."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chat.callbacks import (
    MAX_ALERT_ID,
    MAX_CALLBACK_BYTES,
    CallbackAction,
    DeleteAlertButton,
    InvalidCallback,
    RearmAlertButton,
    RefreshAnalysis,
    RefreshWatchlist,
    ShowAnalysis,
    MAX_OWNER,
    OwnedAction,
    ShowChart,
    decode,
    decode_owned,
    encode,
    is_market_action,
)
from chat.keyboards import (
    Keyboard,
    alert_fired_keyboard,
    alerts_keyboard,
    analysis_keyboard,
    chart_keyboard,
    watchlist_keyboard,
)
from chat.parsing import UsageError, parse_alert_id
from chat.decisions import AnswerNow, Dispatch
from chat.policy import PRESS_COSTS, ConversationPolicy
from market.intervals import INTERVAL_MS
from messages.chat import ButtonPressed

symbols = st.from_regex(r"[A-Z0-9]{2,20}", fullmatch=True)
intervals = st.sampled_from(sorted(INTERVAL_MS))
alert_ids = st.integers(min_value=1, max_value=MAX_ALERT_ID)
# Users are positive, chats (anonymous admins, channels) negative; the extremes matter most.
owners = st.one_of(st.sampled_from([1, 7, -1001234567890, MAX_OWNER, -MAX_OWNER]),
                   st.integers(min_value=-MAX_OWNER, max_value=MAX_OWNER).filter(bool))
actions: st.SearchStrategy[CallbackAction] = st.one_of(
    st.builds(ShowAnalysis, symbols, intervals, st.booleans()),
    st.builds(RefreshAnalysis, symbols, intervals, st.booleans()),
    st.builds(ShowChart, symbols, intervals),
    st.just(RefreshWatchlist()),
    st.builds(RearmAlertButton, alert_ids),
    st.builds(DeleteAlertButton, alert_ids),
)
# What a garbling client or a forger would put in: neighbours of valid characters and worse.
replacement = st.one_of(st.sampled_from(list("|0123456789abcAZ -_.#\x00é٣")),
                        st.characters(codec="utf-8"))


def payloads(keyboard: Keyboard) -> list[str]:
    return [button.data for row in keyboard for button in row]


def refused_or_canonical(data: str) -> CallbackAction | None:
    try:
        owned = decode_owned(data)
    except InvalidCallback as error:
        assert error.user_text
        return None
    if owned.owner is None:  # a version-1 payload
        assert data == "1|" + encode(owned.action, 1).split("|", 2)[2]
    else:
        assert encode(owned.action, owned.owner) == data
    return owned.action


@given(actions, owners, st.integers(min_value=0), replacement)
def test_a_payload_with_one_character_changed_is_refused_or_canonical(
    action: CallbackAction, owner: int, position: int, char: str
) -> None:
    data = encode(action, owner)
    at = position % len(data)
    refused_or_canonical(data[:at] + char + data[at + 1:])


@given(actions, owners, st.integers(min_value=0), st.integers(min_value=1, max_value=8))
def test_a_truncated_or_extended_payload_is_refused_or_canonical(
    action: CallbackAction, owner: int, cut: int, extra: int
) -> None:
    data = encode(action, owner)
    refused_or_canonical(data[: cut % len(data)])
    refused_or_canonical(data + "|" * extra)
    refused_or_canonical(data + "9" * extra)


@given(symbols, intervals, st.booleans(), owners)
def test_analysis_and_chart_buttons_all_act_on_the_coin_shown(
    symbol: str, interval: str, expanded: bool, owner: int
) -> None:
    for data in payloads(analysis_keyboard(symbol, interval, expanded, owner=owner)) + payloads(
            chart_keyboard(symbol, interval, owner=owner)):
        assert len(data.encode("utf-8")) <= MAX_CALLBACK_BYTES
        owned = decode_owned(data)
        assert isinstance(owned.action, (ShowAnalysis, RefreshAnalysis, ShowChart))
        assert owned.action.symbol == symbol and owned.owner == owner


@given(symbols, alert_ids, intervals, st.lists(alert_ids, max_size=40), owners)
def test_alert_buttons_all_act_on_the_alerts_listed(
    symbol: str, alert_id: int, interval: str, listed: list[int], owner: int
) -> None:
    fired = [decode_owned(data)
             for data in payloads(alert_fired_keyboard(symbol, alert_id, interval, owner=owner))]
    assert fired == [OwnedAction(ShowAnalysis(symbol, interval, False), owner),
                     OwnedAction(RearmAlertButton(alert_id), owner)]
    deletes = [decode_owned(data) for data in payloads(alerts_keyboard(listed, owner=owner))]
    assert deletes == [OwnedAction(DeleteAlertButton(one), owner) for one in listed[:30]]
    assert [decode_owned(data) for data in payloads(watchlist_keyboard(owner=owner))] == [
        OwnedAction(RefreshWatchlist(), owner)]
    for data in payloads(alerts_keyboard(listed, owner=owner)):
        assert len(data.encode("utf-8")) <= MAX_CALLBACK_BYTES


@given(actions, owners, st.integers(min_value=1, max_value=MAX_OWNER),
       st.sampled_from(["private", "group", "supergroup"]), st.integers(max_value=-1),
       st.booleans())
def test_a_press_reaches_a_worker_only_from_the_buttons_owner(
    action: CallbackAction, owner: int, presser: int, chat_type: str, group_id: int,
    on_message: bool
) -> None:
    """Issue 12 item 10: B's press on A's button must not act (and never edit A's message).

    In a group the data counts only when Telegram's copy of the message carries it: B could
    otherwise send data naming B as owner (copied from B's own message) on A's message.
    """
    policy = ConversationPolicy(workers=("w",), rate_limit_count=10**6,
                                rate_limit_window_s=60.0, clock=lambda: 0.0)
    private = chat_type == "private"
    pressed = ButtonPressed(request_id="r", chat_id=presser if private else group_id,
                            user_id=presser, message_id=5, callback_id="c",
                            data=encode(action, owner), chat_type=chat_type,
                            data_on_message=on_message)
    (decision,) = policy.on_button(pressed)
    may = ((private or on_message)
           and (owner == presser or (owner < 0 and is_market_action(action))))
    assert isinstance(decision, Dispatch) == may
    if not may:
        assert isinstance(decision, AnswerNow)
        (toast,) = decision.done.replies
        assert toast.toast and toast.edit_message_id is None and not toast.text


@given(st.text(alphabet="#0123456789 ", max_size=20))
def test_every_id_a_user_may_type_fits_a_delete_and_a_rearm_button(text: str) -> None:
    try:
        alert_id = parse_alert_id(text)
    except UsageError:
        return
    assert decode(encode(DeleteAlertButton(alert_id), MAX_OWNER)) == DeleteAlertButton(alert_id)
    assert decode(encode(RearmAlertButton(alert_id), -MAX_OWNER)) == RearmAlertButton(alert_id)


@given(st.lists(st.tuples(st.one_of(actions.map(lambda a: encode(a, 7)), st.text(max_size=70)),
                          st.integers(min_value=1, max_value=4),
                          st.floats(min_value=0.0, max_value=20.0)),
                max_size=80),
       st.integers(min_value=1, max_value=6))
def test_any_flood_of_presses_runs_within_the_budget_and_each_press_once(
    presses: list[tuple[str, int, float]], budget: int
) -> None:
    """Issue 12 item 3: presses spend the presser's budget; identical pending ones run once."""
    now = [0.0]
    policy = ConversationPolicy(workers=("w",), rate_limit_count=budget, rate_limit_window_s=60.0,
                                clock=lambda: now[0])
    runs: list[tuple[float, float]] = []
    running: set[tuple[int, str]] = set()
    for data, message_id, wait_s in presses:
        now[0] += wait_s
        pressed = ButtonPressed(request_id=f"r{len(runs)}-{now[0]}", chat_id=7, user_id=7,
                                message_id=message_id, callback_id="c", data=data)
        (decision,) = policy.on_button(pressed)
        if isinstance(decision, Dispatch):
            assert (message_id, data) not in running  # nothing runs twice at once
            running.add((message_id, data))
            runs.append((now[0], PRESS_COSTS[type(decode(data))]))
    for start, _ in runs:
        assert sum(cost for at, cost in runs if start <= at < start + 60.0) <= budget + 1e-9
