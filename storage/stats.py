"""The database writer's figures, with those of the read pool and query timers it owns.

Here rather than in ``actors.db_writer`` so that readers (``/stats``, the metrics line) depend
on the storage domain, not on the actor.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.stats import GROUP, ActorStats
from storage.read_pool import ReadPoolStats
from storage.timing import Timings

__all__ = ["DbWriterStats"]


@dataclass(frozen=True, slots=True)
class DbWriterStats(ActorStats):
    """The database writer's figures, with the read pool's it shares its process with."""

    pending_writes: int
    """Writes waiting for the next flush."""
    pending_rows: int
    """Rows those writes hold."""
    flushes: int
    """Batches committed."""
    committed: int
    """Writes committed."""
    refused: int
    """Writes refused by a rule (NotSaved), nothing changed."""
    busy_refusals: int
    """Acknowledged writes refused because a batch failed or the writer restarted."""
    batch_failures: int
    """Batches that failed (their background writes are kept and retried)."""
    background_dropped: int
    """Background rows (candles, users, command log) dropped over the bound or at a stop."""
    background_handed_over: int
    """Background writes handed to the next incarnation after a crash."""
    pruned: int = 0
    """Rows deleted by the retention runs (old command log, fired alerts, candles)."""
    prune_failures: int = 0
    """Prune runs that failed (locked or failing database); retried at the next interval."""
    failing_batches: int = 0
    """Batches failed in a row just now (0: the last batch committed)."""
    query: Timings = ()
    """Write timings per kind (``query.<kind>.p99_ms`` ...)."""
    read_pool: ReadPoolStats | None = field(default=None, metadata=GROUP)
    """The read pool's connections, when the writer has one."""
    read: Timings = ()
    """The read pool's timings per query kind (``read.<kind>.p99_ms`` ...)."""

    def health_problem(self) -> str | None:
        if not self.failing_batches:
            return None
        return (f"the database is not taking writes ({self.failing_batches} batches failed in "
                "a row): acknowledged writes are refused until it answers")
