"""The shared flood budget as the outbox uses it (``redis_url`` set), and how it is built.

The transport builds it from the same ``OutboundLimits`` its local scheduler uses, so the two
never disagree on the numbers: the local scheduler orders and paces this instance's calls, the
shared budget (``cluster.flood_budget``) keeps every instance together inside Telegram's
limits. :class:`SharedGate` runs on the outbox's event loop and calls Redis on a worker thread
(``asyncio.to_thread``: the loop never blocks on a socket). While Redis does not answer, the
local scheduler alone decides at ``redis_fallback_fraction`` of the limits; the first answer
from Redis restores the full limits and the gate.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Generic, TypeVar

from actors.shared_link import shared_link
from actors.telegram_stats import TransportCounters
from chat.outbound import GROUP_CHAT_TYPES, OutboundLimits, OutboundScheduler
from cluster.flood_budget import FloodBudget, FloodGrant, FloodLimits
from cluster.redis_link import SharedUnavailable
from core.config import BotConfig
from core.instance import InstanceId
from core.logs import log_event

__all__ = ["SharedGate", "flood_gate", "shared_flood_limits"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


def shared_flood_limits(limits: OutboundLimits) -> FloodLimits:
    """The shared budget's numbers for the local scheduler's ``limits``."""
    return FloodLimits(global_calls=limits.global_calls, global_window_s=limits.global_window_s,
                       chat_burst=limits.chat_burst, group_burst=limits.group_burst,
                       chat_per_s=limits.chat_per_s, group_messages=limits.group_messages,
                       group_window_s=limits.group_window_s,
                       poll_s=max(0.005, limits.global_window_s / 20))


def flood_gate(config: BotConfig, limits: OutboundLimits,
               instance: InstanceId) -> FloodBudget | None:
    """The outbox's budget: None without ``redis_url`` (the local scheduler alone decides)."""
    link = shared_link(config, instance)
    if link is None:
        return None
    return FloodBudget(link, shared_flood_limits(limits), owner=instance.key,
                       fallback_fraction=config.redis_fallback_fraction)


class SharedGate(Generic[T]):
    """The extra gate between the outbox's scheduler and the Bot API (one per outbox)."""

    def __init__(self, budget: FloodBudget, scheduler: OutboundScheduler[T],
                 limits: OutboundLimits, stats: TransportCounters,
                 clock: Callable[[], float]) -> None:
        self._budget = budget
        self._scheduler = scheduler
        self._limits = limits
        self._stats = stats
        self._clock = clock
        self.local = False
        """True while Redis does not answer: the scheduler runs at the safe share."""

    async def release(self, chat_id: int, chat_type: str, is_message: bool,
                      item: T) -> tuple[bool, FloodGrant | None]:
        """May ``item`` (just handed out by the scheduler) leave now, and with which grant?

        Refused, it is back at the head of its queue and the chat (every chat, for the global
        limit or a global pause) is paused for the budget's wait."""
        try:
            verdict = await asyncio.to_thread(
                self._budget.acquire, chat_id, is_group=chat_type in GROUP_CHAT_TYPES,
                is_message=is_message)
        except SharedUnavailable:
            self._stats.flood_local += 1
            if self.local:
                return True, None  # the scheduler, at its safe share, released it
            self._switch(local=True)
            self._scheduler.give_back(chat_id, item)  # asked again under the cut limits
            return False, None
        if self.local:
            self._switch(local=False)
        if verdict.grant is not None:
            return True, verdict.grant
        self._stats.flood_shared_waits += 1
        self._scheduler.give_back(chat_id, item)
        until = self._clock() + verdict.wait_s
        if verdict.limit in ("global", "pause_all"):
            self._scheduler.pause_all(until)
        else:
            self._scheduler.pause_chat(chat_id, until)
        return False, None

    async def settle(self, grant: FloodGrant | None) -> None:
        """The granted call ended now (sent or not): it counts from now for everyone."""
        if grant is None:
            return
        try:
            await asyncio.to_thread(self._budget.settle, grant)
        except SharedUnavailable:
            pass  # its slot frees after the budget's in-flight hold

    async def pause(self, chat_id: int | None, pause_s: float) -> None:
        """Publish a 429 (``chat_id`` None: the global limit) to every instance."""
        try:
            await asyncio.to_thread(self._budget.pause, chat_id, pause_s)
        except SharedUnavailable:
            pass  # this instance pauses locally all the same

    def _switch(self, *, local: bool) -> None:
        self.local = local
        fraction = self._budget.fallback_fraction
        self._scheduler.use_limits(self._limits.share(fraction) if local else self._limits)
        log_event(logger, "telegram.flood_budget_local" if local
                  else "telegram.flood_budget_shared", logging.WARNING if local else logging.INFO,
                  fraction=fraction if local else 1.0)
