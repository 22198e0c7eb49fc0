"""Injected faults, shared by both fakes: what a fault is, how a control body becomes one, and
the book that decides which request it hits.

Why shared: the exchange simulator and the fake Bot API both let a test say "the next N calls
of X fail like this", over HTTP and in-process, and both need the same bookkeeping: faults in
injection order, the earliest matching one wins, ``skip`` lets the first matches through,
``count`` hits (None: until cleared) and an id to remove one by. What differs is kept in a
``FaultSchema`` per fake: which modes it can carry out, what a target is (a ``/api/...`` path,
a Bot API method), and the defaults. How a fault goes on the wire stays in each fake.

Plain single-threaded state; each server holds its own lock around its book.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace

__all__ = ["FaultBook", "FaultMode", "FaultRule", "FaultSchema"]

_LONGEST_DELAY_S = 120.0


class FaultMode(enum.StrEnum):
    """What an injected fault does to a matching request (each fake carries out a subset)."""

    SERVER_ERROR = "5xx"
    """Answer with ``status`` and the body the real service (or its proxy) sends."""
    SLOW = "slow"
    """Wait ``delay_s``, then answer normally."""
    TIMEOUT = "timeout"
    """Hold the request for ``delay_s`` (longer than a client read timeout), then hang up."""
    MALFORMED = "malformed"
    """Answer 200 with the real JSON cut in half."""
    WRONG_SHAPE = "wrong_shape"
    """Answer 200 with valid JSON of the wrong structure."""
    TOO_MANY_REQUESTS = "429"
    """Answer 429 with ``Retry-After: retry_after_s``."""
    BANNED = "418"
    """Answer 418 (Binance's IP ban) with ``Retry-After: retry_after_s``."""
    DISCONNECT = "disconnect"
    """Close the connection without answering."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultRule:
    """One injected fault. Build it with a fake's ``FaultSchema.parse``."""

    mode: FaultMode
    target: str = "*"
    """What it hits: an exchange path such as ``/api/v3/klines``, a lower-case Bot API method
    such as ``sendmessage``, or ``*`` for everything."""
    count: int | None = None
    """How many requests it hits; None means until cleared."""
    skip: int = 0
    """How many matching requests pass untouched before it starts."""
    delay_s: float = 0.0
    retry_after_s: int = 0
    status: int = 503
    id: int = 0
    """Assigned by the FaultBook."""

    def to_json(self, target_key: str = "target") -> dict[str, object]:
        """The rule as the control APIs show it; the target under the fake's own name."""
        return {"id": self.id, "mode": self.mode.value, target_key: self.target,
                "count": self.count, "skip": self.skip, "delay_s": self.delay_s,
                "retry_after_s": self.retry_after_s, "status": self.status}


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultSchema:
    """What one fake accepts in a fault body, and its defaults; ``parse`` validates a body."""

    target_key: str
    """The body field naming the target ("endpoint", "method")."""
    modes: tuple[FaultMode, ...]
    check_target: Callable[[str], str]
    """Returns the target to match on (normalised), or raises ValueError with the reason."""
    statuses: Collection[int]
    """Statuses a 5xx fault may answer with; ``statuses_text`` says them in a message."""
    statuses_text: str
    default_status: int
    default_count: int | None = None
    delay_s: Mapping[FaultMode, float] = field(default_factory=dict)
    default_delay_s: float = 0.0
    retry_after_s: Mapping[FaultMode, int] = field(default_factory=dict)
    default_retry_after_s: int = 0
    min_retry_after_s: int = 0
    aliases: Mapping[str, FaultMode] = field(default_factory=dict)
    """Other accepted spellings of a mode."""

    def parse(self, data: Mapping[str, object]) -> FaultRule:
        """Validate a control-API body; raises ValueError with a message for the caller."""
        known = {"mode", self.target_key, "count", "skip", "delay_s", "retry_after_s", "status"}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fields: {sorted(unknown)}; known: {sorted(known)}")
        mode = self._mode(str(data.get("mode")))
        target = self.check_target(str(data.get(self.target_key, "*")))
        count = _optional_int(data, "count", minimum=1, default=self.default_count)
        skip = _optional_int(data, "skip", minimum=0, default=0) or 0
        delay = _number(data, "delay_s", self.delay_s.get(mode, self.default_delay_s))
        if not 0.0 <= delay <= _LONGEST_DELAY_S:
            raise ValueError(f"delay_s must be between 0 and {_LONGEST_DELAY_S}")
        retry_after = _optional_int(data, "retry_after_s", minimum=self.min_retry_after_s,
                                    default=None)
        if retry_after is None:
            retry_after = self.retry_after_s.get(mode, self.default_retry_after_s)
        status = _optional_int(data, "status", minimum=0, default=None) or self.default_status
        if mode is FaultMode.SERVER_ERROR and status not in self.statuses:
            raise ValueError(f"status must be {self.statuses_text}")
        return FaultRule(mode=mode, target=target, count=count, skip=skip, delay_s=delay,
                         retry_after_s=retry_after, status=status)

    def _mode(self, text: str) -> FaultMode:
        for mode in self.modes:
            if text == mode.value or self.aliases.get(text) is mode:
                return mode
        raise ValueError(f"mode must be one of {[m.value for m in self.modes]}")


def _optional_int(data: Mapping[str, object], name: str, *, minimum: int,
                  default: int | None) -> int | None:
    value = data.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum} or null")
    return value


def _number(data: Mapping[str, object], name: str, default: float) -> float:
    value = data.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number")
    return float(value)


@dataclass(slots=True)
class _Armed:
    rule: FaultRule
    skip_left: int
    hits_left: int | None


class FaultBook:
    """Active faults in injection order; the first armed rule matching a target wins.

    ``target_key`` is what the control API calls a rule's target in ``active()``.
    """

    def __init__(self, target_key: str = "target") -> None:
        self.target_key = target_key
        self._armed: list[_Armed] = []
        self._next_id = 1

    def add(self, rule: FaultRule) -> FaultRule:
        """Arm ``rule`` after every rule added before it; returns it with its id."""
        numbered = replace(rule, id=self._next_id)
        self._next_id += 1
        self._armed.append(_Armed(numbered, rule.skip, rule.count))
        return numbered

    def take(self, target: str) -> FaultRule | None:
        """The fault to apply to this request, using up one of its hits."""
        for armed in self._armed:
            if armed.rule.target not in ("*", target):
                continue
            if armed.skip_left > 0:
                armed.skip_left -= 1
                continue
            if armed.hits_left is not None:
                armed.hits_left -= 1
            self._armed = [one for one in self._armed if one.hits_left != 0]
            return armed.rule
        return None

    def remove(self, rule_id: int) -> bool:
        before = len(self._armed)
        self._armed = [one for one in self._armed if one.rule.id != rule_id]
        return len(self._armed) != before

    def clear(self) -> int:
        cleared = len(self._armed)
        self._armed = []
        return cleared

    def active(self) -> list[dict[str, object]]:
        """Every armed rule as JSON, with ``remaining`` hits (None: until cleared)."""
        return [{**one.rule.to_json(self.target_key), "remaining": one.hits_left}
                for one in self._armed]
