"""The status server answers health, tree and metrics over real loopback HTTP."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from unittest.mock import ANY

import pykka
import pytest
import requests

from core.instance import InstanceId, this_instance
from ops.metrics import BotMetrics
from ops.status_http import StatusServer
from resilience.breaker import BreakerSnapshot
from supervision.snapshot import ActorSnapshot
from core.stats import FlatStats
from supervision.tree import SupervisionTree
from tests.supervision.workers import FAST, Journal, worker_spec

_TIMEOUT_S = 5
INSTANCE = InstanceId(host="bot-1", pid=4242, started_at=1_796_535_501.25)


class Provider:
    """A snapshot provider a test can switch between healthy, degraded and failing."""

    def __init__(self, snapshot: ActorSnapshot) -> None:
        self._lock = threading.Lock()
        self._snapshot = snapshot
        self._error: Exception | None = None

    def set(self, snapshot: ActorSnapshot) -> None:
        with self._lock:
            self._snapshot, self._error = snapshot, None

    def fail_with(self, error: Exception) -> None:
        with self._lock:
            self._error = error

    def __call__(self) -> ActorSnapshot:
        with self._lock:
            if self._error is not None:
                raise self._error
            return self._snapshot


def _breaker(state: str) -> BreakerSnapshot:
    return BreakerSnapshot(name="exchange", state=state, consecutive_failures=5,
                           failure_rate=1.0, calls_in_window=5, trips=1, reset_timeout_s=30.0,
                           retry_after_s=12.0)


def _tree(*, fetcher_state: str = "running", breaker_state: str = "closed") -> ActorSnapshot:
    fetcher = ActorSnapshot(name="fetcher", state=fetcher_state, kind="worker",
                            breakers=(_breaker(breaker_state),),
                            stats=FlatStats((("upstream_calls", 3),)))
    cache = ActorSnapshot(name="cache", state="lazy", kind="worker")
    market = ActorSnapshot(name="market", state="running", kind="supervisor",
                           strategy="one_for_one", children=(fetcher, cache))
    return ActorSnapshot(name="root", state="running", kind="supervisor", children=(market,))


@pytest.fixture
def provider() -> Provider:
    return Provider(_tree())


@pytest.fixture
def server(provider: Provider) -> Iterator[StatusServer]:
    with StatusServer(provider, port=0, instance=INSTANCE) as running:
        yield running


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def _get(http: requests.Session, server: StatusServer, path: str) -> requests.Response:
    return http.get(f"{server.url}{path}", timeout=_TIMEOUT_S)


class TestHealthz:
    def test_a_healthy_tree_answers_200_ok(self, server: StatusServer,
                                           http: requests.Session) -> None:
        response = _get(http, server, "/healthz")
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("application/json")
        assert response.json() == {"status": "ok", "reasons": [], "instance": ANY}

    def test_the_slo_figures_come_with_the_verdict_when_the_slo_actor_answered(
            self, server: StatusServer, http: requests.Session, provider: Provider) -> None:
        from ops.slo import SloWindows

        slo = SloWindows()
        slo.record("price", "ok", 40.0, at=0.0)
        slo.record("price", "error", 900.0, at=0.0)
        tree = _tree()
        provider.set(dataclasses.replace(tree, children=(*tree.children, ActorSnapshot(
            name="slo", state="running", kind="worker", stats=slo.stats(now=0.0)))))
        body = _get(http, server, "/healthz").json()
        assert body["status"] == "ok"
        assert body["slo"]["last_5m"]["error_rate"] == 0.5
        assert body["slo"]["commands"]["price"]["last_1h"]["count"] == 2

    def test_a_degraded_tree_still_answers_200_with_its_reasons(
        self, server: StatusServer, http: requests.Session, provider: Provider
    ) -> None:
        provider.set(_tree(fetcher_state="restarting", breaker_state="open"))
        response = _get(http, server, "/healthz")
        assert response.status_code == 200
        assert response.json() == {"status": "degraded", "reasons": [
            "market/fetcher is restarting",
            "breaker exchange is open, retry in 12 s (market/fetcher)"], "instance": ANY}

    def test_a_failing_tree_answers_503_so_a_process_manager_restarts_it(
        self, server: StatusServer, http: requests.Session, provider: Provider
    ) -> None:
        provider.set(_tree(fetcher_state="failed"))
        response = _get(http, server, "/healthz")
        assert response.status_code == 503
        assert response.json() == {"status": "failing", "reasons": ["market/fetcher is failed"],
                                   "instance": ANY}

    def test_a_failing_provider_answers_503_naming_the_error(
        self, server: StatusServer, http: requests.Session, provider: Provider
    ) -> None:
        provider.fail_with(RuntimeError("tree is stopping"))
        response = _get(http, server, "/healthz")
        assert response.status_code == 503
        assert response.json() == {"status": "failing", "reasons": [
            "snapshot failed: RuntimeError: tree is stopping"], "instance": ANY}


class TestInstance:
    @pytest.mark.parametrize("path", ["/healthz", "/actors"])
    def test_every_json_answer_names_the_instance(self, server: StatusServer,
                                                 http: requests.Session, path: str) -> None:
        before = time.time()
        instance = _get(http, server, path).json()["instance"]
        assert {key: instance[key] for key in ("id", "host", "pid", "name", "started")} == {
            "id": "bot-1:4242:1796535501", "host": "bot-1", "pid": 4242, "name": None,
            "started": "2026-12-06T05:38:21Z"}
        assert instance["started_at"] == 1_796_535_501.25
        assert instance["uptime_s"] == pytest.approx(INSTANCE.uptime_s(before), abs=5)

    @pytest.mark.parametrize("path", ["/healthz", "/actors"])
    def test_a_503_still_names_the_instance_that_failed(
            self, server: StatusServer, http: requests.Session, provider: Provider,
            path: str) -> None:
        provider.fail_with(RuntimeError("tree is stopping"))
        response = _get(http, server, path)
        assert response.status_code == 503
        assert response.json()["instance"]["id"] == "bot-1:4242:1796535501"

    def test_without_an_instance_given_it_is_this_process(self, provider: Provider,
                                                          http: requests.Session) -> None:
        with StatusServer(provider, port=0) as running:
            body = _get(http, running, "/healthz").json()
            metrics = _get(http, running, "/metrics").text
        assert (body["instance"]["id"], body["instance"]["pid"]) == (
            this_instance().key, this_instance().pid)
        assert f'instance_id="{this_instance().key}"' in metrics

    def test_the_metrics_page_carries_the_same_instance(self, server: StatusServer,
                                                        http: requests.Session) -> None:
        text = _get(http, server, "/metrics").text
        assert ('cryptobot_instance_info{host="bot-1",instance_id="bot-1:4242:1796535501",'
                'pid="4242",started="2026-12-06T05:38:21Z"} 1.0') in text


class TestActors:
    def test_the_tree_is_served_as_the_snapshots_json(
        self, server: StatusServer, http: requests.Session
    ) -> None:
        response = _get(http, server, "/actors")
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("application/json")
        assert response.json() == {**_tree().to_dict(), "instance": ANY}

    def test_a_failing_provider_answers_503_and_the_server_keeps_serving(
        self, server: StatusServer, http: requests.Session, provider: Provider
    ) -> None:
        provider.fail_with(TimeoutError("root did not answer"))
        failed = _get(http, server, "/actors")
        assert failed.status_code == 503
        assert failed.json() == {"error": "snapshot failed: TimeoutError: root did not answer",
                                 "instance": ANY}
        provider.set(_tree())
        assert _get(http, server, "/actors").status_code == 200

    def test_stats_json_cannot_spell_are_shown_as_text(
        self, server: StatusServer, http: requests.Session, provider: Provider
    ) -> None:
        provider.set(ActorSnapshot(name="root", state="running", kind="supervisor",
                                   stats=FlatStats((("started", object),))))
        response = _get(http, server, "/actors")
        assert response.json()["stats"] == {"started": "<class 'object'>"}


class TestMetrics:
    def test_metrics_are_prometheus_text(self, server: StatusServer,
                                         http: requests.Session) -> None:
        response = _get(http, server, "/metrics")
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        lines = response.text.splitlines()
        assert "cryptobot_up 1.0" in lines
        assert 'cryptobot_actor_stat{actor="fetcher",stat="upstream_calls"} 3.0' in lines
        assert any(line.startswith("process_resident_memory_bytes ") for line in lines)

    def test_uptime_counts_from_started_at_on_the_given_clock(
        self, provider: Provider, http: requests.Session
    ) -> None:
        with StatusServer(provider, port=0, started_at=100.0, clock=lambda: 112.5) as server:
            lines = _get(http, server, "/metrics").text.splitlines()
        assert "cryptobot_uptime_seconds 12.5" in lines

    def test_a_given_registry_is_the_one_served(
        self, provider: Provider, http: requests.Session
    ) -> None:
        metrics = BotMetrics(provider, process=False)
        metrics.observe_exchange_request("prices", "ok", 0.01)
        with StatusServer(provider, port=0, metrics=metrics) as server:
            text = _get(http, server, "/metrics").text
        assert 'cryptobot_exchange_request_seconds_count{kind="prices",result="ok"} 1.0' in text

    def test_a_failing_provider_answers_503(
        self, server: StatusServer, http: requests.Session, provider: Provider
    ) -> None:
        provider.fail_with(RuntimeError("boom"))
        response = _get(http, server, "/metrics")
        assert response.status_code == 503
        assert "snapshot failed: RuntimeError: boom" in response.text


class TestRoutingAndLifecycle:
    def test_an_unknown_path_answers_404_json(self, server: StatusServer,
                                              http: requests.Session) -> None:
        response = _get(http, server, "/nope")
        assert response.status_code == 404
        assert response.json()["routes"] == ["/actors", "/healthz", "/metrics"]

    def test_only_get_is_allowed(self, server: StatusServer, http: requests.Session) -> None:
        response = http.post(f"{server.url}/healthz", timeout=_TIMEOUT_S)
        assert response.status_code == 405

    @pytest.mark.parametrize("host", ["evil.example", "evil.example:9108", "127.0.0.1.evil.example",
                                      "localhost.evil.example", "10.0.0.5", "[::2]:80", ""])
    def test_a_foreign_host_header_gets_421_and_no_data(
        self, server: StatusServer, http: requests.Session, host: str
    ) -> None:
        # DNS rebinding: a page in a local browser names its own host, resolved to 127.0.0.1.
        for path in ("/healthz", "/actors", "/metrics"):
            response = http.get(f"{server.url}{path}", headers={"Host": host},
                                timeout=_TIMEOUT_S)
            assert response.status_code == 421
            assert "status" not in response.text and "fetcher" not in response.text
            assert len(response.content) < 100

    @pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.1:9108", "localhost",
                                      "LOCALHOST:80", "[::1]", "[::1]:9108"])
    def test_loopback_host_headers_are_answered(
        self, server: StatusServer, http: requests.Session, host: str
    ) -> None:
        response = http.get(f"{server.url}/healthz", headers={"Host": host}, timeout=_TIMEOUT_S)
        assert response.status_code == 200

    def test_it_refuses_to_bind_anything_but_loopback(self, provider: Provider) -> None:
        with pytest.raises(ValueError, match="loopback"):
            StatusServer(provider, host="0.0.0.0", port=0)

    def test_it_binds_127_0_0_1_and_stopping_twice_is_harmless(self, provider: Provider) -> None:
        server = StatusServer(provider, port=0).start()
        assert server.url == f"http://127.0.0.1:{server.port}"
        server.stop(timeout_s=_TIMEOUT_S)
        server.stop(timeout_s=_TIMEOUT_S)
        with pytest.raises(RuntimeError, match="not started"):
            _ = server.port


@pytest.fixture
def live_tree() -> Iterator[SupervisionTree]:
    tree = SupervisionTree([worker_spec("pinger", Journal())], FAST).start()
    yield tree
    tree.stop(timeout_s=_TIMEOUT_S)
    leftovers = pykka.ActorRegistry.get_all()
    pykka.ActorRegistry.stop_all(timeout=_TIMEOUT_S)
    assert not leftovers, f"actors left running: {leftovers}"


def test_a_real_supervision_tree_is_served_live(
    live_tree: SupervisionTree, http: requests.Session
) -> None:
    with StatusServer(lambda: live_tree.snapshot(timeout_s=_TIMEOUT_S), port=0) as server:
        health = _get(http, server, "/healthz")
        actors = _get(http, server, "/actors").json()
        metrics = _get(http, server, "/metrics").text.splitlines()
    assert health.status_code == 200, health.json()
    assert [child["name"] for child in actors["children"]] == ["pinger"]
    assert actors["children"][0]["stats"] == {"kind": "test-worker"}
    assert 'cryptobot_actor_up{actor="pinger",kind="worker"} 1.0' in metrics
