"""The instance registry actor: heartbeats into a real Redis, and what the operator sees of it
(/actors in chat, the status JSON, /metrics, ``inspect --all``), Redis up and Redis stopped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pykka
import pytest
import requests

import bot

from actors.instance_registry import InstanceRegistry, registry_reader, registry_spec
from actors.shared_limits import SharedRateLimiter, shared_limiters
from actors.shared_link import close_shared_links, shared_link
from chat.cards_admin import actors_tree
from chat.ratelimit import UserRateLimiter
from cluster.redis_link import RedisLink
from cluster.registry import heartbeat, live_keys
from core.config import BotConfig
from core.instance import InstanceId
from core.instances import RegistryStats, local_record
from fakes.engines import start_redis
from messages.cluster import RegistryTick
from ops.health import assess
from ops.inspect_cli import EXIT_HEALTHY, main
from ops.metrics import render_metrics
from ops.status_http import StatusServer
from supervision.snapshot import ActorSnapshot, ChildState
from supervision.spec import ChildSpec
from supervision.tree import SupervisionTree
from tests.actors.telegram_fixtures import TOKEN

EU1 = InstanceId(host="host-a", pid=10, started_at=1_700_000_000.0, name="eu-1")
EU2 = InstanceId(host="host-b", pid=20, started_at=1_700_000_100.0, name="eu-2")
NOW = 1_700_000_220.0


def registry(name: str, link: RedisLink, instance: InstanceId) -> ChildSpec:
    return ChildSpec(name=name, factory=lambda ctx: InstanceRegistry.start(
        ctx, link=link, instance=instance, interval_s=60.0, clock=lambda: NOW))


@pytest.fixture
def tree_of() -> Iterator[list[SupervisionTree]]:
    trees: list[SupervisionTree] = []
    yield trees
    for tree in trees:
        tree.stop(timeout_s=10)
    assert pykka.ActorRegistry.get_all() == []


def start(trees: list[SupervisionTree], *specs: ChildSpec) -> SupervisionTree:
    tree = SupervisionTree(list(specs)).start()
    trees.append(tree)
    return tree


def test_two_instances_see_each_other_and_the_lease_holder_everywhere_it_is_shown(
    redis_url: str, tree_of: list[SupervisionTree], capsys: pytest.CaptureFixture[str]
) -> None:
    link = RedisLink(redis_url, namespace="123456789")
    link.client.set(link.key("poll", "lease"), EU2.key)
    tree = start(tree_of, registry("registry_1", link, EU1), registry("registry_2", link, EU2))
    tree.address("registry_2").ask(RegistryTick(), timeout=5)  # after its setup()
    tree.address("registry_1").ask(RegistryTick(), timeout=5)
    snapshot = tree.snapshot(timeout_s=5)

    stats = snapshot.find_stats(RegistryStats)
    assert stats is not None and (stats.this, stats.instances_live) == ("eu-1", 2)
    assert [record.key for record in stats.instances] == ["eu-1", "eu-2"]
    assert (stats.lease_holder, stats.holds_lease, stats.redis_up) == ("eu-2", False, True)
    card = actors_tree(snapshot, EU1, now=NOW)
    assert "🖧 <b>2 instances</b> (Redis up)\n• <b>eu-1</b> · pid 10 · up 4 min · this one\n" in card
    assert "• <b>eu-2</b> · pid 20 · up 2 min · polling\n" in card
    metrics = render_metrics(snapshot, uptime_s=1.0)
    assert "cryptobot_redis_up 1.0" in metrics and "cryptobot_instances_live 2.0" in metrics

    with StatusServer(lambda: snapshot, port=0, instance=EU1) as server:
        health = requests.get(f"{server.url}/healthz", timeout=5).json()
        actors = requests.get(f"{server.url}/actors", timeout=5).json()
        config = BotConfig().with_overrides(redis_url=redis_url, telegram_token=TOKEN)
        assert main(["--all", "--url", server.url], instances=registry_reader(config)) == (
            EXIT_HEALTHY)
    assert health["status"] == "ok" and actors["instances"] == health["instances"]
    assert [(entry["id"], entry["this"], entry["lease"]) for entry in health["instances"]] == [
        ("eu-1", True, False), ("eu-2", False, True)]
    assert health["redis"] == {"up": True, "mode": "shared", "fallback_fraction": 0.5,
                               "lease_holder": "eu-2", "heartbeat_failures": 0}
    out = capsys.readouterr().out
    assert out.startswith("2 live instances:\n  eu-1 · host host-a · pid 10 · up 3 min · v")
    assert "\n  eu-2 · host host-b · pid 20 · up 2 min · v0.1.0 · polling\n" in out

    tree.stop(timeout_s=10)  # a clean stop deregisters both at once
    assert live_keys(link) == ()


def test_inspect_all_without_redis_says_the_bot_is_a_single_instance(
    capsys: pytest.CaptureFixture[str]
) -> None:
    assert registry_reader(BotConfig()) is None
    alone = ActorSnapshot(name="root", state=ChildState.RUNNING, kind="supervisor")
    with StatusServer(lambda: alone, port=0) as server:
        main(["--all", "--url", server.url], instances=None)
    out = capsys.readouterr().out
    assert out.startswith("redis_url is not set: the bot runs as a single instance\ninstance ")


def test_redis_stopped_mid_run_shows_as_down_and_degraded_and_nothing_raises(
    tmp_path: Path, tree_of: list[SupervisionTree]
) -> None:
    engine = start_redis(tmp_path / "redis")
    link = RedisLink(engine.url, namespace="123456789")
    tree = start(tree_of, registry("instance_registry", link, EU1))
    tree.address("instance_registry").ask(RegistryTick(), timeout=5)  # registered, twice
    assert live_keys(link) == ("eu-1",)
    engine.stop()
    tree.address("instance_registry").ask(RegistryTick(), timeout=5)
    snapshot = tree.snapshot(timeout_s=5)

    stats = snapshot.find_stats(RegistryStats)
    assert stats is not None and stats.redis_up is False and stats.heartbeat_failures == 1
    assert [record.key for record in stats.instances] == ["eu-1"]  # itself, locally
    health = assess(snapshot)
    assert health.level == "degraded"
    assert health.reasons == ("redis is down: budgets are local at 50% of the shared limits",)
    assert "🖧 <b>Redis is down</b>: this instance alone, budgets at 50%" in actors_tree(snapshot)
    assert "cryptobot_redis_up 0.0" in render_metrics(snapshot, uptime_s=1.0)
    with StatusServer(lambda: snapshot, port=0, instance=EU1) as server:
        answer = requests.get(f"{server.url}/healthz", timeout=5)
    assert answer.status_code == 200 and answer.json()["redis"]["up"] is False
    assert snapshot.find("instance_registry").state == "running"  # type: ignore[union-attr]


def test_the_registry_and_the_shared_budgets_exist_only_with_a_redis_url(redis_url: str) -> None:
    plain = BotConfig()
    assert registry_spec(plain) is None and shared_link(plain, EU1) is None
    assert shared_limiters(plain, None, EU1.key) is None
    shared = plain.with_overrides(redis_url=redis_url, telegram_token=TOKEN)
    try:
        spec = registry_spec(shared)
        assert spec is not None and spec.name == "instance_registry"
        link = shared_link(shared, EU1)
        assert link is not None and link is shared_link(shared, EU2)  # one per process
        wrap = shared_limiters(shared, link, EU1.key)
        assert wrap is not None
        limiter = wrap("inline", UserRateLimiter(1, 60.0, clock=lambda: 0.0))
        assert isinstance(limiter, SharedRateLimiter)
    finally:
        close_shared_links()


def test_bot_py_inspect_all_reads_the_registry_named_by_the_configuration(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    link = RedisLink(redis_url, namespace="123456789")
    heartbeat(link, local_record(EU1, NOW, redis_mode="shared"))
    monkeypatch.setenv("CRYPTOBOT_REDIS_URL", redis_url)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    alone = ActorSnapshot(name="root", state=ChildState.RUNNING, kind="supervisor")
    with StatusServer(lambda: alone, port=0) as server:
        assert bot.main(["inspect", "--all", "--url", server.url]) == EXIT_HEALTHY
    assert capsys.readouterr().out.startswith("1 live instance:\n  eu-1 · host host-a · pid 10")
