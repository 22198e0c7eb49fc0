"""Button payloads round-trip, fit in 64 bytes, and anything else is politely refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chat.callbacks import (
    ForgetButton,
    CALLBACK_VERSION,
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
    MAX_OWNER,
    OwnedAction,
    decode,
    decode_owned,
    encode,
)
from core.errors import BotError
from market.intervals import INTERVAL_MS

LONGEST_SYMBOL = "A" * 20
LONGEST_INTERVAL = max(INTERVAL_MS, key=len)


@pytest.mark.parametrize(
    ("action", "data"),
    [
        (ShowAnalysis("BTCUSDT", "1h", False), "2|7|a|BTCUSDT|1h|0"),
        (ShowAnalysis("BTCUSDT", "4h", True), "2|7|a|BTCUSDT|4h|1"),
        (RefreshAnalysis("ETHUSDT", "15m", True), "2|7|r|ETHUSDT|15m|1"),
        (ShowChart("SOLUSDT", "1d"), "2|7|c|SOLUSDT|1d"),
        (RefreshWatchlist(), "2|7|w"),
        (RearmAlertButton(42), "2|7|m|42"),
        (DeleteAlertButton(7), "2|7|d|7"),
    ],
)
def test_each_action_has_a_compact_readable_payload(action: CallbackAction, data: str) -> None:
    assert encode(action, 7) == data
    assert decode(data) == action
    assert decode_owned(data) == OwnedAction(action, 7)


@pytest.mark.parametrize("owner", [1, 7, -1001234567890, MAX_OWNER, -MAX_OWNER])
def test_the_owner_round_trips_for_users_and_chats(owner: int) -> None:
    data = encode(DeleteAlertButton(3), owner)
    assert decode_owned(data) == OwnedAction(DeleteAlertButton(3), owner)


def test_version_1_buttons_from_before_owners_still_decode_without_an_owner() -> None:
    assert decode_owned("1|a|BTCUSDT|1h|0") == OwnedAction(ShowAnalysis("BTCUSDT", "1h", False),
                                                           None)
    assert decode("1|d|7") == DeleteAlertButton(7)


def test_the_longest_payloads_fit_telegrams_limit() -> None:
    longest: list[CallbackAction] = [
        ShowAnalysis(LONGEST_SYMBOL, LONGEST_INTERVAL, True),
        RefreshAnalysis(LONGEST_SYMBOL, LONGEST_INTERVAL, True),
        ShowChart(LONGEST_SYMBOL, LONGEST_INTERVAL),
        RearmAlertButton(MAX_ALERT_ID),
        DeleteAlertButton(MAX_ALERT_ID),
    ]
    for action in longest:
        for owner in (MAX_OWNER, -MAX_OWNER):
            assert len(encode(action, owner).encode("utf-8")) <= MAX_CALLBACK_BYTES


@pytest.mark.parametrize("owner", [0, MAX_OWNER + 1, -MAX_OWNER - 1, True])
def test_a_button_cannot_be_made_for_no_one(owner: int) -> None:
    with pytest.raises(ValueError, match="owner"):
        encode(RefreshWatchlist(), owner)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("0|a|BTCUSDT|1h|0", "version"),
        ("3|7|a|BTCUSDT|1h|0", "version"),
        ("a|BTCUSDT|1h|0", "version"),
        ("update_profit", "version"),
        ("", "version"),
        ("1", "unknown action"),
        ("1|x|BTCUSDT", "unknown action"),
        ("1|a|BTCUSDT|1h", "takes 3 fields"),
        ("1|a|BTCUSDT|1h|0|extra", "takes 3 fields"),
        ("1|w|", "takes 0 fields"),
        ("1|a|btcusdt|1h|0", "symbol"),
        ("1|a|B|1h|0", "symbol"),
        ("1|a|BTC-USDT|1h|0", "symbol"),
        ("1|a|BTCUSDT|7h|0", "interval"),
        ("1|a|BTCUSDT|1H|0", "interval"),
        ("1|a|BTCUSDT|1h|2", "flag"),
        ("1|a|BTCUSDT|1h|", "flag"),
        ("1|m|0", "alert id"),
        ("1|m|-3", "alert id"),
        ("1|m|007", "alert id"),
        ("1|d|1" + "0" * 15, "alert id"),
        ("1|d|٣", "ASCII"),
        ("1|c|" + "A" * 70, "64 bytes"),
        ("2|a|BTCUSDT|1h|0", "owner"),
        ("2||w", "owner"),
        ("2|0|w", "owner"),
        ("2|-0|w", "owner"),
        ("2|07|w", "owner"),
        ("2|+7|w", "owner"),
        ("2|9223372036854775808|w", "owner"),
        ("2|-9223372036854775808|w", "owner"),
        ("2|7|w|", "takes 0 fields"),
        ("2|7", "unknown action"),
        ("2|7|m|0", "alert id"),
    ],
)
def test_forged_garbled_or_old_payloads_are_refused_politely(data: str, reason: str) -> None:
    with pytest.raises(InvalidCallback) as caught:
        decode(data)
    assert reason in caught.value.reason
    assert caught.value.user_text == "This button is out of date — send the command again."


def test_invalid_callback_is_a_bot_error() -> None:
    assert issubclass(InvalidCallback, BotError)


def test_decode_refuses_what_is_not_text() -> None:
    with pytest.raises(InvalidCallback):
        decode(b"1|w")  # type: ignore[arg-type]
    with pytest.raises(InvalidCallback):
        decode(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "build",
    [
        lambda: ShowAnalysis("btcusdt", "1h", False),
        lambda: ShowAnalysis("BTCUSDT", "1H", False),
        lambda: ShowAnalysis("BTCUSDT", "1h", 1),  # type: ignore[arg-type]
        lambda: ShowChart("A" * 21, "1h"),
        lambda: RearmAlertButton(0),
        lambda: DeleteAlertButton(True),
        lambda: DeleteAlertButton(MAX_ALERT_ID + 1),
    ],
)
def test_an_action_that_could_not_be_encoded_cannot_be_built(build: object) -> None:
    with pytest.raises(ValueError):
        build()  # type: ignore[operator]


def test_the_version_is_the_first_field() -> None:
    assert encode(RefreshWatchlist(), 7).split("|")[0] == CALLBACK_VERSION


# --- properties ----------------------------------------------------------------------------

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
    st.builds(ForgetButton, st.booleans()),
)


owners = st.integers(min_value=-MAX_OWNER, max_value=MAX_OWNER).filter(bool)


@given(actions, owners)
def test_decode_inverts_encode_within_64_bytes(action: CallbackAction, owner: int) -> None:
    data = encode(action, owner)
    assert len(data.encode("utf-8")) <= MAX_CALLBACK_BYTES
    assert decode_owned(data) == OwnedAction(action, owner)


@given(st.one_of(
    st.text(max_size=100),
    st.binary(max_size=64).map(lambda raw: raw.decode("latin-1")),
    st.lists(st.sampled_from(["1", "2", "a", "r", "c", "w", "m", "d", "fg", "BTCUSDT", "1h", "0", "1",
                              "", "01", "x" * 30, "-1", "-0", "42", "9" * 20]),
             max_size=8).map("|".join),
))
def test_decode_never_raises_anything_but_invalid_callback(data: str) -> None:
    try:
        owned = decode_owned(data)
    except InvalidCallback as error:
        assert error.user_text
        return
    if owned.owner is None:  # a version-1 payload, canonical in its own format
        assert data == "1|" + encode(owned.action, 1).split("|", 2)[2]
    else:
        assert encode(owned.action, owned.owner) == data  # only canonical payloads


def test_a_restart_confirmation_round_trips_and_only_admins_may_press_it() -> None:
    from chat.callbacks import RestartActorButton, is_admin_action

    action = RestartActorButton("market", True)
    data = encode(action, 1)
    assert decode_owned(data) == OwnedAction(action, 1)
    assert len(encode(RestartActorButton("a" * 32, False), -(2**63 - 1))) <= 64
    assert is_admin_action(action) and not is_admin_action(ShowAnalysis("BTCUSDT", "1h", False))
    for forged in ("2|1|s|Market|1", "2|1|s|market|2", "2|1|s|" + "a" * 33 + "|1"):
        with pytest.raises(InvalidCallback):
            decode_owned(forged)
