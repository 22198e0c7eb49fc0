"""Inline queries as a pure state machine: answer each user's latest query, within a budget.

Why: Telegram sends an inline query per keystroke (``b``, ``bt``, ``btc``, ``btc 4``, ...) and
shows only the answer to the latest one, so answering each would spend the exchange, the
workers and the Bot API on results nobody sees. The rules, decided from an injected clock
and tested without threads (tests/chat/test_inline_policy.py):

* **Coalescing.** A lookup waits until its user has paused typing for ``settle_s``; a newer
  query replaces the waiting one. A user has at most one query at a worker and one waiting;
  a newer query marks the running one superseded: its results are not sent (Telegram would
  discard them). Older queries are never answered; an unanswered inline query simply
  expires on Telegram's side, which is what Telegram does with superseded ones.
* **Per-user budget.** A parallel bucket to the commands' (``chat.policy``), with the same
  numbers (``user_rate_limit_count`` per ``user_rate_limit_window_s``): typing in inline mode
  never locks a user out of their commands, nor the reverse. Only queries that get answered
  spend it (superseded keystrokes are free): a price or analysis lookup costs 1, like its
  command, a help answer 0.25, like a toast. Over the budget, one personal warning result,
  then silence until the window has room, as for commands.
* **Global bound.** At most ``max_in_flight`` inline queries at the workers (half the pool,
  so commands always find a free worker), at most ``max_waiting`` users waiting (the oldest
  is shed). A query not started or not finished within ``answer_window_s`` has expired on
  Telegram's side: it is dropped, and its worker slot given back.
* **Private bots.** A user outside ``allowed_users`` is refused at once, after their budget
  (a refusal costs what help costs): never queued, so strangers cannot shed allowed users'
  queries. And every answer is personal: Telegram serves a non-personal answer again, without
  asking the bot, to *anyone* typing the same query within its ``cache_time``.

An empty or unreadable query is answered at once, without a worker (help).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from chat.cards_inline import (
    InlineResults,
    answer_to,
    help_results,
    private_results,
    rate_limited_results,
)
from chat.inline_query import HelpQuery, InlineReading, read_inline_query
from chat.ratelimit import Admission, RateLimiter, UserRateLimiter
from messages.inline import InlineAnswer, InlineDone, InlineQueryReceived, RunInline

__all__ = ["ANSWER_WINDOW_S", "HELP_COST", "LOOKUP_COST", "SETTLE_S", "InlineDecision",
           "InlineDispatch", "InlineDrop", "InlinePolicy", "InlineReply"]

SETTLE_S = 0.25
"""A lookup starts once its user has paused typing this long: keystrokes closer together
replace each other before any work is done."""
ANSWER_WINDOW_S = 10.0
"""How long an inline query is worth answering: Telegram refuses late answers ("query is too
old"), and the user has long typed on or picked something else."""
LOOKUP_COST = 1.0
"""Budget spent by a price or analysis lookup (a command spends 1)."""
HELP_COST = 0.25
"""Budget spent by a help answer (no worker, no market)."""


@dataclass(frozen=True, slots=True)
class InlineDispatch:
    """Hand the query to a command worker."""

    worker: str
    """The worker's name."""
    run: RunInline
    """What it is to do."""


@dataclass(frozen=True, slots=True)
class InlineReply:
    """Send these results to Telegram."""

    answer: InlineAnswer
    """The answer."""
    outcome: str
    """ok, degraded, unknown, unavailable, help, rate_limited, denied, error."""
    latency_ms: float
    """Since the transport received the query (0 when it did not say)."""


@dataclass(frozen=True, slots=True)
class InlineDrop:
    """Leave a query unanswered, on purpose, and log why."""

    request_id: str
    """The query dropped."""
    user_id: int
    """Whose."""
    event: str
    """Log event: chat.inline_superseded, chat.inline_rate_limited, chat.inline_shed or
    chat.inline_expired."""


InlineDecision = InlineDispatch | InlineReply | InlineDrop


@dataclass(slots=True)
class _Running:
    request_id: str
    worker: str
    started: float
    superseded: bool = False


class InlinePolicy:
    """Coalescing, budget and bounds for inline queries; no threads, no I/O.

    ``counts`` are the live figures behind the conversation's stats.
    """

    def __init__(self, *, workers: Sequence[str], rate_limit_count: int,
                 rate_limit_window_s: float, allowed: frozenset[int] = frozenset(),
                 max_in_flight: int | None = None, max_waiting: int = 10_000,
                 settle_s: float = SETTLE_S, answer_window_s: float = ANSWER_WINDOW_S,
                 clock: Callable[[], float], limiter: RateLimiter | None = None) -> None:
        if not workers:
            raise ValueError("inline queries need at least one command worker")
        self._limiter: RateLimiter = (
            limiter if limiter is not None
            else UserRateLimiter(rate_limit_count, rate_limit_window_s, clock=clock))
        self._allowed = allowed
        self._busy = dict.fromkeys(workers, 0)
        self._max_in_flight = max_in_flight or max(1, len(workers) // 2)
        self._max_waiting = max_waiting
        self._settle_s = settle_s
        self._window_s = answer_window_s
        self._clock = clock
        self._running: dict[int, _Running] = {}
        """The query each user has at a worker."""
        self._waiting: dict[int, tuple[InlineQueryReceived, InlineReading, float]] = {}
        """Each user's latest query not started yet, with its reading and arrival; oldest
        first."""
        self.counts = {"inline_queries": 0, "inline_answered": 0, "inline_superseded": 0,
                       "inline_rate_limited": 0, "inline_expired": 0}
        """What happened so far (the conversation's stats)."""

    def in_flight(self) -> int:
        """Inline queries at the workers now."""
        return len(self._running)

    def waiting(self) -> int:
        """Users whose latest query waits for a worker."""
        return len(self._waiting)

    # -- inbound ---------------------------------------------------------------------------------

    def on_query(self, query: InlineQueryReceived) -> tuple[InlineDecision, ...]:
        """A new query: it replaces the user's older ones, then starts now or waits."""
        self.counts["inline_queries"] += 1
        user = query.user_id
        decisions: list[InlineDecision] = []
        older = self._waiting.pop(user, None)
        if older is not None:
            decisions.append(self._superseded(older[0].request_id, user))
        running = self._running.get(user)
        if running is not None and not running.superseded:
            running.superseded = True
            self.counts["inline_superseded"] += 1
        reading = read_inline_query(query.query)
        if running is None and (isinstance(reading, HelpQuery) or self._stranger(user)
                                or (self._settle_s <= 0 and self._has_room())):
            decisions.append(self._start(query, reading))
            return tuple(decisions)
        if len(self._waiting) >= self._max_waiting:
            shed_user = next(iter(self._waiting))
            shed = self._waiting.pop(shed_user)[0]
            decisions.append(InlineDrop(shed.request_id, shed_user, "chat.inline_shed"))
        self._waiting[user] = (query, reading, self._clock())
        return tuple(decisions)

    def on_done(self, done: InlineDone) -> tuple[InlineDecision, ...]:
        """A worker's results: sent unless a newer query of the user replaced the query."""
        running = self._running.get(done.user_id)
        decisions: list[InlineDecision] = []
        if running is None or running.request_id != done.request_id:
            # Expired (its slot was given back) or unknown: too late to answer.
            decisions.append(InlineDrop(done.request_id, done.user_id, "chat.inline_expired"))
        else:
            del self._running[done.user_id]
            self._release(running.worker)
            if running.superseded:
                decisions.append(InlineDrop(done.request_id, done.user_id,
                                            "chat.inline_superseded"))
            else:
                decisions.append(self._reply(done.answer, done.outcome))
        decisions += self._pump()
        return tuple(decisions)

    def on_tick(self) -> tuple[InlineDecision, ...]:
        """The conversation's timer: start queries whose user paused typing, drop queries
        Telegram no longer waits for."""
        now = self._clock()
        decisions: list[InlineDecision] = []
        for user, running in list(self._running.items()):  # at most max_in_flight
            if now - running.started >= self._window_s:
                del self._running[user]
                self._release(running.worker)
                self.counts["inline_expired"] += 1
                decisions.append(InlineDrop(running.request_id, user, "chat.inline_expired"))
        expired = []
        for user, (_, _, since) in self._waiting.items():
            if now - since < self._window_s:
                break  # oldest first
            expired.append(user)
        for user in expired:
            query = self._waiting.pop(user)[0]
            self.counts["inline_expired"] += 1
            decisions.append(InlineDrop(query.request_id, user, "chat.inline_expired"))
        decisions += self._pump()
        return tuple(decisions)

    # -- helpers -----------------------------------------------------------------------------------

    def _stranger(self, user: int) -> bool:
        return bool(self._allowed) and user not in self._allowed

    def _has_room(self) -> bool:
        return len(self._running) < self._max_in_flight

    def _pump(self) -> list[InlineDecision]:
        """Start waiting queries whose user paused typing, oldest first, while there is room
        at the workers; looks at no more than it starts plus the users still running."""
        now = self._clock()
        room = self._max_in_flight - len(self._running)
        ready: list[int] = []
        for user, (_, _, since) in self._waiting.items():
            if len(ready) >= room or now - since < self._settle_s:
                break  # oldest first: the rest arrived later still
            if user not in self._running:
                ready.append(user)
        decisions: list[InlineDecision] = []
        for user in ready:
            query, reading, _ = self._waiting.pop(user)
            decisions.append(self._start(query, reading))
        return decisions

    def _start(self, query: InlineQueryReceived, reading: InlineReading) -> InlineDecision:
        """Spend the user's budget, then answer now (help) or dispatch (a lookup)."""
        no_lookup = isinstance(reading, HelpQuery) or self._stranger(query.user_id)
        match self._limiter.admit(query.user_id, HELP_COST if no_lookup else LOOKUP_COST):
            case Admission.WARN:
                self.counts["inline_rate_limited"] += 1
                wait_s = self._limiter.retry_after_s(query.user_id)
                return self._reply(answer_to(query, rate_limited_results(wait_s)), "rate_limited")
            case Admission.DROP:
                self.counts["inline_rate_limited"] += 1
                return InlineDrop(query.request_id, query.user_id, "chat.inline_rate_limited")
        if self._stranger(query.user_id):
            return self._reply(answer_to(query, private_results()), "denied")
        if isinstance(reading, HelpQuery):
            results: InlineResults = help_results(reading.problem)
            return self._reply(answer_to(query, results), results.outcome)
        worker = min(self._busy, key=self._busy.__getitem__)
        self._busy[worker] += 1
        self._running[query.user_id] = _Running(query.request_id, worker, self._clock())
        return InlineDispatch(worker, RunInline(query=query, reading=reading))

    def _release(self, worker: str) -> None:
        if worker in self._busy:
            self._busy[worker] = max(0, self._busy[worker] - 1)

    def _superseded(self, request_id: str, user: int) -> InlineDrop:
        self.counts["inline_superseded"] += 1
        return InlineDrop(request_id, user, "chat.inline_superseded")

    def _reply(self, answer: InlineAnswer, outcome: str) -> InlineReply:
        self.counts["inline_answered"] += 1
        if self._allowed and not answer.is_personal:  # see "Private bots" above
            answer = dataclasses.replace(answer, is_personal=True)
        received = answer.received_at
        return InlineReply(answer, outcome, (self._clock() - received) * 1000 if received else 0.0)
