"""Admin cards: the live actor tree (/actors) and a health summary (/health).

Why: an operator on a phone wants one glance at "is anything broken, and what", so /health
names every actor that is not running and every circuit breaker that is not closed, and /actors
shows the whole tree in monospace. Both read one ``ActorSnapshot``; nothing here asks an actor.
"""

from __future__ import annotations

from chat.html import bold, escape
from ops.health import HEALTHY_STATES, assess
from supervision.snapshot import ActorSnapshot, render_tree

__all__ = ["actors_tree", "health_text"]

_LEVEL_ICONS = {"ok": "✅", "degraded": "⚠️", "failing": "🛑"}


def actors_tree(snapshot: ActorSnapshot) -> str:
    """The supervision tree as a monospace block (the chunker splits a very long one), with
    the cache hit rate and the process memory under it."""
    text = f"{bold('Actors')}\n<pre>{escape(render_tree(snapshot))}</pre>"
    figures = {node.name: dict(node.stats) for node in snapshot.walk()}
    extras = []
    rate = figures.get("cache", {}).get("computed.hit_rate")
    if isinstance(rate, (int, float)):
        extras.append(f"cache hit rate {rate:.0%}")
    rss = figures.get("memory_monitor", {}).get("rss_mb")
    if isinstance(rss, (int, float)):
        extras.append(f"memory {rss:.0f} MB")
    return text + ("\n" + escape(" · ".join(extras)) if extras else "")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def health_text(snapshot: ActorSnapshot) -> str:
    """✅ ok, ⚠️ degraded or 🛑 failing with counts, then each reason (see ``ops.health``)."""
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
    return "\n".join(lines)
