"""The one Redis link of a process, made once, for every actor that shares state through it.

Why one: a link carries the up/down state every shared mechanism consults
(:class:`cluster.redis_link.RedisLink`), so "Redis is down" must be one fact per process, and
one connection pool is enough for all of them. Without ``CRYPTOBOT_REDIS_URL`` there is none:
callers keep their in-process behaviour.
"""

from __future__ import annotations

import threading

from cluster.redis_link import RedisLink, namespace_for
from core.config import BotConfig
from core.instance import InstanceId

__all__ = ["shared_link"]

_lock = threading.Lock()
_links: dict[tuple[str, str], RedisLink] = {}


def shared_link(config: BotConfig, instance: InstanceId) -> RedisLink | None:
    """This process's link to ``config.redis_url`` (None when it is not set).

    One per (URL, bot) for the life of the process: actors restarting get the same link.
    ``instance`` names nothing in Redis here; it is taken so every caller asks the same way
    as callers that register the instance.
    """
    url = config.redis_url
    if not url:
        return None
    key = (url, namespace_for(config.telegram_token))
    with _lock:
        link = _links.get(key)
        if link is None:
            link = _links[key] = RedisLink(url, namespace=key[1])
        return link
