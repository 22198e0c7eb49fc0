"""/digest's argument: a local time of day, "off", or nothing (show the schedule).

Kept out of ``chat.arguments`` (which is full) as a leaf module: ``chat.arguments`` imports
:class:`DigestAt` into its ``CommandArgs`` union, so this module imports ``chat.arguments``
only inside the parser, at call time, never at import.

Accepted, in the user's time zone: ``08:30``, ``8:30``, ``8.30``, ``8h30``, ``0830``,
``830``, ``8`` (08:00), ``20:15``, and 12-hour times ``8:30pm``, ``8:30 pm``, ``12am``
(midnight). Everything else gets an answer that says what works.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chat.commands import CommandSpec

__all__ = ["OFF_WORDS", "DigestAt", "digest_args", "parse_time_of_day"]

OFF_WORDS = frozenset({"off", "stop", "none", "no", "disable", "cancel"})
"""Words that stop the digest."""
_CLOCK = re.compile(r"([0-9]{1,2})(?:[:.h]([0-9]{2}))?h?")
_DIGITS = re.compile(r"([0-9]{1,2})([0-9]{2})")
_MERIDIEM = re.compile(r"(.*?)\s*(am|pm|a\.m\.|p\.m\.)")


@dataclass(frozen=True, slots=True)
class DigestAt:
    """/digest: set (``minute``), stop (``off``) or show (neither) the daily digest."""

    minute: int | None = None
    """Local minute of day to send it at, 0-1439; None: not setting a time."""
    off: bool = False
    """True for /digest off."""


def parse_time_of_day(text: str) -> int | None:
    """Minutes after local midnight for a time like "08:30" or "8:30pm"; None if not one."""
    cleaned = text.strip().lower()
    meridiem = None
    match = _MERIDIEM.fullmatch(cleaned)
    if match is not None:
        cleaned, meridiem = match.group(1), match.group(2)[0]
    clock = _CLOCK.fullmatch(cleaned) or _DIGITS.fullmatch(cleaned)
    if clock is None:
        return None
    hour, minute = int(clock.group(1)), int(clock.group(2) or 0)
    if minute > 59:
        return None
    if meridiem is not None:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem == "p" else 0)
    if hour > 23:
        return None
    return hour * 60 + minute


def digest_args(spec: CommandSpec, words: tuple[str, ...]) -> DigestAt:
    """Nothing: show; "off": stop; a time of day (one word, or a time and am/pm): set."""
    from chat.arguments import UsageError, shown  # at call time: see the module text

    if not words:
        return DigestAt()
    if len(words) == 1 and words[0].strip().lower() in OFF_WORDS:
        return DigestAt(off=True)
    text = " ".join(words)
    minute = parse_time_of_day(text)
    if minute is None:
        raise UsageError(f"“{shown(text)}” is not a time of day: write it like 08:30 "
                         "(24-hour, your time zone) or 8:30pm, or off to stop the digest.",
                         spec)
    return DigestAt(minute=minute)
