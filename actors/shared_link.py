"""The one Redis link of this process, for every shared mechanism (market, chat, updates).

Why one: every shared mechanism must agree on whether Redis is up (``RedisLink`` decides it
once, with one fail-fast pause), and one client means one connection pool per process. Built
on first use from ``config.redis_url``; without a URL there is no link and every caller keeps
its in-process behaviour.
"""

from __future__ import annotations

import threading

from cluster.redis_link import RedisLink, namespace_for
from core.config import BotConfig

__all__ = ["close_shared_links", "shared_link"]

_lock = threading.Lock()
_links: dict[tuple[str, str], RedisLink] = {}


def shared_link(config: BotConfig) -> RedisLink | None:
    """This process's link to ``config.redis_url`` (under the bot's namespace), or None."""
    if not config.redis_url:
        return None
    key = (config.redis_url, namespace_for(config.telegram_token))
    with _lock:
        link = _links.get(key)
        if link is None:
            link = _links[key] = RedisLink(key[0], namespace=key[1])
        return link


def close_shared_links() -> None:
    """Close every link built here (at process exit; a later call builds a new one)."""
    with _lock:
        links = list(_links.values())
        _links.clear()
    for link in links:
        link.close()
