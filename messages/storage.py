"""Messages of the storage conversation: writes to the db_writer, and the records reads return.

Two kinds of write:

* **Acknowledged** (alerts, watchlist, settings, the alert sweep's bookkeeping): they carry a
  ``reply_to`` future that the writer completes only *after* the commit, with :class:`Saved`
  (or :class:`FiredAlerts`), or fails with a ``storage.errors.NotSaved`` whose text is meant
  for the user ("not saved, nothing changed: ..."). A user sees "saved" only after a commit.
* **Fire-and-forget** (user sightings, the command log, candles): batched, retried while the
  database is busy, and idempotent, so a redelivery after a crash stores nothing twice.

Every acknowledged write is idempotent too: an alert is keyed by ``(user_id, request_id)``, so
the same request redelivered returns the same alert id instead of a second alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    import pykka

__all__ = [
    "AddAlert",
    "AlertRecord",
    "CandleRow",
    "ClaimNotices",
    "ClaimedNotices",
    "CommandStat",
    "DeleteAlert",
    "FireCrossedAlerts",
    "FiredAlerts",
    "FlushDue",
    "PruneDue",
    "LogCommand",
    "MarkNotified",
    "RearmAlert",
    "SaveSettings",
    "Saved",
    "StoreCandles",
    "SweepDue",
    "TouchUser",
    "Unwatch",
    "Watch",
]

CandleRow: TypeAlias = tuple[int, float, float, float, float, float]
"""(open_time_ms, open, high, low, close, volume)."""


# -- records (answers) -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Saved:
    """The write is committed."""

    changed: bool = True
    """False when it was already so (same request again, symbol already watched...)."""
    alert_id: int | None = None
    """The alert created, re-armed or deleted, for alert writes."""
    alerts_updated: int = 0
    """SaveSettings: the user's live recurring alerts that took the new cool-down."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertRecord:
    """One price alert as stored."""

    alert_id: int
    """Shown to the user as #id; unique across users."""
    user_id: int
    """Owner."""
    chat_id: int
    """Where the notification goes."""
    symbol: str
    """Exchange symbol, e.g. BTCUSDT."""
    direction: str
    """above or below."""
    price: float
    """Target price."""
    created_at: float
    """Epoch seconds."""
    fired_at: float | None = None
    """Epoch seconds it fired; None while active."""
    fired_price: float | None = None
    """The value that crossed the level when it fired: the last price (rsi: the RSI)."""
    notified_at: float | None = None
    """Epoch seconds the owner was notified; None if not (yet)."""
    kind: str = "price"
    """price (a level), percent (a level set as a move from ``base_price``) or rsi."""
    interval: str | None = None
    """rsi: the kline interval whose closed candles give RSI(14); None otherwise."""
    base_price: float | None = None
    """percent: the price when the alert was set; ``price`` is the level it makes."""
    recurring: bool = False
    """Re-arms once the condition has cleared (and ``cooldown_s`` passed) instead of ending."""
    cooldown_s: float = 0.0
    """recurring: least seconds from one firing to the next."""
    armed_from: float | None = None
    """recurring: a re-armed alert fires no earlier than this (epoch s); None: at once."""
    expires_at: float | None = None
    """Epoch seconds after which it ends unfired (the owner is told once); None: never."""
    ended: str | None = None
    """None while it may still fire; "fired" (a one-shot that fired) or "expired"."""

    @property
    def active(self) -> bool:
        """Armed: it fires at the next sweep that sees its condition."""
        return self.fired_at is None

    @property
    def live(self) -> bool:
        """Not finished: armed, or a recurring alert waiting for its condition to clear
        (what the per-user cap counts and /alerts lists)."""
        return self.ended is None


@dataclass(frozen=True, slots=True, kw_only=True)
class FiredAlerts:
    """Answer to :class:`FireCrossedAlerts`: the alerts this sweep moved to fired."""

    alerts: tuple[AlertRecord, ...]
    """Only alerts that were armed until this commit, so each crossing fires once."""
    expired: tuple[AlertRecord, ...] = ()
    """Alerts this sweep ended as expired (their owners are told through the same outbox)."""
    rearmed: int = 0
    """Recurring alerts this sweep re-armed because their condition had cleared."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandStat:
    """Usage of one command over a period (for ``/stats``)."""

    command: str
    """Command name without arguments, e.g. /price."""
    count: int
    """Times used."""
    failures: int
    """Of those, with an outcome other than ok."""
    p50_ms: float
    """Median latency."""
    p95_ms: float
    """95th percentile latency."""


# -- acknowledged writes -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class AddAlert:
    """Create an alert of any kind; answered with ``Saved(alert_id=...)``."""

    request_id: str
    """Also the idempotency key: the same request twice gives the same alert."""
    user_id: int
    """Owner (the per-user limit applies)."""
    chat_id: int
    """Where the notification goes."""
    symbol: str
    """Exchange symbol, already validated as a live pair by the caller."""
    direction: str
    """above or below."""
    price: float
    """Target price, > 0 (rsi: the RSI level, 0-100)."""
    kind: str = "price"
    """price, percent or rsi (``AlertRecord.kind``)."""
    interval: str | None = None
    """rsi: the kline interval."""
    base_price: float | None = None
    """percent: the price the move is measured from."""
    recurring: bool = False
    """Re-arm after the condition clears."""
    cooldown_s: float = 0.0
    """recurring: least seconds between two firings (the user's cool-down setting)."""
    expires_at: float | None = None
    """Epoch seconds it ends if it has not fired by then; None: never."""
    reply_to: pykka.Future[Any] | None = None
    """Completed after the commit."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteAlert:
    """Delete one of the user's own alerts; others' are refused (``NotYours``)."""

    request_id: str
    """Correlates logs."""
    user_id: int
    """Who asks."""
    alert_id: int
    """The #id shown by /alerts."""
    reply_to: pykka.Future[Any] | None = None
    """Completed after the commit."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RearmAlert:
    """Make one of the user's fired alerts active again (the button on a notification)."""

    request_id: str
    """Correlates logs."""
    user_id: int
    """Who asks (must own it)."""
    alert_id: int
    """The fired alert."""
    reply_to: pykka.Future[Any] | None = None
    """Completed after the commit."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Watch:
    """Add a symbol to the user's watchlist."""

    request_id: str
    """Correlates logs."""
    user_id: int
    """Owner."""
    symbol: str
    """Exchange symbol, already validated."""
    reply_to: pykka.Future[Any] | None = None
    """Completed after the commit."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Unwatch:
    """Remove a symbol from the user's watchlist."""

    request_id: str
    """Correlates logs."""
    user_id: int
    """Owner."""
    symbol: str
    """Exchange symbol."""
    reply_to: pykka.Future[Any] | None = None
    """Completed after the commit."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SaveSettings:
    """Merge settings into the user's stored settings (creating the user if unseen)."""

    request_id: str
    """Correlates logs."""
    user_id: int
    """Owner."""
    chat_id: int
    """Their chat, in case the user row does not exist yet."""
    settings: tuple[tuple[str, str], ...]
    """(name, value) pairs; a later pair wins."""
    reply_to: pykka.Future[Any] | None = None
    """Completed after the commit."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FireCrossedAlerts:
    """The alert sweep, in one transaction: expire, re-arm what cleared, fire what is reached.

    Answered with :class:`FiredAlerts` after the commit, *before* anyone is notified.
    """

    prices: tuple[tuple[str, float], ...]
    """(symbol, last price) for every symbol priced in this sweep."""
    fired_at: float
    """Epoch seconds of the sweep (also "now" for expiry and cool-downs)."""
    rsi: tuple[tuple[str, str, float], ...] = ()
    """(symbol, interval, RSI(14) of the closed candles) for every pair with live RSI alerts
    whose value is known; a pair left out neither fires nor clears this sweep."""
    request_id: str | None = None
    """Correlates the sweep's log lines."""
    reply_to: pykka.Future[Any] | None = None
    """Completed after the commit."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MarkNotified:
    """The owners of these fired (or expired) alerts have been sent their notice."""

    alert_ids: tuple[int, ...]
    """Alerts notified."""
    notified_at: float
    """Epoch seconds."""
    request_id: str | None = None
    """Correlates the sweep's log lines."""
    reply_to: pykka.Future[Any] | None = None
    """Completed after the commit (None: fire-and-forget)."""
    claimant: str | None = None
    """Who sent them (``storage.notices``): only notices still claimed by it are marked, so a
    late mark cannot mark a newer notice another sender claimed. None: marked whoever claimed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimNotices:
    """Claim these outbox notices for sending: the ones answered are this instance's to send.

    With several instances on one database, each notice is claimed by one of them before it
    is sent; a claim runs out at ``until`` so the notices of an instance that died while
    sending go out from another one.
    """

    alert_ids: tuple[int, ...]
    """Alerts whose notice is about to be sent."""
    claimant: str
    """Who claims them (the instance's key)."""
    now: float
    """Epoch seconds: claims that ran out before this are free."""
    until: float
    """Epoch seconds the claim holds until (MarkNotified is due well before)."""
    request_id: str | None = None
    """Correlates the sweep's log lines."""
    reply_to: pykka.Future[Any] | None = None
    """Completed with :class:`ClaimedNotices` after the commit."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimedNotices:
    """Answer to :class:`ClaimNotices`."""

    alert_ids: tuple[int, ...]
    """The notices claimed (still unnotified, unclaimed or this claimant's own), sorted."""


# -- fire-and-forget writes --------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class TouchUser:
    """A user was seen: upsert first/last seen (order-insensitive: min/max)."""

    user_id: int
    """Telegram user id."""
    chat_id: int
    """Their latest chat with the bot."""
    username: str | None
    """@username if they have one."""
    seen_at: float
    """Epoch seconds."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LogCommand:
    """One handled command, for ``/stats`` (stored once per request and command)."""

    request_id: str
    """The update that carried it."""
    command: str
    """Command name without arguments."""
    latency_ms: float
    """Receive to final reply."""
    outcome: str
    """ok, error, degraded, refused..."""
    at: float
    """Epoch seconds."""
    user_id: int | None = None
    """Who used it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreCandles:
    """Upsert candles of one symbol and interval (the still-open one is overwritten later)."""

    symbol: str
    """Exchange symbol."""
    interval: str
    """Kline interval."""
    rows: tuple[CandleRow, ...]
    """Candles in any order."""


# -- timers ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FlushDue:
    """The writer's own timer: commit whatever has waited a flush interval."""


@dataclass(frozen=True, slots=True)
class PruneDue:
    """The writer's own timer (or its own follow-up): delete one bounded batch of old history."""


@dataclass(frozen=True, slots=True)
class SweepDue:
    """The alerts actor's own timer: run one sweep."""
