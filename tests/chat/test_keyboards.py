"""Keyboards lay out the buttons users expect, each carrying a valid, decodable payload."""

from __future__ import annotations

from chat.callbacks import (
    DeleteAlertButton,
    RearmAlertButton,
    RefreshAnalysis,
    RefreshWatchlist,
    ShowAnalysis,
    ShowChart,
    decode,
    decode_owned,
)
from chat.keyboards import (
    Keyboard,
    alert_fired_keyboard,
    alerts_keyboard,
    analysis_keyboard,
    chart_keyboard,
    owner_of,
    watchlist_keyboard,
)
from chat.parsing import read_text
from messages.chat import ButtonPressed, ChatCommand

OWNER = 42


def labels(keyboard: Keyboard) -> list[list[str]]:
    return [[button.text for button in row] for row in keyboard]


def actions(keyboard: Keyboard) -> list[list[object]]:
    return [[decode(button.data) for button in row] for row in keyboard]


def test_the_compact_analysis_card_offers_details_chart_refresh_and_timeframes() -> None:
    keyboard = analysis_keyboard("BTCUSDT", "1h", expanded=False, owner=OWNER)
    assert labels(keyboard) == [["Details", "Chart", "Refresh"], ["15m", "• 1h", "4h", "1d"]]
    assert actions(keyboard) == [
        [ShowAnalysis("BTCUSDT", "1h", True), ShowChart("BTCUSDT", "1h"),
         RefreshAnalysis("BTCUSDT", "1h", False)],
        [ShowAnalysis("BTCUSDT", tf, False) for tf in ("15m", "1h", "4h", "1d")],
    ]


def test_the_expanded_card_offers_less_and_keeps_details_open_across_timeframes() -> None:
    keyboard = analysis_keyboard("ETHUSDT", "4h", expanded=True, owner=OWNER)
    assert labels(keyboard) == [["Less", "Chart", "Refresh"], ["15m", "1h", "• 4h", "1d"]]
    assert decode(keyboard[0][0].data) == ShowAnalysis("ETHUSDT", "4h", False)
    assert decode(keyboard[0][2].data) == RefreshAnalysis("ETHUSDT", "4h", True)
    assert all(decode(button.data) == ShowAnalysis("ETHUSDT", button.text.lstrip("• "), True)
               for button in keyboard[1])


def test_an_interval_without_a_button_marks_none() -> None:
    keyboard = analysis_keyboard("BTCUSDT", "5m", expanded=False, owner=OWNER)
    assert labels(keyboard)[1] == ["15m", "1h", "4h", "1d"]


def test_the_chart_keyboard_switches_timeframes_and_leads_back_to_the_analysis() -> None:
    keyboard = chart_keyboard("SOLUSDT", "1d", owner=OWNER)
    assert labels(keyboard) == [["15m", "1h", "4h", "• 1d"], ["Analysis", "Refresh"]]
    assert actions(keyboard)[1] == [ShowAnalysis("SOLUSDT", "1d", False),
                                    ShowChart("SOLUSDT", "1d")]


def test_a_fired_alert_offers_the_analysis_and_rearming() -> None:
    keyboard = alert_fired_keyboard("BTCUSDT", 42, owner=OWNER)
    assert labels(keyboard) == [["Analysis", "Re-arm"]]
    assert actions(keyboard) == [[ShowAnalysis("BTCUSDT", "1h", False), RearmAlertButton(42)]]


def test_the_alerts_list_gets_a_delete_button_per_alert_three_to_a_row() -> None:
    keyboard = alerts_keyboard([3, 5, 8, 13], owner=OWNER)
    assert labels(keyboard) == [["🗑 #3", "🗑 #5", "🗑 #8"], ["🗑 #13"]]
    assert actions(keyboard)[1] == [DeleteAlertButton(13)]
    assert alerts_keyboard([], owner=OWNER) == ()
    assert sum(len(row) for row in alerts_keyboard(range(1, 100), owner=OWNER)) == 30


def test_the_watchlist_has_a_refresh_button() -> None:
    keyboard = watchlist_keyboard(owner=OWNER)
    assert labels(keyboard) == [["Refresh"]]
    assert actions(keyboard) == [[RefreshWatchlist()]]


def test_every_keyboard_answers_only_its_owner() -> None:
    for owner in (7, -1001234567890):
        keyboards = [analysis_keyboard("BTCUSDT", "1h", False, owner=owner),
                     chart_keyboard("BTCUSDT", "1h", owner=owner),
                     alert_fired_keyboard("BTCUSDT", 1, owner=owner),
                     alerts_keyboard([1, 2], owner=owner), watchlist_keyboard(owner=owner)]
        assert {decode_owned(button.data).owner for keyboard in keyboards
                for row in keyboard for button in row} == {owner}


def test_an_answer_keeps_the_owner_of_the_button_pressed() -> None:
    command = ChatCommand(request_id="r", chat_id=-5, user_id=7, text="/a btc",
                          parsed=read_text("/a btc", None), chat_type="group")
    assert owner_of(command) == 7

    def pressed(data: str) -> ButtonPressed:
        return ButtonPressed(request_id="r", chat_id=-5, user_id=9, message_id=1,
                             callback_id="c", data=data, chat_type="group")
    group_card = analysis_keyboard("BTCUSDT", "1h", False, owner=-5)[0][0].data
    assert owner_of(pressed(group_card)) == -5  # a member pressed the group's card
    assert owner_of(pressed("1|w")) == 9 and owner_of(pressed("junk")) == 9
