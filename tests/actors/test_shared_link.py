"""The process's one Redis link: none without a URL, one per URL and bot otherwise."""

from __future__ import annotations

from actors.shared_link import close_shared_links, shared_link
from core.config import BotConfig


def test_without_a_redis_url_there_is_no_link() -> None:
    assert shared_link(BotConfig()) is None


def test_every_caller_gets_the_same_link_until_it_is_closed(redis_url: str) -> None:
    config = BotConfig().with_overrides(redis_url=redis_url)
    first = shared_link(config)
    assert first is not None and shared_link(config) is first
    assert first.prefix == "cryptobot:local:"  # no token: the "local" namespace
    close_shared_links()
    again = shared_link(config)
    assert again is not None and again is not first
    assert again.call(lambda client: client.ping()) is True
    close_shared_links()
