"""``/export``: one user's stored data as a JSON document they can keep or hand to another tool.

Pure: :func:`build_export` turns a :class:`~messages.user_data.UserData` (read in one
snapshot) into the document's bytes and its file name. Every moment appears twice, in UTC and
in the user's own time zone (ISO-8601), so the file reads right wherever it is opened. The
document says which format it is (``format``, ``schema_version``): a later release that
changes a field bumps the version. Its size is bounded by the caps of the read
(``storage.user_data.EXPORT_*``, passed in as :class:`ExportCaps`) and by truncating the few
free-text fields, and :func:`build_export` asserts the bound (:data:`MAX_EXPORT_BYTES`), far
below the Bot API's 50 MB for a document.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from messages.user_data import ExportedAlert, UserData
from users.clock import local_datetime, local_day
from users.settings import UserSettings

__all__ = ["EXPORT_FORMAT", "EXPORT_INTERVAL_S", "EXPORT_SCHEMA_VERSION", "MAX_EXPORT_BYTES",
           "Export", "ExportCaps", "ExportGate", "build_export", "moment"]

EXPORT_FORMAT = "cryptobot.user-data"
EXPORT_SCHEMA_VERSION = 1
"""Bumped whenever a field of the document changes meaning or goes away."""
MAX_EXPORT_BYTES = 2_000_000
"""Upper bound of a document at the caps (asserted); the Bot API allows 50 MB."""
EXPORT_INTERVAL_S = 60.0
"""Least time between two exports of one user: each is up to ``MAX_EXPORT_BYTES`` read, built,
held and uploaded for one short command, so the command budget alone (20 a minute) let one
user make the bot hold and upload ~40 MB a minute."""
_TEXT_CAP = 200
"""Free text (settings values, a username) longer than this is cut, with an ellipsis."""


@dataclass(frozen=True, slots=True)
class ExportCaps:
    """How many of each list the read returns at most (to say whether a list is complete)."""

    alerts: int
    firings: int
    watchlist: int
    settings: int


@dataclass(frozen=True, slots=True)
class Export:
    """The document to send."""

    document: bytes
    """UTF-8 JSON."""
    filename: str
    """cryptobot-export-<user id>-<local date>.json"""
    time_zone: str
    """The zone of the document's local times (the user's setting, UTC by default)."""


def moment(epoch_s: float | None, zone_name: str) -> dict[str, str] | None:
    """{"utc": ISO-8601 with Z, "local": ISO-8601 with the zone's offset} (None stays None)."""
    if epoch_s is None:
        return None
    utc = datetime.fromtimestamp(epoch_s, tz=UTC).isoformat(timespec="seconds")
    local = local_datetime(epoch_s, zone_name).isoformat(timespec="seconds")
    return {"utc": utc.replace("+00:00", "Z"), "local": local}


def _text(value: str | None) -> str | None:
    if value is None or len(value) <= _TEXT_CAP:
        return value
    return value[:_TEXT_CAP - 1] + "…"


def _alert(alert: ExportedAlert, zone_name: str) -> dict[str, Any]:
    return {
        "id": alert.alert_id, "symbol": alert.symbol, "kind": alert.kind,
        "direction": alert.direction, "level": alert.level, "interval": alert.interval,
        "base_price": alert.base_price, "recurring": alert.recurring,
        "cooldown_s": alert.cooldown_s, "state": alert.ended or "live",
        "created_at": moment(alert.created_at, zone_name),
        "armed_from": moment(alert.armed_from, zone_name),
        "expires_at": moment(alert.expires_at, zone_name),
        "last_fired_at": moment(alert.fired_at, zone_name),
        "last_fired_value": alert.fired_price,
        "notified_at": moment(alert.notified_at, zone_name),
        "chat_id": alert.chat_id,
    }


def build_export(data: UserData, caps: ExportCaps) -> Export:
    """The JSON document of everything in ``data`` (see docs/commands.md for its fields)."""
    settings = UserSettings.from_pairs(data.settings)
    zone_name = settings.timezone
    counts = data.counts
    user = data.user
    digest = data.digest
    document: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "schema_version": EXPORT_SCHEMA_VERSION,
        "user_id": data.user_id,
        "exported_at": moment(data.read_at, zone_name),
        "time_zone": zone_name,
        "profile": None if user is None else {
            "chat_id": user.chat_id, "username": _text(user.username),
            "first_seen": moment(user.first_seen, zone_name),
            "last_seen": moment(user.last_seen, zone_name)},
        "settings": {
            "effective": dict(settings.shown()),
            "stored": {_text(key): _text(value) for key, value in data.settings},
        },
        "alerts": [_alert(alert, zone_name) for alert in data.alerts],
        "alert_firings": [
            {"alert_id": f.alert_id, "symbol": f.symbol, "kind": f.kind, "value": f.value,
             "fired_at": moment(f.fired_at, zone_name)} for f in data.firings],
        "watchlist": [{"symbol": symbol, "added_at": moment(added_at, zone_name)}
                      for symbol, added_at in data.watchlist],
        "digest": None if digest is None else {
            "local_time": f"{digest.minute // 60:02d}:{digest.minute % 60:02d}",
            "chat_id": digest.chat_id,
            "next_due_at": moment(digest.next_due_at, zone_name),
            "last_sent_day": digest.last_day,
            "created_at": moment(digest.created_at, zone_name)},
        "command_log": {"rows": counts.command_log},
        "counts": {"users": counts.users, "alerts": counts.alerts,
                   "alert_firings": counts.alert_firings, "watchlist": counts.watchlist,
                   "digests": counts.digests, "command_log": counts.command_log},
        "complete": {
            "alerts": len(data.alerts) == counts.alerts,
            "alert_firings": len(data.firings) == counts.alert_firings,
            "watchlist": len(data.watchlist) == counts.watchlist,
            "settings": len(data.settings) < caps.settings,
        },
    }
    body = json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
    assert len(body) <= MAX_EXPORT_BYTES, f"an export of {len(body)} bytes is over its bound"
    day = local_day(data.read_at, zone_name).isoformat()
    return Export(body, f"cryptobot-export-{data.user_id}-{day}.json", zone_name)


class ExportGate:
    """At most one export per user per ``interval_s``; remembers only the users who exported
    within the interval (bounded by the exports that interval can hold). Not thread-safe."""

    def __init__(self, *, clock: Callable[[], float], interval_s: float = EXPORT_INTERVAL_S
                 ) -> None:
        self._clock = clock
        self._interval_s = interval_s
        self._last: OrderedDict[int, float] = OrderedDict()
        """User -> when their export was granted, oldest first."""

    def claim(self, user_id: int) -> float:
        """0 when ``user_id`` may export now (and the export is counted), else the seconds
        until they may."""
        now = self._clock()
        while self._last:
            oldest, at = next(iter(self._last.items()))
            if 0 <= now - at < self._interval_s:
                break
            del self._last[oldest]
        last = self._last.get(user_id)
        if last is not None and 0 <= now - last < self._interval_s:
            return self._interval_s - (now - last)
        self._last[user_id] = now
        self._last.move_to_end(user_id)
        return 0.0

    def release(self, user_id: int) -> None:
        """The export claimed for ``user_id`` was not sent (e.g. the read failed)."""
        self._last.pop(user_id, None)
