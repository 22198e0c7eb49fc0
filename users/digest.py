"""When a user's daily digest is due: one local minute, once per local day, DST included.

A digest is stored as the local minute of day it goes out at, the latest local day already
*settled* (sent, or given up after downtime, or already past when the digest was set) and the
next moment to look again (``next_due_at``, what the indexed query finds). Everything here is
pure: ``now`` is epoch seconds, the zone an IANA name, a day a :class:`datetime.date`.

Each local day has exactly one digest moment, :func:`users.clock.local_moment` of that day:
a minute skipped by a spring-forward change goes out the same distance after the change (02:30
on a day that jumps 02:00→03:00 goes out at 03:30), a minute that happens twice at a fall-back
change goes out at the first of the two. A day is settled at most once (``done_day`` only
moves forward), so no day has two digests whatever the clock does in between.

Catch-up: a digest whose moment passed at most ``grace_s`` (an hour) ago is still sent, late;
an older one is skipped for that day and remembered as missed, so the next digest can say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from users.clock import local_day, local_moment

__all__ = ["CATCH_UP_S", "DigestPlan", "digest_moment", "latest_slot", "next_due", "plan",
           "reschedule", "settled_when_set"]

CATCH_UP_S = 3600.0
"""How late a digest may still go out after downtime; older ones are skipped for that day."""
_LOOK_AHEAD_DAYS = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class DigestPlan:
    """What to do with one digest at one moment."""

    send_day: date | None
    """The local day whose digest goes out now, or None."""
    missed_day: date | None
    """A day whose digest moment passed more than the catch-up window ago, unsent; or None."""
    done_day: date | None
    """The latest settled day after this plan is carried out."""
    next_due_at: float
    """Epoch seconds of the next digest moment after this one."""


def digest_moment(day: date, minute: int, zone: str) -> float:
    """Epoch seconds the digest of local ``day`` goes out (see the module text for DST)."""
    return local_moment(day, minute, zone)


def latest_slot(now: float, minute: int, zone: str) -> tuple[date, float]:
    """The latest (local day, digest moment) at or before ``now``."""
    day = local_day(now, zone)
    for offset in range(_LOOK_AHEAD_DAYS):
        candidate = day - timedelta(days=offset)
        moment = digest_moment(candidate, minute, zone)
        if moment <= now:
            return candidate, moment
    # Unreachable with real zones: yesterday's moment is always before today's midnight.
    candidate = day - timedelta(days=_LOOK_AHEAD_DAYS)
    return candidate, digest_moment(candidate, minute, zone)


def next_due(now: float, minute: int, zone: str, done_day: date | None) -> float:
    """The first digest moment after ``now`` of a day after ``done_day``."""
    day = local_day(now, zone)
    if done_day is not None and done_day >= day:
        day = done_day + timedelta(days=1)
    for offset in range(_LOOK_AHEAD_DAYS):
        moment = digest_moment(day + timedelta(days=offset), minute, zone)
        if moment > now:
            return moment
    return digest_moment(day + timedelta(days=_LOOK_AHEAD_DAYS), minute, zone)


def settled_when_set(now: float, minute: int, zone: str,
                     done_day: date | None) -> tuple[date, float]:
    """(done day, next due) for a digest set (or changed) at ``now``.

    A moment already past today is not sent now: "/digest 08:00" typed at 09:00 starts
    tomorrow. A day already settled stays settled, so changing the time after today's digest
    went out does not send a second one today.
    """
    day, _ = latest_slot(now, minute, zone)
    if done_day is not None and done_day > day:
        day = done_day
    return day, next_due(now, minute, zone, day)


def plan(now: float, minute: int, zone: str, done_day: date | None, *,
         grace_s: float = CATCH_UP_S) -> DigestPlan:
    """What is due at ``now``: the day to send, the day missed, and when to look next.

    Decided from the minute and the zone *now*, not from the stored ``next_due_at``, so a
    time-zone change takes effect at the next look even if nobody moved the row.
    """
    day, moment = latest_slot(now, minute, zone)
    if done_day is not None and day <= done_day:
        return DigestPlan(send_day=None, missed_day=None, done_day=done_day,
                          next_due_at=next_due(now, minute, zone, done_day))
    late = now - moment <= grace_s
    return DigestPlan(send_day=day if late else None, missed_day=None if late else day,
                      done_day=day, next_due_at=next_due(now, minute, zone, day))


def reschedule(now: float, minute: int, zone: str, done_day: date | None, *,
               grace_s: float = CATCH_UP_S) -> float:
    """``next_due_at`` after the user's time zone changed (settled days stay settled).

    A day of the new zone whose moment passed at most ``grace_s`` ago and that is not
    settled is due now, as :func:`plan` would have it: moving east shortly after the new
    zone's digest time but before the old zone's would otherwise leave that day with none.
    An older unsettled moment is skipped silently (the bot was not offline), as when setting.
    """
    day, moment = latest_slot(now, minute, zone)
    if (done_day is None or day > done_day) and now - moment <= grace_s:
        return moment
    return next_due(now, minute, zone, done_day)
