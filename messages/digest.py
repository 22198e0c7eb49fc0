"""Messages of the daily digest: its acknowledged writes, the records reads return, its timer.

The writes go to the db_writer like every acknowledged write (answered after the commit).
:class:`SettleDigests` is the digest actor's claim: the writer decides, in its transaction,
which due digests go out now, moves them to their next day and answers with exactly those,
*before* anything is sent, so a day is claimed once and never sent twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pykka

__all__ = ["ClearDigest", "DigestDue", "DigestRecord", "DigestsSettled", "FiringRecord",
           "SetDigest", "SettleDigests", "SettledDigest"]


# -- records (answers) -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class DigestRecord:
    """One user's digest schedule as stored."""

    user_id: int
    """Owner."""
    chat_id: int
    """Where the digest goes."""
    minute: int
    """Local minute of day it goes out at (in the user's time zone), 0-1439."""
    next_due_at: float
    """Epoch seconds the digest actor looks at it next."""
    last_day: str | None
    """ISO date of the latest local day settled (sent, skipped, or past when set)."""
    missed_day: str | None
    """ISO date of a day skipped after downtime, not yet mentioned; None if none."""
    created_at: float
    """Epoch seconds it was first set."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FiringRecord:
    """One crossing of one of the user's alerts (``alert_firings``), with its alert if kept."""

    alert_id: int
    """The alert's #id."""
    fired_at: float
    """Epoch seconds of the crossing."""
    symbol: str
    """Exchange symbol."""
    kind: str
    """price, percent or rsi."""
    value: float | None
    """The price (rsi: the RSI) seen at the crossing."""
    direction: str | None
    """above or below; None when the alert was deleted since."""
    level: float | None
    """The level it crossed; None when the alert was deleted since."""
    interval: str | None
    """rsi: the kline interval; None otherwise."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SettledDigest:
    """A digest the writer claimed for sending: its day is settled, committed."""

    user_id: int
    """Owner."""
    chat_id: int
    """Where it goes."""
    day: str
    """ISO date of the local day it is the digest of."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DigestsSettled:
    """Answer to :class:`SettleDigests`."""

    sent: tuple[SettledDigest, ...]
    """Digests to send now, each claimed exactly once."""
    missed: tuple[int, ...]
    """Users whose digest was more than the catch-up window late: skipped for that day."""


# -- acknowledged writes -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SetDigest:
    """Send the user a digest every day at a local time (replaces an earlier one)."""

    request_id: str
    """Correlates logs."""
    user_id: int
    """Owner."""
    chat_id: int
    """Where the digest goes."""
    minute: int
    """Local minute of day, 0-1439."""
    reply_to: pykka.Future[Any] | None = None
    """Completed after the commit with ``Saved``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ClearDigest:
    """Stop the user's digest; ``Saved(changed=False)`` when there was none."""

    request_id: str
    """Correlates logs."""
    user_id: int
    """Owner."""
    reply_to: pykka.Future[Any] | None = None
    """Completed after the commit."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SettleDigests:
    """The digest actor's claim: settle these users' due digests at ``now``.

    Answered with :class:`DigestsSettled` after the commit, before anything is sent.
    """

    claims: tuple[tuple[int, str], ...]
    """(user_id, ISO day the actor composed a digest for, or "" for none) of the due digests
    it found; a digest is claimed only for the day the actor composed it for."""
    now: float
    """Epoch seconds the actor decided at (its wall clock)."""
    request_id: str | None = None
    """Correlates the round's log lines."""
    reply_to: pykka.Future[Any] | None = None
    """Completed after the commit."""


# -- timers ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DigestDue:
    """The digest actor's own timer: look for due digests."""
