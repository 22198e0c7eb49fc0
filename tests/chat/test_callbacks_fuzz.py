"""Property tests of button payloads beyond tests/chat/test_callbacks.py: a payload damaged in
any one place is refused or is another canonical payload, and every keyboard the bot builds
carries only payloads that decode to an action about the same coin or alert."""

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
    ShowChart,
    decode,
    encode,
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
from market.intervals import INTERVAL_MS

symbols = st.from_regex(r"[A-Z0-9]{2,20}", fullmatch=True)
intervals = st.sampled_from(sorted(INTERVAL_MS))
alert_ids = st.integers(min_value=1, max_value=MAX_ALERT_ID)
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
        action = decode(data)
    except InvalidCallback as error:
        assert error.user_text
        return None
    assert encode(action) == data
    return action


@given(actions, st.integers(min_value=0), replacement)
def test_a_payload_with_one_character_changed_is_refused_or_canonical(
    action: CallbackAction, position: int, char: str
) -> None:
    data = encode(action)
    at = position % len(data)
    refused_or_canonical(data[:at] + char + data[at + 1:])


@given(actions, st.integers(min_value=0), st.integers(min_value=1, max_value=8))
def test_a_truncated_or_extended_payload_is_refused_or_canonical(
    action: CallbackAction, cut: int, extra: int
) -> None:
    data = encode(action)
    refused_or_canonical(data[: cut % len(data)])
    refused_or_canonical(data + "|" * extra)
    refused_or_canonical(data + "9" * extra)


@given(symbols, intervals, st.booleans())
def test_analysis_and_chart_buttons_all_act_on_the_coin_shown(
    symbol: str, interval: str, expanded: bool
) -> None:
    for data in payloads(analysis_keyboard(symbol, interval, expanded)) + payloads(
            chart_keyboard(symbol, interval)):
        assert len(data.encode("utf-8")) <= MAX_CALLBACK_BYTES
        action = decode(data)
        assert isinstance(action, (ShowAnalysis, RefreshAnalysis, ShowChart))
        assert action.symbol == symbol


@given(symbols, alert_ids, intervals, st.lists(alert_ids, max_size=40))
def test_alert_buttons_all_act_on_the_alerts_listed(
    symbol: str, alert_id: int, interval: str, listed: list[int]
) -> None:
    fired = [decode(data) for data in payloads(alert_fired_keyboard(symbol, alert_id, interval))]
    assert fired == [ShowAnalysis(symbol, interval, False), RearmAlertButton(alert_id)]
    deletes = [decode(data) for data in payloads(alerts_keyboard(listed))]
    assert deletes == [DeleteAlertButton(one) for one in listed[:30]]
    assert [decode(data) for data in payloads(watchlist_keyboard())] == [RefreshWatchlist()]


@given(st.text(alphabet="#0123456789 ", max_size=20))
def test_every_id_a_user_may_type_fits_a_delete_and_a_rearm_button(text: str) -> None:
    try:
        alert_id = parse_alert_id(text)
    except UsageError:
        return
    assert decode(encode(DeleteAlertButton(alert_id))) == DeleteAlertButton(alert_id)
    assert decode(encode(RearmAlertButton(alert_id))) == RearmAlertButton(alert_id)
