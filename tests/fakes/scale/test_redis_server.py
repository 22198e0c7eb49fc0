"""The restartable redis-server: stopped, it does not answer; restarted, same socket and data."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from fakes.scale.redis_server import RedisServer


def test_a_stopped_server_is_an_outage_and_a_restart_keeps_the_stream(tmp_path: Path) -> None:
    with RedisServer(tmp_path) as server:
        client = redis.Redis.from_url(server.url, socket_timeout=1.0)
        client.xgroup_create("updates", "bot", id="0", mkstream=True)
        client.xadd("updates", {"u": "{}"})
        server.stop()
        with pytest.raises(redis.ConnectionError):
            client.ping()

        server.start()

        assert client.xlen("updates") == 1
        assert client.xinfo_groups("updates")[0]["name"] == b"bot"
        client.close()
