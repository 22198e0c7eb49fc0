"""Binance Spot public market data over REST: typed results, typed errors, shared weight budget.

Why it is built this way:

* One ``requests.Session`` per client with an ``HTTPAdapter`` pool of ``max_connections`` per
  host; connect and read timeouts go on every call. The market tree gives each fetch worker
  (one request at a time) a client of its own with the default single connection per host, so
  ``fetcher_pool_size`` is the number of connections to the exchange.
* urllib3's ``Retry`` repeats a GET after a 5xx (500/502/503/504) or a connection failure, with
  jittered exponential backoff capped at ``backoff_max_s`` and ``Retry-After`` honoured when it
  is not longer than that cap (a longer one ends the retries at once). Two deliberate
  exceptions: 429/418 are never retried here (Binance requires us to stop *everything*, which
  the shared ``WeightBudget`` does), and a read timeout is not repeated on the same host (it
  would cost another full read timeout; the next base URL is tried instead).
* Failover: base URLs are tried in order, skipping any marked down; a URL is marked down for
  ``url_down_s`` after a connection error, timeout, 5xx or refusal (403, 451, or a 4xx without
  Binance's error body). When every URL is down they are all tried anyway, in order, so a call
  never fails without trying. Binance's own 4xx errors (-11xx), 429/418 and malformed answers
  never fail over: another host would say the same.
* Every attempt first takes its weight from the budget (``WeightBudgetExhausted`` instead of
  exceeding it) and every answer's ``X-MBX-USED-WEIGHT-1M`` is fed back to it; exchangeInfo's
  REQUEST_WEIGHT limit replaces the configured one.
* Errors are mapped once, here, to ``market.errors``; JSON is parsed by ``market.models``.

Requests are sent from the caller's thread; this module starts no thread. Only urllib3's
backoff between retries sleeps, bounded by ``backoff_max_s`` per retry.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import TypeVar

import requests
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import ConnectionPool
from urllib3.exceptions import InvalidHeader, MaxRetryError, ReadTimeoutError, ResponseError
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from core.config import BotConfig, mask_url_credentials
from market.errors import (
    BadRequest,
    ExchangeConnectionError,
    ExchangeRefused,
    ExchangeTimeout,
    ExchangeUnavailable,
    InvalidSymbolFormat,
    IpBanned,
    MalformedResponse,
    RateLimited,
    UnknownSymbol,
    UpstreamError,
)
from market.models import (
    ExchangeInfo,
    Klines,
    PriceTicker,
    Ticker24h,
    banned_until_ms,
    parse_avg_price,
    parse_error,
)
from market.weights import BlockReason, RequestBudget, WeightBudget, request_weight

__all__ = ["BinanceClient", "MAX_KLINES"]

MAX_KLINES = 1000
"""Most klines one request returns; larger limits are clamped."""
_DEFAULT_KLINES = 500
_PRICE_CHUNK = 100
_DAY_TICKER_CHUNK = 20  # 1-20 symbols cost weight 2, 21-100 cost 40
_RETRY_AFTER_429_S = 60.0  # when Binance omits the header: the rest of its minute at most
_RETRY_AFTER_418_S = 120.0  # Binance's shortest ban
_MAX_ADOPTED_LIMIT = 10**9  # a larger REQUEST_WEIGHT limit is garbage (and overflows a float)
_SYMBOL = re.compile(r"[A-Z0-9\-_.]{1,20}")
_UNKNOWN_SYMBOL_CODES = frozenset({-1121, -1100})
_USER_AGENT = "cryptobot/0.1 (+requests)"

_T = TypeVar("_T", PriceTicker, Ticker24h)


class _GetRetry(Retry):
    """urllib3 Retry minus 429 (ours to handle), read timeouts and too-long Retry-After."""

    RETRY_AFTER_STATUS_CODES = frozenset({503})

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> _GetRetry:
        if isinstance(error, ReadTimeoutError):
            raise error
        if response is not None and _pool is not None:
            wait = self.get_retry_after(response)
            if wait is not None and wait > self.backoff_max:
                raise MaxRetryError(_pool, url, ResponseError(f"Retry-After {wait:g} s"))
        return super().increment(method, url, response, error, _pool, _stacktrace)

    def get_retry_after(self, response: BaseHTTPResponse) -> float | None:
        # urllib3 raises on a Retry-After it cannot read ("0.5", a bad date, 5000 digits), which
        # would escape as a raw ValueError; such a header is ignored and the backoff applies.
        try:
            return super().get_retry_after(response)
        except (InvalidHeader, ValueError, OverflowError):
            return None


class BinanceClient:
    """Thread-safe client of Binance's public Spot REST API (see module docstring)."""

    def __init__(
        self,
        base_urls: Sequence[str],
        *,
        max_connections: int = 1,
        connect_timeout_s: float,
        read_timeout_s: float,
        budget: RequestBudget,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        retry_total: int = 2,
        backoff_factor: float = 0.2,
        backoff_max_s: float = 2.0,
        url_down_s: float = 30.0,
        session_factory: Callable[[], requests.Session] = requests.Session,
    ) -> None:
        """``clock`` (monotonic) times blocks and URL marks; ``wall_clock`` (epoch seconds)
        only decides whether the last kline is still open, since close times are wall time."""
        if not base_urls:
            raise ValueError("at least one base URL is needed")
        self._base_urls = tuple(url.rstrip("/") for url in base_urls)
        # Errors (and so logs) name a base URL without its credentials, if it has any.
        self._shown = {url: mask_url_credentials(url) for url in self._base_urls}
        self._timeout = (connect_timeout_s, read_timeout_s)
        self._budget = budget
        self._clock = clock
        self._wall_clock = wall_clock
        self._url_down_s = url_down_s
        self._lock = threading.Lock()
        self._down_until: dict[str, float] = {}
        retry = _GetRetry(
            total=retry_total,
            connect=retry_total,
            read=retry_total,
            status=retry_total,
            other=0,
            redirect=0,
            backoff_factor=backoff_factor,
            backoff_jitter=backoff_factor,
            backoff_max=backoff_max_s,
            status_forcelist=(500, 502, 503, 504),
            allowed_methods=frozenset({"GET"}),
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        adapter = HTTPAdapter(
            pool_connections=len(self._base_urls),
            pool_maxsize=max_connections,
            max_retries=retry,
        )
        self._session = session_factory()
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.headers.update({"Accept": "application/json", "User-Agent": _USER_AGENT})

    @classmethod
    def from_config(
        cls,
        config: BotConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        session_factory: Callable[[], requests.Session] = requests.Session,
    ) -> BinanceClient:
        """A client with the URLs, timeouts and weight budget of ``config``, for one thread."""
        budget = WeightBudget(
            config.request_weight_limit_per_minute, config.rate_limit_strategy, clock
        )
        return cls(
            config.exchange_urls,
            connect_timeout_s=config.http_connect_timeout_s,
            read_timeout_s=config.http_read_timeout_s,
            budget=budget,
            clock=clock,
            wall_clock=wall_clock,
            session_factory=session_factory,
        )

    @property
    def budget(self) -> RequestBudget:
        return self._budget

    @property
    def base_urls(self) -> tuple[str, ...]:
        return self._base_urls

    def close(self) -> None:
        """Close pooled connections."""
        self._session.close()

    def __enter__(self) -> BinanceClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    # -- endpoints -----------------------------------------------------------------------------

    def ping(self) -> None:
        """Check that an exchange answers (weight 1)."""
        self._get("/api/v3/ping", [])

    def exchange_info(self) -> ExchangeInfo:
        """Every symbol and the rate limits (weight 20); adopts the REQUEST_WEIGHT limit."""
        url, data = self._get("/api/v3/exchangeInfo", [])
        info = ExchangeInfo.from_json(data, url)
        limit = info.request_weight_per_minute
        if limit is not None and 2 <= limit <= _MAX_ADOPTED_LIMIT:
            self._budget.set_limit(limit)
        return info

    def ticker_price(self, symbol: str) -> PriceTicker:
        """Latest price of one symbol (weight 2)."""
        name = _symbol(symbol)
        url, data = self._get("/api/v3/ticker/price", [("symbol", name)], symbols=(name,))
        return _only(PriceTicker.from_json(data, url), name, url)

    def ticker_prices(self, symbols: Sequence[str]) -> tuple[PriceTicker, ...]:
        """Latest prices, in the order asked (weight 4 per 100 symbols)."""
        return self._batched("/api/v3/ticker/price", symbols, _PRICE_CHUNK, PriceTicker.from_json)

    def ticker_24h(self, symbol: str) -> Ticker24h:
        """Rolling 24-hour statistics of one symbol (weight 2)."""
        name = _symbol(symbol)
        url, data = self._get("/api/v3/ticker/24hr", [("symbol", name)], symbols=(name,))
        return _only(Ticker24h.from_json(data, url), name, url)

    def tickers_24h(self, symbols: Sequence[str]) -> tuple[Ticker24h, ...]:
        """24-hour statistics in the order asked, 20 symbols per request (weight 2 each)."""
        return self._batched("/api/v3/ticker/24hr", symbols, _DAY_TICKER_CHUNK, Ticker24h.from_json)

    def klines(
        self,
        symbol: str,
        interval: str,
        limit: int = _DEFAULT_KLINES,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> Klines:
        """Candles, the still-open one included (see ``Klines``); ``limit`` is clamped to
        1000. An unknown ``interval`` is Binance's -1120, raised as ``BadRequest``."""
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        name = _symbol(symbol)
        params = [("symbol", name), ("interval", interval), ("limit", str(min(limit, MAX_KLINES)))]
        if start_ms is not None:
            params.append(("startTime", str(start_ms)))
        if end_ms is not None:
            params.append(("endTime", str(end_ms)))
        url, data = self._get("/api/v3/klines", params, symbols=(name,))
        now_ms = int(self._wall_clock() * 1000)
        return Klines.from_json(data, url, symbol=name, interval=interval, now_ms=now_ms)

    def avg_price(self, symbol: str) -> float:
        """Binance's average price over the last 5 minutes (weight 2)."""
        name = _symbol(symbol)
        url, data = self._get("/api/v3/avgPrice", [("symbol", name)], symbols=(name,))
        return parse_avg_price(data, url)

    # -- plumbing ------------------------------------------------------------------------------

    def _batched(
        self,
        path: str,
        symbols: Sequence[str],
        chunk: int,
        parse: Callable[[object, str], _T],
    ) -> tuple[_T, ...]:
        names = tuple(dict.fromkeys(_symbol(one) for one in symbols))  # dedupe: -1151
        found: dict[str, _T] = {}
        for part in _chunks(names, chunk):
            listed = json.dumps(list(part), separators=(",", ":"))
            weight = request_weight(path, len(part))
            url, data = self._get(path, [("symbols", listed)], part, weight)
            items = [parse(item, url) for item in _list(data, url)]
            got = {item.symbol: item for item in items}
            if len(items) != len(part) or set(got) != set(part):
                raise MalformedResponse(url, f"asked for {sorted(part)}, got {sorted(got)}")
            found.update(got)
        return tuple(found[name] for name in names)

    def _url_order(self) -> list[str]:
        now = self._clock()
        with self._lock:
            up = [url for url in self._base_urls if self._down_until.get(url, 0.0) <= now]
        return up + [url for url in self._base_urls if url not in up]

    def _mark(self, url: str, *, down: bool) -> None:
        with self._lock:
            if down:
                self._down_until[url] = self._clock() + self._url_down_s
            else:
                self._down_until.pop(url, None)

    def _get(
        self,
        path: str,
        params: list[tuple[str, str]],
        symbols: tuple[str, ...] = (),
        weight: int | None = None,
    ) -> tuple[str, object]:
        """GET ``path`` with failover; returns the URL that answered and the decoded JSON."""
        cost = request_weight(path) if weight is None else weight
        failures: list[ExchangeUnavailable] = []
        for base in self._url_order():
            self._budget.acquire(cost)
            try:
                data = self._attempt(base + path, params, symbols, self._shown[base] + path)
            except ExchangeUnavailable as failure:
                self._mark(base, down=True)
                failures.append(failure)
                continue
            self._mark(base, down=False)
            return self._shown[base] + path, data
        last = failures[-1]
        last.attempts = tuple((one.url, one.reason) for one in failures)
        raise last

    def _attempt(self, target: str, params: list[tuple[str, str]], symbols: tuple[str, ...],
                 url: str) -> object:
        """GET ``target``; errors name ``url``, the same without credentials."""
        try:
            response = self._session.get(
                target, params=params, timeout=self._timeout, allow_redirects=False
            )
        except requests.Timeout as exc:
            raise ExchangeTimeout(url, f"timed out: {exc}") from exc
        except requests.ConnectionError as exc:
            if _timed_out(exc):
                raise ExchangeTimeout(url, f"timed out: {exc}") from exc
            raise ExchangeConnectionError(url, f"connection failed: {exc}") from exc
        except requests.RequestException as exc:
            raise ExchangeConnectionError(url, f"request failed: {exc}") from exc
        with response:
            self._budget.observe_used_weight(response.headers.get("x-mbx-used-weight-1m"))
            return self._read(url, response, symbols)

    def _read(self, url: str, response: requests.Response, symbols: tuple[str, ...]) -> object:
        status = response.status_code
        if status in (429, 418):
            self._throttle(status, response)
        if status >= 500:
            code, msg = parse_error(response.content)
            wait = _retry_after_s(response)
            raise UpstreamError(url, status, code, msg, wait)
        if status >= 400:
            code, msg = parse_error(response.content)
            if status in (403, 451) or code is None:
                raise ExchangeRefused(url, status, msg)
            if code in _UNKNOWN_SYMBOL_CODES and symbols:
                raise UnknownSymbol(",".join(symbols), code=code)
            raise BadRequest(url, status, code, msg)
        if status != 200:
            raise MalformedResponse(url, f"unexpected HTTP status {status}")
        try:
            return json.loads(response.content)
        except (ValueError, RecursionError) as exc:  # RecursionError: arrays nested too deep
            raise MalformedResponse(url, f"body is not JSON: {exc}") from exc

    def _throttle(self, status: int, response: requests.Response) -> None:
        if status == 429:
            wait = _retry_after_s(response) or _RETRY_AFTER_429_S
            self._budget.block_until(self._clock() + wait, BlockReason.RATE_LIMITED)
            raise RateLimited(wait)
        wait = _retry_after_s(response) or _RETRY_AFTER_418_S
        until_ms = banned_until_ms(parse_error(response.content)[1])
        self._budget.block_until(
            self._clock() + wait, BlockReason.BANNED, banned_until_ms=until_ms
        )
        raise IpBanned(wait, until_ms)


def _symbol(text: str) -> str:
    """Upper-case and check against Binance's symbol rule (a lower-case symbol is -1100)."""
    name = text.strip().upper()
    if not _SYMBOL.fullmatch(name):
        raise InvalidSymbolFormat(text, "Binance symbols are 1-20 of A-Z, 0-9, '-', '_', '.'")
    return name


def _only(item: _T, symbol: str, url: str) -> _T:
    if item.symbol != symbol:
        raise MalformedResponse(url, f"asked for {symbol}, got {item.symbol}")
    return item


def _list(data: object, url: str) -> list[object]:
    if not isinstance(data, list):
        raise MalformedResponse(url, f"expected a JSON array, got {type(data).__name__}")
    return data


def _chunks(names: tuple[str, ...], size: int) -> Iterator[tuple[str, ...]]:
    for start in range(0, len(names), size):
        yield names[start : start + size]


def _timed_out(exc: requests.ConnectionError) -> bool:
    """requests reports a read timeout that exhausted urllib3's retries as ConnectionError."""
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        return isinstance(reason.reason, ReadTimeoutError)
    return False


def _retry_after_s(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and 0 < seconds < float("inf") else None
