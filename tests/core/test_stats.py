"""Typed stats: one flattening to dotted names, and every stats type frozen and slotted."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import sys
from dataclasses import dataclass, field

import pytest

import actors
from supervision.supervisor import SupervisorStats
from core.stats import (
    GROUP,
    INLINE,
    NO_STATS,
    ActorStats,
    FlatStats,
    named,
    stat_figures,
)


@dataclass(frozen=True, slots=True)
class Timing:
    count: int
    p99_ms: float


@dataclass(frozen=True, slots=True)
class Inner:
    size: int
    label: str | None


@dataclass(frozen=True, slots=True)
class Sample(ActorStats):
    plain: int
    missing: float | None
    nested: Inner
    optional: Inner | None = field(default=None, metadata=GROUP)
    inline: Inner | None = field(default=None, metadata=INLINE)
    per_kind: tuple[tuple[str, Timing], ...] = ()
    per_outcome: tuple[tuple[str, int], ...] = field(default=(), metadata=INLINE)
    renamed: int = field(default=0, metadata=named("other.name"))


def test_fields_flatten_to_sorted_dotted_names_with_none_kept_as_a_figure() -> None:
    stats = Sample(plain=1, missing=None, nested=Inner(2, "x"))
    assert stat_figures(stats) == (
        ("missing", None), ("nested.label", "x"), ("nested.size", 2), ("other.name", 0),
        ("plain", 1))


def test_a_group_or_inline_field_that_is_none_gives_no_figures_and_inline_has_no_prefix() -> None:
    stats = Sample(plain=1, missing=0.5, nested=Inner(2, None), optional=Inner(3, None),
                   inline=Inner(4, "y"))
    figures = dict(stat_figures(stats))
    assert figures["optional.size"] == 3 and figures["size"] == 4 and figures["label"] == "y"
    assert "optional" not in dict(stat_figures(Sample(1, None, Inner(2, None))))


def test_named_pairs_give_a_segment_per_name() -> None:
    stats = Sample(plain=1, missing=None, nested=Inner(2, None),
                   per_kind=(("write.commit", Timing(3, 1.5)),),
                   per_outcome=(("ok", 7), ("usage", 1)))
    figures = dict(stat_figures(stats))
    assert figures["per_kind.write.commit.count"] == 3
    assert figures["per_kind.write.commit.p99_ms"] == 1.5
    assert (figures["ok"], figures["usage"]) == (7, 1)


def test_no_stats_and_flat_stats_round_trip() -> None:
    assert stat_figures(NO_STATS) == ()
    assert stat_figures(FlatStats((("b", 2), ("a.x", None)))) == (("a.x", None), ("b", 2))
    assert stat_figures(SupervisorStats(recent_restarts=2)) == (("recent_restarts", 2),)


def _stats_types() -> list[type]:
    for info in pkgutil.iter_modules(actors.__path__):
        importlib.import_module(f"actors.{info.name}")
    found: list[type] = []
    pending = [ActorStats]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    # slots=True makes a new class; the one it replaced may linger among the subclasses.
    return [cls for cls in found if cls.__module__.split(".")[0] != "tests"
            and getattr(sys.modules[cls.__module__], cls.__name__, None) is cls]


@pytest.mark.parametrize("cls", _stats_types(), ids=lambda cls: cls.__qualname__)
def test_every_stats_type_is_frozen_slotted_and_holds_no_mutable_container(cls: type) -> None:
    params = getattr(cls, "__dataclass_params__")
    assert params.frozen and "__slots__" in vars(cls)
    for item in dataclasses.fields(cls):
        annotation = str(item.type)
        assert not any(word in annotation for word in ("list[", "dict[", "set[")), item


def test_the_application_stats_types_are_found() -> None:
    names = {cls.__name__ for cls in _stats_types()}
    assert {"FetcherStats", "CacheStats", "DbWriterStats", "MemoryStats", "ConversationStats",
            "TransportStats", "SupervisorStats"} <= names
