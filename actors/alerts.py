"""alerts: sweeps the alerts of every kind every few seconds and notifies each owner once.

A dedicated worker with its own thread, so it may wait (with timeouts) on the fetcher, the
indicator actor and the db_writer; nothing else waits on it. One sweep:

1. confirm earlier notifications whose "notified" mark did not commit yet;
2. deliver the outbox: firings and expiries not yet notified (a crash between steps 5 and 7,
   or notices held for quiet hours that have ended) - one bounded read that leaves out owners
   known to be inside their quiet hours (``actors.alert_outbox``);
3. price every symbol that has a live price or percent alert with **one** ticker call;
4. RSI(14) of closed candles for the (symbol, interval) pairs with live RSI alerts, refreshed
   only when a new candle has closed (``actors.alert_rsi``);
5. ``FireCrossedAlerts``: the db_writer expires, re-arms what cleared and fires what is
   reached, in one transaction, and answers with exactly the alerts it moved (indexed: one
   range search per symbol) - *before* anyone is told, so a crossing is never fired twice;
6. deliver what step 5 moved, from the writer's answer (no second read): one notice per
   firing or expiry (more than three for one owner at once: one message gathering up to 25,
   the rest next sweep); an owner whose quiet hours (their time zone) contain the moment is
   skipped - the notice stays in the outbox, in the database - and gets everything held in
   **one** message at the first sweep after they end;
7. ``MarkNotified`` after the send.

Steps 2 and 6 claim what they are about to send first (``ClaimNotices``, one write,
``storage.notices``): with several instances on one database each notice goes out from the one
instance that claimed it; with one instance every claim is its own. On PostgreSQL step 5 runs
on one instance at a time (an advisory lock, ``storage.sweep``); the others skip that round.

A restart anywhere loses nothing: what fired in step 5 is delivered by step 2 of the next
sweep. The one window for a duplicate is a crash after step 6 and before step 7 commits (a few
milliseconds: the write is a group commit on an idle writer); docs/storage.md says more.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pykka

from actors.alert_outbox import AlertOutbox
from actors.alert_rsi import RsiTracker
from actors.fetch_batch import fetch_each
from core.config import BotConfig
from core.errors import BotError
from core.logs import bind_request_id, log_event
from core.stats import ActorStats
from market.errors import UnknownSymbol
from market.models import PriceTicker
from messages.market import FetchSpec
from messages.storage import (
    ClaimedNotices,
    ClaimNotices,
    FireCrossedAlerts,
    FiredAlerts,
    MarkNotified,
    SweepDue,
)
from core.instance import this_instance
from storage.errors import StorageUnavailable
from storage.notices import LOCAL_CLAIMANT, NOTICE_CLAIM_S
from storage.read_pool import ReadPool
from supervision import request
from supervision.actor import SupervisedActor
from supervision.context import ChildContext
from supervision.spec import ChildSpec, Priority
from supervision.timer import PeriodicTimer, start_periodic, stop_periodic

__all__ = ["AlertStats", "AlertsActor", "alerts_spec"]

logger = logging.getLogger(__name__)

_UNPRICEABLE_FOR_S = 3600.0
"""How long a symbol the exchange refuses (delisted) is left out of sweeps."""
_PAIRS_MAX_AGE_S = 60.0
"""How often the (symbol, interval) pairs of live RSI alerts are re-read without a new alert."""


@dataclass(frozen=True, slots=True)
class AlertStats(ActorStats):
    """The alerts actor's figures."""

    sweeps: int
    """Sweeps over the saved alerts."""
    skipped: int
    """Ticks skipped because the previous sweep ended too recently."""
    fired: int
    """Firings: alerts whose condition was reached (a recurring alert counts each time)."""
    notified: int
    """Notices (firings and expiries) sent, a message gathering several counting each."""
    recovered: int
    """Unnotified notices found in the database that no sweep of this instance had held."""
    failed_sweeps: int
    """Sweeps that failed on storage or market trouble or a timeout."""
    last_sweep_ms: float
    """Duration of the last sweep, three decimals."""
    awaiting_mark: int
    """Notified alerts whose "notified" mark is not confirmed yet."""
    unpriceable: int
    """Symbols the exchange does not know, left out of sweeps for a while."""
    expired: int = 0
    """Alerts that reached their expiry unfired (or, recurring, after their last firing)."""
    rearmed: int = 0
    """Recurring alerts re-armed because their condition had cleared."""
    held: int = 0
    """Notices waiting now for their owner's quiet hours to end."""
    rsi_states: int = 0
    """(symbol, interval) pairs with an RSI reading, each with indicator state kept."""
    rsi_refreshes: int = 0
    """RSI recomputations, each after a new candle closed (or a first reading)."""


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
        indicator: str = "indicator",
        transport: str = "transport",
        wall_clock: Callable[[], float] = time.time,
        clock: Callable[[], float] = time.monotonic,
        after_step: Callable[[str], None] = lambda step: None,
        claimant: str | None = None,
    ) -> None:
        super().__init__(ctx)
        self._claimant = claimant if claimant is not None else LOCAL_CLAIMANT
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
        self._rsi = RsiTracker(fetcher=self._fetcher, indicator=ctx.directory[indicator],
                               wall_clock=wall_clock, clock=clock)
        self._newest_alert = -1
        self._pairs: tuple[tuple[str, str], ...] = ()
        self._pairs_read_at = float("-inf")
        self._timer: PeriodicTimer | None = None
        self._last_sweep_end = float("-inf")
        self._unconfirmed: set[int] = set()
        self._outbox = AlertOutbox(read_pool=read_pool, transport=self._transport,
                                   wall_clock=wall_clock, claim=self._claim)
        self._unpriceable: dict[str, float] = {}
        self._counts = dict.fromkeys(("sweeps", "skipped", "fired", "notified", "failed_sweeps",
                                      "expired", "rearmed"), 0)
        self._last_sweep_ms = 0.0
        self._sweep_id: str | None = None
        self._market_failed = False

    def setup(self) -> None:
        self._timer = start_periodic(self, SweepDue(), self._interval_s)
        # At once rather than after one interval: alerts fired before a restart get notified.
        self.actor_ref.tell(SweepDue())

    def release(self) -> None:
        stop_periodic(self._timer)
        self._timer = None

    def handle(self, message: Any) -> Any:
        match message:
            case SweepDue():
                return self._on_sweep_due()
        return super().handle(message)

    def stats(self) -> AlertStats:
        return AlertStats(**self._counts, last_sweep_ms=round(self._last_sweep_ms, 3),
                          awaiting_mark=len(self._unconfirmed), unpriceable=len(self._unpriceable),
                          recovered=self._outbox.recovered, held=self._outbox.held,
                          rsi_states=self._rsi.states,
                          rsi_refreshes=self._rsi.refreshes)

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
        self._market_failed = False
        try:
            self._confirm()
            step = "recover"
            self._outbox.new_sweep()
            self._deliver(self._outbox.deliver_outbox(self._unconfirmed))
            # Market trouble leaves out what it could not value; expiry still runs.
            prices = self._from_market("price", self._prices)
            rsi = self._from_market("rsi", self._rsi_values)
            if prices or rsi or self._expiry_due():
                step = "fire"
                fired = self._fire(prices, rsi)
                if fired.alerts or fired.expired:
                    step = "notify"
                    self._deliver(self._outbox.deliver_fired((*fired.alerts, *fired.expired),
                                                             self._unconfirmed))
        except (BotError, pykka.Timeout) as exc:
            self._counts["failed_sweeps"] += not self._market_failed
            if self._counts["sweeps"] == 1 and isinstance(exc, StorageUnavailable):
                # The very first sweep can run before the writer has created the database.
                log_event(logger, "alerts.storage_not_ready", logging.INFO, step=step)
                return
            log_event(logger, "alerts.sweep_failed", logging.WARNING, step=step, error=repr(exc))

    def _from_market(self, step: str, read: Callable[[], tuple[Any, ...]]) -> tuple[Any, ...]:
        try:
            return read()
        except StorageUnavailable:
            raise
        except (BotError, pykka.Timeout) as exc:
            self._counts["failed_sweeps"] += not self._market_failed
            self._market_failed = True
            log_event(logger, "alerts.sweep_failed", logging.WARNING, step=step,
                      error=repr(exc))
            return ()

    def _claim(self, ids: Sequence[int]) -> tuple[int, ...]:
        """Claim the notices about to be sent (``storage.notices``); the ones this instance may
        send. Another instance on the same database sends the rest."""
        now = self._wall_clock()
        claimed: ClaimedNotices = request(self._writer, lambda reply_to: ClaimNotices(
            alert_ids=tuple(ids), claimant=self._claimant, now=now, until=now + NOTICE_CLAIM_S,
            request_id=self._sweep_id, reply_to=reply_to), self._write_timeout_s)
        return claimed.alert_ids

    def _confirm(self) -> None:
        """Mark notified what was sent; kept for the next sweep if the write fails."""
        if not self._unconfirmed:
            return
        ids = tuple(sorted(self._unconfirmed))
        request(self._writer, lambda reply_to: MarkNotified(
            alert_ids=ids, notified_at=self._wall_clock(), request_id=self._sweep_id,
            reply_to=reply_to, claimant=self._claimant), self._write_timeout_s)
        self._unconfirmed.difference_update(ids)

    def _deliver(self, handed: list[int]) -> None:
        """Count what the outbox handed to the transport and mark it notified."""
        if handed:
            self._unconfirmed.update(handed)
            self._counts["notified"] += len(handed)
            self._after_step("sent")
            self._confirm()

    def _rsi_values(self) -> tuple[tuple[str, str, float], ...]:
        # The pairs are re-read when an alert was added, and once a minute (deleted, ended or
        # re-armed alerts); between, a sweep costs one MAX(id) lookup for them.
        newest = self._read_pool.newest_alert_id()
        added = newest != self._newest_alert
        if added or self._clock() - self._pairs_read_at >= _PAIRS_MAX_AGE_S:
            self._pairs = self._read_pool.rsi_pairs()
            self._pairs_read_at = self._clock()
        self._newest_alert = newest
        return self._rsi.values(self._pairs, full=added,
                                deadline=self._clock() + self._fetch_timeout_s,
                                request_id=self._sweep_id)

    def _expiry_due(self) -> bool:
        next_expiry = self._read_pool.next_expiry()
        return next_expiry is not None and next_expiry <= self._wall_clock()

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
        return fetch_each(self._fetcher, [FetchSpec("prices", symbols=symbols)
                                          for symbols in symbol_sets],
                          request_id=self._sweep_id, timeout_s=self._fetch_timeout_s,
                          clock=self._clock, raise_errors=raise_errors)

    def _fire(self, prices: tuple[tuple[str, float], ...],
              rsi: tuple[tuple[str, str, float], ...]) -> FiredAlerts:
        fired: FiredAlerts = request(self._writer, lambda reply_to: FireCrossedAlerts(
            prices=prices, rsi=rsi, fired_at=self._wall_clock(), request_id=self._sweep_id,
            reply_to=reply_to), self._write_timeout_s)
        self._counts["fired"] += len(fired.alerts)
        self._counts["expired"] += len(fired.expired)
        self._counts["rearmed"] += fired.rearmed
        if fired.alerts:
            log_event(logger, "alerts.fired", logging.INFO, alerts=len(fired.alerts),
                      ids=[alert.alert_id for alert in fired.alerts][:20])
        if fired.expired:
            log_event(logger, "alerts.expired", logging.INFO, alerts=len(fired.expired),
                      ids=[alert.alert_id for alert in fired.expired][:20])
        self._after_step("fired")
        return fired


def _claimant(config: BotConfig) -> str | None:
    """Who claims notices: this instance on a shared database (PostgreSQL); on the SQLite file
    the bot is alone, and a restarted process must own what the last one claimed."""
    return this_instance(config.instance_name).key if config.database_url else None


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
            transport=transport, claimant=_claimant(config)),
        priority=Priority.MEDIUM,
        # A sweep legitimately waits for one price call, one round of klines calls and
        # indicator steps (one deadline each) and a few writes.
        hang_timeout_s=max(config.hang_timeout_s,
                           2 * fetch_timeout_s + 3 * write_timeout_s + 1),
    )
