"""A user's settings: the catalogue of keys, how a typed value is checked, and the defaults.

Stored as a JSON object of canonical strings in ``users.settings`` (``SaveSettings`` merges
pairs into it). :func:`normalize` is the one gate a value passes before it is stored, so
:meth:`UserSettings.from_pairs` can trust what it reads; it still falls back to the default
for a value it cannot read (a hand-edited row, a key from a newer release), never failing a
command over a setting.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Literal

from core.errors import BotError
from users.clock import check_zone

__all__ = [
    "COOLDOWN_MAX_S",
    "COOLDOWN_MIN_S",
    "DEFAULTS",
    "SETTING_KEYS",
    "STYLES",
    "InvalidSetting",
    "QuietHours",
    "UserSettings",
    "canonical_key",
    "duration_seconds",
    "normalize",
    "parse_duration",
    "parse_quiet",
    "stored_object",
    "stored_pairs",
]

CardStyle = Literal["compact", "detailed"]
STYLES: tuple[CardStyle, ...] = ("compact", "detailed")
SETTING_KEYS = ("interval", "timezone", "quiet", "style", "cooldown")
"""Every key /settings shows and sets, in the order shown."""
_ALIASES = {"tz": "timezone", "zone": "timezone", "time_zone": "timezone", "card": "style",
            "cards": "style", "quiet_hours": "quiet", "quiethours": "quiet",
            "cool_down": "cooldown", "timeframe": "interval", "tf": "interval"}
DEFAULTS: dict[str, str] = {"interval": "1h", "timezone": "UTC", "quiet": "off",
                            "style": "compact", "cooldown": "1h"}
COOLDOWN_MIN_S = 60.0
COOLDOWN_MAX_S = 7 * 86_400.0
_INTERVALS = ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d",
              "1w", "1M")
_CLOCK = re.compile(r"([01]?[0-9]|2[0-3])[:.h]?([0-5][0-9])?")
_DURATION = re.compile(r"([0-9]{1,6}(?:\.[0-9]+)?)\s*(s|sec|m|min|h|hr|d|w)")
_DURATION_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86_400,
                   "w": 604_800}


class InvalidSetting(BotError):
    """A setting's key or value is not allowed; ``problem`` says why in plain words."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        """The canonical key (or the key as typed when unknown)."""
        self.problem = problem
        """One sentence for the user, already naming what would work."""
        super().__init__(problem)


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily window in local time during which notifications wait; may wrap midnight."""

    start_min: int
    """Minutes after local midnight it starts, 0-1439."""
    end_min: int
    """Minutes after local midnight it ends (exclusive); may be < start (23:00-07:00)."""

    def contains(self, minute_of_day: int) -> bool:
        if self.start_min <= self.end_min:
            return self.start_min <= minute_of_day < self.end_min
        return minute_of_day >= self.start_min or minute_of_day < self.end_min

    @property
    def text(self) -> str:
        """Canonical "HH:MM-HH:MM"."""
        return f"{_hhmm(self.start_min)}-{_hhmm(self.end_min)}"


@dataclass(frozen=True, slots=True, kw_only=True)
class UserSettings:
    """One user's effective settings (defaults filled in)."""

    interval: str = DEFAULTS["interval"]
    """Default interval of /analysis, /chart and RSI alerts."""
    timezone: str = DEFAULTS["timezone"]
    """IANA time zone name every time shown to the user is in."""
    quiet: QuietHours | None = None
    """Quiet hours, or None (off)."""
    style: CardStyle = "compact"
    """Whether cards open compact or detailed."""
    cooldown_s: float = 3600.0
    """Least time between two notifications of one recurring alert."""

    @classmethod
    def from_pairs(cls, pairs: tuple[tuple[str, str], ...]) -> UserSettings:
        """The settings from stored (key, value) pairs; unreadable values fall back to defaults."""
        values: dict[str, str] = {}
        for key, value in pairs:
            if key not in SETTING_KEYS:  # aliases are for typing; other keys are not ours
                continue
            try:
                canonical, text = normalize(key, value)
            except InvalidSetting:
                continue
            values[canonical] = text
        quiet = values.get("quiet", "off")
        style = values.get("style", DEFAULTS["style"])
        return cls(
            interval=values.get("interval", DEFAULTS["interval"]),
            timezone=values.get("timezone", DEFAULTS["timezone"]),
            quiet=None if quiet == "off" else parse_quiet(quiet),
            style="detailed" if style == "detailed" else "compact",
            cooldown_s=parse_duration(values.get("cooldown", DEFAULTS["cooldown"])),
        )

    def shown(self) -> tuple[tuple[str, str], ...]:
        """(key, canonical value) for every key, in :data:`SETTING_KEYS` order."""
        return (("interval", self.interval), ("timezone", self.timezone),
                ("quiet", "off" if self.quiet is None else self.quiet.text),
                ("style", self.style), ("cooldown", _duration_text(self.cooldown_s)))


def canonical_key(key: str) -> str:
    """The catalogue's name for ``key`` ("tz" → "timezone"); raises for an unknown key."""
    cleaned = key.strip().lower().replace("-", "_")
    cleaned = _ALIASES.get(cleaned, cleaned)
    if cleaned not in SETTING_KEYS:
        raise InvalidSetting(key[:24], f"There is no setting “{key[:24]}”; the settings are "
                                       f"{', '.join(SETTING_KEYS)}.")
    return cleaned


def normalize(key: str, value: str) -> tuple[str, str]:
    """(canonical key, canonical value) or :class:`InvalidSetting` explaining what works."""
    canonical = canonical_key(key)
    text = value.strip()
    shown = text if len(text) <= 24 else text[:23] + "…"
    match canonical:
        case "interval":
            cleaned = {"hourly": "1h", "daily": "1d", "weekly": "1w"}.get(text.lower(), text)
            if cleaned not in _INTERVALS and cleaned.lower() in _INTERVALS:
                cleaned = cleaned.lower()
            if cleaned not in _INTERVALS:
                raise InvalidSetting(canonical, f"“{shown}” is not an interval; use one of "
                                                f"{' '.join(_INTERVALS)}.")
            return canonical, cleaned
        case "timezone":
            zone = check_zone(text)
            if zone is None:
                raise InvalidSetting(canonical, f"“{shown}” is not a time zone; use an IANA "
                                                "name like Europe/Berlin, America/New_York or UTC.")
            return canonical, zone
        case "quiet":
            if text.lower() in ("off", "none", "no", "0"):
                return canonical, "off"
            return canonical, parse_quiet(text).text
        case "style":
            lowered = text.lower()
            if lowered not in STYLES:
                raise InvalidSetting(canonical, f"“{shown}” is not a card style; use compact "
                                                "or detailed.")
            return canonical, lowered
        case _:  # cooldown
            seconds = parse_duration(text)
            return canonical, _duration_text(seconds)


def stored_object(text: str | None) -> dict[str, object]:
    """The JSON object stored in ``users.settings``, or {} for text that is not one (a
    hand-edited row). Keys and values other than the catalogue's are kept as they are."""
    try:
        stored = json.loads(text or "{}")
    except (ValueError, RecursionError):
        return {}
    return stored if isinstance(stored, dict) else {}


def stored_pairs(text: str | None) -> tuple[tuple[str, str], ...]:
    """The stored settings as sorted (key, value) text pairs (for ``UserSettings.from_pairs``)."""
    return tuple(sorted((str(key), str(value)) for key, value in stored_object(text).items()))


def parse_quiet(text: str) -> QuietHours:
    """ "23:00-07:00" (also "23-7", "22.30-6.45") → :class:`QuietHours`; start ≠ end."""
    start_text, dash, end_text = text.strip().partition("-")
    start, end = _minute_of_day(start_text), _minute_of_day(end_text)
    if not dash or start is None or end is None:
        shown = text if len(text) <= 24 else text[:23] + "…"
        raise InvalidSetting("quiet", f"“{shown}” is not a time range; write it like "
                                      "23:00-07:00 (local time), or off.")
    if start == end:
        raise InvalidSetting("quiet", "Quiet hours must start and end at different times.")
    return QuietHours(start, end)


def duration_seconds(text: str) -> float | None:
    """ "30m", "2h", "1.5d", "90 s", "1w" → seconds, or None for anything else (no bounds)."""
    match = _DURATION.fullmatch(text.strip().lower())
    return None if match is None else float(match.group(1)) * _DURATION_UNITS[match.group(2)]


def parse_duration(text: str) -> float:
    """A cool-down: "30m", "2h", "1d" → whole seconds, from 1 minute to 7 days."""
    given = duration_seconds(text)
    if given is None:
        shown = text if len(text) <= 24 else text[:23] + "…"
        raise InvalidSetting("cooldown", f"“{shown}” is not a duration; write it like 30m, "
                                         "2h or 1d.")
    # Whole seconds: the canonical text ("90s", "2h") must say exactly what is stored.
    seconds = float(round(given))
    if not COOLDOWN_MIN_S <= seconds <= COOLDOWN_MAX_S:
        raise InvalidSetting("cooldown", "A cool-down lasts from 1 minute to 7 days.")
    return seconds


def _minute_of_day(text: str) -> int | None:
    match = _CLOCK.fullmatch(text.strip().lower())
    if match is None:
        return None
    return int(match.group(1)) * 60 + int(match.group(2) or 0)


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _duration_text(seconds: float) -> str:
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"
