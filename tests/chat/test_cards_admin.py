"""/stats text from typed figures: the runtime lines, the request weight and the command log."""

from __future__ import annotations

from storage.stats import DbWriterStats
from market.fetch_stats import FetcherStats, WeightStats
from chat.cards_admin import actors_tree, command_stats_text, runtime_stats_text, weight_line
from market.cache import CacheStats, LayerStats
from messages.storage import CommandStat
from ops.memory import MemoryStats
from storage.read_pool import ReadPoolStats
from storage.timing import KindTimings
from supervision.snapshot import ActorSnapshot


def _layer(fresh: float | None, stale: float | None) -> LayerStats:
    served = None if fresh is None or stale is None else fresh + stale
    return LayerStats(hits=1, misses=0, stale_hits=0, evictions=0, bytes=10, hit_rate=served,
                      fresh_hit_rate=fresh, stale_hit_rate=stale)


CACHE = CacheStats(bytes=123_456, max_bytes=1_000_000,
                   layers=(("raw", _layer(0.85, 0.05)), ("computed", _layer(0.2, 0.05)),
                           ("charts", _layer(None, None))),
                   background_refreshes=4)
WEIGHT = WeightStats(used=600.0, limit=6000, blocked_s=0.0, blocked_reason=None)
FETCHER = FetcherStats(upstream_calls=12, coalesced=3, refused_circuit_open=1, in_flight=0,
                       busy_workers=0, weight=WEIGHT)
DB_WRITER = DbWriterStats(
    pending_writes=0, pending_rows=0, flushes=2, committed=2, refused=0, busy_refusals=0,
    batch_failures=0, background_dropped=0, background_handed_over=0,
    query=(("write.commit", KindTimings(count=3, slow=0, p50_ms=0.5, p99_ms=1.234)),),
    read_pool=ReadPoolStats(size=4, idle=4, opened=1),
    read=(("alerts_of", KindTimings(count=1, slow=0, p50_ms=0.1, p99_ms=2.5)),))
MEMORY = MemoryStats(level="warning", rss_mb=420.4, threads=30, open_files=12,
                     system_available_mb=900.0, peak_rss_mb=430.0, limit_mb=512.0,
                     pressure_events=1, sampling_failures=0)


def test_the_runtime_lines_read_every_figure() -> None:
    text = runtime_stats_text(uptime_s=3700, restarts=2, cache=CACHE, fetcher=FETCHER,
                              db_writer=DB_WRITER, memory=MEMORY)
    assert text.splitlines() == [
        "<b>Runtime</b> · up 62 min",
        "cache: 123,456 bytes · analyses 20% fresh, 5% stale · raw 85% fresh, 5% stale",
        "exchange: 12 calls, 3 coalesced, 1 refused while the breaker was open",
        "request weight: 600 of 6,000 per minute (10%)",
        "database: p99 2.50 ms (slowest query kind)",
        "memory: 420 MB (warning)",
        "restarts: 2",
    ]


def test_actors_that_did_not_answer_show_zeros_and_n_a_or_no_line() -> None:
    text = runtime_stats_text(uptime_s=90061, restarts=0, cache=None, fetcher=None,
                              db_writer=None, memory=None)
    assert text.splitlines() == [
        "<b>Runtime</b> · up 25 h 1 min",
        "cache: 0 bytes · analyses n/a · raw n/a",
        "exchange: 0 calls, 0 coalesced, 0 refused while the breaker was open",
        "request weight: n/a",
        "restarts: 0",
    ]


def test_no_timings_yet_and_no_memory_sample_yet_leave_their_lines_out() -> None:
    quiet = DbWriterStats(pending_writes=0, pending_rows=0, flushes=0, committed=0, refused=0,
                          busy_refusals=0, batch_failures=0, background_dropped=0,
                          background_handed_over=0)
    unsampled = MemoryStats(level="normal", rss_mb=None, threads=None, open_files=None,
                            system_available_mb=None, peak_rss_mb=0.0, limit_mb=512.0,
                            pressure_events=0, sampling_failures=1)
    text = runtime_stats_text(uptime_s=5, restarts=0, cache=CACHE, fetcher=FETCHER,
                              db_writer=quiet, memory=unsampled)
    assert "database" not in text and "memory" not in text


def test_the_weight_line_says_how_long_calls_are_held_back() -> None:
    blocked = WeightStats(used=6100.0, limit=6000, blocked_s=42.4, blocked_reason="banned")
    assert weight_line(blocked) == (
        "request weight: 6,100 of 6,000 per minute (102%) · held back 42 s more (banned)")
    assert weight_line(None) == "request weight: n/a"
    assert weight_line(WeightStats(used=1.0, limit=0, blocked_s=0.0, blocked_reason=None)) == (
        "request weight: n/a")


def test_the_command_log_lists_the_busiest_eight_with_the_failure_rate() -> None:
    stats = [CommandStat(command=f"/c{i}", count=20 - i, failures=1 if i == 0 else 0,
                         p50_ms=12.4, p95_ms=40.6) for i in range(9)]
    lines = command_stats_text(stats).splitlines()
    assert lines[0] == "<b>Commands, 24 h</b>: 144 · not ok 0.7%"
    assert lines[1] == "/c0 20 · p50 12 ms · p95 41 ms"
    assert len(lines) == 9 and lines[-1].startswith("/c7 ")


def test_no_commands_yet_and_command_names_are_escaped() -> None:
    assert command_stats_text(()) == "commands (24 h): none yet"
    odd = CommandStat(command="/a<b>", count=1, failures=0, p50_ms=1.0, p95_ms=1.0)
    assert "/a&lt;b&gt; 1" in command_stats_text((odd,))


def test_the_actors_card_finds_the_hit_rate_and_memory_by_their_types() -> None:
    tree = ActorSnapshot(name="root", state="running", kind="supervisor", children=(
        ActorSnapshot(name="any_name", state="running", kind="worker", stats=CACHE),
        ActorSnapshot(name="other", state="running", kind="worker", stats=MEMORY)))
    assert actors_tree(tree).endswith("\ncache fresh hits 20% · memory 420 MB")
    bare = ActorSnapshot(name="root", state="running", kind="supervisor")
    assert actors_tree(bare).endswith("</pre>")


STARTED = 1_796_535_501.25  # 2026-12-06 05:38:21 UTC


def test_the_instance_line_names_host_pid_start_in_utc_and_uptime() -> None:
    from chat.cards_admin import instance_line
    from core.instance import InstanceId

    instance = InstanceId(host="bot-1", pid=4242, started_at=STARTED)
    assert instance_line(instance, STARTED + 3 * 3600 + 300) == (
        "🖥 <b>bot-1</b> · pid 4242 · up since 2026-12-06 05:38 UTC (3 h 5 min)")
    named = InstanceId(host="bot-1", pid=4242, started_at=STARTED, name="eu-1")
    assert instance_line(named, STARTED + 40) == (
        "🖥 <b>eu-1</b> (bot-1, pid 4242) · up since 2026-12-06 05:38 UTC (40 s)")


def test_actors_and_health_open_with_the_instance_when_given() -> None:
    from chat.cards_admin import health_text, instance_line
    from core.instance import InstanceId

    instance = InstanceId(host="bot-1", pid=4242, started_at=STARTED)
    tree = ActorSnapshot(name="root", state="running", kind="supervisor")
    for card in (actors_tree, health_text):
        first, rest = card(tree, instance, now=STARTED + 60).split("\n", 1)
        assert first == instance_line(instance, STARTED + 60)
        assert rest == card(tree)  # the card itself is unchanged below it
