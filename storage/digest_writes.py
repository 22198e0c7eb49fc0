"""The digest's writes, applied by the db_writer inside its transaction (see ``storage.writes``).

The exactly-once argument (docs/storage.md): a digest goes out only after
:func:`settle_digests` has committed its day as ``last_day``; the plan is made here, in the
writer's transaction, from the row as it is now, and a day at or before ``last_day`` is never
planned again. So a redelivered or repeated claim, a second instance, a restart of the whole
tree or a clock going backwards can send nothing twice. What it cannot do is send a claimed
day whose sender died before handing the message to the transport: that day is lost (never
twice, rather than at least once).

Every statement is constant SQL and idempotent.
"""

from __future__ import annotations

from storage.engine import Connection, is_postgres
from datetime import date

from messages.digest import (
    ClearDigest,
    DigestsSettled,
    SetDigest,
    SettledDigest,
    SettleDigests,
)
from messages.storage import Saved
from storage.errors import InvalidWrite
from users.digest import plan, reschedule, settled_when_set
from users.settings import UserSettings, stored_pairs

__all__ = ["DIGEST_WRITES", "clear_digest", "reschedule_digest", "set_digest", "settle_digests",
           "zone_of"]

_DIGEST = "SELECT chat_id, minute, last_day, missed_day, next_due_at FROM digests" \
          " WHERE user_id = :user_id"
# PostgreSQL: set_digest waits for another instance settling this digest and reads the day it
# settled; without the row lock it planned from the day before and today's digest went out twice.
_DIGEST_FOR_UPDATE = _DIGEST + " FOR UPDATE"
_UPSERT_DIGEST = (
    "INSERT INTO digests (user_id, chat_id, minute, next_due_at, last_day, missed_day,"
    " created_at) VALUES (:user_id, :chat_id, :minute, :next_due_at, :last_day, NULL, :now)"
    " ON CONFLICT (user_id) DO UPDATE SET chat_id = excluded.chat_id,"
    " minute = excluded.minute, next_due_at = excluded.next_due_at,"
    " last_day = excluded.last_day, missed_day = NULL"
)
_DELETE_DIGEST = "DELETE FROM digests WHERE user_id = :user_id"
# Conditional on the row being as it was read: of two instances settling the same digest at
# once (PostgreSQL), the second waits for the first's row lock, then finds the row changed and
# settles nothing, so the day is claimed once.
_SETTLE_DIGEST = (
    "UPDATE digests SET last_day = :last_day, next_due_at = :next_due_at,"
    " missed_day = :missed_day WHERE user_id = :user_id AND last_day IS :was_last_day"
    " AND next_due_at = :was_next_due_at"
)
_MOVE_DIGEST = "UPDATE digests SET next_due_at = :next_due_at WHERE user_id = :user_id"
_USER_SETTINGS = "SELECT settings FROM users WHERE user_id = :user_id"

DIGEST_WRITES: dict[str, str] = {
    "digest": _DIGEST,
    "delete_digest": _DELETE_DIGEST,
    "settle_digest": _SETTLE_DIGEST,
    "move_digest": _MOVE_DIGEST,
    "digest_user_settings": _USER_SETTINGS,
}
"""Statements with a WHERE clause on the digest's write paths (the query-plan test)."""


def zone_of(conn: Connection, user_id: int) -> str:
    """The user's time zone as stored now (UTC for an unknown user or unreadable settings)."""
    row = conn.execute(_USER_SETTINGS, {"user_id": user_id}).fetchone()
    return UserSettings.from_pairs(stored_pairs(None if row is None else row[0])).timezone


def _day(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


def set_digest(conn: Connection, message: SetDigest, *, now: float) -> Saved:
    """Create or move the user's digest; a day already settled stays settled."""
    if not 0 <= message.minute < 1440:
        raise InvalidWrite("a digest time must be within the day")
    read = _DIGEST_FOR_UPDATE if is_postgres(conn) else _DIGEST
    row = conn.execute(read, {"user_id": message.user_id}).fetchone()
    if row is not None and row[0] == message.chat_id and row[1] == message.minute:
        return Saved(changed=False)
    done, next_due_at = settled_when_set(now, message.minute, zone_of(conn, message.user_id),
                                         _day(row[2]) if row is not None else None)
    conn.execute(_UPSERT_DIGEST, {"user_id": message.user_id, "chat_id": message.chat_id,
                                  "minute": message.minute, "next_due_at": next_due_at,
                                  "last_day": done.isoformat(), "now": now})
    return Saved(changed=True)


def clear_digest(conn: Connection, message: ClearDigest) -> Saved:
    return Saved(changed=conn.execute(_DELETE_DIGEST,
                                      {"user_id": message.user_id}).rowcount == 1)


def settle_digests(conn: Connection, message: SettleDigests) -> DigestsSettled:
    """Claim the due digests of these users at ``message.now``: exactly those to send now."""
    sent: list[SettledDigest] = []
    missed: list[int] = []
    for user_id, composed in dict(message.claims).items():
        row = conn.execute(_DIGEST, {"user_id": user_id}).fetchone()
        if row is None or row[4] > message.now:  # stopped or moved since the actor looked
            continue
        chat_id, minute, last_day, missed_day, next_due_at = row
        decided = plan(message.now, minute, zone_of(conn, user_id), _day(last_day))
        if decided.send_day is not None and decided.send_day.isoformat() != composed:
            continue  # changed since the actor looked: left for its next round, unclaimed
        if decided.send_day is not None:
            missed_day = None  # the digest sent now mentions it
        elif decided.missed_day is not None:
            missed_day = decided.missed_day.isoformat()
        settled = conn.execute(_SETTLE_DIGEST, {
            "user_id": user_id, "next_due_at": decided.next_due_at, "missed_day": missed_day,
            "last_day": None if decided.done_day is None else decided.done_day.isoformat(),
            "was_last_day": last_day, "was_next_due_at": next_due_at}).rowcount
        if settled != 1:
            continue  # another instance settled it meanwhile: its to send, not ours
        if decided.send_day is not None:
            sent.append(SettledDigest(user_id=user_id, chat_id=chat_id,
                                      day=decided.send_day.isoformat()))
        elif decided.missed_day is not None:
            missed.append(user_id)
    return DigestsSettled(sent=tuple(sent), missed=tuple(missed))


def reschedule_digest(conn: Connection, user_id: int, *, now: float) -> bool:
    """Move the user's next digest to their current time zone (call it in the same transaction
    that changes the zone); settled days stay settled. False when they have no digest."""
    row = conn.execute(_DIGEST, {"user_id": user_id}).fetchone()
    if row is None:
        return False
    next_due_at = reschedule(now, row[1], zone_of(conn, user_id), _day(row[2]))
    conn.execute(_MOVE_DIGEST, {"user_id": user_id, "next_due_at": next_due_at})
    return True
