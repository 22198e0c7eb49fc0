"""`bot.py inspect` prints a running bot's tree and health, and says when it cannot."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from core.config import BotConfig
from ops.inspect_cli import (
    EXIT_DEGRADED,
    EXIT_FAILING,
    EXIT_HEALTHY,
    EXIT_UNREACHABLE,
    InspectError,
    default_url,
    main,
    snapshot_from_dict,
)
from ops.status_http import StatusServer
from resilience.breaker import BreakerSnapshot
from supervision.snapshot import ActorSnapshot, render_tree
from core.stats import FlatStats


def _tree(fetcher_state: str = "running") -> ActorSnapshot:
    breaker = BreakerSnapshot(name="exchange", state="closed", consecutive_failures=0,
                              failure_rate=None, calls_in_window=0, trips=0,
                              reset_timeout_s=30.0, retry_after_s=0.0)
    fetcher = ActorSnapshot(name="fetcher", state=fetcher_state, kind="worker", restarts=2,
                            last_failure="handle: RuntimeError('boom')", breakers=(breaker,),
                            stats=FlatStats((("coalesced", 1), ("upstream_calls", 3))))
    market = ActorSnapshot(name="market", state="running", kind="supervisor",
                           strategy="one_for_one", children=(fetcher,))
    return ActorSnapshot(name="root", state="running", kind="supervisor", children=(market,))


@pytest.fixture
def healthy_bot() -> Iterator[StatusServer]:
    with StatusServer(_tree, port=0) as server:
        yield server


@pytest.fixture
def refusing_url() -> Iterator[str]:
    # Bound but never listening: connecting is refused at once, and no other test can take it.
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{bound.getsockname()[1]}"


def test_it_prints_the_live_tree_and_ok_and_exits_0(
    healthy_bot: StatusServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--url", healthy_bot.url]) == EXIT_HEALTHY
    out = capsys.readouterr().out
    assert "● fetcher  running, restarts 2" in out
    assert "breaker exchange: closed" in out
    assert out.rstrip().endswith("health: ok")


def test_a_degraded_bot_prints_the_reasons_and_exits_1(
    capsys: pytest.CaptureFixture[str]
) -> None:
    with StatusServer(lambda: _tree("restarting"), port=0) as server:
        assert main(["--url", server.url + "/"]) == EXIT_DEGRADED
    out = capsys.readouterr().out
    assert "◐ fetcher  restarting" in out
    assert "health: degraded" in out
    assert "  • market/fetcher is restarting (last failure: handle: RuntimeError('boom'))" in out


def test_a_bot_whose_snapshot_fails_is_failing_and_says_why(
    capsys: pytest.CaptureFixture[str]
) -> None:
    def failing() -> ActorSnapshot:
        raise RuntimeError("tree is stopping")

    with StatusServer(failing, port=0) as server:
        assert main(["--url", server.url]) == EXIT_FAILING
    out = capsys.readouterr().out
    assert "actor tree unavailable: snapshot failed: RuntimeError: tree is stopping" in out


def test_an_unreachable_bot_exits_2_with_one_line_naming_the_url(
    refusing_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--url", refusing_url, "--timeout", "2"]) == EXIT_UNREACHABLE
    captured = capsys.readouterr()
    assert captured.out == ""
    expected = f"inspect: cannot reach the bot at {refusing_url}/actors (ConnectionError)\n"
    assert captured.err == expected


def test_something_that_is_not_a_status_endpoint_exits_2(
    healthy_bot: StatusServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--url", healthy_bot.url + "/elsewhere"]) == EXIT_UNREACHABLE
    assert "is it a cryptobot status port?" in capsys.readouterr().err


def test_a_disabled_status_port_asks_for_a_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([], config=BotConfig(status_port=0)) == EXIT_UNREACHABLE
    assert "pass --url" in capsys.readouterr().err


def test_the_default_url_is_the_configured_status_port_on_loopback() -> None:
    assert default_url(BotConfig(status_port=9200)) == "http://127.0.0.1:9200"
    assert default_url() == f"http://127.0.0.1:{BotConfig().status_port}"
    assert default_url(BotConfig(status_port=0)) is None


def test_a_snapshot_survives_the_trip_through_json() -> None:
    tree = _tree()
    rebuilt = snapshot_from_dict(tree.to_dict())
    assert rebuilt == tree
    assert render_tree(rebuilt) == render_tree(tree)


def test_something_that_is_not_a_tree_is_an_inspect_error() -> None:
    with pytest.raises(InspectError, match="expected an actor tree"):
        snapshot_from_dict(["root"])
    with pytest.raises(InspectError, match="malformed actor tree: KeyError"):
        snapshot_from_dict({"name": "root"})


def test_it_names_the_instance_that_answered_above_the_tree(
    capsys: pytest.CaptureFixture[str]
) -> None:
    from core.instance import InstanceId

    instance = InstanceId(host="bot-1", pid=4242, started_at=1_796_535_501.25)
    with StatusServer(_tree, port=0, instance=instance) as server:
        assert main(["--url", server.url]) == EXIT_HEALTHY
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("instance bot-1:4242:1796535501 · host bot-1 · pid 4242 · "
                            "up since 2026-12-06T05:38:21Z (")


@pytest.mark.parametrize(("uptime_s", "shown"), [
    (40.4, "40 s"), (720, "12 min"), (5 * 3600 + 180, "5 h 3 min"),
    (3 * 86400 + 4 * 3600, "3 d 4 h")])
def test_the_instance_line_gives_the_uptime_at_a_glance(uptime_s: float, shown: str) -> None:
    from ops.inspect_cli import instance_line

    body = {"instance": {"id": "blue", "host": "h", "pid": 1, "started": "2026-12-06T05:38:21Z",
                         "uptime_s": uptime_s}}
    assert instance_line(body) == (
        f"instance blue · host h · pid 1 · up since 2026-12-06T05:38:21Z ({shown})")


def test_an_answer_without_an_instance_prints_no_instance_line() -> None:
    from ops.inspect_cli import instance_line

    assert instance_line({"status": "ok", "reasons": []}) is None
    assert instance_line({"instance": {"id": "x", "uptime_s": "soon"}}) == (
        "instance x · host ? · pid ? · up since ?")
