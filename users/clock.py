"""Local time for one user: validating a zone name, the local day and minute of a moment,
and when quiet hours end.

Why here and not in ``chat``: the alert sweep (quiet hours) and the digest scheduler decide
*when* with these, and ``chat`` formats the same moments; both must agree on the zone rules,
DST included. ``zoneinfo`` does the calendar work; a moment is always epoch seconds, and a
wall-clock time that does not exist (spring forward) or exists twice (fall back) is resolved
the way :func:`local_moment` documents.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

if TYPE_CHECKING:
    from users.settings import QuietHours

__all__ = ["check_zone", "local_datetime", "local_day", "local_moment", "minute_of_day",
           "quiet_until", "zone"]

_MAX_ZONE_NAME = 64
_NOT_ZONES = frozenset({"localtime", "posixrules", "factory"})
"""Names some zone databases list that are not places: "localtime" is whatever the server's
own zone is, "posixrules" a template, "Factory" a placeholder that shows "-00"."""


@functools.lru_cache(maxsize=1)
def _known_zones() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()
            if name.lower() not in _NOT_ZONES}


def check_zone(name: str) -> str | None:
    """The canonical IANA name for ``name`` (case-insensitive; "utc" → "UTC"), or None."""
    cleaned = name.strip()
    if not cleaned or len(cleaned) > _MAX_ZONE_NAME:
        return None
    # Only names from the database: ZoneInfo() alone would also open paths like "../x".
    return _known_zones().get(cleaned.lower())


@functools.lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """The zone called ``name``, UTC for a name that is not (or no longer) known."""
    try:
        return ZoneInfo(check_zone(name) or "UTC")
    except ZoneInfoNotFoundError:  # a database without UTC would be broken; stay usable
        return ZoneInfo("UTC")


def local_datetime(epoch_s: float, zone_name: str) -> datetime:
    """The aware local datetime of a moment."""
    return datetime.fromtimestamp(epoch_s, tz=zone(zone_name))


def local_day(epoch_s: float, zone_name: str) -> date:
    """The user's calendar day at ``epoch_s``."""
    return local_datetime(epoch_s, zone_name).date()


def minute_of_day(epoch_s: float, zone_name: str) -> int:
    """Minutes since local midnight (wall clock) at ``epoch_s``, 0-1439."""
    moment = local_datetime(epoch_s, zone_name)
    return moment.hour * 60 + moment.minute


def local_moment(day: date, minute: int, zone_name: str) -> float:
    """Epoch seconds of wall-clock ``minute`` on ``day`` in the zone.

    A time skipped by a spring-forward change is taken as the same distance after the
    change (02:30 on a day that jumps 02:00→03:00 is 03:30); a time that happens twice at a
    fall-back change is the first of the two (``fold=0``).
    """
    wall = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone(zone_name))
    # Round-trip through UTC: a non-existent wall time comes back shifted by the gap.
    return wall.astimezone(UTC).timestamp()


def _wall_clock_reaches(day: date, minute: int, zone_name: str, fold: int) -> float:
    """The first moment the wall clock reads ``minute`` on ``day`` or later (epoch s).

    ``fold`` picks the first (0) or second (1) pass through a time that happens twice. A time
    skipped by a spring-forward change is reached at the change itself (02:30 on a day that
    jumps 02:00→03:00 is reached at 03:00), unlike :func:`local_moment`.
    """
    place = zone(zone_name)
    wall = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=place)
    moment = wall.replace(fold=fold).astimezone(UTC)
    if moment.astimezone(place).replace(tzinfo=None) == wall.replace(tzinfo=None):
        return moment.timestamp()
    # Skipped: read with the offset before the change (fold 0) it is a moment after the
    # change, with the offset after it (fold 1) one before; find the change to the second.
    high = int(wall.replace(fold=0).astimezone(UTC).timestamp())
    low = int(wall.replace(fold=1).astimezone(UTC).timestamp())
    after = datetime.fromtimestamp(high, tz=place).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, tz=place).utcoffset() == after:
            high = middle
        else:
            low = middle
    return float(high)


def quiet_until(epoch_s: float, zone_name: str, quiet: QuietHours | None) -> float | None:
    """When the quiet hours containing ``epoch_s`` end (epoch s), or None outside them.

    The end is the first moment the wall clock shows the end time: the second pass of an hour
    repeated at a fall-back change counts (its minutes are inside the window again), and an
    end time skipped at a spring-forward change is reached at the change.
    """
    if quiet is None or not quiet.contains(minute_of_day(epoch_s, zone_name)):
        return None
    today = local_day(epoch_s, zone_name)
    ends = (_wall_clock_reaches(today + timedelta(days=offset), quiet.end_min, zone_name, fold)
            for offset in (-1, 0, 1, 2) for fold in (0, 1))
    return min(end for end in ends if end > epoch_s)
