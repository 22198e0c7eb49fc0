"""The chat subtree: conversation, command workers, the lazy chart actor and the transport.

``one_for_one``: the conversation keeps nothing a worker needs and vice versa. The transport
(Telegram or the console) depends on the conversation, so it starts last and stops first: no
update is taken in before there is someone to answer it, and none after.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from actors.chart import ChartActor
from actors.chat_commands import CommandService
from actors.command_worker import CommandWorker, command_worker_names
from actors.conversation import CommandListener, Conversation
from actors.market_access import MarketAccess
from actors.shared_limits import shared_limiters
from actors.shared_link import shared_link
from core.config import BotConfig
from core.instance import this_instance
from supervision.address import Directory
from supervision.spec import ActorFactory, ChildSpec, Priority, RestartType
from supervision.strategies import Strategy
from supervision.supervisor import SupervisorSettings, supervisor_spec

__all__ = ["CommandListener", "chat_spec"]

def chat_spec(
    config: BotConfig,
    settings: SupervisorSettings,
    *,
    market: MarketAccess,
    directory: Directory,
    transport_factory: ActorFactory,
    storage: Any | None = None,
    command_listeners: Sequence[CommandListener] = (),
) -> ChildSpec:
    """The ``chat`` supervisor and its children.

    Every answered command goes to the storage's command log (when there is storage) and to
    each of ``command_listeners`` (the SLO figures, the Prometheus histograms), in
    that order.
    """
    workers = command_worker_names(config.command_workers)
    instance = this_instance(config.instance_name)
    # redis_url set: the per-user budgets are shared by every instance (None: all local).
    limiters = shared_limiters(config, shared_link(config, instance), instance.key)
    listeners = ([storage.command_listener()] if storage is not None else []) + list(
        command_listeners)

    def service(worker: str) -> CommandService:
        return CommandService(market=market, directory=directory, storage=storage, worker=worker,
                              instance=this_instance(config.instance_name))

    children = [
        ChildSpec(
            name=name,
            factory=lambda ctx: CommandWorker.start(ctx, service_factory=service),
            priority=Priority.HIGH,
            # A worker may wait on the market's deadline and a chart render in one request.
            hang_timeout_s=max(settings.hang_timeout_s, 30.0),
        )
        for name in workers
    ]
    children += [
        ChildSpec(
            name="chart",
            factory=lambda ctx: ChartActor.start(ctx),
            restart=RestartType.TRANSIENT,
            priority=Priority.LOW,
            lazy=True,
            hang_timeout_s=max(settings.hang_timeout_s, 30.0),
        ),
        ChildSpec(
            name="conversation",
            factory=lambda ctx: Conversation.start(
                ctx, config=config, workers=workers,
                on_command=tuple(listeners), limiters=limiters,
            ),
            priority=Priority.HIGH,
            depends_on=workers,
        ),
        ChildSpec(
            name="transport",
            factory=transport_factory,
            priority=Priority.CRITICAL,
            depends_on=("conversation",),
        ),
    ]
    return supervisor_spec(
        "chat", children, dataclasses.replace(settings, strategy=Strategy.ONE_FOR_ONE),
        priority=Priority.HIGH, depends_on=("market",),
    )
