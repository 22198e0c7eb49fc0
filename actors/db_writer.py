"""db_writer: the one actor that writes the database, in batches, acknowledging after commit.

Writes queue up in memory and are committed together (``storage.batch.commit_batch``) when

* ``db_batch_size`` rows are waiting, or
* the flush timer (``db_flush_interval_ms``) finds anything waiting, or
* an acknowledged write is waiting and the inbox is empty: a group commit, so a user waits a
  millisecond when the bot is idle, and writes arriving in a burst share one transaction.

Acknowledged writes get their answer only after the commit; a batch that cannot commit (file
locked or failing after the retries) answers them ``StorageBusy`` ("not saved, nothing
changed") and keeps the background writes for the next flush, up to a bound past which the
oldest candles are dropped, with an event. A graceful stop flushes everything.

When the actor crashes mid-batch, the open transaction dies with its connection (nothing of it
is committed), background writes are handed to the next instance, the message being handled
is redelivered by the supervisor (writes are idempotent), and the other acknowledged writes of
the batch are answered ``StorageBusy``: nothing acknowledged is ever lost, nothing refused was
saved.
"""

from __future__ import annotations

import logging
import os
import queue
import time
from collections.abc import Callable, Sequence
from typing import Any

from core.config import BotConfig
from core.logs import log_event
from messages.digest import ClearDigest, SetDigest, SettleDigests
from messages.storage import (
    AddAlert,
    ClaimNotices,
    DeleteAlert,
    FireCrossedAlerts,
    FlushDue,
    LogCommand,
    MarkNotified,
    PruneDue,
    RearmAlert,
    SaveSettings,
    StoreCandles,
    TouchUser,
    Unwatch,
    Watch,
)
from messages.user_data import ForgetUser
from storage.batch import (
    ACKED_TYPES,
    BackgroundWrite,
    BatchFailed,
    Outcome,
    Write,
    commit_batch,
    rows_of,
)
from storage.connection import DEFAULT_BUSY_TIMEOUT_MS, open_writer
from storage.engine import Connection, db_errors
from storage.errors import NotSaved, StorageBusy
from storage.prune import PruneCursor, RetentionRules, prune
from storage.stats import DbWriterStats
from storage.read_pool import ReadPool
from storage.timing import QueryTimer
from storage.writes import WriteRules
from supervision import fail_future
from supervision.actor import SupervisedActor
from supervision.context import ChildContext
from supervision.messages import Redelivery
from supervision.spec import ChildSpec, Priority
from supervision.supervisor import SupervisorSettings, supervisor_spec
from supervision.timer import PeriodicTimer, start_periodic, stop_periodic

__all__ = ["DbWriter", "storage_spec"]

logger = logging.getLogger(__name__)

_BACKGROUND_BUFFER_BATCHES = 20
"""Background rows kept through a database outage, in batches of ``db_batch_size``."""
_MAX_RETRY_DELAY_S = 5.0


class DbWriter(SupervisedActor):
    """Batches writes into transactions; answers acknowledged writes after the commit."""

    def __init__(
        self,
        ctx: ChildContext,
        *,
        path: str | os.PathLike[str],
        batch_size: int,
        flush_interval_s: float,
        slow_query_ms: float,
        rules: WriteRules = WriteRules(),
        read_pool: ReadPool | None = None,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        attempts: int = 3,
        max_background_rows: int | None = None,
        wall_clock: Callable[[], float] = time.time,
        clock: Callable[[], float] = time.monotonic,
        fault: Callable[[str], None] = lambda point: None,
        retention: RetentionRules | None = None,
        prune_interval_s: float = 0.0,
    ) -> None:
        super().__init__(ctx)
        self._path = path
        self._batch_size = batch_size
        self._flush_interval_s = flush_interval_s
        self._rules = rules
        self._read_pool = read_pool
        self._busy_timeout_ms = busy_timeout_ms
        self._attempts = attempts
        self._max_background_rows = max_background_rows or batch_size * _BACKGROUND_BUFFER_BATCHES
        self._wall_clock = wall_clock
        self._clock = clock
        self._fault = fault
        self._retention = retention
        self._prune_interval_s = prune_interval_s
        self._prune_timer: PeriodicTimer | None = None
        self._prune_cursor = PruneCursor()
        self._prune_backlog = False
        self._timer = QueryTimer(slow_query_ms)
        self._conn: Connection | None = None
        self._flush_timer: PeriodicTimer | None = None
        self._pending: list[Write] = []
        self._pending_rows = 0
        self._committing: list[Write] = []
        self._awaiting_ack = False
        self._retry_background_at = 0.0
        self._failures_in_row = 0
        self._handling: object | None = None
        self._handling_redelivery = False
        self._counts = dict.fromkeys(
            ("flushes", "committed", "refused", "busy_refusals", "batch_failures",
             "background_dropped", "background_handed_over", "pruned", "prune_failures"), 0)

    # -- lifecycle ------------------------------------------------------------------------------

    def setup(self) -> None:
        self._conn = open_writer(self._path, busy_timeout_ms=self._busy_timeout_ms)
        self._flush_timer = start_periodic(self, FlushDue(), self._flush_interval_s)
        if self._retention is not None and self._prune_interval_s > 0:
            self._prune_timer = start_periodic(self, PruneDue(), self._prune_interval_s)

    def release(self) -> None:
        stop_periodic(self._flush_timer)
        self._flush_timer = None
        stop_periodic(self._prune_timer)
        self._prune_timer = None
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if self._handling is None:  # an orderly stop, between messages
                self._flush(conn)
                self._drop_background_at_stop()
            else:  # a crash inside handle()
                self._hand_over()
        finally:
            conn.close()

    # -- messages -------------------------------------------------------------------------------

    def handle(self, message: Any) -> Any:
        # Still set when release() runs after a crash: that is how it tells a crash (hand
        # over, see _hand_over) from an orderly stop (flush everything).
        self._handling = message
        self._handling_redelivery = type(self.ctx.inflight) is Redelivery
        result = self._dispatch(message)
        self._handling = None
        return result

    def _dispatch(self, message: Any) -> Any:
        match message:
            case (AddAlert() | DeleteAlert() | RearmAlert() | Watch() | Unwatch() | SaveSettings()
                  | FireCrossedAlerts() | MarkNotified() | ClaimNotices() | SetDigest()
                  | ClearDigest() | SettleDigests() | ForgetUser()):
                return self._on_write(message, acknowledged=True)
            case TouchUser() | LogCommand() | StoreCandles():
                return self._on_write(message, acknowledged=False)
            case FlushDue():
                return self._on_flush_due()
            case PruneDue():
                return self._on_prune_due()
        return super().handle(message)

    def stats(self) -> DbWriterStats:
        pool = self._read_pool
        return DbWriterStats(
            pending_writes=len(self._pending), pending_rows=self._pending_rows, **self._counts,
            failing_batches=self._failures_in_row,
            query=self._timer.stats(),
            read_pool=None if pool is None else pool.stats(),
            read=() if pool is None else pool.timer.stats(),
        )

    def _on_write(self, write: Write, *, acknowledged: bool) -> None:
        self._pending.append(write)
        self._pending_rows += rows_of(write)
        self._awaiting_ack = self._awaiting_ack or acknowledged
        if self._awaiting_ack and self.actor_inbox.empty():
            self._flush_now()
        elif self._pending_rows >= self._batch_size:
            # While the database is failing, background writes wait for the retry time
            # instead of blocking the actor on every arrival.
            if self._awaiting_ack or self._clock() >= self._retry_background_at:
                self._flush_now()
            elif self._pending_rows > self._max_background_rows:
                self._keep_background([])

    def _on_flush_due(self) -> None:
        if self._pending and (self._awaiting_ack
                              or self._clock() >= self._retry_background_at):
            self._flush_now()
        if self._prune_backlog:
            self._on_prune_due()

    def _on_prune_due(self) -> None:
        """One bounded prune run, after the writes already waiting; if it stopped at its
        bound, the next flush tick runs another."""
        conn, retention = self._conn, self._retention
        if conn is None or retention is None:
            return
        if self._pending:
            self._flush_now()
        self._prune_backlog = False
        try:
            with self._timer.measure("prune"):
                result = prune(conn, retention, self._prune_cursor, now=self._wall_clock())
        except db_errors() as exc:  # locked, failing or unreachable: the next interval tries again
            self._counts["prune_failures"] += 1
            log_event(logger, "storage.prune_failed", logging.WARNING, error=repr(exc))
            return
        self._counts["pruned"] += result.total
        if result.total:
            log_event(logger, "storage.pruned", logging.DEBUG, command_log=result.command_log,
                      alerts=result.alerts, candles=result.candles, firings=result.firings,
                      more=result.more)
        # A backlog is worked off one run per flush interval: writes go between runs, and the
        # pause lets SQLite checkpoint the WAL (back to back, 1M deletions grew it enough to
        # make every read slower: p99 2.3 ms instead of 0.15 ms in bench/storage.py).
        self._prune_backlog = result.more

    # -- flushing -------------------------------------------------------------------------------

    def _flush_now(self) -> None:
        assert self._conn is not None, "writes arrive only after setup()"
        self._flush(self._conn)

    def _flush(self, conn: Connection) -> None:
        batch, self._pending, self._pending_rows = self._pending, [], 0
        self._awaiting_ack = False
        if not batch:
            return
        # Kept until the commit returns, for _hand_over if the actor dies in between.
        self._committing = batch
        try:
            outcomes = commit_batch(conn, batch, now=self._wall_clock(), rules=self._rules,
                                    timer=self._timer, attempts=self._attempts,
                                    fault=self._fault)
        except BatchFailed as failed:
            self._committing = []
            self._on_batch_failed(batch, failed)
            return
        self._committing = []
        self._counts["flushes"] += 1
        self._failures_in_row = 0
        for outcome in outcomes:
            self._deliver(outcome)

    def _deliver(self, outcome: Outcome) -> None:
        write = outcome.write
        if outcome.error is None:
            self._counts["committed"] += 1
            reply_to = getattr(write, "reply_to", None)
            if reply_to is not None:
                try:
                    reply_to.set(outcome.result)
                except queue.Full:  # completed already (a redelivered write's first answer)
                    pass
            return
        self._counts["refused"] += 1
        if isinstance(write, ACKED_TYPES):
            self._refuse(write, outcome.error)
        else:
            log_event(logger, "storage.write_refused", logging.WARNING,
                      kind=type(write).__name__, reason=outcome.error.reason)

    def _refuse(self, write: Write, error: NotSaved) -> None:
        reply_to = getattr(write, "reply_to", None)
        if reply_to is not None:
            fail_future(reply_to, error)
        else:
            log_event(logger, "storage.write_refused", logging.WARNING,
                      kind=type(write).__name__, reason=error.reason,
                      request_id=getattr(write, "request_id", None))

    def _on_batch_failed(self, batch: list[Write], failed: BatchFailed) -> None:
        self._counts["batch_failures"] += 1
        self._failures_in_row += 1
        acked = [write for write in batch if isinstance(write, ACKED_TYPES)]
        background = [write for write in batch if not isinstance(write, ACKED_TYPES)]
        log_event(logger, "storage.batch_failed", logging.ERROR, error=repr(failed.cause),
                  attempts=failed.attempts, transient=failed.transient, refused=len(acked),
                  kept=len(background), failures_in_row=self._failures_in_row)
        reason = ("the database is busy, try again in a moment" if failed.transient
                  else "the database failed")
        for write in acked:
            self._counts["busy_refusals"] += 1
            self._refuse(write, StorageBusy(reason))
        delay = min(_MAX_RETRY_DELAY_S, self._flush_interval_s * 2 ** self._failures_in_row)
        self._retry_background_at = self._clock() + delay
        self._keep_background(background)

    def _keep_background(self, kept: Sequence[Write]) -> None:
        """Put background writes back ahead of newer ones, dropping the oldest over the bound."""
        pending = [*kept, *self._pending]
        total = sum(map(rows_of, pending))
        dropped: dict[str, int] = {}
        # Candles first (they can be fetched again), then the oldest of anything else.
        for candles_only in (True, False):
            index = 0
            while total > self._max_background_rows and index < len(pending):
                write = pending[index]
                if isinstance(write, ACKED_TYPES) or (
                        candles_only and not isinstance(write, StoreCandles)):
                    index += 1
                    continue
                del pending[index]
                total -= rows_of(write)
                kind = type(write).__name__
                dropped[kind] = dropped.get(kind, 0) + rows_of(write)
        self._pending, self._pending_rows = pending, total
        if dropped:
            self._counts["background_dropped"] += sum(dropped.values())
            log_event(logger, "storage.background_dropped", logging.ERROR,
                      bound_rows=self._max_background_rows, rows=sum(dropped.values()),
                      by_kind=",".join(f"{kind}:{rows}" for kind, rows in dropped.items()))

    def _drop_background_at_stop(self) -> None:
        if self._pending:
            log_event(logger, "storage.background_lost_at_stop", logging.ERROR,
                      writes=len(self._pending), rows=self._pending_rows)
            self._counts["background_dropped"] += self._pending_rows
            self._pending, self._pending_rows = [], 0

    def _hand_over(self) -> None:
        """After a crash: nothing of the open transaction was committed (closing the connection
        rolls it back). Background writes go to the next instance; the message being handled
        is redelivered by the supervisor, unless it already was (then it is a poison message
        and gets refused here); every other acknowledged write is refused."""
        pending = [*self._committing, *self._pending]
        self._committing, self._pending, self._pending_rows = [], [], 0
        background: list[BackgroundWrite] = [w for w in pending if isinstance(
            w, (TouchUser, LogCommand, StoreCandles))]
        redelivered = None if self._handling_redelivery else self._handling
        for write in pending:
            if isinstance(write, ACKED_TYPES) and write is not redelivered:
                self._counts["busy_refusals"] += 1
                self._refuse(write, StorageBusy("the storage restarted"))
        if background:
            self._counts["background_handed_over"] += len(background)
            self.ctx.address.requeue_front(background)


def storage_spec(
    config: BotConfig,
    settings: SupervisorSettings,
    *,
    read_pool: ReadPool | None = None,
    fault: Callable[[str], None] = lambda point: None,
) -> ChildSpec:
    """The ``storage`` supervisor with its ``db_writer``, built from ``config``.

    ``read_pool`` only adds its read timings to the writer's introspection.
    """
    rules = WriteRules(max_alerts_per_user=config.max_alerts_per_user)
    flush_interval_s = config.db_flush_interval_ms / 1000
    # The firing log is history of the same kind as the command log: kept as long.
    retention = RetentionRules(command_log_days=config.command_log_retention_days,
                               firings_days=config.command_log_retention_days,
                               fired_alerts_per_user=config.fired_alerts_kept_per_user,
                               candles_per_series=config.candles_kept_per_series,
                               batch_rows=config.db_prune_batch_rows)

    def start_writer(ctx: ChildContext) -> Any:
        # database_url (PostgreSQL) when set, else the SQLite file: open_writer takes either.
        return DbWriter.start(ctx, path=config.database_url or config.db_path,
                              batch_size=config.db_batch_size,
                              flush_interval_s=flush_interval_s,
                              slow_query_ms=config.db_slow_query_ms, rules=rules,
                              read_pool=read_pool, fault=fault, retention=retention,
                              prune_interval_s=config.db_prune_interval_s)

    writer = ChildSpec(name="db_writer", factory=start_writer, priority=Priority.CRITICAL)
    return supervisor_spec("storage", [writer], settings, priority=Priority.CRITICAL)
