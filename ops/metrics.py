"""Prometheus text exposition (format 0.0.4) of one actor-tree snapshot.

Why: operators already run Prometheus and Grafana; a ``/metrics`` page they can scrape turns
"the fetcher restarted twice last night" and "the exchange breaker keeps opening" into graphs
and alerts without anyone opening Telegram. Rendering is pure (snapshot in, text out) so the
format is tested line by line without a server.

Actor names are unique in a tree (the directory is keyed by name), so ``actor`` alone
identifies a series. Every numeric figure an actor reports through ``stats()`` (flattened to
dotted names by ``core.stats.stat_figures``) becomes one ``cryptobot_actor_stat``
sample; ``None`` (e.g. a hit rate before the first lookup) and text are left out rather than
invented.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeGuard

from ops.health import HEALTHY_STATES, assess
from supervision.snapshot import ActorSnapshot
from core.stats import stat_figures

__all__ = ["CONTENT_TYPE", "escape_label_value", "format_sample_value", "render_metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""What Prometheus expects from a text-format scrape."""

Labels = tuple[tuple[str, str], ...]
Sample = tuple[Labels, float | int]


@dataclass(frozen=True, slots=True)
class _Family:
    """One metric family: its name, type, help text and how to read samples off a node."""

    name: str
    """Full metric name, e.g. ``cryptobot_actor_up``."""
    kind: str
    """Prometheus type: gauge or counter."""
    help: str
    """One-line meaning, shown by Prometheus and Grafana."""
    samples: Callable[[ActorSnapshot], Iterable[Sample]]
    """The samples one tree node contributes."""


def escape_label_value(value: str) -> str:
    """A label value escaped as the text format requires (backslash, quote, newline)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def format_sample_value(value: float | int) -> str:
    """A sample value as Prometheus spells it (``NaN``, ``+Inf`` and ``-Inf`` included)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, (int, float))


def _actor(node: ActorSnapshot) -> Labels:
    return (("actor", node.name),)


def _up(node: ActorSnapshot) -> Iterator[Sample]:
    yield (_actor(node) + (("kind", node.kind),), int(node.state in HEALTHY_STATES))


def _restarts(node: ActorSnapshot) -> Iterator[Sample]:
    yield _actor(node), node.restarts


def _mailbox(node: ActorSnapshot) -> Iterator[Sample]:
    yield _actor(node), node.mailbox_depth


def _handled(node: ActorSnapshot) -> Iterator[Sample]:
    yield _actor(node), node.handled


def _stats(node: ActorSnapshot) -> Iterator[Sample]:
    for key, value in stat_figures(node.stats):
        if _is_number(value):
            yield _actor(node) + (("stat", str(key)),), value


def _breaker_open(node: ActorSnapshot) -> Iterator[Sample]:
    for breaker in node.breakers:
        labels = (("breaker", breaker.name), ("actor", node.name), ("state", breaker.state))
        yield labels, int(breaker.state != "closed")


def _breaker_trips(node: ActorSnapshot) -> Iterator[Sample]:
    for breaker in node.breakers:
        yield (("breaker", breaker.name), ("actor", node.name)), breaker.trips


_FAMILIES: tuple[_Family, ...] = (
    _Family("cryptobot_actor_up", "gauge",
            "1 while the actor is running, busy or lazy; 0 when restarting, stopped or failed.",
            _up),
    _Family("cryptobot_actor_restarts_total", "counter",
            "Restarts of the actor since its supervisor started.", _restarts),
    _Family("cryptobot_actor_mailbox_depth", "gauge",
            "Messages waiting for the actor.", _mailbox),
    _Family("cryptobot_actor_messages_handled_total", "counter",
            "Messages handled by the actor's current incarnation.", _handled),
    _Family("cryptobot_actor_stat", "gauge",
            "A numeric figure the actor reports about itself (see the stat label).", _stats),
    _Family("cryptobot_breaker_open", "gauge",
            "1 while the circuit breaker is not closed (open or half_open, see the state label).",
            _breaker_open),
    _Family("cryptobot_breaker_trips_total", "counter",
            "Times the circuit breaker has opened, failed trial calls included.", _breaker_trips),
)


def _render_labels(labels: Labels) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{name}="{escape_label_value(value)}"' for name, value in labels)
    return "{" + inner + "}"


def _family_lines(name: str, kind: str, help_text: str, samples: Iterable[Sample]) -> list[str]:
    lines = [f"# HELP {name} {_escape_help(help_text)}", f"# TYPE {name} {kind}"]
    lines += [f"{name}{_render_labels(labels)} {format_sample_value(value)}"
              for labels, value in samples]
    return lines


def render_metrics(snapshot: ActorSnapshot, *, uptime_s: float) -> str:
    """The whole exposition: process-level gauges, then each family over every actor."""
    lines = _family_lines("cryptobot_up", "gauge",
                          "1 when the bot answered this scrape.", [((), 1)])
    lines += _family_lines("cryptobot_uptime_seconds", "gauge",
                           "Seconds since the status server started.", [((), uptime_s)])
    level = assess(snapshot).level
    lines += _family_lines("cryptobot_health", "gauge",
                           "1 for the current verdict of /healthz (ok, degraded or failing).",
                           [((("level", name),), int(name == level))
                            for name in ("ok", "degraded", "failing")])
    nodes = list(snapshot.walk())
    for family in _FAMILIES:
        samples = [sample for node in nodes for sample in family.samples(node)]
        if samples:
            lines += _family_lines(family.name, family.kind, family.help, samples)
    return "\n".join(lines) + "\n"
