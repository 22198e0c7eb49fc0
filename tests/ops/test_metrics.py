"""The Prometheus exposition through prometheus-client, checked by parsing every line of it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
from prometheus_client.parser import text_string_to_metric_families

from messages.chat import CommandDone
from ops.metrics import BotMetrics, SnapshotUnavailable, render_metrics
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


def test_every_actor_reports_its_current_state() -> None:
    exposition = parse(render_metrics(_tree(), uptime_s=1))
    assert exposition.value("cryptobot_actor_state", actor="fetcher", state="restarting") == 1
    assert exposition.value("cryptobot_actor_state", actor="cache", state="running") == 1


def test_the_health_verdict_is_one_gauge_per_level_with_only_the_current_one_set() -> None:
    exposition = parse(render_metrics(_tree(), uptime_s=1))  # the fetcher is restarting
    levels = {ls["level"]: value for name, ls, value in exposition.samples
              if name == "cryptobot_health"}
    assert levels == {"ok": 0, "degraded": 1, "failing": 0}


def _scrape(metrics: BotMetrics) -> dict[str, list[tuple[str, dict[str, str], float]]]:
    """Family name to its samples, read back with the library's own parser."""
    return {family.name: [(sample.name, sample.labels, sample.value) for sample in family.samples]
            for family in text_string_to_metric_families(metrics.exposition().decode())}


def _done(command: str, outcome: str) -> CommandDone:
    return CommandDone(request_id="r1", replies=(), command=command, outcome=outcome)


class TestBotMetrics:
    def test_answered_commands_are_counted_and_timed_by_command_and_outcome(self) -> None:
        metrics = BotMetrics(_tree, process=False)
        metrics.observe_command(_done("price", "ok"), 120.0)
        metrics.observe_command(_done("price", "ok"), 40.0)
        metrics.observe_command(_done("analysis", "unavailable"), 3000.0)
        scrape = _scrape(metrics)
        counts = {(ls["command"], ls["outcome"]): v for n, ls, v in scrape["cryptobot_commands"]
                  if n == "cryptobot_commands_total"}
        assert counts == {("price", "ok"): 2, ("analysis", "unavailable"): 1}
        latency = scrape["cryptobot_command_latency_seconds"]
        price_sum = [v for n, ls, v in latency
                     if n.endswith("_sum") and ls["command"] == "price"]
        assert price_sum == [pytest.approx(0.16)]
        under_quarter_second = [v for n, ls, v in latency if n.endswith("_bucket")
                                and ls["command"] == "price" and ls["le"] == "0.25"]
        assert under_quarter_second == [2]

    def test_exchange_requests_are_timed_by_kind_and_result(self) -> None:
        metrics = BotMetrics(_tree, process=False)
        metrics.observe_exchange_request("klines", "ok", 0.02)
        metrics.observe_exchange_request("klines", "ExchangeTimeout", 5.0)
        counts = {(ls["kind"], ls["result"]): v
                  for n, ls, v in _scrape(metrics)["cryptobot_exchange_request_seconds"]
                  if n.endswith("_count")}
        assert counts == {("klines", "ok"): 1, ("klines", "ExchangeTimeout"): 1}

    def test_the_scrape_holds_the_snapshot_and_the_process_figures(self) -> None:
        scrape = _scrape(BotMetrics(_tree, started_at=10.0, clock=lambda: 25.0))
        assert scrape["cryptobot_uptime_seconds"][0][2] == 15.0
        assert ("cryptobot_actor_restarts_total", {"actor": "fetcher"}, 3) in scrape[
            "cryptobot_actor_restarts"]
        assert scrape["process_resident_memory_bytes"][0][2] > 0
        assert "python_info" in scrape

    def test_each_bot_has_its_own_registry(self) -> None:
        first, second = BotMetrics(_tree, process=False), BotMetrics(_tree, process=False)
        first.observe_command(_done("price", "ok"), 1.0)
        assert "cryptobot_commands" in _scrape(first)
        assert not [s for s in _scrape(second).get("cryptobot_commands", [])
                    if s[0] == "cryptobot_commands_total"]

    def test_a_failing_snapshot_makes_the_scrape_fail_with_the_reason(self) -> None:
        def broken() -> ActorSnapshot:
            raise RuntimeError("tree is stopping")

        with pytest.raises(SnapshotUnavailable, match="RuntimeError: tree is stopping"):
            BotMetrics(broken, process=False).exposition()

    def test_the_instance_is_one_info_series_with_its_host_pid_id_and_start(self) -> None:
        from core.instance import InstanceId

        instance = InstanceId(host="bot-1", pid=4242, started_at=1_796_535_501.25)
        exposition = parse(BotMetrics(_tree, process=False, instance=instance).exposition()
                           .decode())
        assert exposition.types["cryptobot_instance_info"] == "gauge"
        assert exposition.labels_of("cryptobot_instance_info") == [{
            "host": "bot-1", "pid": "4242", "instance_id": "bot-1:4242:1796535501",
            "started": "2026-12-06T05:38:21Z"}]
        assert exposition.value("cryptobot_instance_info", host="bot-1") == 1

    def test_without_an_instance_given_the_info_names_this_process(self) -> None:
        from core.instance import this_instance

        [labels] = [ls for n, ls, _ in _scrape(BotMetrics(_tree, process=False))[
            "cryptobot_instance_info"] if n == "cryptobot_instance_info"]
        assert labels["instance_id"] == this_instance().key
        assert "instance" not in labels  # Prometheus's own target label; ours would be renamed
