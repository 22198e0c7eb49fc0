"""The Prometheus exposition, checked by parsing every line of it."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from ops.metrics import escape_label_value, format_sample_value, render_metrics
from resilience.breaker import BreakerSnapshot
from supervision.snapshot import ActorSnapshot
from core.stats import FlatStats

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_SAMPLE = re.compile(rf"^(?P<name>{_NAME})(?:\{{(?P<labels>.*)\}})? (?P<value>\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


@dataclass
class Exposition:
    helps: dict[str, str] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)
    samples: list[tuple[str, dict[str, str], float]] = field(default_factory=list)

    def value(self, name: str, **labels: str) -> float:
        matches = [v for n, ls, v in self.samples
                   if n == name and all(ls.get(k) == want for k, want in labels.items())]
        assert len(matches) == 1, f"{name}{labels}: {matches}"
        return matches[0]

    def labels_of(self, name: str) -> list[dict[str, str]]:
        return [ls for n, ls, _ in self.samples if n == name]


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), value)


def _parse_labels(text: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    position = 0
    while position < len(text):
        match = _LABEL.match(text, position)
        assert match, f"bad labels at {text[position:]!r}"
        assert match.group(1) not in labels, f"duplicate label {match.group(1)}"
        labels[match.group(1)] = _unescape(match.group(2))
        position = match.end()
    return labels


def parse(text: str) -> Exposition:
    """A strict reader of the text format: HELP/TYPE once, before and next to their samples."""
    assert text.endswith("\n")
    exposition = Exposition()
    current: str | None = None
    finished: set[str] = set()
    seen_series: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    for line in text.splitlines():
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            _, keyword, name, rest = line.split(" ", 3)
            table = exposition.helps if keyword == "HELP" else exposition.types
            assert name not in table, f"{keyword} of {name} given twice"
            table[name] = rest
            if name != current:
                assert name not in finished, f"family {name} split in two"
                if current is not None:
                    finished.add(current)
                current = name
            continue
        match = _SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        name = match.group("name")
        assert name == current, f"sample {name} outside its family block"
        assert name in exposition.types, f"sample {name} before its TYPE"
        labels = _parse_labels(match.group("labels") or "")
        series = (name, tuple(sorted(labels.items())))
        assert series not in seen_series, f"duplicate series {series}"
        seen_series.add(series)
        exposition.samples.append((name, labels, float(match.group("value"))))
    assert set(exposition.helps) == set(exposition.types)
    return exposition


def _breaker(name: str, state: str, trips: int = 0) -> BreakerSnapshot:
    return BreakerSnapshot(name=name, state=state, consecutive_failures=0, failure_rate=None,
                           calls_in_window=0, trips=trips, reset_timeout_s=30.0,
                           retry_after_s=0.0)


def _tree() -> ActorSnapshot:
    cache = ActorSnapshot(
        name="cache", state="running", kind="worker", handled=40, mailbox_depth=2,
        stats=FlatStats((("bytes", 1024), ("computed.hit_rate", 0.98), ("raw.hit_rate", None),
                         ("mode", "lru"), ("warm", True))))
    fetcher = ActorSnapshot(
        name="fetcher", state="restarting", kind="worker", restarts=3,
        breakers=(_breaker("exchange", "open", trips=2),),
        stats=FlatStats((("upstream_calls", 17),)))
    market = ActorSnapshot(name="market", state="running", kind="supervisor",
                           strategy="one_for_one", children=(fetcher, cache))
    return ActorSnapshot(name="root", state="running", kind="supervisor", children=(market,))


def test_the_exposition_is_valid_and_declares_every_family_once() -> None:
    exposition = parse(render_metrics(_tree(), uptime_s=12.5))
    assert exposition.types["cryptobot_actor_restarts_total"] == "counter"
    assert exposition.types["cryptobot_actor_up"] == "gauge"
    assert exposition.value("cryptobot_up") == 1
    assert exposition.value("cryptobot_uptime_seconds") == 12.5


def test_every_actor_reports_whether_it_is_up_with_its_kind() -> None:
    exposition = parse(render_metrics(_tree(), uptime_s=1))
    assert exposition.value("cryptobot_actor_up", actor="cache", kind="worker") == 1
    assert exposition.value("cryptobot_actor_up", actor="fetcher", kind="worker") == 0
    assert exposition.value("cryptobot_actor_up", actor="market", kind="supervisor") == 1
    assert {ls["actor"] for ls in exposition.labels_of("cryptobot_actor_up")} == {
        "root", "market", "fetcher", "cache"}


def test_restarts_mailbox_depth_and_handled_messages_are_per_actor() -> None:
    exposition = parse(render_metrics(_tree(), uptime_s=1))
    assert exposition.value("cryptobot_actor_restarts_total", actor="fetcher") == 3
    assert exposition.value("cryptobot_actor_mailbox_depth", actor="cache") == 2
    assert exposition.value("cryptobot_actor_messages_handled_total", actor="cache") == 40


def test_numeric_stats_become_samples_and_the_rest_are_left_out() -> None:
    exposition = parse(render_metrics(_tree(), uptime_s=1))
    assert exposition.value("cryptobot_actor_stat", actor="cache", stat="computed.hit_rate") == 0.98
    assert exposition.value("cryptobot_actor_stat", actor="cache", stat="bytes") == 1024
    assert exposition.value("cryptobot_actor_stat", actor="cache", stat="warm") == 1
    assert exposition.value("cryptobot_actor_stat", actor="fetcher", stat="upstream_calls") == 17
    stats = {ls["stat"] for ls in exposition.labels_of("cryptobot_actor_stat")}
    assert "raw.hit_rate" not in stats and "mode" not in stats


def test_a_breaker_shows_whether_it_is_open_with_its_state_and_trips() -> None:
    exposition = parse(render_metrics(_tree(), uptime_s=1))
    assert exposition.value("cryptobot_breaker_open", breaker="exchange", state="open") == 1
    assert exposition.value("cryptobot_breaker_trips_total", breaker="exchange") == 2


def test_a_closed_breaker_is_not_open() -> None:
    worker = ActorSnapshot(name="fetcher", state="running", kind="worker",
                           breakers=(_breaker("exchange", "closed"),))
    exposition = parse(render_metrics(worker, uptime_s=1))
    assert exposition.value("cryptobot_breaker_open", breaker="exchange", state="closed") == 0


def test_families_without_samples_are_not_declared() -> None:
    exposition = parse(render_metrics(ActorSnapshot("root", "running", "supervisor"), uptime_s=1))
    assert "cryptobot_breaker_open" not in exposition.types
    assert "cryptobot_actor_stat" not in exposition.types


def test_label_values_are_escaped_and_read_back_intact() -> None:
    awkward = 'odd "name"\\with\nnewline'
    node = ActorSnapshot(name=awkward, state="running", kind="worker",
                         stats=FlatStats(((awkward, 1.5),)))
    exposition = parse(render_metrics(node, uptime_s=1))
    assert exposition.value("cryptobot_actor_stat", actor=awkward, stat=awkward) == 1.5
    assert escape_label_value('a"b') == 'a\\"b'


def test_special_float_values_are_spelled_the_prometheus_way() -> None:
    assert format_sample_value(math.nan) == "NaN"
    assert format_sample_value(math.inf) == "+Inf"
    assert format_sample_value(-math.inf) == "-Inf"
    assert format_sample_value(False) == "0"
    assert format_sample_value(7) == "7"


def test_the_health_verdict_is_one_gauge_per_level_with_only_the_current_one_set() -> None:
    exposition = parse(render_metrics(_tree(), uptime_s=1))  # the fetcher is restarting
    levels = {ls["level"]: value for name, ls, value in exposition.samples
              if name == "cryptobot_health"}
    assert levels == {"ok": 0, "degraded": 1, "failing": 0}
