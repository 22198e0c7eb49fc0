"""Fault schedule, request-weight accounting and counters of the exchange simulator.

These are the simulator's mutable parts, written as plain single-threaded state with time
passed in, so their rules are unit-tested without a server or a real clock; the server holds
one lock around all of them.

Rate-limit rule (Binance documents the statuses, not the thresholds, so this one is ours):
weight is counted per client IP in fixed one-minute windows aligned to the clock's minutes,
which is also when ``X-MBX-USED-WEIGHT-1M`` falls back to zero. A request that would take the
window past the limit is refused with 429, ``Retry-After`` = seconds to the next window, and
is not charged. An IP that has already had ``ban_after_429s`` such refusals in the current
window and asks again is banned: 418 with ``Retry-After`` for 2 minutes, doubling with each
further ban of that IP up to 3 days (Binance's documented range). Every request during a ban
gets 418 with the remaining time.
"""

from __future__ import annotations

import enum
import json
import math
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace

__all__ = [
    "Admission",
    "FaultAction",
    "FaultBook",
    "FaultMode",
    "FaultRule",
    "RequestCounters",
    "WeightLedger",
    "fault_action",
]

_WINDOW_S = 60
_FIRST_BAN_S = 120
_LONGEST_BAN_S = 3 * 24 * 3600
_LONGEST_DELAY_S = 120.0
_JSON = "application/json;charset=UTF-8"


class FaultMode(enum.StrEnum):
    """What an injected fault does to a matching request."""

    SERVER_ERROR = "5xx"
    """Answer with ``status`` (500, 502, 503 or 504) and the body Binance or its proxy sends."""
    SLOW = "slow"
    """Wait ``delay_s``, then answer normally."""
    TIMEOUT = "timeout"
    """Hold the request for ``delay_s`` (longer than a client read timeout), then hang up."""
    MALFORMED = "malformed"
    """Answer 200 with the real JSON cut in half."""
    WRONG_SHAPE = "wrong_shape"
    """Answer 200 with valid JSON of the wrong structure."""
    TOO_MANY_REQUESTS = "429"
    """Answer 429, ``Retry-After: retry_after_s`` and a -1003 body."""
    BANNED = "418"
    """Answer 418, ``Retry-After: retry_after_s`` and a -1003 ban body."""
    DISCONNECT = "disconnect"
    """Close the connection without answering."""


_DEFAULT_DELAY_S = {FaultMode.SLOW: 1.0, FaultMode.TIMEOUT: 30.0}
_DEFAULT_RETRY_AFTER_S = {FaultMode.TOO_MANY_REQUESTS: 5, FaultMode.BANNED: 120}
_SERVER_ERRORS: dict[int, tuple[int, str]] = {
    500: (-1000, "An unknown error occurred while processing the request."),
    503: (
        -1008,
        "Server is currently overloaded with other requests. Please try again in a few minutes.",
    ),
    504: (
        -1007,
        "Timeout waiting for response from backend server. "
        "Send status unknown; execution status unknown.",
    ),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultRule:
    """One injected fault, as accepted by ``POST /_sim/faults`` or ``inject()``."""

    mode: FaultMode
    endpoint: str = "*"
    """A path such as ``/api/v3/klines``, or ``*`` for every ``/api`` path."""
    count: int | None = None
    """How many requests it hits; None means until cleared."""
    skip: int = 0
    """How many matching requests pass untouched before it starts."""
    delay_s: float = 0.0
    retry_after_s: int = 0
    status: int = 503
    id: int = 0
    """Assigned by the FaultBook."""

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> FaultRule:
        """Validate a control-API body; raises ValueError with a message for the caller."""
        unknown = set(data) - {
            "mode",
            "endpoint",
            "count",
            "skip",
            "delay_s",
            "retry_after_s",
            "status",
        }
        if unknown:
            raise ValueError(f"unknown fields: {sorted(unknown)}")
        try:
            mode = FaultMode(str(data.get("mode")))
        except ValueError:
            raise ValueError(f"mode must be one of {[m.value for m in FaultMode]}") from None
        endpoint = str(data.get("endpoint", "*"))
        if endpoint != "*" and not endpoint.startswith("/api/"):
            raise ValueError("endpoint must be '*' or a path starting with /api/")
        count = _optional_int(data, "count", minimum=1)
        skip = _optional_int(data, "skip", minimum=0) or 0
        delay = _number(data, "delay_s", _DEFAULT_DELAY_S.get(mode, 0.0))
        if not 0.0 <= delay <= _LONGEST_DELAY_S:
            raise ValueError(f"delay_s must be between 0 and {_LONGEST_DELAY_S}")
        retry_after = _optional_int(data, "retry_after_s", minimum=0)
        status = _optional_int(data, "status", minimum=0) or 503
        if mode is FaultMode.SERVER_ERROR and status not in (500, 502, 503, 504):
            raise ValueError("status must be 500, 502, 503 or 504")
        return cls(
            mode=mode,
            endpoint=endpoint,
            count=count,
            skip=skip,
            delay_s=delay,
            retry_after_s=_DEFAULT_RETRY_AFTER_S.get(mode, 0)
            if retry_after is None
            else retry_after,
            status=status,
        )

    def to_json(self) -> dict[str, object]:
        return {**asdict(self), "mode": self.mode.value}


def _optional_int(data: Mapping[str, object], name: str, *, minimum: int) -> int | None:
    value = data.get(name)
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
    """Active faults in injection order; the first armed rule matching a path wins."""

    def __init__(self) -> None:
        self._armed: list[_Armed] = []
        self._next_id = 1

    def add(self, rule: FaultRule) -> FaultRule:
        numbered = replace(rule, id=self._next_id)
        self._next_id += 1
        self._armed.append(_Armed(numbered, rule.skip, rule.count))
        return numbered

    def take(self, path: str) -> FaultRule | None:
        """The fault to apply to this request, using up one of its hits."""
        for armed in self._armed:
            if armed.rule.endpoint not in ("*", path):
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
        return [{**one.rule.to_json(), "remaining": one.hits_left} for one in self._armed]


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultAction:
    """How the server should carry out a fault (or ``None`` fields: answer normally)."""

    delay_s: float = 0.0
    drop_connection: bool = False
    status: int | None = None
    """Replace the answer with this status and ``body``; None keeps the real answer."""
    body: bytes = b""
    content_type: str = _JSON
    retry_after_s: int | None = None
    rewrite_body: Callable[[bytes], bytes] | None = None
    """Applied to the real 200 body (malformed and wrong-shape faults)."""


def _json_error(code: int, msg: str) -> bytes:
    return json.dumps({"code": code, "msg": msg}, separators=(",", ":")).encode()


def fault_action(rule: FaultRule, *, now_s: float, weight_limit: int) -> FaultAction:
    """Translate a rule into what goes on the wire."""
    mode = rule.mode
    if mode is FaultMode.SLOW:
        return FaultAction(delay_s=rule.delay_s)
    if mode is FaultMode.TIMEOUT:
        return FaultAction(delay_s=rule.delay_s, drop_connection=True)
    if mode is FaultMode.DISCONNECT:
        return FaultAction(drop_connection=True)
    if mode is FaultMode.MALFORMED:
        return FaultAction(rewrite_body=lambda body: body[: max(1, len(body) // 2)])
    if mode is FaultMode.WRONG_SHAPE:
        return FaultAction(rewrite_body=lambda body: b'{"unexpected":"shape","data":' + body + b"}")
    if mode is FaultMode.TOO_MANY_REQUESTS:
        return FaultAction(
            status=429, body=_too_much_weight(weight_limit), retry_after_s=rule.retry_after_s
        )
    if mode is FaultMode.BANNED:
        until_ms = int((now_s + rule.retry_after_s) * 1000)
        return FaultAction(
            status=418, body=_banned_until(until_ms), retry_after_s=rule.retry_after_s
        )
    if rule.status == 502:
        # A gateway in front of Binance answers, not Binance: HTML, not JSON.
        page = b"<html><head><title>502 Bad Gateway</title></head><body>502</body></html>"
        return FaultAction(status=502, body=page, content_type="text/html")
    code, msg = _SERVER_ERRORS[rule.status]
    return FaultAction(status=rule.status, body=_json_error(code, msg))


def _too_much_weight(limit: int) -> bytes:
    return _json_error(
        -1003,
        f"Too much request weight used; current limit is {limit} request weight per 1 MINUTE. "
        "Please use WebSocket Streams for live updates to avoid polling the API.",
    )


def _banned_until(until_ms: int) -> bytes:
    return _json_error(
        -1003,
        f"Way too much request weight used; IP banned until {until_ms}. "
        "Please use WebSocket Streams for live updates to avoid bans.",
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Admission:
    """The rate limiter's verdict on one request."""

    status: int
    """200 to serve it, 429 or 418 to refuse it."""
    used_weight: int
    """Weight used in the current window after this request (for X-MBX-USED-WEIGHT-1M)."""
    retry_after_s: int | None = None
    body: bytes = b""


@dataclass(slots=True)
class _IpState:
    window: int = -1
    used: int = 0
    refusals: int = 0
    banned_until_s: float = 0.0
    bans: int = 0


class WeightLedger:
    """Request weight per client IP per clock minute, with 429 refusals and 418 bans."""

    def __init__(self, *, limit: int, ban_after_429s: int = 3) -> None:
        self.limit = limit
        self.ban_after_429s = ban_after_429s
        self._ips: dict[str, _IpState] = {}

    def _state(self, ip: str, now_s: float) -> _IpState:
        state = self._ips.setdefault(ip, _IpState())
        window = int(now_s // _WINDOW_S)
        if state.window != window:
            state.window, state.used, state.refusals = window, 0, 0
        return state

    def admit(self, ip: str, weight: int, now_s: float) -> Admission:
        """Charge ``weight`` if the IP may spend it now, else say how long to back off."""
        state = self._state(ip, now_s)
        if now_s < state.banned_until_s:
            return self._ban_reply(state, now_s)
        if state.used + weight <= self.limit:
            state.used += weight
            return Admission(status=200, used_weight=state.used)
        if state.refusals >= self.ban_after_429s:
            state.banned_until_s = now_s + min(_FIRST_BAN_S * 2**state.bans, _LONGEST_BAN_S)
            state.bans += 1
            return self._ban_reply(state, now_s)
        state.refusals += 1
        next_window_s = (state.window + 1) * _WINDOW_S
        return Admission(
            status=429,
            used_weight=state.used,
            retry_after_s=max(1, math.ceil(next_window_s - now_s)),
            body=_too_much_weight(self.limit),
        )

    def _ban_reply(self, state: _IpState, now_s: float) -> Admission:
        return Admission(
            status=418,
            used_weight=state.used,
            retry_after_s=max(1, math.ceil(state.banned_until_s - now_s)),
            body=_banned_until(int(state.banned_until_s * 1000)),
        )

    def used(self, ip: str, now_s: float) -> int:
        return self._state(ip, now_s).used

    def snapshot(self, now_s: float) -> dict[str, dict[str, float]]:
        return {
            ip: {
                "used_weight_1m": self._state(ip, now_s).used,
                "banned_for_s": max(0.0, state.banned_until_s - now_s),
            }
            for ip, state in list(self._ips.items())
        }

    def reset(self) -> None:
        self._ips.clear()


@dataclass(slots=True)
class RequestCounters:
    """What the simulator was asked: per-path requests and weight, statuses, faults applied."""

    requests: Counter[str] = field(default_factory=Counter)
    weight: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)

    def snapshot(self) -> dict[str, object]:
        return {
            "total_requests": sum(self.requests.values()),
            "requests": dict(self.requests),
            "weight": dict(self.weight),
            "statuses": dict(self.statuses),
            "faults": dict(self.faults),
        }

    def reset(self) -> None:
        for counter in (self.requests, self.weight, self.statuses, self.faults):
            counter.clear()
