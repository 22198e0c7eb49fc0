"""An exchange simulator that works out each distinct market-data answer once, then repeats it.

Why: a benchmark of the bot's CPU-bound path (cold ``/analysis`` over 50 symbols) measured
against the plain simulator measures the simulator too: generating 1,000 synthetic candles per
request costs it about as much CPU as the bot's analysis, on the same cores, behind one GIL.
Priming the answers once (a throwaway run asking the same things) takes that cost out of the
measured runs; the bot's caches stay cold because every measured run starts new processes.

Answers are kept by (method, path, query) regardless of time, so a repeated answer is as old
as its first computation: fine for a benchmark, wrong for anything that watches prices move.
Request counting, weights, limits and faults are untouched (they happen before the answer).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from fakes.exchange.api import ApiReply
from fakes.exchange.simulator import ExchangeSimulator

__all__ = ["PrimedSimulator"]

PRIMED_PATHS = frozenset({"/api/v3/klines", "/api/v3/ticker/24hr", "/api/v3/ticker/price",
                          "/api/v3/avgPrice"})


@dataclass(frozen=True, slots=True)
class _Serialised(ApiReply):
    """A reply whose wire bytes were made once."""

    raw: bytes = b""

    def body(self) -> bytes:
        return self.raw


class PrimedSimulator(ExchangeSimulator):
    """``ExchangeSimulator`` whose market-data answers are computed once per distinct query."""

    def __init__(self, *, seed: int = 42) -> None:
        super().__init__(seed=seed)
        self._primed: dict[tuple[str, str, tuple[tuple[str, str], ...]], ApiReply] = {}
        self._primed_lock = threading.Lock()
        self.repeated = 0
        """Answers served from memory."""

    def _answer(self, method: str, path: str, pairs: list[tuple[str, str]],
                now_s: float) -> ApiReply:
        if path not in PRIMED_PATHS:
            return super()._answer(method, path, pairs, now_s)
        key = (method, path, tuple(sorted(pairs)))
        with self._primed_lock:
            known = self._primed.get(key)
            if known is not None:
                self.repeated += 1
                return known
        reply = super()._answer(method, path, pairs, now_s)
        if reply.status != 200:
            return reply
        serialised = _Serialised(reply.status, None, reply.body())
        with self._primed_lock:
            self._primed.setdefault(key, serialised)
        return serialised
