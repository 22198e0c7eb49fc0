"""One verdict from the tree: ok, degraded (still answering) or failing (restart me)."""

from __future__ import annotations

from resilience.breaker import BreakerSnapshot
from supervision.snapshot import ActorSnapshot
from ops.health import assess
from ops.memory import MemoryStats, PressureLevel
from storage.stats import DbWriterStats


def _memory(level: PressureLevel = "normal", *, rss_mb: float | None = None,
            limit_mb: float = 512.0) -> MemoryStats:
    return MemoryStats(level=level, rss_mb=rss_mb, threads=None, open_files=None,
                       system_available_mb=None, peak_rss_mb=rss_mb or 0.0, limit_mb=limit_mb,
                       pressure_events=0, sampling_failures=0)


def _breaker(state: str, retry_after_s: float = 12.0) -> BreakerSnapshot:
    return BreakerSnapshot(name="exchange", state=state, consecutive_failures=5,
                           failure_rate=1.0, calls_in_window=5, trips=1, reset_timeout_s=30.0,
                           retry_after_s=retry_after_s)


def _worker(name: str, state: str = "running", **fields: object) -> ActorSnapshot:
    return ActorSnapshot(name=name, state=state, kind="worker", **fields)  # type: ignore[arg-type]


def _tree(*, fetcher: ActorSnapshot | None = None, writer_state: str = "running",
          workers: tuple[str, ...] = ("running", "running"),
          memory: MemoryStats = _memory()) -> ActorSnapshot:
    market = ActorSnapshot(name="market", state="running", kind="supervisor", children=(
        *(_worker(f"fetch_worker_{i}", state) for i, state in enumerate(workers)),
        fetcher or _worker("fetcher", breakers=(_breaker("closed", 0.0),)),
        _worker("indicator", "lazy")))
    storage = ActorSnapshot(name="storage", state="running", kind="supervisor",
                            children=(_worker("db_writer", writer_state),))
    return ActorSnapshot(name="root", state="running", kind="supervisor", children=(
        storage, market, _worker("memory_monitor", stats=memory)))


def test_a_running_tree_with_closed_breakers_and_lazy_children_is_ok() -> None:
    health = assess(_tree())
    assert (health.level, health.reasons, health.ok) == ("ok", (), True)


def test_a_restarting_actor_makes_it_degraded_naming_its_path_and_last_failure() -> None:
    fetcher = _worker("fetcher", "restarting", last_failure="handle: TimeoutError")
    assert assess(_tree(fetcher=fetcher)).reasons == (
        "market/fetcher is restarting (last failure: handle: TimeoutError)",)
    assert assess(_tree(fetcher=fetcher)).level == "degraded"


def test_an_open_breaker_is_degraded_with_its_retry_delay() -> None:
    fetcher = _worker("fetcher", breakers=(_breaker("open"),))
    health = assess(_tree(fetcher=fetcher))
    assert health.level == "degraded"
    assert health.reasons == ("breaker exchange is open, retry in 12 s (market/fetcher)",)


def test_memory_pressure_is_degraded_with_the_figures() -> None:
    health = assess(_tree(memory=_memory("critical", rss_mb=530.2, limit_mb=512.0)))
    assert health.level == "degraded"
    assert health.reasons == ("memory is critical: 530.2 MB of 512.0 MB",)


def test_an_essential_actor_given_up_for_good_is_failing() -> None:
    health = assess(_tree(writer_state="stopped"))
    assert health.level == "failing"
    assert health.reasons == ("storage/db_writer is stopped",)


def test_a_non_essential_actor_given_up_is_only_degraded() -> None:
    tree = _tree()
    root = ActorSnapshot(name="root", state="running", kind="supervisor",
                         children=(*tree.children, _worker("metrics", "failed")))
    assert assess(root).level == "degraded"


def test_no_fetch_worker_left_is_failing_even_while_they_restart() -> None:
    health = assess(_tree(workers=("restarting", "restarting")))
    assert health.level == "failing"
    assert health.reasons[-1] == "no fetch worker is running (0 of 2)"


def test_one_fetch_worker_restarting_of_several_is_degraded() -> None:
    assert assess(_tree(workers=("restarting", "running"))).level == "degraded"


def _writer_stats(failing_batches: int) -> DbWriterStats:
    return DbWriterStats(pending_writes=3, pending_rows=3, flushes=10, committed=40, refused=0,
                         busy_refusals=2, batch_failures=failing_batches + 1,
                         background_dropped=0, background_handed_over=0,
                         failing_batches=failing_batches)


def test_a_database_refusing_writes_is_degraded_until_a_batch_commits() -> None:
    storage = ActorSnapshot(name="storage", state="running", kind="supervisor", children=(
        _worker("db_writer", stats=_writer_stats(3)),))
    health = assess(ActorSnapshot(name="root", state="running", kind="supervisor",
                                  children=(storage,)))
    assert health.level == "degraded"
    assert health.reasons == ("the database is not taking writes (3 batches failed in a row): "
                              "acknowledged writes are refused until it answers",)

    recovered = ActorSnapshot(name="storage", state="running", kind="supervisor", children=(
        _worker("db_writer", stats=_writer_stats(0)),))
    assert assess(ActorSnapshot(name="root", state="running", kind="supervisor",
                                children=(recovered,))).level == "ok"
