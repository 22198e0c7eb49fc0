"""The one Redis link of this process, made on first use when ``redis_url`` is set.

Why one: every shared mechanism (the market's layers and weight budget, flood budgets, rate
limits, the registry, the update stream) must agree on whether Redis is up, and the link is
where that is decided (``cluster.redis_link``, with one fail-fast pause); one client also means
one connection pool per process. Without a URL there is no link and every caller keeps its
in-process behaviour.
"""

from __future__ import annotations

import threading

from cluster.redis_link import RedisLink, namespace_for
from core.config import BotConfig
from core.instance import InstanceId

__all__ = ["close_shared_links", "shared_link"]

_lock = threading.Lock()
_links: dict[tuple[str, str], RedisLink] = {}


def shared_link(config: BotConfig, instance: InstanceId | None = None) -> RedisLink | None:
    """This process's link to ``config.redis_url`` (under the bot's namespace), or None.

    One link per process and bot, whichever instance asks (``instance`` is accepted so every
    caller can pass what it has; the registry records it, the link does not need it)."""
    if not config.redis_url:
        return None
    key = (config.redis_url, namespace_for(config.telegram_token))
    with _lock:
        link = _links.get(key)
        if link is None:
            link = _links[key] = RedisLink(key[0], namespace=key[1])
        return link


def close_shared_links() -> None:
    """Close and forget every link built here (at process exit, and in tests)."""
    with _lock:
        links = list(_links.values())
        _links.clear()
    for link in links:
        link.close()
