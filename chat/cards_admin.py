"""Admin cards: the live actor tree (/actors), a health summary (/health) and the runtime
figures with the command log's usage (/stats).

Why: an operator on a phone wants one glance at "is anything broken, and what", so /health
names every actor that is not running and every circuit breaker that is not closed, and /actors
shows the whole tree in monospace. They read one ``ActorSnapshot``; /stats reads the typed
figures its handler found in one (and the command log's rows). Nothing here asks an actor.
Both /actors and /health open with the instance that answered (``core.instance``): after a
restart, or with several bots on one token, the admin sees which process this is. With
``redis_url`` /actors then lists the live instances (the registry's heartbeats), marking the
one polling Telegram and this one, or says that Redis is down.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from chat.cards_alerting import slo_health_line
from chat.cards_format import format_age
from chat.html import bold, escape
from core.instance import InstanceId
from core.instances import InstanceRecord, RegistryStats
from market.cache import CacheStats, Layer, LayerStats
from ops.health import HEALTHY_STATES, assess
from ops.memory import MemoryStats
from ops.slo import SloStats
from supervision.snapshot import ActorSnapshot, render_tree

if TYPE_CHECKING:
    from storage.stats import DbWriterStats
    from market.fetch_stats import FetcherStats, WeightStats
    from messages.storage import CommandStat

__all__ = ["actors_tree", "command_stats_text", "health_text", "instance_line", "instances_text",
           "runtime_stats_text", "weight_line"]

_LEVEL_ICONS = {"ok": "✅", "degraded": "⚠️", "failing": "🛑"}


def instance_line(instance: InstanceId, now: float) -> str:
    """``🖥 bot-1 · pid 4242 · up since 2026-12-06 05:38 UTC (3 h 5 min)``; an operator's
    name leads when set: ``🖥 eu-1 (bot-1, pid 4242) · ...``. ``now`` is wall-clock time."""
    started = datetime.fromtimestamp(instance.started_at, tz=timezone.utc)
    who = (f"{bold(escape(instance.host))} · pid {instance.pid}" if instance.name is None
           else f"{bold(escape(instance.name))} ({escape(instance.host)}, pid {instance.pid})")
    return (f"🖥 {who} · up since {started:%Y-%m-%d %H:%M} UTC "
            f"({escape(format_age(instance.uptime_s(now)))})")


def _with_instance(text: str, instance: InstanceId | None, now: float) -> str:
    return text if instance is None else f"{instance_line(instance, now)}\n{text}"


def actors_tree(snapshot: ActorSnapshot, instance: InstanceId | None = None, *,
                now: float = 0.0) -> str:
    """The supervision tree as a monospace block (the chunker splits a very long one), with
    the cache hit rate and the process memory under it; under the instance's line when given
    (``now``: wall-clock time, for its uptime)."""
    tree = f"{bold('Actors')}\n<pre>{escape(render_tree(snapshot))}</pre>"
    registry = snapshot.find_stats(RegistryStats)
    if registry is not None:
        tree = f"{instances_text(registry, now)}\n{tree}"
    text = _with_instance(tree, instance, now)
    extras = []
    figures = _layer(snapshot.find_stats(CacheStats), Layer.COMPUTED)
    if figures is not None and figures.fresh_hit_rate is not None:
        extras.append(f"cache fresh hits {figures.fresh_hit_rate:.0%}")
    memory = snapshot.find_stats(MemoryStats)
    if memory is not None and memory.rss_mb is not None:
        extras.append(f"memory {memory.rss_mb:.0f} MB")
    return text + ("\n" + escape(" · ".join(extras)) if extras else "")


def instances_text(registry: RegistryStats, now: float) -> str:
    """The live instances, one line each, the lease holder and this one marked; or that
    Redis is down (budgets local). ``now``: wall-clock time."""
    if not registry.redis_up:
        return (f"🖧 {bold('Redis is down')}: this instance alone, budgets at "
                f"{registry.fallback_fraction:.0%}")
    lines = [f"🖧 {bold(_plural(len(registry.instances), 'instance'))} (Redis up)"]
    lines += [_instance_item(record, registry, now) for record in registry.instances]
    return "\n".join(lines)


def _instance_item(record: InstanceRecord, registry: RegistryStats, now: float) -> str:
    who = escape(record.name or record.host)
    up = format_age(record.uptime_s + max(0.0, now - record.heartbeat_at))
    marks = [mark for mark, on in (("polling", record.key == registry.lease_holder),
                                   ("this one", record.key == registry.this)) if on]
    return (f"• {bold(who)} · pid {record.pid} · up {escape(up)}"
            + "".join(f" · {mark}" for mark in marks))


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def health_text(snapshot: ActorSnapshot, instance: InstanceId | None = None, *,
                now: float = 0.0) -> str:
    """✅ ok, ⚠️ degraded or 🛑 failing with counts, then each reason (see ``ops.health``);
    under the instance's line when given (``now``: wall-clock time, for its uptime)."""
    nodes = list(snapshot.walk())
    health = assess(snapshot)
    running = sum(node.state in HEALTHY_STATES and node.state != "lazy" for node in nodes)
    lazy = sum(node.state == "lazy" for node in nodes)
    restarts = sum(node.restarts for node in nodes)
    counts = _plural(running, "actor") + " running"
    if lazy:
        counts += f", {lazy} waiting for a first message"
    if restarts:
        counts += f", {_plural(restarts, 'restart')} so far"
    lines = [f"{_LEVEL_ICONS[health.level]} {bold(health.level)}: {escape(counts)}"]
    lines += [f"• {escape(reason)}" for reason in health.reasons]
    slo = slo_health_line(snapshot.find_stats(SloStats))
    if slo is not None:
        lines.append(slo)
    return _with_instance("\n".join(lines), instance, now)


def runtime_stats_text(
    *,
    uptime_s: float,
    restarts: int,
    cache: CacheStats | None,
    fetcher: FetcherStats | None,
    db_writer: DbWriterStats | None,
    memory: MemoryStats | None,
) -> str:
    """The runtime part of /stats: uptime, cache, exchange, request weight, database, memory
    and restarts. An actor that did not answer (None) shows zeros or n/a, or no line."""
    lines = [f"{bold('Runtime')} · up {escape(format_age(uptime_s))}"]
    lines.append(f"cache: {cache.bytes if cache else 0:,} bytes · analyses "
                 f"{_hits(_layer(cache, Layer.COMPUTED))} · raw {_hits(_layer(cache, Layer.RAW))}")
    lines.append(f"exchange: {fetcher.upstream_calls if fetcher else 0} calls, "
                 f"{fetcher.coalesced if fetcher else 0} coalesced, "
                 f"{fetcher.refused_circuit_open if fetcher else 0} refused while the breaker "
                 "was open")
    lines.append(weight_line(fetcher.weight if fetcher else None))
    if db_writer is not None and (db_writer.query or db_writer.read):
        slowest = max(timings.p99_ms for _, timings in db_writer.query + db_writer.read)
        lines.append(f"database: p99 {slowest:.2f} ms (slowest query kind)")
    if memory is not None and memory.rss_mb is not None:
        lines.append(f"memory: {memory.rss_mb:.0f} MB ({escape(memory.level)})")
    lines.append(f"restarts: {restarts}")
    return "\n".join(lines)


def weight_line(weight: WeightStats | None) -> str:
    """The exchange's request weight used this minute, and for how long calls are held back."""
    if weight is None or weight.limit <= 0:
        return "request weight: n/a"
    line = (f"request weight: {weight.used:,.0f} of {weight.limit:,} per minute "
            f"({weight.used / weight.limit:.0%})")
    if weight.blocked_s > 0:
        line += f" · held back {weight.blocked_s:.0f} s more ({weight.blocked_reason})"
    return escape(line)


def command_stats_text(stats: Sequence[CommandStat]) -> str:
    """Per-command use, error rate and latency (the command log's last 24 h, busiest first)."""
    if not stats:
        return "commands (24 h): none yet"
    total = sum(s.count for s in stats)
    failures = sum(s.failures for s in stats)
    lines = [f"{bold('Commands, 24 h')}: {total} · not ok {failures / total:.1%}"]
    lines += [f"/{escape(s.command.lstrip('/'))} {s.count} · p50 {s.p50_ms:.0f} ms · "
              f"p95 {s.p95_ms:.0f} ms" for s in stats[:8]]
    return "\n".join(lines)


def _layer(cache: CacheStats | None, layer: Layer) -> LayerStats | None:
    return None if cache is None else cache.layer(layer)


def _hits(figures: LayerStats | None) -> str:
    """Fresh hits and stale answers apart: a stale answer is old data served while the
    exchange could not be asked, not a success of the cache."""
    if figures is None or figures.fresh_hit_rate is None or figures.stale_hit_rate is None:
        return "n/a"
    return f"{figures.fresh_hit_rate:.0%} fresh, {figures.stale_hit_rate:.0%} stale"
