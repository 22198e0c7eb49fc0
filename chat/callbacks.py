"""Inline-button payloads: a compact, versioned text codec that checks every field on receipt.

Why: Telegram carries at most 64 bytes of ``callback_data`` and hands back whatever a client
sends, so a payload may be forged, garbled, or written by an older version of the bot (buttons
live on in old messages). Each payload is ``<version>|<action>|<fields...>``, e.g.
``1|a|BTCUSDT|1h|0``; :func:`decode` rebuilds the action only when the version is current and
every field passes the same checks the action's constructor applies, and otherwise raises
:class:`InvalidCallback`, whose ``user_text`` is a polite answer for the button press.

A payload that decodes is well-formed, not authorised: who may delete or re-arm an alert is
checked by whoever owns alerts, against the user who pressed the button.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from core.errors import BotError
from market.intervals import INTERVAL_MS

__all__ = [
    "CALLBACK_VERSION",
    "MAX_ALERT_ID",
    "MAX_CALLBACK_BYTES",
    "CallbackAction",
    "DeleteAlertButton",
    "InvalidCallback",
    "RearmAlertButton",
    "RefreshAnalysis",
    "RefreshWatchlist",
    "ShowAnalysis",
    "ShowChart",
    "decode",
    "encode",
]

CALLBACK_VERSION = "1"
"""Bump when a payload's meaning changes; older buttons then get the polite answer."""
MAX_CALLBACK_BYTES = 64
"""Telegram's limit on ``InlineKeyboardButton.callback_data``, in UTF-8 bytes."""
MAX_ALERT_ID = 10**15 - 1
"""Alert ids are positive and at most 15 digits, which keeps payloads short and canonical."""

_SYMBOL = re.compile(r"[A-Z0-9]{2,20}")
_ALERT_ID = re.compile(r"[1-9][0-9]{0,14}")
_SEPARATOR = "|"


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


CallbackAction = (
    ShowAnalysis | RefreshAnalysis | ShowChart | RefreshWatchlist | RearmAlertButton
    | DeleteAlertButton
)


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
    raise TypeError(f"not a callback action: {action!r}")


def encode(action: CallbackAction) -> str:
    """The payload for ``action``; always ASCII and at most 64 bytes."""
    data = _SEPARATOR.join((CALLBACK_VERSION, *_fields(action)))
    # The field checks bound every payload far below the limit (the longest is 30 bytes);
    # this guards future actions against Telegram's BUTTON_DATA_INVALID.
    assert len(data.encode("utf-8")) <= MAX_CALLBACK_BYTES, data
    return data


def decode(data: str) -> CallbackAction:
    """The action ``data`` encodes; raises :class:`InvalidCallback` for anything else."""
    if not isinstance(data, str):
        raise InvalidCallback(f"expected text, got {type(data).__name__}")
    if len(data) > MAX_CALLBACK_BYTES or not data.isascii():
        raise InvalidCallback("longer than 64 bytes or not ASCII")
    version, _, rest = data.partition(_SEPARATOR)
    if version != CALLBACK_VERSION:
        raise InvalidCallback(f"version {version[:8]!r} is not {CALLBACK_VERSION}")
    code, *fields = rest.split(_SEPARATOR)
    if code not in _DECODERS:
        raise InvalidCallback(f"unknown action {code[:8]!r}")
    count, build = _DECODERS[code]
    if len(fields) != count:
        raise InvalidCallback(f"action {code!r} takes {count} fields, got {len(fields)}")
    try:
        return build(fields)
    except ValueError as exc:
        raise InvalidCallback(str(exc)) from exc
