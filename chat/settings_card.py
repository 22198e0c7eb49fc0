"""/settings: reading ``/settings KEY VALUE``, and the texts that show and explain settings.

Why a module of its own: ``chat.arguments`` is full, and everything a user reads about their
settings (the card, one key's explanation, "saved", a refusal with the values that work) should
read the same whether it answers a command or a button. The catalogue itself (keys, defaults,
what a value may be) is ``users.settings``; this module only words it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chat.arguments import UsageError
from chat.html import bold, code, escape, italic
from chat.settings_request import SettingsRequest
from users.clock import local_datetime
from users.settings import SETTING_KEYS, InvalidSetting, UserSettings, canonical_key, normalize

if TYPE_CHECKING:
    from chat.commands import CommandSpec

__all__ = [
    "BUTTON_CHOICES",
    "SETTING_LABELS",
    "SettingUsageError",
    "setting_explained",
    "setting_not_saved_text",
    "setting_saved_text",
    "settings_args",
    "settings_card",
    "zone_now_text",
]

SETTING_LABELS: dict[str, str] = {
    "interval": "⏱ Interval", "timezone": "🌍 Time zone", "quiet": "🌙 Quiet hours",
    "style": "🃏 Card style", "cooldown": "⏳ Cool-down",
}
"""How the card names each key (the buttons of a row start with the same emoji)."""
BUTTON_CHOICES: dict[str, tuple[str, ...]] = {
    "interval": ("15m", "1h", "4h", "1d"),
    "style": ("compact", "detailed"),
    "quiet": ("off", "23:00-07:00", "22:00-08:00"),
    "cooldown": ("15m", "1h", "4h"),
}
"""The common values a button sets, per key; the time zone has none (it must be typed)."""
_WHAT: dict[str, str] = {
    "interval": "the candle interval of /analysis and /chart (and RSI alerts) when you give none",
    "timezone": "every time I show you is in this zone",
    "quiet": "alerts that fire inside these hours (your time) wait and arrive in one message "
             "when they end; nothing is lost",
    "style": "whether /analysis opens compact or with its details",
    "cooldown": "the least time between two notifications of one recurring alert",
}
_FORMS: dict[str, tuple[str, str]] = {
    "interval": ("15m|1h|4h|1d|…", "/settings interval 4h"),
    "timezone": ("Area/City", "/settings timezone Europe/Berlin"),
    "quiet": ("HH:MM-HH:MM|off", "/settings quiet 23:00-07:00"),
    "style": ("compact|detailed", "/settings style detailed"),
    "cooldown": ("30m|2h|1d", "/settings cooldown 30m"),
}
_VALUES: dict[str, str] = {
    "interval": "1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M",
    "timezone": "an IANA name: Europe/Berlin, America/New_York, Asia/Tokyo, UTC…",
    "quiet": "a local time range like 23:00-07:00 (it may cross midnight), or off",
    "style": "compact or detailed",
    "cooldown": "1m to 7d, like 15m, 2h or 1d",
}


class SettingUsageError(UsageError):
    """A /settings line that cannot be saved: the problem, and usage for the key concerned."""

    def __init__(self, problem: str, spec: CommandSpec, key: str | None) -> None:
        super().__init__(problem, spec)
        self.key = key
        """The catalogue key the problem is about, or None (an unknown key)."""

    @property
    def html(self) -> str:
        lines = [f"⚠️ {escape(self.problem)}"]
        if self.key is None:
            lines.append(f"Usage: {code('/settings KEY VALUE')}; the keys are "
                         f"{', '.join(code(key) for key in SETTING_KEYS)}.")
            lines.append(f"Example: {code('/settings timezone Europe/Berlin')} · "
                         f"{code('/settings')} shows them all.")
        else:
            form, example = _FORMS[self.key]
            lines.append(f"Usage: {code(f'/settings {self.key} {form}')}")
            lines.append(f"Values: {escape(_VALUES[self.key])}")
            lines.append(f"Example: {code(example)}")
        return "\n".join(lines)


def settings_args(spec: CommandSpec, words: tuple[str, ...]) -> SettingsRequest:
    """Nothing (show all), KEY (explain it) or KEY VALUE (set it; the value may have spaces,
    "23:00 - 07:00"). Keys and values are checked here, so a worker gets canonical ones."""
    if not words:
        return SettingsRequest()
    try:
        key = canonical_key(words[0])
    except InvalidSetting as exc:
        raise SettingUsageError(exc.problem, spec, None) from exc
    if len(words) == 1:
        return SettingsRequest(key)
    try:
        _, value = normalize(key, " ".join(words[1:]))
    except InvalidSetting as exc:
        raise SettingUsageError(exc.problem, spec, key) from exc
    return SettingsRequest(key, value)


def _value(settings: UserSettings, key: str) -> str:
    return dict(settings.shown())[key]


def settings_card(settings: UserSettings, note: str | None = None) -> str:
    """Every setting with its value and what it does (HTML), ``note`` (already HTML) first."""
    lines = [f"⚙️ {bold('Your settings')}"]
    for key, value in settings.shown():
        lines.append(f"{bold(SETTING_LABELS[key])}: {code(value)} — {escape(_WHAT[key])}")
    lines += [
        "",
        f"The buttons set common values. The time zone must be typed: "
        f"{code('/settings timezone Europe/Berlin')}.",
        f"Any setting: {code('/settings KEY VALUE')}; {code('/settings KEY')} explains one.",
    ]
    if note:
        lines[:0] = [note, ""]
    return "\n".join(lines)


def setting_explained(settings: UserSettings, key: str) -> str:
    """/settings KEY: what it does, its value now, and how to set it (HTML)."""
    form, example = _FORMS[key]
    return "\n".join([
        f"{bold(SETTING_LABELS[key])} ({code(key)}): {code(_value(settings, key))}",
        escape(_WHAT[key][:1].upper() + _WHAT[key][1:]) + ".",
        f"Values: {escape(_VALUES[key])}",
        f"Set it: {code(f'/settings {key} {form}')}, e.g. {code(example)}",
    ])


def _offset_text(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def zone_now_text(zone: str, now: float) -> str:
    """What the clock says in ``zone`` at ``now`` and its offset from UTC (plain text), so a
    wrong pick shows at once; for ``Etc/GMT+3``-style names, whose sign is the reverse of
    what they seem to say, also the name that means what the user most likely wanted."""
    moment = local_datetime(now, zone)
    offset = moment.utcoffset()
    minutes = 0 if offset is None else int(offset.total_seconds() // 60)
    text = f"It is {moment:%H:%M} there now ({_offset_text(minutes)})."
    if zone.startswith("Etc/GMT") and zone[7:8] in ("+", "-") and minutes:
        flipped = zone[:7] + ("-" if zone[7] == "+" else "+") + zone[8:]
        text += (f" Etc/GMT names count the other way round: for {_offset_text(-minutes)} "
                 f"use {flipped}, or a city in that zone.")
    return text


def setting_saved_text(key: str, value: str, *, changed: bool, alerts_updated: int = 0,
                       now: float | None = None) -> str:
    """The answer once a setting is committed (HTML), with what else changed with it; for a
    time zone with the time there ``now`` (when given)."""
    name = SETTING_LABELS[key].split(" ", 1)[1].lower()
    if changed:
        text = f"✅ Saved: {escape(name)} is now {code(value)}."
    else:
        text = f"✅ Your {escape(name)} was already {code(value)}."
    if key == "cooldown":
        if alerts_updated:
            alerts = "alert uses" if alerts_updated == 1 else "alerts use"
            text += f" Your {alerts_updated} live recurring {alerts} it now too."
        else:
            text += " Recurring alerts you set from now on use it."
    elif key == "timezone":
        if changed:
            text += " " + italic("Times I show you are in this zone from now on.")
        if now is not None:
            text += " " + escape(zone_now_text(value, now))
    return text


def setting_not_saved_text(reason: str) -> str:
    """A write that did not commit (``reason`` is the storage's text, already HTML)."""
    return f"{reason}\n{italic('Your settings are as they were.')}"
