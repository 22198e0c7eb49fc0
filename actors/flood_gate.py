"""The shared flood budget an outbox asks before a call leaves (``redis_url`` set), or None.

The transport builds it from the same ``OutboundLimits`` its local scheduler uses, so the
two never disagree on the numbers: the local scheduler orders and paces this instance's
calls, the shared budget (``cluster.flood_budget``) keeps every instance together inside
Telegram's limits, and while Redis is down the local limits alone apply at
``redis_fallback_fraction``.
"""

from __future__ import annotations

from actors.shared_link import shared_link
from chat.outbound import OutboundLimits
from cluster.flood_budget import FloodBudget, FloodLimits
from core.config import BotConfig
from core.instance import InstanceId

__all__ = ["flood_gate", "shared_flood_limits"]


def shared_flood_limits(limits: OutboundLimits) -> FloodLimits:
    """The shared budget's numbers for the local scheduler's ``limits``."""
    return FloodLimits(global_calls=limits.global_calls, global_window_s=limits.global_window_s,
                       chat_burst=limits.chat_burst, group_burst=limits.group_burst,
                       chat_per_s=limits.chat_per_s, group_messages=limits.group_messages,
                       group_window_s=limits.group_window_s,
                       poll_s=max(0.005, limits.global_window_s / 20))


def flood_gate(config: BotConfig, limits: OutboundLimits,
               instance: InstanceId) -> FloodBudget | None:
    """The outbox's gate: None without ``redis_url`` (the local scheduler alone decides)."""
    link = shared_link(config, instance)
    if link is None:
        return None
    return FloodBudget(link, shared_flood_limits(limits), owner=instance.key,
                       fallback_fraction=config.redis_fallback_fraction)
