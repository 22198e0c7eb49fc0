"""How updates get into the shared stream: the lease holder's getUpdates loop, and webhooks.

Why our own getUpdates loop instead of PTB's ``Updater.start_polling``: PTB confirms a batch
(the next call's ``offset``) as soon as it has queued it in memory, so an instance dying
before the batch reached Redis would lose it. :class:`StreamPoller` moves the offset past a
batch only after :meth:`cluster.update_stream.UpdateStream.append` took it (fenced by the
lease), so an update Telegram handed out is either in the stream or still unconfirmed at
Telegram for the next holder. A 409 (someone else polls this token: another deployment, or
a webhook set behind our back) ends the loop and tells the relay, which lets the lease go
and waits before trying again: no crash, no spin.

In webhook mode every instance takes POSTs (with the secret token, checked by PTB's server);
:class:`StreamQueue` stands in for PTB's update queue so a POST is answered 200 only after
its update is in the stream, and 503 when Redis is down (Telegram sends it again later).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from telegram import Bot, Update
from telegram.error import Conflict, InvalidToken, NetworkError, TelegramError

from cluster.redis_link import SharedUnavailable
from cluster.update_stream import FencedOut
from core.logs import log_event
from resilience.backoff import full_jitter_delay

__all__ = ["PollingSwitch", "StreamPoller", "StreamQueue"]

logger = logging.getLogger(__name__)

Append = Callable[[list[tuple[int, str]], int], Awaitable[int]]
"""``append(batch, fence)``: the batch into the stream under that fencing token."""


class StreamPoller:
    """getUpdates -> the stream, while this instance holds the lease; one task on the loop."""

    def __init__(self, *, bot: Bot, append: Append, fence: int, poll_timeout_s: int,
                 allowed_updates: list[str], redact: Callable[[object], str],
                 on_appended: Callable[[int], None], on_conflict: Callable[[], None],
                 delete_webhook: bool = True, backoff_cap_s: float = 5.0) -> None:
        self._bot = bot
        self._append = append
        self.fence = fence
        self._timeout = timedelta(seconds=poll_timeout_s)
        self._allowed = allowed_updates
        self._redact = redact
        self._on_appended = on_appended
        self._on_conflict = on_conflict
        self._delete_webhook = delete_webhook
        self._backoff_cap_s = backoff_cap_s
        self._rng = random.Random()

    async def run(self) -> None:
        """Poll and append until cancelled (the lease is gone), fenced out, or a 409."""
        offset: int | None = None
        failures = 0
        if self._delete_webhook and not await self._drop_webhook():
            return
        while True:
            try:
                updates = await self._bot.get_updates(offset=offset, timeout=self._timeout,
                                                      allowed_updates=self._allowed)
                failures = 0
            except Conflict as error:
                self._conflict(error)
                return
            except InvalidToken as error:
                log_event(logger, "telegram.poll_stopped", logging.ERROR,
                          error=self._redact(error))
                return
            except TelegramError as error:  # NetworkError, TimedOut, RetryAfter, 5xx
                failures += 1
                await self._pause(failures, error)
                continue
            if not updates:
                continue
            batch = [(update.update_id, update.to_json()) for update in updates]
            try:
                added = await self._append(batch, self.fence)
            except FencedOut:
                log_event(logger, "telegram.poll_fenced_out", logging.WARNING, fence=self.fence)
                return
            except SharedUnavailable as error:
                # Not confirmed: Telegram hands this batch out again (here or to the next holder).
                failures += 1
                await self._pause(failures, error)
                continue
            self._on_appended(added)
            offset = updates[-1].update_id + 1

    async def _drop_webhook(self) -> bool:
        """deleteWebhook, as PTB's start_polling does (a webhook makes getUpdates 409)."""
        for attempt in range(3):
            try:
                await self._bot.delete_webhook(drop_pending_updates=False)
                return True
            except Conflict as error:
                self._conflict(error)
                return False
            except TelegramError as error:
                await self._pause(attempt + 1, error)
        return True  # getUpdates will say what is wrong

    def _conflict(self, error: TelegramError) -> None:
        log_event(logger, "telegram.poll_conflict", logging.WARNING, fence=self.fence,
                  error=self._redact(error))
        self._on_conflict()

    async def _pause(self, failures: int, error: object) -> None:
        level = logging.INFO if isinstance(error, NetworkError) else logging.WARNING
        log_event(logger, "telegram.poll_error", level, error=self._redact(error),
                  failures=failures)
        await asyncio.sleep(full_jitter_delay(failures - 1, base_s=0.2, cap_s=self._backoff_cap_s,
                                              rng=self._rng))


class PollingSwitch:
    """Starts and stops the :class:`StreamPoller` task on the transport's loop.

    ``start`` and ``stop`` are thread-safe (the lease thread calls them); they run on the loop in
    the order called, so a stop after a start always wins.
    """

    def __init__(self, *, loop: asyncio.AbstractEventLoop,
                 make_poller: Callable[[int], StreamPoller]) -> None:
        self._loop = loop
        self._make_poller = make_poller
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def start(self, fence: int) -> None:
        self._loop.call_soon_threadsafe(self._start, fence)

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._stop)

    @property
    def running(self) -> bool:
        task = self._task
        return task is not None and not task.done()

    @property
    def ended_by_itself(self) -> bool:
        """The poller returned or raised without being stopped (not a 409: that is told)."""
        task = self._task
        return task is not None and task.done() and not task.cancelled()

    async def close(self, timeout_s: float) -> None:
        """Loop thread: stop for good and wait (bounded) for the poller to end."""
        self._closed = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait({task}, timeout=timeout_s)

    def _start(self, fence: int) -> None:
        self._stop()
        if not self._closed:
            self._task = self._loop.create_task(self._make_poller(fence).run())

    def _stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()


class StreamQueue(asyncio.Queue[Any]):
    """PTB's update queue in webhook mode with Redis: an update is appended, not queued.

    PTB's webhook handler awaits ``put`` before it answers, so the 200 means "in the stream".
    Anything else PTB puts here (its stop signal) is queued as usual.
    """

    def __init__(self, append: Callable[[Update], Awaitable[None]]) -> None:
        super().__init__()
        self._append_update = append

    async def put(self, item: Any) -> None:
        if isinstance(item, Update):
            await self._append_update(item)
            return
        await super().put(item)
