"""Admin cards: the live actor tree (/actors) and a health summary (/health).

Why: an operator on a phone wants one glance at "is anything broken, and what", so /health
names every actor that is not running and every circuit breaker that is not closed, and /actors
shows the whole tree in monospace. Both read one ``ActorSnapshot``; nothing here asks an actor.
"""

from __future__ import annotations

from chat.html import bold, escape
from supervision.snapshot import ActorSnapshot, render_tree

__all__ = ["HEALTHY_STATES", "actors_tree", "health_text"]

HEALTHY_STATES = frozenset({"running", "busy", "lazy"})
"""A lazy child waits for its first message by design and a busy one is handling a long
message (hung ones are restarted by heartbeats), so neither makes the bot degraded."""


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
    """✅ ok with counts, or ⚠️ degraded listing each unhealthy actor and open breaker."""
    nodes = list(snapshot.walk())
    problems = []
    for node in nodes:
        if node.state not in HEALTHY_STATES:
            failure = f" (last failure: {node.last_failure})" if node.last_failure else ""
            problems.append(f"{node.name} is {node.state}{failure}")
        for breaker in node.breakers:
            if breaker.state != "closed":
                retry = (f", retry in {breaker.retry_after_s:.0f} s"
                         if breaker.retry_after_s > 0 else "")
                problems.append(f"breaker {breaker.name} of {node.name} is {breaker.state}{retry}")
    running = sum(node.state in ("running", "busy") for node in nodes)
    lazy = sum(node.state == "lazy" for node in nodes)
    restarts = sum(node.restarts for node in nodes)
    counts = _plural(running, "actor") + " running"
    if lazy:
        counts += f", {lazy} waiting for a first message"
    if restarts:
        counts += f", {_plural(restarts, 'restart')} so far"
    if not problems:
        return f"✅ {bold('ok')}: {escape(counts)}"
    lines = [f"⚠️ {bold('degraded')}: {escape(counts)}"]
    lines += [f"• {escape(problem)}" for problem in problems]
    return "\n".join(lines)
