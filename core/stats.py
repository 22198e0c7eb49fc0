"""Typed introspection figures: the base every actor's ``stats()`` type derives from.

In ``core`` (not ``supervision``) because the figures are born in the domain packages too
(``market.cache``, ``ops.memory``, ``storage``), which must not import the supervision runtime.

Each actor reports a frozen, slotted dataclass of its own (``FetcherStats``, ``CacheStats``,
...), defined where its figures are born; readers that know what they want (``/stats``, the
metrics line, the health verdict) match on that type and read fields. The supervision runtime
knows none of those types: a report's ``stats`` is an :class:`ActorStats`, and the generic
renderers (status JSON, Prometheus, ``inspect``) read the flat figures of :func:`stat_figures`.

Flattening, so every figure keeps one dotted name (``computed.hit_rate``, ``query.commit.p99_ms``):

* a scalar field (number, text, bool, None) is one figure named after the field;
* a nested dataclass is flattened below the field's name, or below nothing for an
  :data:`INLINE` field; a :data:`GROUP` or :data:`INLINE` field that is None gives no figures;
* a tuple of ``(name, value)`` pairs (figures keyed at run time: query kinds, outcomes) gives
  ``<field>.<name>`` (``<name>`` alone for an :data:`INLINE` field), the value a scalar or a
  dataclass flattened the same way;
* ``key`` metadata (:func:`named`) renames a field's segment (a name Python cannot spell);
* a :data:`HIDDEN` field gives no figures: data for the cards, not a number to graph (the
  instance list of the registry).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["GROUP", "HIDDEN", "INLINE", "NO_STATS", "ActorStats", "FlatStats", "Scalar",
           "named", "stat_figures"]

Scalar = str | int | float | bool | None

GROUP: Mapping[str, object] = {"stats.group": True}
"""Field metadata: a nested dataclass that may be None; None gives no figures at all."""

INLINE: Mapping[str, object] = {"stats.group": True, "stats.inline": True}
"""Field metadata: a :data:`GROUP` flattened without a name segment of its own."""


HIDDEN: Mapping[str, object] = {"stats.hidden": True}
"""Field metadata: not a figure (left out of the flat figures, JSON stats and metrics)."""


def named(key: str) -> Mapping[str, object]:
    """Field metadata: this field's figures are named ``key`` instead of the field name."""
    return {"stats.key": key}


@dataclasses.dataclass(frozen=True, slots=True)
class ActorStats:
    """An actor's own figures; the base class has none (the default ``stats()``)."""

    def health_problem(self) -> str | None:
        """Why these figures make the bot degraded now (ops.health asks), or None."""
        return None


NO_STATS = ActorStats()
"""What an actor without figures reports."""


@dataclasses.dataclass(frozen=True, slots=True)
class FlatStats(ActorStats):
    """Figures known only by their flat names: read back from JSON (``inspect``) or made up
    by a test; :func:`stat_figures` gives them back unchanged (sorted)."""

    figures: tuple[tuple[str, Scalar], ...] = dataclasses.field(default=(), metadata=INLINE)
    """``(dotted name, value)`` pairs."""


def stat_figures(stats: object) -> tuple[tuple[str, Scalar], ...]:
    """Every figure of ``stats`` as ``(dotted name, scalar)`` pairs, sorted by name."""
    if not dataclasses.is_dataclass(stats) or isinstance(stats, type):
        return ()
    return tuple(sorted(_flatten(stats, ""), key=lambda pair: pair[0]))


def _flatten(value: Any, prefix: str) -> Iterator[tuple[str, Scalar]]:
    for field in dataclasses.fields(value):
        item = getattr(value, field.name)
        if field.metadata.get("stats.hidden") or (
                item is None and field.metadata.get("stats.group")):
            continue
        key = "" if field.metadata.get("stats.inline") else field.metadata.get("stats.key",
                                                                               field.name)
        yield from _figures(item, _join(prefix, str(key)))


def _figures(item: Any, name: str) -> Iterator[tuple[str, Scalar]]:
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        yield from _flatten(item, name)
    elif isinstance(item, tuple) and all(_is_pair(pair) for pair in item):
        for key, nested in item:
            yield from _figures(nested, _join(name, key))
    else:
        yield name, item


def _is_pair(item: object) -> bool:
    return isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)


def _join(prefix: str, key: str) -> str:
    if not key:
        return prefix
    return f"{prefix}.{key}" if prefix else key
