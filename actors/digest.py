"""digest: sends each user's daily digest at their local time, once per day, never twice.

A worker with its own thread and timer, like ``alerts``: it may wait (with timeouts) on the
read pool, the fetcher and the db_writer; nothing waits on it. One round, every ``interval_s``:

1. read the due digests (``next_due_at <= now``, an indexed query, at most ``batch``);
2. plan each in the user's current time zone (``users.digest.plan``): a digest to send now
   (its moment passed at most an hour ago), or nothing (skipped after downtime, or moved);
3. price every watched symbol of the round with **one** 24h-ticker call, read each user's
   alert firings of the last 24 h, and compose every card - all before anything is claimed;
4. ``SettleDigests``: the db_writer re-plans each digest in its transaction, commits the day
   as settled and the next moment, and answers with exactly the digests claimed;
5. tell the transport the claimed digests.

Never twice: a day is sent only after its claim committed, and a settled day is never claimed
again (a restart of this actor or of the whole tree, a redelivered claim, a second round).
The price of that is honest: a crash after step 4 commits and before step 5 hands the message
over (a few microseconds of pure code) loses that day's digest (docs/storage.md); a claim
answered only after the round stopped waiting is handed over at the next round. If the
exchange cannot price the round, a digest waits for the next round until half the catch-up
hour has passed, then goes out without prices, saying why.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pykka

from actors.fetch_batch import fetch_each
from chat.cards import WatchRow
from chat.digest import DigestCard, digest_card, digest_message
from core.config import BotConfig
from core.errors import BotError
from core.logs import bind_request_id, log_event
from core.stats import ActorStats
from market.errors import UnknownSymbol
from market.models import Ticker24h
from messages.digest import (
    DigestDue,
    DigestRecord,
    DigestsSettled,
    FiringRecord,
    SettleDigests,
)
from messages.market import FetchSpec
from storage.errors import StorageUnavailable
from storage.read_pool import ReadPool
from supervision import request_future
from supervision.actor import SupervisedActor
from supervision.context import ChildContext
from supervision.errors import AskTimeout
from supervision.spec import ChildSpec, Priority
from supervision.timer import PeriodicTimer, start_periodic, stop_periodic
from users.digest import CATCH_UP_S, digest_moment, plan
from users.settings import UserSettings

__all__ = ["DigestActor", "DigestStats", "digest_spec"]

logger = logging.getLogger(__name__)

FIRINGS_WINDOW_S = 24 * 3600.0
"""A digest lists the alerts that fired this long before it."""
_NO_PRICES_AFTER_S = CATCH_UP_S / 2
"""How late a digest may get waiting for prices before it goes out without them."""


@dataclass(frozen=True, slots=True)
class DigestStats(ActorStats):
    """The digest actor's figures."""

    rounds: int
    """Rounds that found due digests."""
    sent: int
    """Digests claimed and handed to the transport."""
    missed: int
    """Digests skipped because the bot was down more than the catch-up hour past their time."""
    waiting_for_prices: int
    """Digests put off to the next round because the exchange could not price them."""
    without_prices: int
    """Digests sent without prices after waiting half the catch-up hour."""
    failed_rounds: int
    """Rounds that failed on storage or a timeout (nothing claimed; the next round retries)."""
    last_round_ms: float
    """Duration of the last round, three decimals."""


@dataclass(frozen=True, slots=True)
class _Due:
    """One due digest as the actor plans it."""

    record: DigestRecord
    zone: str
    day: date | None
    """The day to send now; None: nothing to send (the writer only moves it)."""
    symbols: tuple[str, ...] = ()
    firings: tuple[FiringRecord, ...] = ()


class DigestActor(SupervisedActor):
    """Runs digest rounds on its own timer; keeps nothing between rounds but its counts."""

    def __init__(
        self,
        ctx: ChildContext,
        *,
        read_pool: ReadPool,
        interval_s: float = 30.0,
        batch: int = 25,
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
        self._batch = batch
        self._fetch_timeout_s = fetch_timeout_s
        self._write_timeout_s = write_timeout_s
        self._writer = ctx.directory[writer]
        self._fetcher = ctx.directory[fetcher]
        self._transport = ctx.directory[transport]
        self._wall_clock = wall_clock
        self._clock = clock
        self._after_step = after_step
        self._timer: PeriodicTimer | None = None
        self._counts = dict.fromkeys(("rounds", "sent", "missed", "waiting_for_prices",
                                      "without_prices", "failed_rounds"), 0)
        self._last_round_ms = 0.0
        self._round_id: str | None = None
        self._late_claims: list[tuple[pykka.Future[Any], dict[tuple[int, str], str], float]] = []
        """Claims whose answer did not come in time, with the texts they were composed with and
        when they were asked (kept for the catch-up hour at most)."""

    def setup(self) -> None:
        self._timer = start_periodic(self, DigestDue(), self._interval_s)
        # At once: a digest that fell due while the bot was down is caught up now.
        self.actor_ref.tell(DigestDue())

    def release(self) -> None:
        stop_periodic(self._timer)
        self._timer = None

    def handle(self, message: Any) -> Any:
        match message:
            case DigestDue():
                return self._on_digest_due()
        return super().handle(message)

    def stats(self) -> DigestStats:
        return DigestStats(**self._counts, last_round_ms=round(self._last_round_ms, 3))

    # -- one round ------------------------------------------------------------------------------

    def _on_digest_due(self) -> None:
        self._late_answers()
        started = self._clock()
        now = self._wall_clock()
        try:
            due = self._read_pool.due_digests(now, self._batch)
        except StorageUnavailable as exc:
            self._counts["failed_rounds"] += 1
            if self._counts["rounds"] == 0 and self._counts["failed_rounds"] == 1:
                # The start-up round can run before the writer has created the database.
                log_event(logger, "digest.storage_not_ready", logging.INFO, step="read",
                          error=repr(exc))
                return
            log_event(logger, "digest.round_failed", logging.WARNING, step="read",
                      error=repr(exc))
            return
        if not due:
            return
        self._counts["rounds"] += 1
        self._round_id = f"digest-{self.ctx.generation}-{self._counts['rounds']}"
        with bind_request_id(self._round_id):
            try:
                settled = self._round(due, now)
            except (BotError, pykka.Timeout) as exc:
                self._counts["failed_rounds"] += 1
                log_event(logger, "digest.round_failed", logging.WARNING, step="round",
                          error=repr(exc))
                return
            finally:
                self._last_round_ms = (self._clock() - started) * 1000
        if len(due) == self._batch and settled:
            self.actor_ref.tell(DigestDue())  # a backlog: the next batch after other messages

    def _round(self, records: Sequence[DigestRecord], now: float) -> bool:
        """One batch; True when it settled anything (so a backlog round may follow)."""
        due = [self._plan(record, now) for record in records]
        sending = [d for d in due if d.day is not None]
        tickers, problem = self._prices(sorted({s for d in sending for s in d.symbols}))
        cards: dict[tuple[int, str], str] = {}
        claims: list[tuple[int, str]] = []
        for item in due:
            if item.day is None:
                claims.append((item.record.user_id, ""))
                continue
            if problem is not None and item.symbols:
                late_s = now - digest_moment(item.day, item.record.minute, item.zone)
                if late_s < _NO_PRICES_AFTER_S:
                    self._counts["waiting_for_prices"] += 1
                    continue  # unclaimed: the next round tries again
                self._counts["without_prices"] += 1
            cards[(item.record.user_id, item.day.isoformat())] = self._card(item, tickers, problem)
            claims.append((item.record.user_id, item.day.isoformat()))
        if not claims:
            return False
        self._after_step("composed")
        answer = request_future(self._writer, lambda reply_to: SettleDigests(
            claims=tuple(claims), now=now, request_id=self._round_id, reply_to=reply_to))
        try:
            settled: DigestsSettled = answer.get(timeout=self._write_timeout_s)
        except pykka.Timeout:
            # The claim may still commit: its days would then be settled and never sent. Keep
            # the texts; the answer, whenever it comes, hands over what it claimed.
            self._late_claims.append((answer, cards, self._clock()))
            raise AskTimeout(self._writer.name, self._write_timeout_s) from None
        self._after_step("claimed")
        self._hand_over(settled, cards)
        return True

    def _late_answers(self) -> None:
        """Hand over the digests of claims whose answer came after the round stopped waiting."""
        waiting = []
        for answer, cards, asked_at in self._late_claims:
            try:
                settled = answer.get(timeout=0)
            except pykka.Timeout:
                if self._clock() - asked_at < CATCH_UP_S:  # else lost with its writer
                    waiting.append((answer, cards, asked_at))
                continue
            except BotError as exc:  # refused, or never delivered: nothing was claimed
                log_event(logger, "digest.round_failed", logging.WARNING, step="late_claim",
                          error=repr(exc))
                continue
            log_event(logger, "digest.late_claim", logging.WARNING, digests=len(settled.sent))
            self._hand_over(settled, cards)
        self._late_claims = waiting

    def _hand_over(self, settled: DigestsSettled, cards: dict[tuple[int, str], str]) -> None:
        for digest in settled.sent:
            text = cards.get((digest.user_id, digest.day))
            if text is not None:  # always: the writer claims only the day composed
                self._transport.tell(digest_message(digest.user_id, digest.chat_id,
                                                    date.fromisoformat(digest.day), text))
        self._counts["sent"] += len(settled.sent)
        self._counts["missed"] += len(settled.missed)
        if settled.sent:
            log_event(logger, "digest.sent", logging.INFO, digests=len(settled.sent),
                      users=[d.user_id for d in settled.sent][:20])
        if settled.missed:
            log_event(logger, "digest.missed", logging.WARNING, digests=len(settled.missed),
                      users=list(settled.missed)[:20])
        self._after_step("sent")

    def _plan(self, record: DigestRecord, now: float) -> _Due:
        zone = UserSettings.from_pairs(self._read_pool.user_settings(record.user_id)).timezone
        done = None if record.last_day is None else date.fromisoformat(record.last_day)
        day = plan(now, record.minute, zone, done).send_day
        if day is None:
            return _Due(record, zone, None)
        return _Due(record, zone, day, self._read_pool.watchlist_of(record.user_id),
                    self._read_pool.firings_since(record.user_id, now - FIRINGS_WINDOW_S))

    def _card(self, item: _Due, tickers: dict[str, Ticker24h], problem: str | None) -> str:
        assert item.day is not None
        rows = tuple(WatchRow(s, tickers[s].last_price, tickers[s].price_change_percent)
                     if s in tickers else WatchRow(s, None, None) for s in item.symbols)
        missed = None if item.record.missed_day is None else date.fromisoformat(
            item.record.missed_day)
        return digest_card(DigestCard(day=item.day, minute=item.record.minute, zone=item.zone,
                                      rows=rows, firings=item.firings, missed_day=missed,
                                      prices_note=problem))

    # -- prices ---------------------------------------------------------------------------------

    def _prices(self, symbols: Sequence[str]) -> tuple[dict[str, Ticker24h], str | None]:
        """24h tickers of ``symbols`` with one call, and what went wrong if it failed."""
        if not symbols:
            return {}, None
        try:
            [tickers] = self._fetch([tuple(symbols)])
        except UnknownSymbol:
            # One delisted symbol fails the whole list: ask one by one, keep what answers.
            answers = self._fetch([(symbol,) for symbol in symbols], raise_errors=False)
            tickers = [t for answer in answers if not isinstance(answer, Exception)
                       for t in answer]
        except (BotError, pykka.Timeout) as exc:
            log_event(logger, "digest.prices_unavailable", logging.WARNING,
                      symbols=len(symbols), error=repr(exc))
            return {}, "Prices are unavailable right now: the exchange did not answer."
        return {ticker.symbol: ticker for ticker in tickers}, None

    def _fetch(self, symbol_sets: Sequence[tuple[str, ...]], *,
               raise_errors: bool = True) -> list[Any]:
        """One 24h-ticker call per symbol set, all in flight at once, within one deadline."""
        return fetch_each(self._fetcher, [FetchSpec("tickers_24h", symbols=symbols)
                                          for symbols in symbol_sets],
                          request_id=self._round_id, timeout_s=self._fetch_timeout_s,
                          clock=self._clock, raise_errors=raise_errors)


def digest_spec(
    config: BotConfig,
    read_pool: ReadPool,
    *,
    transport: str = "transport",
    interval_s: float = 30.0,
    fetch_timeout_s: float = 10.0,
    write_timeout_s: float = 5.0,
) -> ChildSpec:
    """The ``digest`` child (for the root: it needs ``db_writer``, ``fetcher``, ``transport``)."""
    return ChildSpec(
        name="digest",
        factory=lambda ctx: DigestActor.start(
            ctx, read_pool=read_pool, interval_s=interval_s, fetch_timeout_s=fetch_timeout_s,
            write_timeout_s=write_timeout_s, transport=transport),
        priority=Priority.MEDIUM,
        # A round legitimately waits for one price call, a few reads and one write.
        hang_timeout_s=max(config.hang_timeout_s, 2 * fetch_timeout_s + write_timeout_s + 1),
    )
