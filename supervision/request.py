"""Request and reply over a tell, for actors that answer through a future in the message.

Some actors do not answer with their handler's return value (pykka's ask) but through a
``reply_to`` future carried by the message: the db writer confirms a write once it is
committed, perhaps in a later batch; the fetcher answers every waiter of one shared request.
The sender's side was the same four lines everywhere (make a future, put it in the message,
tell, wait); these two functions are those lines, with the address's typed errors::

    saved = request(writer, lambda reply_to: AddAlert(..., reply_to=reply_to), timeout=5.0)

``make_message`` receives the reply future and returns the message to tell. A message that
becomes a dead letter (the actor is stopped for good, or its restart buffer is full) fails the
future at once with :class:`ChildUnavailable` instead of leaving the caller to time out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pykka

from supervision.address import Address
from supervision.errors import AskTimeout, ChildUnavailable
from supervision.pykka_adapter import fail_future

__all__ = ["request", "request_future"]


def request_future(
    address: Address, make_message: Callable[[pykka.Future[Any]], object]
) -> pykka.Future[Any]:
    """Tell ``make_message(reply)`` to ``address`` and return ``reply`` without waiting.

    For several requests in flight at once that share one deadline.
    """
    reply: pykka.ThreadingFuture[Any] = pykka.ThreadingFuture()
    if not address.offer(make_message(reply)):
        fail_future(reply, ChildUnavailable(address.name, "the request became a dead letter"))
    return reply


def request(
    address: Address, make_message: Callable[[pykka.Future[Any]], object], timeout: float
) -> Any:
    """Tell ``make_message(reply)`` to ``address`` and wait at most ``timeout`` s for the reply.

    Returns what the actor set on the future; raises what it failed the future with,
    :class:`ChildUnavailable` if the message became a dead letter, or :class:`AskTimeout` (a
    subclass) if no reply came in time.
    """
    reply = request_future(address, make_message)
    try:
        return reply.get(timeout=timeout)
    except pykka.Timeout as exc:
        raise AskTimeout(address.name, timeout) from exc
