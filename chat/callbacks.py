"""Inline-button payloads: a compact, versioned text codec that checks every field on receipt.

Why: Telegram carries at most 64 bytes of ``callback_data`` and hands back whatever a client
sends, so a payload may be forged, garbled, or written by an older version of the bot (buttons
live on in old messages). Each payload is ``<version>|<owner>|<action>|<fields...>``, e.g.
``2|42|a|BTCUSDT|1h|0``; :func:`decode_owned` rebuilds the action only when the version is
known and every field passes the same checks the action's constructor applies, and otherwise
raises :class:`InvalidCallback`, whose ``user_text`` is a polite answer for the button press.

The owner is the identity the message was made for (a user id, or a negative chat id for an
anonymous admin or a channel, see docs/security.md): in a group anyone can press any button,
so the conversation policy checks it against the presser. It lives in the data, not in a
table, so it survives restarts and costs no memory. Version-1 payloads (``1|a|...``) predate
owners; they still decode, with ``owner`` None, and the policy honours them only in private
chats, where the chat is the owner anyway.

A payload that decodes is well-formed, not authorised: who may delete or re-arm an alert is
checked by whoever owns alerts, against the user who pressed the button.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from core.errors import BotError
from market.intervals import INTERVAL_MS
from users.settings import SETTING_KEYS, InvalidSetting, normalize

__all__ = [
    "CALLBACK_VERSION",
    "MAX_ALERT_ID",
    "MAX_CALLBACK_BYTES",
    "MAX_OWNER",
    "CallbackAction",
    "DeleteAlertButton",
    "ForgetButton",
    "InvalidCallback",
    "LEGACY_VERSION",
    "OwnedAction",
    "RearmAlertButton",
    "RefreshAnalysis",
    "RefreshWatchlist",
    "RestartActorButton",
    "SettingButton",
    "ShowAnalysis",
    "ShowChart",
    "decode",
    "decode_owned",
    "encode",
    "is_admin_action",
    "is_market_action",
]

CALLBACK_VERSION = "2"
"""Bump when a payload's meaning changes; older buttons then get the polite answer."""
LEGACY_VERSION = "1"
"""Payloads without an owner (before version 2); decoded with ``owner`` None."""
MAX_CALLBACK_BYTES = 64
"""Telegram's limit on ``InlineKeyboardButton.callback_data``, in UTF-8 bytes."""
MAX_ALERT_ID = 10**15 - 1
"""Alert ids are positive and at most 15 digits, which keeps payloads short and canonical."""

MAX_OWNER = 2**63 - 1
"""Owners are non-zero and fit Telegram's 64-bit ids: at most 20 characters with the sign."""

_SYMBOL = re.compile(r"[A-Z0-9]{2,20}")
_OWNER = re.compile(r"-?[1-9][0-9]{0,18}")
_ALERT_ID = re.compile(r"[1-9][0-9]{0,14}")
_ACTOR = re.compile(r"[a-z][a-z0-9_]{0,31}")
_SEPARATOR = "|"
_SETTING_VALUE_MAX = 16


class InvalidCallback(BotError):
    """Button data that this version of the bot cannot act on (forged, garbled or outdated)."""

    user_text = "This button is out of date — send the command again."
    """What to show the user (as the callback answer)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"invalid callback data: {reason}")


def _check_symbol(symbol: str) -> None:
    if not isinstance(symbol, str) or not _SYMBOL.fullmatch(symbol):
        raise ValueError(f"symbol must match [A-Z0-9]{{2,20}}, got {symbol!r}")


def _check_interval(interval: str) -> None:
    # Exactly a key of INTERVAL_MS: payloads carry the canonical spelling only ("1h", not "1H").
    if not isinstance(interval, str) or interval not in INTERVAL_MS:
        raise ValueError(f"interval must be one of {', '.join(INTERVAL_MS)}, got {interval!r}")


def _check_alert_id(alert_id: int) -> None:
    if isinstance(alert_id, bool) or not isinstance(alert_id, int):
        raise ValueError(f"alert id must be an int, got {alert_id!r}")
    if not 1 <= alert_id <= MAX_ALERT_ID:
        raise ValueError(f"alert id must be within 1..{MAX_ALERT_ID}, got {alert_id}")


def _check_owner(owner: int) -> None:
    if isinstance(owner, bool) or not isinstance(owner, int):
        raise ValueError(f"owner must be an int, got {owner!r}")
    if owner == 0 or abs(owner) > MAX_OWNER:
        raise ValueError(f"owner must be non-zero and within ±{MAX_OWNER}, got {owner}")


def _check_flag(flag: bool) -> None:
    if not isinstance(flag, bool):
        raise ValueError(f"expected a bool, got {flag!r}")


@dataclass(frozen=True, slots=True)
class ShowAnalysis:
    """Show the analysis card (a timeframe button, or Details/Less)."""

    symbol: str
    """Exchange symbol, e.g. BTCUSDT."""
    interval: str
    """Candle interval, canonical spelling."""
    expanded: bool
    """True for the card with details."""

    def __post_init__(self) -> None:
        _check_symbol(self.symbol)
        _check_interval(self.interval)
        _check_flag(self.expanded)


@dataclass(frozen=True, slots=True)
class RefreshAnalysis:
    """Recompute the analysis card shown and edit it in place."""

    symbol: str
    """Exchange symbol."""
    interval: str
    """Candle interval."""
    expanded: bool
    """Whether the card shown has its details open."""

    def __post_init__(self) -> None:
        _check_symbol(self.symbol)
        _check_interval(self.interval)
        _check_flag(self.expanded)


@dataclass(frozen=True, slots=True)
class ShowChart:
    """Send (or redraw) the candlestick chart."""

    symbol: str
    """Exchange symbol."""
    interval: str
    """Candle interval."""

    def __post_init__(self) -> None:
        _check_symbol(self.symbol)
        _check_interval(self.interval)


@dataclass(frozen=True, slots=True)
class RefreshWatchlist:
    """Re-render the user's watchlist in place."""


@dataclass(frozen=True, slots=True)
class RearmAlertButton:
    """The "Re-arm" button: arm a fired alert again (storage does it with ``RearmAlert``)."""

    alert_id: int
    """The alert's id in storage."""

    def __post_init__(self) -> None:
        _check_alert_id(self.alert_id)


@dataclass(frozen=True, slots=True)
class DeleteAlertButton:
    """A "Delete" button: delete an alert (storage does it with ``DeleteAlert``)."""

    alert_id: int
    """The alert's id in storage."""

    def __post_init__(self) -> None:
        _check_alert_id(self.alert_id)


@dataclass(frozen=True, slots=True)
class RestartActorButton:
    """Under /restart of a supervisor: restart it (and so its subtree) now, or cancel."""

    actor: str
    """The supervisor's name, as /actors shows it."""
    confirm: bool
    """True for the confirm button, False for Cancel."""

    def __post_init__(self) -> None:
        if not isinstance(self.actor, str) or not _ACTOR.fullmatch(self.actor):
            raise ValueError(f"actor must match [a-z][a-z0-9_]{{0,31}}, got {self.actor!r}")
        _check_flag(self.confirm)


@dataclass(frozen=True, slots=True)
class SettingButton:
    """A /settings button: set one of the presser's settings to a value and redraw the card."""

    key: str
    """A key of ``users.settings.SETTING_KEYS``."""
    value: str
    """Its canonical value (what ``normalize`` makes of it), ASCII, at most 16 characters."""

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or self.key not in SETTING_KEYS:
            raise ValueError(f"setting must be one of {', '.join(SETTING_KEYS)}, got {self.key!r}")
        if (not isinstance(self.value, str) or not 1 <= len(self.value) <= _SETTING_VALUE_MAX
                or not self.value.isascii() or _SEPARATOR in self.value):
            raise ValueError(f"setting value must be 1-{_SETTING_VALUE_MAX} ASCII characters")
        try:
            canonical = normalize(self.key, self.value)
        except InvalidSetting as exc:
            raise ValueError(exc.problem) from exc
        if canonical != (self.key, self.value):
            raise ValueError(f"setting value {self.value!r} is not canonical")


@dataclass(frozen=True, slots=True)
class ForgetButton:
    """Under /forget: delete all of the presser's data now (confirm), or cancel."""

    confirm: bool
    """True for the delete button, False for Cancel."""

    def __post_init__(self) -> None:
        _check_flag(self.confirm)


CallbackAction = (
    ShowAnalysis | RefreshAnalysis | ShowChart | RefreshWatchlist | RearmAlertButton
    | DeleteAlertButton | RestartActorButton | SettingButton | ForgetButton
)


@dataclass(frozen=True, slots=True)
class OwnedAction:
    """What a button does and whom it answers."""

    action: CallbackAction
    owner: int | None
    """The identity the message was made for; None for a version-1 button (no owner)."""


def is_market_action(action: CallbackAction) -> bool:
    """Whether ``action`` only shows public market data (no one's alerts or watchlist)."""
    return isinstance(action, (ShowAnalysis, RefreshAnalysis, ShowChart))


def is_admin_action(action: CallbackAction) -> bool:
    """Whether only an admin may press ``action`` (whoever the button's owner is)."""
    return isinstance(action, RestartActorButton)


def _flag(text: str) -> bool:
    if text not in ("0", "1"):
        raise ValueError(f"flag must be 0 or 1, got {text!r}")
    return text == "1"


def _alert_id(text: str) -> int:
    if not _ALERT_ID.fullmatch(text):
        raise ValueError(f"alert id must be 1 to 15 digits without leading zeros, got {text!r}")
    return int(text)


# Action code -> (number of fields, constructor from the fields). Codes are part of the
# version-1 format: never reuse one for a different meaning.
_DECODERS: dict[str, tuple[int, Callable[[list[str]], CallbackAction]]] = {
    "a": (3, lambda f: ShowAnalysis(f[0], f[1], _flag(f[2]))),
    "r": (3, lambda f: RefreshAnalysis(f[0], f[1], _flag(f[2]))),
    "c": (2, lambda f: ShowChart(f[0], f[1])),
    "w": (0, lambda f: RefreshWatchlist()),
    "m": (1, lambda f: RearmAlertButton(_alert_id(f[0]))),
    "d": (1, lambda f: DeleteAlertButton(_alert_id(f[0]))),
    "s": (2, lambda f: RestartActorButton(f[0], _flag(f[1]))),
    "st": (2, lambda f: SettingButton(f[0], f[1])),
    "fg": (1, lambda f: ForgetButton(_flag(f[0]))),
}


def _fields(action: CallbackAction) -> tuple[str, ...]:
    match action:
        case ShowAnalysis(symbol, interval, expanded):
            return ("a", symbol, interval, "1" if expanded else "0")
        case RefreshAnalysis(symbol, interval, expanded):
            return ("r", symbol, interval, "1" if expanded else "0")
        case ShowChart(symbol, interval):
            return ("c", symbol, interval)
        case RefreshWatchlist():
            return ("w",)
        case RearmAlertButton(alert_id):
            return ("m", str(alert_id))
        case DeleteAlertButton(alert_id):
            return ("d", str(alert_id))
        case RestartActorButton(actor, confirm):
            return ("s", actor, "1" if confirm else "0")
        case SettingButton(key, value):
            return ("st", key, value)
        case ForgetButton(confirm):
            return ("fg", "1" if confirm else "0")
    raise TypeError(f"not a callback action: {action!r}")


def encode(action: CallbackAction, owner: int) -> str:
    """The payload for ``action`` answering ``owner`` only; always ASCII and at most 64 bytes."""
    _check_owner(owner)
    data = _SEPARATOR.join((CALLBACK_VERSION, str(owner), *_fields(action)))
    # The field checks bound every payload below the limit (the longest is 51 bytes: a
    # 20-character owner and symbol); this guards future actions against BUTTON_DATA_INVALID.
    assert len(data.encode("utf-8")) <= MAX_CALLBACK_BYTES, data
    return data


def decode(data: str) -> CallbackAction:
    """The action ``data`` encodes; raises :class:`InvalidCallback` for anything else."""
    return decode_owned(data).action


def decode_owned(data: str) -> OwnedAction:
    """The action ``data`` encodes and its owner; raises :class:`InvalidCallback` otherwise."""
    if not isinstance(data, str):
        raise InvalidCallback(f"expected text, got {type(data).__name__}")
    if len(data) > MAX_CALLBACK_BYTES or not data.isascii():
        raise InvalidCallback("longer than 64 bytes or not ASCII")
    version, _, rest = data.partition(_SEPARATOR)
    owner: int | None = None
    if version == CALLBACK_VERSION:
        owner_text, _, rest = rest.partition(_SEPARATOR)
        if not _OWNER.fullmatch(owner_text) or abs(int(owner_text)) > MAX_OWNER:
            raise InvalidCallback(f"owner {owner_text[:24]!r} is not a canonical non-zero id")
        owner = int(owner_text)
    elif version != LEGACY_VERSION:
        raise InvalidCallback(f"version {version[:8]!r} is not {CALLBACK_VERSION}")
    code, *fields = rest.split(_SEPARATOR)
    if code not in _DECODERS:
        raise InvalidCallback(f"unknown action {code[:8]!r}")
    count, build = _DECODERS[code]
    if len(fields) != count:
        raise InvalidCallback(f"action {code!r} takes {count} fields, got {len(fields)}")
    try:
        return OwnedAction(build(fields), owner)
    except ValueError as exc:
        raise InvalidCallback(str(exc)) from exc
