"""A Binance-compatible market-data server on loopback, for the demo and the tests.

The bot must be exercised against an exchange that behaves like Binance, misbehaves on demand
and never needs the network. ``ExchangeSimulator`` serves the public Spot endpoints with
deterministic candles (see ``fakes.exchange.series``), Binance's weights, headers and error
bodies, and a control API under ``/_sim`` to inject faults and read request counters while it
runs. The same controls exist as methods for in-process tests. Everything observable is
decided by pure code (``api``, ``faults``); this module holds the lock and owns the state, and
``fakes.loopback`` moves the bytes and owns the threads.

Run it with ``python bot.py exchange-sim --port N`` (or ``python -m fakes.exchange.simulator``);
``docs/exchange-simulator.md`` describes the endpoints and the control API.
"""

from __future__ import annotations

import argparse
import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from fakes.exchange.api import ApiReply, handle_api, request_weight
from fakes.exchange.catalog import INTERVALS
from fakes.exchange.faults import (
    EXCHANGE_FAULTS,
    FaultAction,
    RequestCounters,
    WeightLedger,
    fault_action,
)
from fakes.exchange.market import Market
from fakes.faults import FaultBook, FaultRule
from fakes.loopback import (
    LOOPBACK,
    LoopbackHandler,
    LoopbackService,
    serve_until_signalled,
)

__all__ = ["ExchangeSimulator", "main"]

_log = logging.getLogger(__name__)

JSON_CONTENT_TYPE = "application/json;charset=UTF-8"
"""What Binance sends as Content-Type."""


class ExchangeHandler(LoopbackHandler):
    """A connection to the simulator: JSON goes out with Binance's Content-Type."""

    json_content_type = JSON_CONTENT_TYPE


class ExchangeSimulator(LoopbackService):
    """Binance Spot market data on ``http://127.0.0.1:<port>``, with faults on demand.

    Use as a context manager, or call ``start()`` and ``stop()``. ``clock`` returns epoch
    seconds and drives candles, ``serverTime`` and the weight windows, so tests can move time.
    """

    service_name = "exchange simulator"
    thread_name = "exchange-sim"
    handler_class = ExchangeHandler

    def __init__(
        self,
        *,
        host: str = LOOPBACK,
        port: int = 0,
        seed: int = 42,
        clock: Callable[[], float] = time.time,
        weight_limit_per_minute: int = 6000,
        ban_after_429s: int = 3,
        include_replays: bool = True,
    ) -> None:
        super().__init__(host=host, port=port)
        self.seed = seed
        self._clock = clock
        self.market = Market.default(seed=seed, include_replays=include_replays)
        self._lock = threading.Lock()
        self._faults = FaultBook(EXCHANGE_FAULTS.target_key)
        self._ledger = WeightLedger(limit=weight_limit_per_minute, ban_after_429s=ban_after_429s)
        self._counters = RequestCounters()

    @property
    def base_url(self) -> str:
        """Binance's base URL: ``http://127.0.0.1:<port>`` (paths start with /api/v3)."""
        return self.url

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    # -- controls (also reachable over HTTP under /_sim) ---------------------------------------

    def inject(self, mode: str, **options: object) -> FaultRule:
        """Add a fault, e.g. ``inject("5xx", endpoint="/api/v3/klines", count=2, status=502)``."""
        return self._add_fault(EXCHANGE_FAULTS.parse({"mode": mode, **options}))

    def _add_fault(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            return self._faults.add(rule)

    def clear_faults(self) -> int:
        with self._lock:
            return self._faults.clear()

    def remove_fault(self, rule_id: int) -> bool:
        with self._lock:
            return self._faults.remove(rule_id)

    def faults(self) -> list[dict[str, object]]:
        with self._lock:
            return self._faults.active()

    def counters(self) -> dict[str, object]:
        """Requests, weight and statuses per path since the last reset, plus per-IP limits."""
        with self._lock:
            return {**self._counters.snapshot(), "ips": self._ledger.snapshot(self._clock())}

    def reset_counters(self) -> None:
        with self._lock:
            self._counters.reset()

    def reset(self) -> None:
        """Forget faults, counters, used weight and bans."""
        with self._lock:
            self._faults.clear()
            self._counters.reset()
            self._ledger.reset()

    def load_csv_series(self, symbol: str, path: Path, interval: str) -> None:
        """Serve a ``time,Open,High,Low,Close,Volume`` CSV as ``symbol`` (see ReplaySeries)."""
        self.market.add_csv_file(symbol, path, INTERVALS[interval])

    # -- request handling (server threads) -----------------------------------------------------

    def _dispatch(self, handler: ExchangeHandler, method: str) -> None:
        url = urlsplit(handler.path)
        if url.path == "/_sim" or url.path.startswith("/_sim/"):
            self._handle_control(handler, method, url.path)
        elif url.path.startswith("/api/"):
            self._handle_api(
                handler, method, url.path, parse_qsl(url.query, keep_blank_values=True)
            )
        else:
            handler.send_json(404, {"code": -1000, "msg": f"Unknown path {url.path}."})

    def _handle_api(
        self, handler: ExchangeHandler, method: str, path: str, pairs: list[tuple[str, str]]
    ) -> None:
        now_s = self._clock()
        weight = request_weight(path, pairs)
        with self._lock:
            self._counters.requests[path] += 1
            admission = self._ledger.admit(handler.client_address[0], weight, now_s)
            rule = self._faults.take(path) if admission.status == 200 else None
            if admission.status == 200:
                self._counters.weight[path] += weight
            if rule is not None:
                self._counters.faults[rule.mode.value] += 1
        headers = {
            "x-mbx-used-weight": str(admission.used_weight),
            "x-mbx-used-weight-1m": str(admission.used_weight),
        }
        if admission.status != 200:
            headers["Retry-After"] = str(admission.retry_after_s)
            self._reply(handler, admission.status, admission.body, headers=headers)
            return
        action = (
            fault_action(rule, now_s=now_s, weight_limit=self._ledger.limit)
            if rule
            else FaultAction()
        )
        if action.delay_s > 0 and self._stopping.wait(action.delay_s):
            action = FaultAction(drop_connection=True)
        if action.drop_connection:
            handler.hang_up()
            self._count_status("dropped")
            return
        if action.status is not None:
            if action.retry_after_s is not None:
                headers["Retry-After"] = str(action.retry_after_s)
            self._reply(
                handler,
                action.status,
                action.body,
                headers=headers,
                content_type=action.content_type,
            )
            return
        reply = self._answer(method, path, pairs, now_s)
        body = reply.body()
        if action.rewrite_body is not None and reply.status == 200:
            body = action.rewrite_body(body)
        self._reply(handler, reply.status, body, headers=headers)

    def _answer(
        self, method: str, path: str, pairs: list[tuple[str, str]], now_s: float
    ) -> ApiReply:
        if method != "GET":
            return ApiReply(405, {"code": -1000, "msg": f"Method {method} not allowed on {path}."})
        try:
            return handle_api(
                path,
                pairs,
                now_ms=int(now_s * 1000),
                market=self.market,
                weight_limit=self._ledger.limit,
            )
        except Exception:
            # A simulator bug must still look like an exchange failure, not a hung connection.
            _log.exception("simulator failed to answer %s %s", path, pairs)
            return ApiReply(500, {"code": -1000, "msg": "An unknown error occurred."})

    def _reply(
        self,
        handler: ExchangeHandler,
        status: int,
        body: bytes,
        *,
        headers: dict[str, str],
        content_type: str = JSON_CONTENT_TYPE,
    ) -> None:
        self._count_status(str(status))
        handler.send_bytes(status, body, content_type=content_type, headers=headers)

    def _count_status(self, status: str) -> None:
        with self._lock:
            self._counters.statuses[status] += 1

    def _handle_control(self, handler: ExchangeHandler, method: str, path: str) -> None:
        try:
            payload = handler.read_json_body()
            status, answer = self._control(method, path.rstrip("/"), payload)
        except ValueError as error:  # BodyError or a refused fault
            status, answer = 400, {"error": str(error)}
        handler.send_json(status, answer)

    def _control(self, method: str, path: str, payload: object) -> tuple[int, object]:
        route = (method, path)
        if route == ("GET", "/_sim"):
            return 200, {
                "now_ms": self.now_ms(),
                "symbols": self.market.symbols(),
                "control": _CONTROL_SUMMARY,
            }
        if route == ("GET", "/_sim/faults"):
            return 200, {"faults": self.faults()}
        if route == ("POST", "/_sim/faults"):
            if not isinstance(payload, dict):
                raise ValueError('body must be a JSON object such as {"mode": "5xx"}')
            rule = self._add_fault(EXCHANGE_FAULTS.parse(payload))
            return 201, {"fault": rule.to_json(EXCHANGE_FAULTS.target_key)}
        if route == ("DELETE", "/_sim/faults"):
            return 200, {"cleared": self.clear_faults()}
        if method == "DELETE" and path.startswith("/_sim/faults/"):
            rule_id = path.rsplit("/", 1)[1]
            removed = rule_id.isdigit() and self.remove_fault(int(rule_id))
            return (200 if removed else 404), {"removed": removed}
        if route == ("GET", "/_sim/counters"):
            return 200, self.counters()
        if route == ("POST", "/_sim/counters/reset"):
            self.reset_counters()
            return 200, {"reset": "counters"}
        if route == ("POST", "/_sim/reset"):
            self.reset()
            return 200, {"reset": "all"}
        return 404, {"error": f"no control route {method} {path}", "control": _CONTROL_SUMMARY}


_CONTROL_SUMMARY = {
    "GET /_sim": "clock, symbols and this summary",
    "GET /_sim/faults": "active faults",
    "POST /_sim/faults": '{"mode": "5xx|slow|timeout|malformed|wrong_shape|429|418|disconnect", '
    '"endpoint": "/api/v3/klines"|"*", "count": N|null, "skip": N, "delay_s": x, '
    '"retry_after_s": n, "status": 5xx}',
    "DELETE /_sim/faults": "clear all faults",
    "DELETE /_sim/faults/<id>": "clear one fault",
    "GET /_sim/counters": "requests, weight and statuses per path; used weight and bans per IP",
    "POST /_sim/counters/reset": "zero the counters",
    "POST /_sim/reset": "clear faults, counters, used weight and bans",
}


def main(argv: Sequence[str] | None = None) -> int:
    """``bot.py exchange-sim``: serve on loopback until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(
        prog="bot.py exchange-sim", description="Binance-compatible exchange simulator"
    )
    parser.add_argument(
        "--port", type=int, default=8765, help="TCP port on 127.0.0.1 (0 picks a free one)"
    )
    parser.add_argument("--seed", type=int, default=42, help="seed of the synthetic candles")
    parser.add_argument(
        "--weight-limit", type=int, default=6000, help="REQUEST_WEIGHT per minute per IP"
    )
    args = parser.parse_args(argv)
    simulator = ExchangeSimulator(
        port=args.port, seed=args.seed, weight_limit_per_minute=args.weight_limit
    )

    def banner() -> list[str]:
        url = simulator.base_url
        return [
            f"exchange simulator serving {len(simulator.market)} symbols on {url}",
            f"  try: curl '{url}/api/v3/ticker/price?symbol=BTCUSDT'",
            *(f"  {route:<28} {meaning}" for route, meaning in _CONTROL_SUMMARY.items()),
        ]

    return serve_until_signalled(simulator, banner)

if __name__ == "__main__":
    raise SystemExit(main())
