"""Messages and records of "your data": what ``/export`` reads and what ``/forget`` deletes.

One user's data is every row keyed by their user id: the ``users`` row (settings, chat,
username, first/last seen), ``alerts``, ``alert_firings``, ``watchlist``, ``digests`` and
``command_log``. :class:`UserData` is all of it as read in one read transaction (one
snapshot, so the counts and the rows agree); :class:`ForgetUser` is the acknowledged write
that deletes it all in one transaction and answers :class:`Forgotten` with what it deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pykka

__all__ = [
    "DigestSchedule",
    "ExportedAlert",
    "ExportedFiring",
    "ForgetUser",
    "Forgotten",
    "UserData",
    "UserDataCounts",
    "UserRow",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class UserDataCounts:
    """How many rows of one user each table holds (or held: what was deleted)."""

    users: int = 0
    """The users row (0 or 1): settings, chat id, username, first and last seen."""
    alerts: int = 0
    """Alerts of every kind and state (live, fired, expired)."""
    alert_firings: int = 0
    """Entries of the firing log (one per crossing)."""
    watchlist: int = 0
    """Watched symbols."""
    digests: int = 0
    """The daily digest's schedule (0 or 1)."""
    command_log: int = 0
    """Commands and button presses logged for /stats."""

    @property
    def total(self) -> int:
        """Rows in all tables together."""
        return (self.users + self.alerts + self.alert_firings + self.watchlist + self.digests
                + self.command_log)


@dataclass(frozen=True, slots=True, kw_only=True)
class UserRow:
    """The user's own row, without its settings (those are :attr:`UserData.settings`)."""

    chat_id: int
    """Their latest chat with the bot."""
    username: str | None
    """@username when Telegram gave one."""
    first_seen: float
    """Epoch seconds."""
    last_seen: float
    """Epoch seconds."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportedAlert:
    """One alert with every column that means something to its owner."""

    alert_id: int
    """The #id /alerts shows."""
    chat_id: int
    """Where its notifications go."""
    symbol: str
    """Exchange symbol."""
    kind: str
    """price, percent or rsi."""
    direction: str
    """above or below."""
    level: float
    """The price level (rsi: the RSI level)."""
    interval: str | None
    """rsi: the candle interval."""
    base_price: float | None
    """percent: the price the move is measured from."""
    recurring: bool
    """Re-arms after the condition clears."""
    cooldown_s: float
    """recurring: least seconds between two firings."""
    armed_from: float | None
    """recurring: fires no earlier than this (epoch s)."""
    expires_at: float | None
    """Ends unfired after this (epoch s)."""
    ended: str | None
    """None while it may fire; fired or expired."""
    created_at: float
    """Epoch seconds."""
    fired_at: float | None
    """Last firing (epoch s)."""
    fired_price: float | None
    """Price seen at the last firing."""
    notified_at: float | None
    """When the owner was told of the last firing (epoch s)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportedFiring:
    """One entry of the firing log."""

    alert_id: int
    """The alert that fired (it may be deleted since)."""
    fired_at: float
    """Epoch seconds."""
    symbol: str
    """Exchange symbol."""
    kind: str
    """price, percent or rsi."""
    value: float | None
    """The price (rsi: the RSI) that crossed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DigestSchedule:
    """The daily digest's row."""

    chat_id: int
    """Where it is sent."""
    minute: int
    """Local minute of the day it is due (0-1439)."""
    next_due_at: float
    """Next send (epoch s)."""
    last_day: str | None
    """Local day (YYYY-MM-DD) of the last send; None before the first."""
    created_at: float
    """Epoch seconds."""


@dataclass(frozen=True, slots=True, kw_only=True)
class UserData:
    """Everything stored about one user, read in one snapshot (bounded, see the caps)."""

    user_id: int
    """Whose data."""
    read_at: float
    """Epoch seconds of the read."""
    user: UserRow | None
    """Their row; None when they never saved a setting (or after /forget)."""
    settings: tuple[tuple[str, str], ...]
    """Stored settings as sorted (key, value) pairs."""
    alerts: tuple[ExportedAlert, ...]
    """Alerts by id, at most ``storage.user_data.EXPORT_ALERTS``."""
    firings: tuple[ExportedFiring, ...]
    """The newest firings, newest first, at most ``storage.user_data.EXPORT_FIRINGS``."""
    watchlist: tuple[tuple[str, float], ...]
    """(symbol, added at) in the order added."""
    digest: DigestSchedule | None
    """The digest's schedule; None when off."""
    counts: UserDataCounts
    """All rows per table (more than the lists above hold when a cap cut them)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ForgetUser:
    """Delete every row of one user in one transaction; answered with :class:`Forgotten`."""

    request_id: str
    """The confirm press (logs)."""
    user_id: int
    """Whose data: always the presser's own (the button is bound to its owner)."""
    reply_to: pykka.Future[Any] | None = None
    """Completed after the commit."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Forgotten:
    """Answer to :class:`ForgetUser`: the rows deleted, counted in the same transaction."""

    deleted: UserDataCounts
    """Per table; all zero when nothing was left (a second press)."""
