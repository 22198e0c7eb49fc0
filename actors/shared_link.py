"""The one Redis link of this process, made on first use when ``redis_url`` is set.

Why one: every shared mechanism (flood budgets, rate limits, the registry, the market's
layers) must agree on whether Redis is up, and the link is where that is decided
(``cluster.redis_link``). Several actors ask for it; they all get the same object.
"""

from __future__ import annotations

import threading

from cluster.redis_link import RedisLink, namespace_for
from core.config import BotConfig
from core.instance import InstanceId

__all__ = ["close_shared_links", "shared_link"]

_lock = threading.Lock()
_links: dict[tuple[str, str], RedisLink] = {}


def shared_link(config: BotConfig, instance: InstanceId) -> RedisLink | None:
    """This process's link to ``config.redis_url`` (None without one: all stays local).

    One link per process and bot, whichever instance asks (``instance`` is there for the
    signature the shared mechanisms agreed on; the registry records it)."""
    if not config.redis_url:
        return None
    namespace = namespace_for(config.telegram_token)
    with _lock:
        link = _links.get((config.redis_url, namespace))
        if link is None:
            link = _links[(config.redis_url, namespace)] = RedisLink(
                config.redis_url, namespace=namespace)
        return link


def close_shared_links() -> None:
    """Close and forget every link (tests; a process otherwise keeps its link to the end)."""
    with _lock:
        links = list(_links.values())
        _links.clear()
    for link in links:
        link.close()
