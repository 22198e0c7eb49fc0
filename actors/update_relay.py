"""Several instances, one token: the polling lease, the shared update stream, and the acks.

Why: with ``CRYPTOBOT_REDIS_URL`` set, updates do not go straight from PTB to the conversation.
The holder of ``poll:lease`` (:mod:`cluster.lease`) polls getUpdates into the stream
``updates`` (:mod:`actors.update_poller`); webhook POSTs go there on every instance. Every
instance reads it as a consumer of group ``bot`` and feeds each entry to PTB's own
``process_update`` (the path a polled update takes without Redis) with a request id derived
from the update. An entry is acked once the conversation closed its request and the outbox
settled each reply (:mod:`cluster.open_updates`): ``updates:done:<update_id>`` + XACK, so a
reclaimed entry is answered once. The one duplicate left: dying between Telegram's 200 for the
last reply and that ack (:mod:`actors.update_acks` sends it at once).

Threads, each blocking only on Redis calls bounded by the link's socket timeout:

* ``updates-lease`` every ``renew_every_s``: acquire or renew the lease (and start or stop the
  poller), refresh ``updates:alive:<consumer>``, keep the idle time of entries being answered
  here fresh (``XCLAIM ... JUSTID``: a 30 s command must not lose its entry to XAUTOCLAIM's
  10 s), and every ``reclaim_every_s`` claim dead consumers' entries (liveness key gone: at
  once; idle ``autoclaim_idle_ms``: XAUTOCLAIM, the backstop);
* ``updates-read``: ``XREADGROUP ... BLOCK`` and hand entries to the loop;
* ``updates-ack``: :class:`~actors.update_acks.Acker`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from telegram import Update
from telegram.ext import Application

from actors.telegram_stats import StreamStats
from actors.update_acks import Acker
from actors.update_poller import PollingSwitch, StreamPoller
from actors.update_settings import RelayTuning, SharedStream
from cluster.lease import LeaseDecision, LeaseKeeper, Poll, PollLease, StopPolling
from cluster.open_updates import OpenUpdates, StreamRef
from cluster.redis_link import SharedUnavailable, redis_trouble
from cluster.update_stream import Entry, UpdateStream, request_id_for
from core.logs import log_event

__all__ = ["UpdateRelay"]

logger = logging.getLogger(__name__)

_TIDY_EVERY = 30
"""Reclaim rounds between removals of dead consumers with nothing pending from the group."""


class UpdateRelay:
    """The lease, the poller, the reader and the acker of one transport."""

    def __init__(self, *, shared: SharedStream, app: Application[Any, Any, Any, Any, Any, Any],
                 loop: asyncio.AbstractEventLoop, polls: bool, tuning: RelayTuning,
                 poll_timeout_s: int, allowed_updates: list[str],
                 redact: Callable[[object], str],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._app = app
        self._loop = loop
        self._polls = polls
        self._tuning = tuning
        self._poll_timeout_s = poll_timeout_s
        self._allowed = allowed_updates
        self._redact = redact
        self._clock = clock
        self._link = shared.link
        self._lease = PollLease(shared.link, shared.consumer, ttl_ms=tuning.lease_ttl_ms)
        self._stream = UpdateStream(shared.link, shared.consumer, maxlen=tuning.stream_maxlen)
        self._lock = threading.Lock()  # _open and the counters
        self._open = OpenUpdates()
        self._acks = Acker(self._stream, retry_every_s=tuning.renew_every_s)
        self._feeding: dict[int, str] = {}  # loop thread: update_id -> request id
        self._stopping = threading.Event()
        self._room_freed = threading.Event()  # an entry finished: the reader may read again
        self._conflicted = threading.Event()
        self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="updates-io")
        self._threads: tuple[threading.Thread, ...] = ()
        self._keeper = LeaseKeeper(ttl_s=tuning.lease_ttl_ms / 1000,
                                   conflict_backoff_s=tuning.conflict_backoff_s)
        self._polling = PollingSwitch(loop=loop, make_poller=self._make_poller)
        self._group_ready = False
        self._rounds = 0
        self._counts = {"poll_conflicts": 0, "appended": 0, "fed": 0,
                        "skipped_done": 0, "reclaimed": 0}

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the three threads (no Redis call here: the loop thread must not block)."""
        self._threads = tuple(
            threading.Thread(target=target, name=name, daemon=True)
            for target, name in ((self._housekeep_forever, "updates-lease"),
                                 (self._read_forever, "updates-read"),
                                 (self._acks.run, "updates-ack")))
        for thread in self._threads:
            thread.start()

    async def stop(self) -> None:
        """A clean stop: no more polling or reading, due acks sent, the lease and the liveness
        key given up so another instance takes over at once; open entries stay pending."""
        self._stopping.set()
        self._acks.stop()
        await self._polling.close(self._tuning.join_timeout_s)
        await asyncio.get_running_loop().run_in_executor(None, self._finish_threads)
        self._executor.shutdown(wait=False)

    def halt(self) -> None:
        """Stop every thread at once and give nothing up: what kill -9 leaves behind (the
        lease and the pending entries expire and are taken over by the other instances)."""
        self._stopping.set()
        self._acks.halt()

    def _finish_threads(self) -> None:
        for thread in self._threads:
            thread.join(self._tuning.join_timeout_s)
        fence = self._keeper.fence
        if fence is not None:
            self._release(fence)
            log_event(logger, "telegram.lease_released", logging.INFO, fence=fence)
        try:
            self._stream.mark_gone()
        except redis_trouble():
            pass  # it expires by its TTL

    # -- the transport's hooks (loop thread) -------------------------------------------------

    def request_id_of(self, update: Update) -> str | None:
        """The request id of the stream entry being fed now (None: not from the stream)."""
        return self._feeding.get(update.update_id)

    def accepted(self, request_id: str) -> None:
        """The outbox took a reply of ``request_id``."""
        with self._lock:
            self._open.accepted(request_id)

    def settled(self, request_id: str) -> None:
        """A reply of ``request_id`` was delivered or failed for good."""
        with self._lock:
            ref = self._open.settled(request_id)
        if ref is not None:
            self._finished(ref)

    def closed(self, request_id: str) -> None:
        """The conversation is done with ``request_id`` (every reply handed over)."""
        with self._lock:
            ref = self._open.closed(request_id)
        if ref is not None:
            self._finished(ref)

    async def append_webhook_update(self, update: Update) -> None:
        """A webhook POST's update into the stream; HTTP 503 when Redis cannot take it."""
        append = functools.partial(self._stream.append_posted, update.update_id,
                                   update.to_json())
        try:
            added = await asyncio.get_running_loop().run_in_executor(self._executor, append)
        except redis_trouble() as error:
            from tornado.web import HTTPError  # webhook mode has tornado (the webhooks extra)
            log_event(logger, "telegram.webhook_not_stored", logging.WARNING,
                      update_id=update.update_id, error=type(error).__name__)
            raise HTTPError(503, reason="update stream unavailable") from None
        with self._lock:
            self._counts["appended"] += int(added)

    def snapshot(self) -> StreamStats:
        """The relay's figures now (any thread)."""
        with self._lock:
            counts = dict(self._counts)
            open_now = len(self._open)
        fence = self._keeper.fence
        return StreamStats(redis_up=self._link.state().up, lease_held=fence is not None,
                           fence=fence or 0, polling=self._polling.running,
                           open=open_now, ack_backlog=len(self._acks.backlog()),
                           acked=self._acks.acked, **counts)

    # -- feeding (loop thread) ---------------------------------------------------------------

    async def _feed(self, entries: tuple[Entry, ...]) -> None:
        for entry in entries:
            assert entry.raw is not None
            if self._stopping.is_set():
                return  # left pending: another instance (or a later life) answers it
            try:
                update = Update.de_json(json.loads(entry.raw), self._app.bot)
            except Exception as error:  # whatever PTB's parser raises on a malformed update
                log_event(logger, "telegram.update_unreadable", logging.WARNING,
                          entry=entry.entry_id, error=type(error).__name__)
                self._acks.put(StreamRef(entry.entry_id, None))
                continue
            request_id = request_id_for(update.update_id, entry.raw)
            with self._lock:
                fresh = self._open.begin(request_id, StreamRef(entry.entry_id, entry.update_id),
                                         self._clock())
                if fresh:
                    self._counts["fed"] += 1
            if not fresh:
                continue  # being answered here already (claimed back from ourselves)
            self._feeding[update.update_id] = request_id
            try:
                await self._app.process_update(update)
            except Exception:  # PTB reports handler errors itself; this is anything else
                logger.exception("feeding a stream update failed")
            finally:
                self._feeding.pop(update.update_id, None)

    def _take(self, entries: tuple[Entry, ...]) -> None:
        """Ack what is already answered (or gone); hand the rest to the loop and wait."""
        acking = set(self._acks.backlog())
        skip = [e for e in entries if e.done or e.raw is None]
        todo = tuple(e for e in entries
                     if not (e.done or e.raw is None) and e.entry_id not in acking)
        if skip:
            try:
                self._stream.ack(e.entry_id for e in skip)
                with self._lock:
                    self._counts["skipped_done"] += len(skip)
            except redis_trouble() as error:
                self._trouble(error)  # still pending: seen again later, acked then
        if not todo:
            return
        try:
            future = asyncio.run_coroutine_threadsafe(self._feed(todo), self._loop)
            future.result(self._tuning.feed_timeout_s)
        except (concurrent.futures.TimeoutError, RuntimeError) as error:
            # The loop is stuck or gone: the entries stay pending and are reclaimed.
            log_event(logger, "telegram.stream_feed_stalled", logging.WARNING,
                      entries=len(todo), error=type(error).__name__)

    # -- threads -------------------------------------------------------------------------------

    def _read_forever(self) -> None:
        tuning = self._tuning
        started = False
        while not self._stopping.is_set():
            try:
                self._ensure_group()
                room = self._room()
                if room == 0:  # busy: the others read until something here finishes
                    self._room_freed.wait(tuning.read_block_ms / 1000)
                    self._room_freed.clear()
                    continue
                if started:
                    entries = self._stream.read(count=room, block_ms=tuning.read_block_ms)
                else:  # left pending under our name by an earlier life: answer them first
                    entries = self._stream.read_mine(count=1000)
                    started = True
            except redis_trouble() as error:
                self._trouble(error)
                self._stopping.wait(tuning.renew_every_s)
                continue
            if entries and not self._stopping.is_set():
                self._take(entries)

    def _finished(self, ref: StreamRef) -> None:
        self._acks.put(ref)
        self._room_freed.set()

    def _room(self) -> int:
        """How many more entries this instance takes now."""
        with self._lock:
            open_now = len(self._open)
        return max(0, min(self._tuning.read_count, self._tuning.max_open - open_now))

    def _housekeep_forever(self) -> None:
        next_reclaim = 0.0
        wait = 0.0
        while not self._stopping.wait(wait):
            if not self._loop.is_running():
                log_event(logger, "telegram.relay_halted", logging.WARNING,
                          reason="the transport's event loop stopped")
                self.halt()
                return
            now = self._clock()
            if self._polls:
                self._lease_step(now)
            self._keep_alive(now)
            if now >= next_reclaim:
                next_reclaim = now + self._tuning.reclaim_every_s
                self._reclaim()
            wait = self._keeper.wait_s(self._clock(), self._tuning.renew_every_s)

    # -- the lease (updates-lease thread) -------------------------------------------------------

    def _lease_step(self, now: float) -> None:
        keeper = self._keeper
        decision: LeaseDecision = None
        if self._conflicted.is_set():
            self._conflicted.clear()
            decision = keeper.conflicted(now)
        elif keeper.fence is not None:
            try:
                renewed: bool | None = self._lease.renew(keeper.fence)
            except redis_trouble() as error:
                renewed = None
                self._trouble(error)
            decision = keeper.renewed(renewed, asked_at=now, answered_at=self._clock())
            if renewed and self._polling.ended_by_itself:  # an unexpected error ended it
                decision = Poll(keeper.fence)
        elif keeper.may_acquire(now):
            try:
                grant = self._lease.acquire()
            except redis_trouble() as error:
                self._trouble(error)
                return
            decision = keeper.acquired(grant, now)
            if grant is not None:
                log_event(logger, "telegram.lease_acquired", logging.INFO, fence=grant.fence,
                          fresh=grant.fresh)
        match decision:
            case Poll(fence=fence):
                self._polling.start(fence)
            case StopPolling(fence=fence, reason=reason, release=release):
                log_event(logger, "telegram.lease_lost", logging.WARNING, fence=fence,
                          reason=reason)
                self._polling.stop()
                if release:
                    self._release(fence)

    def _release(self, fence: int) -> None:
        try:
            self._lease.release(fence)
        except redis_trouble():
            pass  # it expires by its TTL

    def _make_poller(self, fence: int) -> StreamPoller:  # loop thread
        return StreamPoller(bot=self._app.bot, append=self._append_polled, fence=fence,
                            poll_timeout_s=self._poll_timeout_s, allowed_updates=self._allowed,
                            redact=self._redact, on_appended=self._appended,
                            on_conflict=self._on_conflict)

    async def _append_polled(self, batch: list[tuple[int, str]], fence: int) -> int:
        append = functools.partial(self._stream.append_polled, batch,
                                   holder=self._lease.holder, fence=fence)
        return await asyncio.get_running_loop().run_in_executor(self._executor, append)

    def _appended(self, added: int) -> None:
        with self._lock:
            self._counts["appended"] += added

    def _on_conflict(self) -> None:
        with self._lock:
            self._counts["poll_conflicts"] += 1
        self._conflicted.set()

    # -- liveness and reclaiming (updates-lease thread) ----------------------------------------

    def _trouble(self, error: Exception) -> None:
        """A Redis call failed: down (the link says so), or an answer we did not expect
        (NOGROUP after Redis lost its data: the group is made again on the next call)."""
        if isinstance(error, SharedUnavailable):
            return  # the link counts it and says so in health
        self._group_ready = False
        log_event(logger, "telegram.stream_error", logging.WARNING, error=self._redact(error))

    def _ensure_group(self) -> None:
        if not self._group_ready:
            self._stream.ensure_group()
            self._group_ready = True

    def _keep_alive(self, now: float) -> None:
        with self._lock:
            expired = self._open.expired(now, self._tuning.max_open_s)
            open_ids = self._open.entry_ids()
        for ref in expired:
            log_event(logger, "telegram.update_unfinished", logging.WARNING,
                      entry=ref.entry_id, update_id=ref.update_id)
            self._finished(ref)
        try:
            self._ensure_group()
            self._stream.mark_alive(self._tuning.lease_ttl_ms)
            kept = self._stream.touch(open_ids + self._acks.backlog())
        except redis_trouble() as error:
            self._trouble(error)
            return
        with self._lock:
            lost = self._open.lost(open_ids, kept)
        if lost:
            log_event(logger, "telegram.stream_taken_over", logging.WARNING, requests=len(lost))
            self._room_freed.set()

    def still_ours(self, request_id: str) -> bool | None:
        """May a reply of ``request_id`` go out now? (any thread; blocks on Redis briefly)

        True for a request not from the stream, or whose entry is still pending under our
        name; False when another instance took the entry over (it answers; ours would be a
        second answer); None when Redis cannot tell now (ask again shortly)."""
        with self._lock:
            if self._open.taken_over(request_id):
                return False
            entry_id = self._open.entry_of(request_id)
        if entry_id is None:
            return True
        try:
            ours = self._stream.owns(entry_id)
        except redis_trouble() as error:
            self._trouble(error)
            return None
        if not ours:
            with self._lock:
                self._open.lost((entry_id,), ())
        return ours

    def _reclaim(self) -> None:
        tuning = self._tuning
        self._rounds += 1
        try:
            dead = self._stream.claim_from_dead(min_idle_ms=tuning.claim_dead_idle_ms)
            idle = self._stream.autoclaim(min_idle_ms=tuning.autoclaim_idle_ms)
            if self._rounds % _TIDY_EVERY == 0:  # every restart leaves a consumer name behind
                self._stream.forget_dead_consumers()
        except redis_trouble() as error:
            self._trouble(error)
            return
        with self._lock:
            mine = set(self._open.entry_ids())
        entries = {e.entry_id: e for e in (*dead, *idle) if e.entry_id not in mine}
        if not entries:
            return
        with self._lock:
            self._counts["reclaimed"] += len(entries)
        log_event(logger, "telegram.stream_reclaimed", logging.INFO, entries=len(entries),
                  from_dead=len(dead))
        self._take(tuple(entries.values()))
