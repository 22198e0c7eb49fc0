"""The instance registry actor: this instance's heartbeat and its view of the others.

A thin shell around ``cluster.registry``: every ``interval_s`` it writes this instance's
record (with whether it holds the polling lease) and reads the live instances and the lease
holder; its stats (``core.instances.RegistryStats``) carry them to ``/actors`` in chat, the
``/healthz`` and ``/actors`` JSON and ``/metrics``, together with whether Redis answers (the
link's state, which every shared budget of this process also moves). A clean stop
deregisters. Redis down: the heartbeat fails quietly (counted), the list shows this instance
alone, and the health verdict says the budgets are local. Only exists with ``redis_url``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from importlib import metadata
from typing import Any

from actors.shared_link import shared_link
from cluster.redis_link import RedisLink, SharedUnavailable, namespace_for
from cluster.registry import HEARTBEAT_S, TTL_S, deregister, heartbeat, lease_holder
from cluster.registry import live_instances
from core.config import BotConfig
from core.instance import InstanceId, this_instance
from core.instances import InstanceRecord, RegistryStats, local_record
from core.logs import log_event
from core.stats import ActorStats
from messages.cluster import RegistryTick
from supervision.actor import SupervisedActor
from supervision.context import ChildContext
from supervision.spec import ChildSpec, Priority
from supervision.timer import PeriodicTimer, start_periodic, stop_periodic

__all__ = ["InstanceRegistry", "package_version", "registry_reader", "registry_spec"]

logger = logging.getLogger(__name__)


def package_version() -> str:
    """The installed cryptobot version ("" when run from a bare checkout)."""
    try:
        return metadata.version("cryptobot")
    except metadata.PackageNotFoundError:
        return ""


class InstanceRegistry(SupervisedActor):
    """Heartbeats this instance into Redis and remembers who else is live."""

    def __init__(self, ctx: ChildContext, *, link: RedisLink, instance: InstanceId,
                 fallback_fraction: float = 0.5, interval_s: float = HEARTBEAT_S,
                 ttl_s: float = TTL_S, clock: Callable[[], float] = time.time) -> None:
        super().__init__(ctx)
        self._link = link
        self._instance = instance
        self._fallback_fraction = fallback_fraction
        self._interval_s = interval_s
        self._ttl_s = ttl_s
        self._clock = clock
        self._version = package_version()
        self._timer: PeriodicTimer | None = None
        self._live: tuple[InstanceRecord, ...] = ()
        self._holder: str | None = None
        self._beats = 0
        self._failures = 0

    def setup(self) -> None:
        self._beat()
        self._timer = start_periodic(self, RegistryTick(), self._interval_s)

    def release(self) -> None:
        stop_periodic(self._timer)
        try:
            deregister(self._link, self._instance.key)
        except SharedUnavailable:
            pass  # its record expires on its own within ttl_s

    def handle(self, message: Any) -> Any:
        match message:
            case RegistryTick():
                return self._beat()
        return super().handle(message)

    def _beat(self) -> None:
        now = self._clock()
        try:
            holder = lease_holder(self._link)
            heartbeat(self._link, local_record(
                self._instance, now, version=self._version, redis_mode="shared",
                polling=holder == self._instance.key), ttl_s=self._ttl_s)
            self._live = live_instances(self._link)
        except SharedUnavailable as error:
            self._failures += 1
            if self._failures == 1 or self._live:
                log_event(logger, "cluster.heartbeat_failed", logging.WARNING,
                          instance_id=self._instance.key, error=str(error))
            self._live, self._holder = (), None
            return
        self._holder = holder
        self._beats += 1

    def stats(self) -> ActorStats:
        me = self._instance.key
        live = self._live or (local_record(self._instance, self._clock(), version=self._version,
                                           redis_mode="local"),)
        return RegistryStats(redis_up=self._link.state().up,
                             fallback_fraction=self._fallback_fraction,
                             instances_live=len(live), lease_holder=self._holder,
                             holds_lease=self._holder == me, heartbeats=self._beats,
                             heartbeat_failures=self._failures, this=me, instances=live)


def registry_spec(config: BotConfig) -> ChildSpec | None:
    """The ``instance_registry`` child, or None without ``redis_url`` (one instance)."""
    instance = this_instance(config.instance_name)
    link = shared_link(config, instance)
    if link is None:
        return None
    return ChildSpec(name="instance_registry", priority=Priority.BACKGROUND,
                     factory=lambda ctx: InstanceRegistry.start(
                         ctx, link=link, instance=instance,
                         fallback_fraction=config.redis_fallback_fraction))


def registry_reader(
    config: BotConfig,
) -> Callable[[], tuple[tuple[InstanceRecord, ...], str | None]] | None:
    """What ``bot.py inspect --all`` reads: (live instances, lease holder), or None without
    ``redis_url``. Keys are per bot, so it needs the bot's token (its public id) too."""
    if not config.redis_url:
        return None
    link = RedisLink(config.redis_url, namespace=namespace_for(config.telegram_token))
    return lambda: (live_instances(link), lease_holder(link))
