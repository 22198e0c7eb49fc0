"""The texts of /export and /forget say exactly what the counts say, in valid Telegram HTML."""

from __future__ import annotations

from chat.callbacks import ForgetButton, decode_owned
from chat.cards_user_data import (
    export_caption,
    forget_preview_text,
    forgotten_text,
    private_only_text,
    read_unavailable_text,
)
from chat.html import html_problem, visible_text
from chat.keyboards import forget_keyboard
from messages.user_data import UserDataCounts

EVERYTHING = UserDataCounts(users=1, alerts=4, alert_firings=2, watchlist=1, digests=1,
                            command_log=12)


def test_the_forget_preview_lists_each_kind_of_data_with_its_count() -> None:
    text = forget_preview_text(EVERYTHING)

    shown = visible_text(text)
    assert html_problem(text) is None
    for line in ("4 alerts", "2 alert firings (history)", "1 watched coin",
                 "your settings and profile", "your daily digest schedule",
                 "12 logged commands"):
        assert line in shown
    assert "unless you press the button" in shown


def test_kinds_without_rows_are_not_mentioned() -> None:
    shown = visible_text(forget_preview_text(UserDataCounts(watchlist=3)))

    assert "3 watched coins" in shown
    assert "alert" not in shown and "digest" not in shown


def test_with_nothing_stored_the_preview_says_so() -> None:
    assert "nothing to delete" in forget_preview_text(UserDataCounts())


def test_the_outcome_says_what_was_deleted_or_that_nothing_was_left() -> None:
    done = visible_text(forgotten_text(EVERYTHING))

    assert "Deleted — 21 rows" in done and "12 logged commands" in done
    assert "already gone" in forgotten_text(UserDataCounts())


def test_the_export_caption_counts_the_contents_within_telegrams_caption_limit() -> None:
    caption = export_caption(EVERYTHING, "Europe/Berlin")

    assert html_problem(caption) is None and len(visible_text(caption)) <= 1024
    assert "4 alerts" in caption and "UTC and in Europe/Berlin" in caption
    assert "nothing stored" in export_caption(UserDataCounts(), "UTC")


def test_refusals_name_the_command() -> None:
    assert "/export works only in a private chat" in private_only_text("export")
    assert "try /forget again" in read_unavailable_text("forget")


def test_the_forget_keyboard_is_confirm_and_cancel_bound_to_its_owner() -> None:
    ((delete, cancel),) = forget_keyboard(owner=7)

    assert "Delete all my data" in delete.text and cancel.text == "Cancel"
    assert decode_owned(delete.data).action == ForgetButton(True)
    assert decode_owned(cancel.data).owner == 7
    assert decode_owned(cancel.data).action == ForgetButton(False)
