"""Stable addresses: how every sender reaches a supervised actor across restarts.

An ``ActorRef`` belongs to one instance; after a restart it points at a corpse. Senders hold an
:class:`Address` instead. While the child runs, ``tell`` goes straight to its inbox (one lock,
no extra hop); while it is restarting, tells wait in a bounded buffer that is flushed into the
new instance *before* the new ref is published, so order is kept; while a lazy child has not
started, the first message asks its supervisor to start it. Asks to a child that is down fail
at once with :class:`ChildUnavailable` instead of hanging.

The lock is held while a message is put into the inbox. A dying child detaches its address
under the same lock before it drains its inbox, so every message is either in the drained
inbox or in the buffer: none falls between the two.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

import pykka
from pykka import ThreadingFuture

from core.logs import log_event
from supervision.errors import AskTimeout, ChildUnavailable
from supervision.messages import StartLazy
from supervision.pykka_adapter import enqueue, fail_future, inbox_depth, post

__all__ = ["Address", "AddressState", "Directory"]

logger = logging.getLogger(__name__)

DEFAULT_BUFFER_LIMIT = 10_000


class AddressState(StrEnum):
    """What an address does with a message right now."""

    UNBOUND = "unbound"
    """No supervisor owns it yet: messages are buffered."""
    STARTING = "starting"
    """Its first instance is being started: messages are buffered."""
    LAZY = "lazy"
    """Not started: the first message starts the child; messages are buffered until then."""
    RUNNING = "running"
    """Messages go straight to the current instance."""
    RESTARTING = "restarting"
    """Between instances: tells are buffered, asks fail fast."""
    STOPPED = "stopped"
    """Gone for good: messages become dead letters."""


_WAITING_FOR_FIRST_START = (AddressState.UNBOUND, AddressState.STARTING, AddressState.LAZY)


class Address:
    """A thread-safe, restart-proof handle to one supervised actor."""

    def __init__(self, name: str, *, buffer_limit: int = DEFAULT_BUFFER_LIMIT) -> None:
        self.name = name
        self._buffer_limit = buffer_limit
        # Senders take the plain lock (cheap); waiters watch state changes on a Condition
        # over the same lock.
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._ref: pykka.ActorRef[Any] | None = None
        self._generation = 0
        self._state = AddressState.UNBOUND
        self._supervisor: pykka.ActorRef[Any] | None = None
        self._lazy_start_requested = False
        self._buffer: deque[tuple[object, ThreadingFuture[Any] | None]] = deque()
        self._dead_letters = 0

    def __repr__(self) -> str:
        return f"Address({self.name!r}, {self._state.value}, generation={self._generation})"

    @property
    def state(self) -> AddressState:
        return self._state

    @property
    def generation(self) -> int:
        return self._generation

    @property
    def buffered(self) -> int:
        """Messages waiting for the next instance."""
        return len(self._buffer)

    @property
    def dead_letters(self) -> int:
        """Messages this address could not deliver and logged as dead letters."""
        return self._dead_letters

    def mailbox_depth(self) -> int:
        """Messages queued in the current instance plus those buffered for the next one."""
        ref = self._ref
        depth = len(self._buffer)
        if ref is not None:
            depth += inbox_depth(ref)
        return depth

    # -- senders -----------------------------------------------------------------------------

    def tell(self, message: object) -> None:
        """Deliver ``message`` now, or keep it for the next instance; never raises."""
        self.offer(message)

    def offer(self, message: object) -> bool:
        """:meth:`tell`, and say whether it worked: False if ``message`` became a dead letter
        (the child is stopped for good, or the restart buffer is full)."""
        with self._lock:
            ref = self._ref
            if ref is not None:
                # What ActorRef.tell does, one call cheaper on the hottest path of the bot.
                if post(ref, message):
                    return True
                # Died and its report is on the way: the supervisor will restart it.
                self._ref = None
                self._state = AddressState.RESTARTING
            return self._keep_locked(message, None)

    def ask_future(self, message: object) -> pykka.Future[Any]:
        """Send an ask; the future fails with :class:`ChildUnavailable` if the child is down."""
        with self._lock:
            ref = self._ref
            if ref is not None and ref.is_alive():
                return ref.ask(message, block=False)
            future: ThreadingFuture[Any] = ThreadingFuture()
            if self._state in _WAITING_FOR_FIRST_START:
                self._keep_locked(message, future)
            else:
                state = AddressState.RESTARTING if ref is not None else self._state
                fail_future(future, ChildUnavailable(self.name, state.value))
            return future

    def ask(self, message: object, *, timeout: float) -> Any:
        """Ask and wait at most ``timeout`` seconds.

        Raises :class:`ChildUnavailable` at once if the child is down, :class:`AskTimeout` (a
        subclass) if no answer came in time, or whatever the handler raised.
        """
        future = self.ask_future(message)
        try:
            return future.get(timeout=timeout)
        except pykka.Timeout as exc:
            raise AskTimeout(self.name, timeout) from exc
        except pykka.ActorDeadError as exc:
            raise ChildUnavailable(self.name, "stopped before answering") from exc

    def wait_until_running(self, *, generation: int = 1, timeout: float) -> bool:
        """Block until instance ``generation`` (or a later one) runs; False on timeout."""
        with self._changed:
            return self._changed.wait_for(
                lambda: self._generation >= generation and self._state is AddressState.RUNNING,
                timeout,
            )

    def wait_until_state(self, state: AddressState, *, timeout: float) -> bool:
        """Block until the address is in ``state``; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: self._state is state, timeout)

    # -- the owning supervisor ---------------------------------------------------------------

    def bind(self, supervisor: pykka.ActorRef[Any], *, lazy: bool) -> None:
        """Called by the supervisor that owns this child when it starts."""
        with self._lock:
            self._supervisor = supervisor
            self._lazy_start_requested = False
            self._state = AddressState.LAZY if lazy else AddressState.STARTING
            if lazy and self._buffer:
                self._request_lazy_start_locked()

    def requeue_front(self, messages: Iterable[object]) -> None:
        """Keep a dead instance's messages for the next one, ahead of anything sent since."""
        with self._lock:
            self._buffer.extendleft((message, None) for message in reversed(tuple(messages)))

    def attach(self, ref: pykka.ActorRef[Any], generation: int) -> None:
        """Publish a new instance after flushing everything kept for it, in order."""
        with self._lock:
            while self._buffer:
                message, future = self._buffer.popleft()
                enqueue(ref, message, future)
            self._ref = ref
            self._generation = generation
            self._state = AddressState.RUNNING
            self._changed.notify_all()

    def detach(self, generation: int) -> bool:
        """Stop sending to instance ``generation``; False if a newer one is already attached."""
        with self._lock:
            if generation != self._generation or self._state is AddressState.STOPPED:
                return False
            self._ref = None
            self._state = AddressState.RESTARTING
            self._changed.notify_all()
            return True

    def close(self, reason: str) -> None:
        """The child is gone for good: buffered messages become dead letters."""
        with self._lock:
            self._ref = None
            self._state = AddressState.STOPPED
            self._changed.notify_all()
            while self._buffer:
                message, future = self._buffer.popleft()
                self._dead_letter_locked(message, future, reason)

    # -- internals (lock held) ---------------------------------------------------------------

    def _keep_locked(self, message: object, future: ThreadingFuture[Any] | None) -> bool:
        if self._state is AddressState.STOPPED:
            self._dead_letter_locked(message, future, "actor stopped")
            return False
        if len(self._buffer) >= self._buffer_limit:
            self._dead_letter_locked(message, future, "restart buffer full")
            return False
        self._buffer.append((message, future))
        if self._state is AddressState.LAZY:
            self._request_lazy_start_locked()
        return True

    def _request_lazy_start_locked(self) -> None:
        if self._lazy_start_requested or self._supervisor is None:
            return
        self._lazy_start_requested = True
        try:
            self._supervisor.tell(StartLazy(self.name))
        except pykka.ActorDeadError:
            self._lazy_start_requested = False

    def _dead_letter_locked(
        self, message: object, future: ThreadingFuture[Any] | None, reason: str
    ) -> None:
        self._dead_letters += 1
        if future is not None:
            fail_future(future, ChildUnavailable(self.name, reason))
        log_event(
            logger,
            "actor.dead_letter",
            logging.WARNING,
            actor=self.name,
            message_type=type(message).__name__,
            reason=reason,
            request_id=getattr(message, "request_id", None),
        )


class Directory:
    """Name → :class:`Address` for a whole tree; created before the tree starts.

    Addresses are created on first lookup, so a child can hold a peer's address before the
    peer exists (the peer's messages are buffered until it starts).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._addresses: dict[str, Address] = {}

    def __getitem__(self, name: str) -> Address:
        with self._lock:
            address = self._addresses.get(name)
            if address is None:
                address = self._addresses[name] = Address(name)
            return address

    def names(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(self._addresses)
