"""alerts: sweeps the price alerts every few seconds and notifies each owner once.

A dedicated worker with its own thread, so it may wait (with timeouts) on the fetcher and the
db_writer; nothing else waits on it. One sweep:

1. confirm earlier notifications whose "notified" mark did not commit yet;
2. notify alerts that fired but were never notified (a crash between steps 4 and 6);
3. price every symbol that has an active alert with **one** ticker call;
4. ``FireCrossedAlerts``: the db_writer marks every reached alert fired, in one transaction,
   and answers with exactly the alerts it moved (an indexed query: one range search per
   symbol) - *before* anyone is told, so a fired alert is never fired twice;
5. tell the transport one notification per alert (Analysis and Re-arm buttons);
6. ``MarkNotified`` after the send.

A restart anywhere loses nothing: what fired in step 4 is found by step 2 of the next sweep.
The one window for a duplicate is a crash after step 5 and before step 6 commits (a few
milliseconds: the write is a group commit on an idle writer); docs/storage.md says more.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pykka

from chat.replies import fired_notification
from core.config import BotConfig
from core.errors import BotError
from core.logs import bind_request_id, log_event
from market.errors import UnknownSymbol
from market.models import PriceTicker
from messages.market import Fetch, FetchSpec
from messages.storage import AlertRecord, FireCrossedAlerts, FiredAlerts, MarkNotified, SweepDue
from storage.errors import StorageUnavailable
from storage.read_pool import ReadPool
from supervision import request, request_future
from supervision.actor import SupervisedActor
from supervision.context import ChildContext
from supervision.spec import ChildSpec, Priority
from core.stats import ActorStats
from supervision.timer import PeriodicTimer

__all__ = ["AlertStats", "AlertsActor", "alerts_spec"]

logger = logging.getLogger(__name__)

_UNPRICEABLE_FOR_S = 3600.0
"""How long a symbol the exchange refuses (delisted) is left out of sweeps."""


@dataclass(frozen=True, slots=True)
class AlertStats(ActorStats):
    """The alerts actor's figures."""

    sweeps: int
    """Sweeps over the saved alerts."""
    skipped: int
    """Ticks skipped because the previous sweep ended too recently."""
    fired: int
    """Alerts whose price was crossed."""
    notified: int
    """Of those, notifications sent."""
    recovered: int
    """Fired but unnotified alerts found in the database and sent again."""
    failed_sweeps: int
    """Sweeps that failed on storage or market trouble or a timeout."""
    last_sweep_ms: float
    """Duration of the last sweep, three decimals."""
    awaiting_mark: int
    """Notified alerts whose "notified" mark is not confirmed yet."""
    unpriceable: int
    """Symbols the exchange does not know, left out of sweeps for a while."""


class AlertsActor(SupervisedActor):
    """Runs the sweep on its own timer; stateless but for notifications awaiting their mark."""

    def __init__(
        self,
        ctx: ChildContext,
        *,
        read_pool: ReadPool,
        interval_s: float,
        min_gap_s: float | None = None,
        fetch_timeout_s: float = 10.0,
        write_timeout_s: float = 5.0,
        writer: str = "db_writer",
        fetcher: str = "fetcher",
        transport: str = "transport",
        wall_clock: Callable[[], float] = time.time,
        clock: Callable[[], float] = time.monotonic,
        after_step: Callable[[str], None] = lambda step: None,
    ) -> None:
        super().__init__(ctx)
        self._read_pool = read_pool
        self._interval_s = interval_s
        # Ticks that queued up behind a slow sweep are dropped rather than run back to back.
        self._min_gap_s = interval_s / 2 if min_gap_s is None else min_gap_s
        self._fetch_timeout_s = fetch_timeout_s
        self._write_timeout_s = write_timeout_s
        self._writer = ctx.directory[writer]
        self._fetcher = ctx.directory[fetcher]
        self._transport = ctx.directory[transport]
        self._wall_clock = wall_clock
        self._clock = clock
        self._after_step = after_step
        self._timer: PeriodicTimer | None = None
        self._last_sweep_end = float("-inf")
        self._unconfirmed: set[int] = set()
        self._unpriceable: dict[str, float] = {}
        self._counts = dict.fromkeys(("sweeps", "skipped", "fired", "notified", "recovered",
                                      "failed_sweeps"), 0)
        self._last_sweep_ms = 0.0
        self._sweep_id: str | None = None

    def setup(self) -> None:
        self._timer = PeriodicTimer(self.actor_ref, SweepDue(), self._interval_s,
                                    self.ctx.name).start()
        # At once rather than after one interval: alerts fired before a restart get notified.
        self.actor_ref.tell(SweepDue())

    def release(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def handle(self, message: Any) -> Any:
        match message:
            case SweepDue():
                return self._on_sweep_due()
        return super().handle(message)

    def stats(self) -> AlertStats:
        return AlertStats(**self._counts, last_sweep_ms=round(self._last_sweep_ms, 3),
                          awaiting_mark=len(self._unconfirmed), unpriceable=len(self._unpriceable))

    # -- the sweep ------------------------------------------------------------------------------

    def _on_sweep_due(self) -> None:
        started = self._clock()
        if started - self._last_sweep_end < self._min_gap_s:
            self._counts["skipped"] += 1
            return
        self._counts["sweeps"] += 1
        self._sweep_id = f"sweep-{self.ctx.generation}-{self._counts['sweeps']}"
        with bind_request_id(self._sweep_id):
            try:
                self._sweep()
            finally:
                self._last_sweep_end = self._clock()
                self._last_sweep_ms = (self._last_sweep_end - started) * 1000

    def _sweep(self) -> None:
        step = "confirm"
        try:
            self._confirm()
            step = "recover"
            self._recover()
            step = "price"
            prices = self._prices()
            if prices:
                step = "fire"
                self._notify(self._fire(prices))
        except (BotError, pykka.Timeout) as exc:
            self._counts["failed_sweeps"] += 1
            if self._counts["sweeps"] == 1 and isinstance(exc, StorageUnavailable):
                # The very first sweep can run before the writer has created the database.
                log_event(logger, "alerts.storage_not_ready", logging.INFO, step=step)
                return
            log_event(logger, "alerts.sweep_failed", logging.WARNING, step=step, error=repr(exc))

    def _confirm(self) -> None:
        """Mark notified what was sent; kept for the next sweep if the write fails."""
        if not self._unconfirmed:
            return
        ids = tuple(sorted(self._unconfirmed))
        request(self._writer, lambda reply_to: MarkNotified(
            alert_ids=ids, notified_at=self._wall_clock(), request_id=self._sweep_id,
            reply_to=reply_to), self._write_timeout_s)
        self._unconfirmed.difference_update(ids)

    def _recover(self) -> None:
        orphans = [alert for alert in self._read_pool.unnotified_alerts()
                   if alert.alert_id not in self._unconfirmed]
        if orphans:
            self._counts["recovered"] += len(orphans)
            log_event(logger, "alerts.recovered", logging.WARNING, alerts=len(orphans))
            self._notify(orphans)

    def _prices(self) -> tuple[tuple[str, float], ...]:
        now = self._clock()
        self._unpriceable = {s: until for s, until in self._unpriceable.items() if until > now}
        symbols = tuple(s for s in self._read_pool.alert_symbols() if s not in self._unpriceable)
        if not symbols:
            return ()
        try:
            tickers = self._fetch((symbols,))[0]
        except UnknownSymbol:
            # One delisted symbol fails the whole list: price them one by one this time and
            # leave out those the exchange refuses.
            tickers = self._price_one_by_one(symbols)
        return tuple((ticker.symbol, ticker.price) for ticker in tickers)

    def _price_one_by_one(self, symbols: Sequence[str]) -> tuple[PriceTicker, ...]:
        priced: list[PriceTicker] = []
        answers = self._fetch(tuple((symbol,) for symbol in symbols), raise_errors=False)
        for symbol, answer in zip(symbols, answers):
            if isinstance(answer, UnknownSymbol):
                self._unpriceable[symbol] = self._clock() + _UNPRICEABLE_FOR_S
                log_event(logger, "alerts.symbol_unpriceable", logging.WARNING, symbol=symbol)
            elif not isinstance(answer, Exception):
                priced.extend(answer)
        return tuple(priced)

    def _fetch(self, symbol_sets: Sequence[tuple[str, ...]], *,
               raise_errors: bool = True) -> list[Any]:
        """One ticker call per symbol set, all in flight at once, within one deadline."""
        futures = []
        for symbols in symbol_sets:
            futures.append(request_future(self._fetcher, lambda reply_to: Fetch(
                FetchSpec("prices", symbols=symbols), reply_to=reply_to, request_id=self._sweep_id)))
        deadline = self._clock() + self._fetch_timeout_s
        answers: list[Any] = []
        for future in futures:
            try:
                answers.append(future.get(timeout=max(0.0, deadline - self._clock())))
            except (BotError, pykka.Timeout) as exc:
                if raise_errors:
                    raise
                answers.append(exc)
        return answers

    def _fire(self, prices: tuple[tuple[str, float], ...]) -> tuple[AlertRecord, ...]:
        fired: FiredAlerts = request(self._writer, lambda reply_to: FireCrossedAlerts(
            prices=prices, fired_at=self._wall_clock(), request_id=self._sweep_id,
            reply_to=reply_to), self._write_timeout_s)
        self._counts["fired"] += len(fired.alerts)
        if fired.alerts:
            log_event(logger, "alerts.fired", logging.INFO, alerts=len(fired.alerts),
                      ids=[alert.alert_id for alert in fired.alerts][:20])
        self._after_step("fired")
        return fired.alerts

    def _notify(self, alerts: Sequence[AlertRecord]) -> None:
        if not alerts:
            return
        for alert in alerts:
            self._transport.tell(fired_notification(alert))
        self._counts["notified"] += len(alerts)
        self._unconfirmed.update(alert.alert_id for alert in alerts)
        self._after_step("sent")
        self._confirm()


def alerts_spec(
    config: BotConfig,
    read_pool: ReadPool,
    *,
    transport: str = "transport",
    fetch_timeout_s: float = 10.0,
    write_timeout_s: float = 5.0,
) -> ChildSpec:
    """The ``alerts`` child (for the root: it needs ``db_writer``, ``fetcher``, ``transport``)."""
    return ChildSpec(
        name="alerts",
        factory=lambda ctx: AlertsActor.start(
            ctx, read_pool=read_pool, interval_s=config.alert_sweep_interval_s,
            fetch_timeout_s=fetch_timeout_s, write_timeout_s=write_timeout_s,
            transport=transport),
        priority=Priority.MEDIUM,
        # A sweep legitimately waits for one price call and a few writes.
        hang_timeout_s=max(config.hang_timeout_s, fetch_timeout_s + 3 * write_timeout_s + 1),
    )
