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


@functools.lru_cache(maxsize=1)
def _known_zones() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


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


def quiet_until(epoch_s: float, zone_name: str, quiet: QuietHours | None) -> float | None:
    """When the quiet hours containing ``epoch_s`` end (epoch s), or None outside them."""
    if quiet is None or not quiet.contains(minute_of_day(epoch_s, zone_name)):
        return None
    today = local_day(epoch_s, zone_name)
    for offset in (0, 1):
        end = local_moment(today + timedelta(days=offset), quiet.end_min, zone_name)
        if end > epoch_s:
            return end
    return local_moment(today + timedelta(days=2), quiet.end_min, zone_name)
