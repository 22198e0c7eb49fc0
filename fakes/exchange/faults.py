"""The exchange simulator's faults on the wire, its request-weight accounting and counters.

The fault model itself (modes, rules, the book) is ``fakes.faults``; here is what Binance's
faults look like (``EXCHANGE_FAULTS``, ``fault_action``). The rest are the simulator's mutable
parts, written as plain single-threaded state with time passed in, so their rules are
unit-tested without a server or a real clock; the server holds one lock around all of them.

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

import json
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from fakes.faults import FaultMode, FaultRule, FaultSchema

__all__ = [
    "EXCHANGE_FAULTS",
    "Admission",
    "FaultAction",
    "RequestCounters",
    "WeightLedger",
    "fault_action",
]

_WINDOW_S = 60
_FIRST_BAN_S = 120
_LONGEST_BAN_S = 3 * 24 * 3600
_JSON = "application/json;charset=UTF-8"


def _check_endpoint(endpoint: str) -> str:
    if endpoint != "*" and not endpoint.startswith("/api/"):
        raise ValueError("endpoint must be '*' or a path starting with /api/")
    return endpoint


EXCHANGE_FAULTS = FaultSchema(
    target_key="endpoint",
    modes=tuple(FaultMode),
    check_target=_check_endpoint,
    statuses=(500, 502, 503, 504),
    statuses_text="500, 502, 503 or 504",
    default_status=503,
    delay_s={FaultMode.SLOW: 1.0, FaultMode.TIMEOUT: 30.0},
    retry_after_s={FaultMode.TOO_MANY_REQUESTS: 5, FaultMode.BANNED: 120},
)
"""What ``POST /_sim/faults`` and ``inject()`` accept: every mode, on ``*`` or an /api/ path."""

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
