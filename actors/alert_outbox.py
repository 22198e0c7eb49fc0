"""The alert sweep's outbox: notices not yet told, delivered per owner, held for quiet hours.

Not an actor: the alerts actor calls it from its own thread, twice a sweep (the outbox, then the
notices of what that sweep fired or expired). A sweep's cost follows what can be delivered now,
not the held backlog:

* it remembers, per owner, when their quiet hours end (``quiet_until`` of their settings); an
  owner known to be held is left out of the outbox read until that moment, and their settings
  are not read either;
* what is about to go out is claimed first, in one write (``storage.notices``): with several
  instances on one database, each notice is sent by the one instance that claimed it;
* the outbox is read **once** a sweep, bounded (``limit``, by owner then id, the partial index
  ``alerts_unnotified``); what fired during the sweep comes from the writer's answer, not from
  a second read;
* settings are read only for owners with something to deliver, once a sweep each;
* an owner seen in the last minute (any command or press, ``users.last_seen``) is read again
  even when known to be held: ``/settings quiet off`` at 02:00 takes effect at the next sweep.

Nothing about holding is kept only in memory: the held notices stay in the database outbox, and
whether a message gathers held notices is decided from their stored moments. After a restart
the map is empty, so the first sweeps read the held owners again (``limit`` rows a sweep, their
settings once) and learn their release times; held notices still go out in one message.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from typing import Any

from chat.alert_notices import (
    NOTICES_APART_MAX,
    NOTICES_PER_MESSAGE_MAX,
    gathered_notices,
    held_notices,
    notice_for,
)
from core.logs import log_event
from messages.storage import AlertRecord
from storage.read_pool import ReadPool
from users.clock import quiet_until
from users.settings import UserSettings

__all__ = ["OUTBOX_READ_MAX", "SEEN_RECHECK_S", "AlertOutbox"]

logger = logging.getLogger("actors.alerts")

OUTBOX_READ_MAX = 1000
"""Notices one outbox read returns at most (40 owners' full messages); the rest next sweep."""
SEEN_RECHECK_S = 60.0
"""An owner seen this recently has their settings read again even while known to be held."""


class AlertOutbox:
    """Delivers the outbox; remembers held notices and when each held owner's quiet hours end."""

    def __init__(self, *, read_pool: ReadPool, transport: Any,
                 wall_clock: Callable[[], float], limit: int = OUTBOX_READ_MAX,
                 claim: Callable[[Sequence[int]], Collection[int]] = lambda ids: ids) -> None:
        self._read_pool = read_pool
        self._claim = claim
        self._transport = transport
        self._wall_clock = wall_clock
        self._limit = limit
        self._held: dict[int, int] = {}  # alert id -> owner: notices waiting for quiet hours
        self._quiet_until: dict[int, float] = {}  # owner -> when their quiet hours end
        self._deferred: dict[int, int] = {}  # the same, past a gathered message's lines
        self._settings: dict[int, UserSettings] = {}  # this sweep's reads
        self.recovered = 0
        """Unnotified notices found in the database that this instance had not seen."""
        self.settings_reads = 0
        """Settings read (for the bench and the tests: one per deliverable owner a sweep)."""
        self.claimed_elsewhere = 0
        """Notices about to be sent that another instance had claimed (it sends them)."""

    @property
    def held(self) -> int:
        """Notices known to wait for their owner's quiet hours now."""
        return len(self._held)

    def new_sweep(self) -> None:
        """Forget the settings read last sweep; forget the release time of owners seen lately."""
        self._settings.clear()
        if self._quiet_until:
            now = self._wall_clock()
            seen = self._read_pool.users_seen_since(now - SEEN_RECHECK_S, now)
            for user_id in seen:
                self._quiet_until.pop(user_id, None)

    def deliver_outbox(self, unconfirmed: set[int]) -> list[int]:
        """One bounded read of the outbox, without owners known to be held; returns the ids
        handed to the transport."""
        now = self._wall_clock()
        self._quiet_until = {u: t for u, t in self._quiet_until.items() if t > now}
        pending = self._read_pool.outbox(self._quiet_until, self._limit)
        # A held or deferred notice of an owner read in full that is no longer in the outbox
        # (its alert was deleted) is no longer waiting. The last owner of a full page may have
        # been cut short: left alone.
        read_whole = {alert.user_id for alert in pending}
        if len(pending) >= self._limit:
            read_whole.discard(pending[-1].user_id)
        present = {alert.alert_id for alert in pending}
        self._held = {a: u for a, u in self._held.items() if u not in read_whole or a in present}
        self._deferred = {a: u for a, u in self._deferred.items()
                          if u not in read_whole or a in present}
        known = {*self._held, *self._deferred}
        return self._deliver([a for a in pending if a.alert_id not in unconfirmed], known, now)

    def deliver_fired(self, moved: Sequence[AlertRecord], unconfirmed: set[int]) -> list[int]:
        """The notices of what this sweep fired or expired, from the writer's answer."""
        waiting = [a for a in moved if a.alert_id not in unconfirmed]
        known = {a.alert_id for a in waiting}
        return self._deliver(waiting, known, self._wall_clock())

    def sent(self, ids: Sequence[int]) -> None:
        """``ids`` were handed over: neither held nor deferred any more."""
        for alert_id in ids:
            self._held.pop(alert_id, None)
            self._deferred.pop(alert_id, None)

    # -- internals -----------------------------------------------------------------------------

    def _owner_settings(self, user_id: int) -> UserSettings:
        settings = self._settings.get(user_id)
        if settings is None:
            self.settings_reads += 1
            settings = UserSettings.from_pairs(self._read_pool.user_settings(user_id))
            self._settings[user_id] = settings
        return settings

    def _deliver(self, alerts: Sequence[AlertRecord], known: set[int], now: float) -> list[int]:
        outbox: dict[int, list[AlertRecord]] = defaultdict(list)
        for alert in alerts:
            outbox[alert.user_id].append(alert)
        sendable: list[tuple[int, list[AlertRecord]]] = []
        for user_id, waiting in outbox.items():
            until = self._quiet_until.get(user_id)
            if until is None or until <= now:
                settings = self._owner_settings(user_id)
                until = quiet_until(now, settings.timezone, settings.quiet)
            if until is not None:
                self._quiet_until[user_id] = until
                new = [a.alert_id for a in waiting if a.alert_id not in self._held]
                if new:
                    self._held.update((alert_id, user_id) for alert_id in new)
                    log_event(logger, "alerts.held", logging.INFO, user_id=user_id,
                              alerts=len(new), until=round(until, 3))
                continue
            self._quiet_until.pop(user_id, None)
            sendable.append((user_id, waiting))
        if not sendable:
            return []
        # One claim for everything about to go out: another instance may be sending some.
        wanted = [a.alert_id for _, waiting in sendable
                  for a in waiting[:NOTICES_PER_MESSAGE_MAX]]
        claimed = set(self._claim(wanted))
        self.claimed_elsewhere += len(wanted) - len(claimed)
        handed: list[int] = []
        for user_id, waiting in sendable:
            self._deferred.update((a.alert_id, user_id)
                                  for a in waiting[NOTICES_PER_MESSAGE_MAX:])
            mine = [a for a in waiting[:NOTICES_PER_MESSAGE_MAX] if a.alert_id in claimed]
            if mine:
                handed.extend(self._send(user_id, mine, known, self._owner_settings(user_id)))
        return handed

    def _send(self, user_id: int, alerts: list[AlertRecord], known: set[int],
              settings: UserSettings) -> list[int]:
        ids = [alert.alert_id for alert in alerts]
        orphans = [alert_id for alert_id in ids if alert_id not in known]
        if orphans:
            self.recovered += len(orphans)
            log_event(logger, "alerts.recovered", logging.WARNING, alerts=len(orphans))
        # Decided from the stored moments, not from memory: a restart between the end of the
        # quiet hours and this sweep still gathers what they held into one message.
        if any(quiet_until(_moment(alert), settings.timezone, settings.quiet) is not None
               for alert in alerts):
            log_event(logger, "alerts.released", logging.INFO, user_id=user_id, alerts=len(ids))
            self._transport.tell(held_notices(alerts, settings.timezone))
        elif len(alerts) > NOTICES_APART_MAX:  # a burst: one message, not a flood
            self._transport.tell(gathered_notices(alerts, settings.timezone))
        else:
            for alert in alerts:
                self._transport.tell(notice_for(alert, settings.timezone, settings.interval))
        self.sent(ids)
        return ids


def _moment(alert: AlertRecord) -> float:
    """When the event behind a notice happened: its firing, or its expiry."""
    if alert.ended == "expired" and alert.expires_at is not None:
        return alert.expires_at
    return alert.fired_at if alert.fired_at is not None else alert.created_at
