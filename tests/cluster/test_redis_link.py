"""The link to the shared Redis: calls go through it; while it is down they fail fast."""

from __future__ import annotations

import threading
import time

import pytest
import redis

from cluster.redis_link import RedisLink, SharedUnavailable, namespace_for
from fakes.engines import start_redis


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_keys_are_namespaced_by_the_public_bot_id_not_the_token() -> None:
    assert namespace_for("123456:SECRET-part") == "123456"
    assert namespace_for(None) == "local"


def test_a_call_reaches_redis_and_keeps_the_link_up(redis_url: str) -> None:
    link = RedisLink(redis_url, namespace="42")
    assert link.call(lambda client: client.set(link.key("probe"), b"1")) is True
    assert link.call(lambda client: client.get("cryptobot:42:probe")) == b"1"
    assert link.state().up is True
    link.close()


def test_a_dead_redis_fails_fast_then_is_tried_again_after_the_pause(tmp_path) -> None:
    engine = start_redis(tmp_path / "redis")
    clock = Clock()
    link = RedisLink(engine.url, namespace="42", retry_after_s=1.0, clock=clock)
    assert link.call(lambda client: client.ping()) is True
    engine.stop()
    with pytest.raises(SharedUnavailable):
        link.call(lambda client: client.ping())
    state = link.state()
    assert (state.up, state.failures) == (False, 1)
    assert state.last_error is not None and "unix" not in state.last_error
    calls = []
    with pytest.raises(SharedUnavailable):
        link.call(lambda client: calls.append(1))  # inside the pause: not even tried
    assert calls == [] and link.state().failures == 1
    clock.now += 1.5
    with pytest.raises(SharedUnavailable):
        link.call(lambda client: client.ping())
    assert link.state().failures == 2
    link.close()


def test_a_script_error_is_not_mistaken_for_an_outage(redis_url: str) -> None:
    link = RedisLink(redis_url, namespace="42")
    broken = link.script("return redis.call('NOSUCHCOMMAND')")
    with pytest.raises(redis.ResponseError):
        link.call(lambda client: broken(keys=[], args=[], client=client))
    assert link.state().up is True
    link.close()


def test_a_redis_that_refuses_writes_is_unavailable_not_an_error_for_the_caller(
        tmp_path) -> None:
    """Out of memory (maxmemory with noeviction), a read-only replica, a failed RDB save
    (MISCONF): Redis answers, but no write goes through. Callers catch only
    ``SharedUnavailable`` (the registry's heartbeat, the flights' plain SETs), so anything
    else would crash them instead of degrading to the local fallback."""
    engine = start_redis(tmp_path / "redis")
    admin = redis.Redis.from_url(engine.url)
    link = RedisLink(engine.url, namespace="42")
    try:
        admin.set("filler", b"x" * 10_000)
        admin.config_set("maxmemory", 1)
        with pytest.raises(SharedUnavailable) as raised:
            link.call(lambda client: client.set(link.key("probe"), b"1"))
        assert "OutOfMemoryError" in str(raised.value)
        assert link.state().up is False
        assert link.state().last_error == "OutOfMemoryError"
    finally:
        admin.config_set("maxmemory", 0)
        admin.close()
        link.close()
        engine.stop()


def test_a_redis_busy_running_a_long_script_is_unavailable_not_an_error_for_the_caller(
        tmp_path) -> None:
    """Another client's script past busy-reply-threshold: every other command gets BUSY."""
    engine = start_redis(tmp_path / "redis")
    admin = redis.Redis.from_url(engine.url)
    admin.config_set("lua-time-limit", 20)  # busy-reply-threshold since Redis 7
    looping = threading.Thread(target=lambda: _run_forever_script(engine.url))
    looping.start()
    link = RedisLink(engine.url, namespace="42")
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # until the loop is past the threshold
            try:
                admin.ping()
            except redis.ResponseError:
                break
        with pytest.raises(SharedUnavailable):
            link.call(lambda client: client.get(link.key("probe")))
        assert link.state().up is False
    finally:
        admin.script_kill()
        looping.join(5)
        admin.close()
        link.close()
        engine.stop()


def _run_forever_script(url: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        client.eval("local i = 0 while true do i = i + 1 end", 0)
    except redis.ResponseError:
        pass  # killed by SCRIPT KILL
    finally:
        client.close()
