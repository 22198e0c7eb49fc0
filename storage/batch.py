"""One batch of writes, committed in one transaction: the db_writer's logic without the actor.

``commit_batch`` opens ``BEGIN IMMEDIATE``, applies each write inside a savepoint of its own
(a write refused by a rule, or with bad data, is rolled back alone and answered with its
error, while the rest of the batch commits), commits, and returns one outcome per write. A
failure of the whole transaction (locked file, I/O error) rolls everything back and is retried
``attempts`` times; the wait between attempts is SQLite's own ``busy_timeout``, spent inside
``BEGIN IMMEDIATE`` while another process holds the lock, so nothing here sleeps. On
PostgreSQL (``storage.engine``) the transaction is a plain ``BEGIN`` on the writer's
connection; a lost connection, a serialization failure or a deadlock is the transient error,
and the retry's ``BEGIN`` reconnects (``storage.pg``).

Background writes (sightings, command log, candles) are order-insensitive by design, so they
are grouped by kind and applied first with ``executemany``; acknowledged writes follow in
arrival order, because those can depend on each other (watch, then unwatch).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeAlias

from messages.storage import (
    AddAlert,
    ClaimNotices,
    DeleteAlert,
    FireCrossedAlerts,
    LogCommand,
    MarkNotified,
    RearmAlert,
    SaveSettings,
    StoreCandles,
    TouchUser,
    Unwatch,
    Watch,
)
from messages.digest import ClearDigest, SetDigest, SettleDigests
from messages.user_data import ForgetUser
from storage import digest_writes, notices, user_data, writes
from storage.engine import Connection, db_errors, is_transient, item_errors
from storage.errors import InvalidWrite, NotSaved
from storage.timing import QueryTimer
from storage.writes import WriteRules

__all__ = [
    "ACKED_TYPES",
    "AckedWrite",
    "BACKGROUND_TYPES",
    "BackgroundWrite",
    "BatchFailed",
    "Outcome",
    "Write",
    "commit_batch",
    "is_transient",
    "rows_of",
]

AckedWrite: TypeAlias = (
    AddAlert | DeleteAlert | RearmAlert | Watch | Unwatch | SaveSettings | FireCrossedAlerts
    | MarkNotified | ClaimNotices | SetDigest | ClearDigest | SettleDigests | ForgetUser
)
BackgroundWrite: TypeAlias = TouchUser | LogCommand | StoreCandles
Write: TypeAlias = AckedWrite | BackgroundWrite

ACKED_TYPES = (AddAlert, DeleteAlert, RearmAlert, Watch, Unwatch, SaveSettings, FireCrossedAlerts,
               MarkNotified, ClaimNotices, SetDigest, ClearDigest, SettleDigests, ForgetUser)
BACKGROUND_TYPES = (TouchUser, LogCommand, StoreCandles)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one write of a committed batch."""

    write: Write
    """The write."""
    result: object = None
    """Its answer (``Saved``/``FiredAlerts``; None for background writes) if it committed."""
    error: NotSaved | None = None
    """Why it was refused (rolled back alone) if it was."""


class BatchFailed(Exception):
    """The whole transaction failed ``attempts`` times; nothing of the batch was committed."""

    def __init__(self, cause: Exception, attempts: int) -> None:
        self.cause = cause
        self.attempts = attempts
        self.transient = is_transient(cause)
        super().__init__(f"batch not committed after {attempts} attempt(s): {cause}")


def rows_of(write: Write) -> int:
    """How much a write counts towards ``db_batch_size``."""
    return len(write.rows) if isinstance(write, StoreCandles) else 1


def _kind(write: Write) -> str:
    return type(write).__name__


def _apply(conn: Connection, write: Write, now: float, rules: WriteRules) -> object:
    match write:
        case AddAlert():
            return writes.add_alert(conn, write, now=now, rules=rules)
        case DeleteAlert():
            return writes.delete_alert(conn, write)
        case RearmAlert():
            return writes.rearm_alert(conn, write, now=now, rules=rules)
        case Watch():
            return writes.watch(conn, write, now=now, rules=rules)
        case Unwatch():
            return writes.unwatch(conn, write)
        case SaveSettings():
            return writes.save_settings(conn, write, now=now)
        case FireCrossedAlerts():
            return writes.fire_crossed_alerts(conn, write)
        case MarkNotified():
            return writes.mark_notified(conn, write)
        case ClaimNotices():
            return notices.claim_notices(conn, write)
        case SetDigest():
            return digest_writes.set_digest(conn, write, now=now)
        case ClearDigest():
            return digest_writes.clear_digest(conn, write)
        case SettleDigests():
            return digest_writes.settle_digests(conn, write)
        case ForgetUser():
            return user_data.forget_user(conn, write)
        case StoreCandles():
            writes.store_candles(conn, write)
            return None
    raise TypeError(f"not a write: {type(write).__name__}")


def _groups(batch: Sequence[Write]) -> list[tuple[Write, ...]]:
    """Background writes grouped by kind (applied together), then acked ones one by one."""
    touches = tuple(w for w in batch if isinstance(w, TouchUser))
    commands = tuple(w for w in batch if isinstance(w, LogCommand))
    groups: list[tuple[Write, ...]] = [group for group in (touches, commands) if group]
    groups += [(w,) for w in batch if isinstance(w, StoreCandles)]
    groups += [(w,) for w in batch if not isinstance(w, BACKGROUND_TYPES)]
    return groups


def _apply_group(conn: Connection, group: tuple[Write, ...], now: float,
                 rules: WriteRules) -> object:
    first = group[0]
    if isinstance(first, TouchUser):
        writes.touch_users(conn, [w for w in group if isinstance(w, TouchUser)])
        return None
    if isinstance(first, LogCommand):
        writes.log_commands(conn, [w for w in group if isinstance(w, LogCommand)])
        return None
    return _apply(conn, first, now, rules)


def _one_attempt(conn: Connection, batch: Sequence[Write], now: float, rules: WriteRules,
                 timer: QueryTimer, fault: Callable[[str], None]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    conn.execute("BEGIN IMMEDIATE")
    fault("begin")
    for group in _groups(batch):
        conn.execute("SAVEPOINT write")
        try:
            with timer.measure(f"write.{_kind(group[0])}", sum(map(rows_of, group))):
                result = _apply_group(conn, group, now, rules)
        except NotSaved as refused:
            conn.execute("ROLLBACK TO write")
            outcomes += [Outcome(w, error=refused) for w in group]
        except item_errors() as bad:
            conn.execute("ROLLBACK TO write")
            refusal = InvalidWrite(f"the data was not valid ({type(bad).__name__})")
            outcomes += [Outcome(w, error=refusal) for w in group]
        else:
            outcomes += [Outcome(w, result=result) for w in group]
        conn.execute("RELEASE write")
    fault("applied")
    with timer.measure("write.commit", len(batch)):
        conn.execute("COMMIT")
    return outcomes


def _roll_back(conn: Connection) -> None:
    if not conn.in_transaction:
        return  # SQLite already rolled back (it does after some I/O errors)
    try:
        conn.execute("ROLLBACK")
    except db_errors():
        pass  # nothing was committed either way; the next BEGIN starts clean or fails loudly


def commit_batch(conn: Connection, batch: Sequence[Write], *, now: float,
                 rules: WriteRules, timer: QueryTimer, attempts: int = 3,
                 fault: Callable[[str], None] = lambda point: None) -> list[Outcome]:
    """Commit ``batch`` in one transaction; one :class:`Outcome` per write, in batch order.

    Raises :class:`BatchFailed` (everything rolled back) when the transaction itself fails
    ``attempts`` times in a row with a transient error, or once with any other database error.
    ``fault`` is a test seam called at "begin" and "applied" (just before COMMIT).
    """
    last_error: Exception | None = None
    for attempt in range(1, attempts + 1):
        try:
            outcomes = _one_attempt(conn, batch, now, rules, timer, fault)
        except db_errors() as exc:
            _roll_back(conn)
            last_error = exc
            if not is_transient(exc):
                raise BatchFailed(exc, attempt) from exc
            continue
        order = {id(write): index for index, write in enumerate(batch)}
        return sorted(outcomes, key=lambda outcome: order[id(outcome.write)])
    assert last_error is not None
    raise BatchFailed(last_error, attempts) from last_error
