"""Inline keyboards under cards: every button's data comes from :mod:`chat.callbacks`.

Why here and not in the conversation actor: the layout (which buttons, which one is marked as
current) is a rule users see, so it is pure and tested; and building each payload with
``encode`` keeps every button within Telegram's 64-byte limit by construction. Every keyboard
names its ``owner`` (see :func:`owner_of`): in a group, only the owner's presses are answered.
"""

from __future__ import annotations

from collections.abc import Sequence

from chat.callbacks import (
    DeleteAlertButton,
    ForgetButton,
    InvalidCallback,
    RearmAlertButton,
    RefreshAnalysis,
    RefreshWatchlist,
    RestartActorButton,
    SettingButton,
    ShowAnalysis,
    ShowChart,
    decode_owned,
    encode,
)
from chat.settings_card import BUTTON_CHOICES, SETTING_LABELS
from messages.chat import Button, ButtonPressed, ChatCommand
from users.settings import UserSettings

__all__ = [
    "CURRENT_MARK",
    "TIMEFRAMES",
    "Keyboard",
    "alert_fired_keyboard",
    "alerts_keyboard",
    "analysis_keyboard",
    "chart_keyboard",
    "forget_keyboard",
    "owner_of",
    "restart_keyboard",
    "settings_keyboard",
    "watchlist_keyboard",
]

Keyboard = tuple[tuple[Button, ...], ...]

TIMEFRAMES = ("15m", "1h", "4h", "1d")
"""The timeframe buttons; other intervals work by command but get no button."""
CURRENT_MARK = "• "
"""Prefix of the timeframe button that is the one shown."""
_ALERT_BUTTONS_PER_ROW = 3
_MAX_ALERT_BUTTONS = 30


def owner_of(request: ChatCommand | ButtonPressed) -> int:
    """Whom the buttons of an answer to ``request`` belong to.

    A command's sender (their identity: a negative chat id for an anonymous admin or a
    channel); for a press, the owner of the pressed button, so a card someone else may press
    (market buttons on an anonymous admin's card) keeps its owner when it is edited.
    """
    if isinstance(request, ButtonPressed):
        try:
            owner = decode_owned(request.data).owner
        except InvalidCallback:
            owner = None
        return request.user_id if owner is None else owner
    return request.user_id


def _timeframe_label(timeframe: str, current: str) -> str:
    return f"{CURRENT_MARK}{timeframe}" if timeframe == current else timeframe


def analysis_keyboard(symbol: str, interval: str, expanded: bool, *, owner: int) -> Keyboard:
    """Details/Less, Chart, Refresh; then the timeframes, the current one marked."""
    toggle = ShowAnalysis(symbol, interval, not expanded)
    actions = (
        Button("Less" if expanded else "Details", encode(toggle, owner)),
        Button("Chart", encode(ShowChart(symbol, interval), owner)),
        Button("Refresh", encode(RefreshAnalysis(symbol, interval, expanded), owner)),
    )
    timeframes = tuple(
        Button(_timeframe_label(tf, interval), encode(ShowAnalysis(symbol, tf, expanded), owner))
        for tf in TIMEFRAMES
    )
    return (actions, timeframes)


def chart_keyboard(symbol: str, interval: str, *, owner: int) -> Keyboard:
    """The timeframes (current one marked), then Analysis and Refresh."""
    timeframes = tuple(
        Button(_timeframe_label(tf, interval), encode(ShowChart(symbol, tf), owner))
        for tf in TIMEFRAMES
    )
    actions = (
        Button("Analysis", encode(ShowAnalysis(symbol, interval, False), owner)),
        Button("Refresh", encode(ShowChart(symbol, interval), owner)),
    )
    return (timeframes, actions)


def alert_fired_keyboard(symbol: str, alert_id: int, interval: str = "1h", *,
                         owner: int) -> Keyboard:
    """Under a fired alert: look at the analysis, or arm the alert again."""
    return ((
        Button("Analysis", encode(ShowAnalysis(symbol, interval, False), owner)),
        Button("Re-arm", encode(RearmAlertButton(alert_id), owner)),
    ),)


def alerts_keyboard(alert_ids: Sequence[int], *, owner: int) -> Keyboard:
    """A delete button per alert under /alerts (the first 30), three to a row."""
    buttons = [Button(f"🗑 #{alert_id}", encode(DeleteAlertButton(alert_id), owner))
               for alert_id in alert_ids[:_MAX_ALERT_BUTTONS]]
    return tuple(
        tuple(buttons[start:start + _ALERT_BUTTONS_PER_ROW])
        for start in range(0, len(buttons), _ALERT_BUTTONS_PER_ROW)
    )


def watchlist_keyboard(*, owner: int) -> Keyboard:
    """Refresh the watchlist in place."""
    return ((Button("Refresh", encode(RefreshWatchlist(), owner)),),)


def restart_keyboard(actor: str, *, owner: int) -> Keyboard:
    """Under /restart of a supervisor: restart it and its subtree, or cancel."""
    return ((
        Button(f"Restart {actor} and its children", encode(RestartActorButton(actor, True), owner)),
        Button("Cancel", encode(RestartActorButton(actor, False), owner)),
    ),)


def settings_keyboard(settings: UserSettings, *, owner: int) -> Keyboard:
    """Under /settings: a row of common values per setting (not the time zone, which is
    typed), each button starting with its row's emoji and the current value marked."""
    current = dict(settings.shown())
    rows = []
    for key, choices in BUTTON_CHOICES.items():
        emoji = SETTING_LABELS[key].split(" ", 1)[0]
        rows.append(tuple(
            Button(f"{emoji} {CURRENT_MARK if value == current[key] else ''}{value}",
                   encode(SettingButton(key, value), owner))
            for value in choices))
    return tuple(rows)


def forget_keyboard(*, owner: int) -> Keyboard:
    """Under /forget: delete everything now, or cancel (only the owner's press counts)."""
    return ((
        Button("🗑 Delete all my data", encode(ForgetButton(True), owner)),
        Button("Cancel", encode(ForgetButton(False), owner)),
    ),)
