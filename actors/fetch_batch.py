"""Several fetches at once under one deadline, for actors that price a batch of symbols.

Why a module: the alert sweep and the digest round both ask the fetcher for tickers of symbol
sets in one go (the whole list, or each symbol alone when the exchange refused the list) and
must not wait longer in total than their own fetch timeout, however many sets there are.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import pykka

from core.errors import BotError
from messages.market import Fetch, FetchSpec
from supervision import request_future
from supervision.address import Address

__all__ = ["fetch_each"]


def _fetch_of(spec: FetchSpec, request_id: str | None) -> Callable[[pykka.Future[Any]], Fetch]:
    return lambda reply_to: Fetch(spec, reply_to=reply_to, request_id=request_id)


def fetch_each(fetcher: Address, specs: Sequence[FetchSpec], *, request_id: str | None,
               timeout_s: float, clock: Callable[[], float] = time.monotonic,
               raise_errors: bool = True) -> list[Any]:
    """One ``Fetch`` per spec, all in flight at once, answered within one deadline.

    Returns the answers in order; with ``raise_errors=False`` a failed one is its exception
    (a ``BotError`` or ``pykka.Timeout``) in its place instead of raising.
    """
    futures = [request_future(fetcher, _fetch_of(spec, request_id)) for spec in specs]
    deadline = clock() + timeout_s
    answers: list[Any] = []
    for future in futures:
        try:
            answers.append(future.get(timeout=max(0.0, deadline - clock())))
        except (BotError, pykka.Timeout) as exc:
            if raise_errors:
                raise
            answers.append(exc)
    return answers
