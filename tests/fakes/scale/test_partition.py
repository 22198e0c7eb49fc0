"""The socket relay: Redis through it answers; cut, it does not (Redis itself still does)."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from fakes.scale.partition import SocketRelay
from fakes.scale.redis_server import RedisServer


def test_a_cut_relay_is_a_partition_and_healing_it_restores_the_path(tmp_path: Path) -> None:
    with RedisServer(tmp_path / "redis") as server, \
            SocketRelay(server.socket, tmp_path / "relay.sock") as relay:
        through = redis.Redis.from_url(relay.url, socket_timeout=1.0)
        direct = redis.Redis.from_url(server.url, socket_timeout=1.0)
        assert through.set("k", "v") and direct.get("k") == b"v"

        relay.cut()
        with pytest.raises(redis.ConnectionError):
            through.get("k")
        assert direct.get("k") == b"v"

        relay.heal()
        assert through.get("k") == b"v"
        through.close()
        direct.close()
