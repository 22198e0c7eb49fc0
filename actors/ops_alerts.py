"""ops_alerts: samples the tree, decides what admins must hear (``ops.alerting``) and pushes it.

Why a thin actor: the rules (merge, confirm, cool-down, cap, mute) are pure and tested on an
injected clock; this shell only keeps their state, takes a snapshot every
``ops_alert_interval_s`` (like the metrics reporter: ``collect_tree`` with timeouts, never
blocking anyone else; itself it sees as busy) and tells the transport one ``ChatReply`` per
admin. The text is ``chat.cards_alerting``.

**Who is alerted**: every ``admin_ids`` user who has written to the bot in private since this
process started (the conversation's ``ops_listener`` reports them as ``AdminSeen``): Telegram
lets a bot write only to users who started it, and a private chat's id is its user's id. So
after a restart an admin is alerted again once they send the bot anything in private (say
/health). The mute and what admins were last told are kept here too, and start afresh if this
actor restarts (the next sample then tells what is wrong now, once).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chat.cards_alerting import alert_text
from core.config import BotConfig
from core.logs import log_event
from core.stats import ActorStats
from messages.chat import ChatReply
from messages.ops import AdminSeen, CheckAlerts, MuteAlerts
from ops.alerting import AlertSettings, AlertState, decide, mute, observe
from supervision.actor import SupervisedActor
from supervision.context import ChildContext
from supervision.snapshot import collect_tree
from supervision.spec import ChildSpec, Priority
from supervision.timer import PeriodicTimer, start_periodic, stop_periodic

__all__ = ["OpsAlerts", "OpsAlertStats", "ops_alerts_spec"]

logger = logging.getLogger(__name__)

SNAPSHOT_TIMEOUT_S = 0.25
"""Per actor asked: the tree is asked one actor after another, and in an outage every command
worker is busy waiting on the market, so a long timeout would make one sample take seconds.
An actor that does not answer is "busy", and its figures are unknown (never a recovery)."""


@dataclass(frozen=True, slots=True)
class OpsAlertStats(ActorStats):
    """The pushed alerts' figures."""

    samples: int
    """Snapshots judged."""
    sent: int
    """Notifications sent (each to every admin seen)."""
    held: int
    """Samples whose news a mute or the per-minute cap held back."""
    admins: int
    """Admins who can be alerted (wrote to the bot in private since start)."""
    muted_for_s: float
    """Seconds of mute left, one decimal."""


class OpsAlerts(SupervisedActor):
    """Judges a snapshot on its own timer and tells the transport what admins must hear."""

    def __init__(
        self,
        ctx: ChildContext,
        *,
        settings: AlertSettings,
        interval_s: float,
        admin_ids: tuple[int, ...],
        root: str = "root",
        transport: str = "transport",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(ctx)
        self._settings = settings
        self._interval_s = interval_s
        self._admin_ids = frozenset(admin_ids)
        self._root = ctx.directory[root]
        self._transport = ctx.directory[transport]
        self._clock = clock
        self._state = AlertState()
        self._admins: dict[int, None] = {}  # in the order they were seen
        self._samples = 0
        self._last_sample_end = float("-inf")
        self._timer: PeriodicTimer | None = None

    def setup(self) -> None:
        self._timer = start_periodic(self, CheckAlerts(), self._interval_s)

    def release(self) -> None:
        stop_periodic(self._timer)
        self._timer = None

    def handle(self, message: Any) -> Any:
        match message:
            case CheckAlerts():
                return self._on_check_alerts()
            case AdminSeen():
                return self._on_admin_seen(message)
            case MuteAlerts():
                return self._on_mute_alerts(message)
        return super().handle(message)

    def stats(self) -> OpsAlertStats:
        return OpsAlertStats(samples=self._samples, sent=self._state.sent, held=self._state.held,
                             admins=len(self._admins),
                             muted_for_s=round(max(0.0, self._state.muted_until
                                                   - self._clock()), 1))

    def _on_admin_seen(self, message: AdminSeen) -> None:
        if message.user_id in self._admin_ids and message.user_id not in self._admins:
            self._admins[message.user_id] = None
            log_event(logger, "ops.alert_admin_seen", logging.INFO, admin_id=message.user_id)

    def _on_mute_alerts(self, message: MuteAlerts) -> float:
        now = self._clock()
        self._state = mute(self._state, now, message.for_s)
        left = max(0.0, self._state.muted_until - now)
        log_event(logger, "ops.alerts_muted", logging.INFO, admin_id=message.admin_id,
                  muted_for_s=round(left, 1), request_id=message.request_id)
        return left

    def _on_check_alerts(self) -> str | None:
        if not self.answering_ask and (self._clock() - self._last_sample_end
                                       < self._interval_s / 2):
            return None  # a tick that queued up behind a slow sample: the next one will do
        try:
            return self._sample()
        finally:
            self._last_sample_end = self._clock()

    def _sample(self) -> str | None:
        snapshot = collect_tree(self._root, timeout_s=SNAPSHOT_TIMEOUT_S, asker=self.ctx.name)
        now = self._clock()
        decision = decide(self._state, observe(snapshot, self._settings), now, self._settings,
                          reachable=bool(self._admins))
        self._state = decision.state
        self._samples += 1
        topics = [change.topic for change in decision.changes]
        if decision.held_by == "no_admin":
            log_event(logger, "ops.alert_no_admin", logging.WARNING,
                      configured=len(self._admin_ids), topics=topics)
        elif decision.held_by is not None:
            log_event(logger, "ops.alert_held", logging.INFO, held_by=decision.held_by,
                      topics=topics, muted_for_s=round(decision.muted_for_s, 1))
        notification = decision.notification
        if notification is None:
            return None
        text = alert_text(notification)
        request_id = f"ops-alert-{self.ctx.generation}-{self._state.sent}"
        for admin in self._admins:
            self._transport.tell(ChatReply(request_id=request_id, chat_id=admin, text=text,
                                           keep=True))
        log_event(logger, "ops.alert_sent", logging.WARNING if notification.level != "ok"
                  else logging.INFO, alert_level=notification.level, topics=topics,
                  admins=len(self._admins), request_id=request_id)
        return text


def ops_alerts_spec(config: BotConfig) -> ChildSpec:
    """The ``ops_alerts`` child (for the root: it needs the transport)."""
    settings = AlertSettings(
        cooldown_s=config.ops_alert_cooldown_s, max_per_minute=config.ops_alert_max_per_minute,
        error_rate=config.ops_alert_error_rate, p95_ms=config.ops_alert_p95_ms,
        min_commands=config.ops_alert_min_commands)
    return ChildSpec(
        name="ops_alerts",
        factory=lambda ctx: OpsAlerts.start(ctx, settings=settings,
                                            interval_s=config.ops_alert_interval_s,
                                            admin_ids=config.admin_ids),
        priority=Priority.LOW,
        depends_on=("chat", "slo"),
        # A sample asks every actor in turn (SNAPSHOT_TIMEOUT_S each when busy).
        hang_timeout_s=max(config.hang_timeout_s, 30.0),
    )
