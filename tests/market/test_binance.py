"""The Binance client against the exchange simulator over real loopback HTTP.

Each fault mode of the simulator gives the documented typed error; 429/418 silence every
request until the time Binance gave; a dead base URL fails over to the next; the weight budget
is never exceeded. The client and the simulator share one ManualClock, so "later" is a call to
``clock.advance`` and no test sleeps.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from urllib3 import HTTPConnectionPool, HTTPResponse
from urllib3.exceptions import MaxRetryError, ReadTimeoutError

from core.config import BotConfig
from market.binance import BinanceClient, _GetRetry
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
    WeightBudgetExhausted,
)
from fakes.exchange.simulator import ExchangeSimulator
from market.symbols import SymbolDirectory
from market.weights import BlockReason, WeightBudget, request_weight
from tests.market.conftest import ManualClock

PRICE = "/api/v3/ticker/price"
KLINES = "/api/v3/klines"
MakeClient = Callable[..., BinanceClient]


@pytest.fixture
def make_client(clock: ManualClock) -> Iterator[MakeClient]:
    """Clients on the test's clock with instant urllib3 backoff; all closed afterwards."""
    clients: list[BinanceClient] = []

    def make(
        *urls: str, limit: int = 6000, strategy: str = "sliding_window", **options: object
    ) -> BinanceClient:
        settings: dict[str, object] = {
            "max_connections": 4,
            "connect_timeout_s": 1.0,
            "read_timeout_s": 2.0,
            "budget": WeightBudget(limit, strategy, clock),  # type: ignore[arg-type]
            "clock": clock,
            "wall_clock": clock,
            "backoff_factor": 0.0,
            "backoff_max_s": 0.5,
        }
        client = BinanceClient(urls, **{**settings, **options})  # type: ignore[arg-type]
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client: MakeClient, simulator: ExchangeSimulator) -> BinanceClient:
    return make_client(simulator.base_url)


@pytest.fixture
def dead_url() -> str:
    """A loopback URL nobody listens on: a port that was just bound and released."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def geo_blocked_url() -> Iterator[str]:
    """A host that answers every request with 451, as Binance does in restricted regions."""

    class Refuse(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"Service unavailable from a restricted location"
            self.send_response(451)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(5)


def requests_to(sim: ExchangeSimulator, path: str | None = None) -> int:
    counters: dict[str, Any] = sim.counters()
    if path is None:
        return int(counters["total_requests"])
    return int(counters["requests"].get(path, 0))


# -- endpoints ---------------------------------------------------------------------------------


def test_exchange_info_lists_symbols_and_adopts_the_weight_limit(
    start_simulator: Callable[..., ExchangeSimulator], make_client: MakeClient
) -> None:
    sim = start_simulator(weight_limit_per_minute=1200)
    client = make_client(sim.base_url)
    info = client.exchange_info()
    btc = next(one for one in info.symbols if one.symbol == "BTCUSDT")
    assert (btc.base_asset, btc.quote_asset, btc.status, btc.tick_size) == (
        "BTC",
        "USDT",
        "TRADING",
        0.01,
    )
    assert info.request_weight_per_minute == 1200
    assert client.budget.limit == 1200


def test_the_price_is_the_number_binance_sent_for_the_upper_cased_symbol(
    client: BinanceClient, simulator: ExchangeSimulator, http: requests.Session
) -> None:
    ticker = client.ticker_price(" btcusdt ")
    raw = http.get(simulator.base_url + PRICE, params={"symbol": "BTCUSDT"}, timeout=5).json()
    assert ticker.symbol == "BTCUSDT"
    assert ticker.price == float(raw["price"])


def test_several_prices_come_back_in_the_order_asked_without_duplicates(
    client: BinanceClient, simulator: ExchangeSimulator
) -> None:
    tickers = client.ticker_prices(["ethusdt", "BTCUSDT", "ETHUSDT", "SOLUSDT"])
    assert [one.symbol for one in tickers] == ["ETHUSDT", "BTCUSDT", "SOLUSDT"]
    assert requests_to(simulator, PRICE) == 1
    assert simulator.counters()["weight"] == {PRICE: 4}
    assert client.ticker_prices([]) == ()


def test_day_tickers_go_twenty_symbols_per_request_to_keep_the_weight_low(
    client: BinanceClient, simulator: ExchangeSimulator
) -> None:
    symbols = [one.symbol for one in client.exchange_info().symbols][:25]
    simulator.reset_counters()
    tickers = client.tickers_24h(symbols)
    assert [one.symbol for one in tickers] == symbols
    assert requests_to(simulator, "/api/v3/ticker/24hr") == 2
    assert simulator.counters()["weight"] == {"/api/v3/ticker/24hr": 4}


def test_a_day_ticker_has_checked_numbers(client: BinanceClient) -> None:
    day = client.ticker_24h("ETHUSDT")
    assert day.low_price <= day.last_price <= day.high_price
    assert day.price_change == pytest.approx(day.last_price - day.open_price)
    assert day.close_time_ms - day.open_time_ms == pytest.approx(86_400_000, abs=60_000)
    assert day.trade_count > 0


def test_klines_include_the_open_candle_and_say_so(
    client: BinanceClient, clock: ManualClock
) -> None:
    klines = client.klines("BTCUSDT", "1h", limit=5)
    assert len(klines.candles) == 5
    assert klines.last_is_open
    assert klines.close_time_ms[-1] >= clock.now_ms > klines.close_time_ms[-2]
    assert len(klines.closed()) == 4
    assert klines.closed().open_time[-1] == klines.candles.open_time[-2]


def test_klines_in_a_closed_past_window_have_no_open_candle(
    client: BinanceClient, clock: ManualClock
) -> None:
    end_ms = clock.now_ms - 10 * 3_600_000
    klines = client.klines("BTCUSDT", "1h", limit=3, end_ms=end_ms)
    assert not klines.last_is_open
    assert len(klines.closed()) == 3
    first = client.klines("BTCUSDT", "1h", limit=2, start_ms=int(klines.candles.open_time[0]))
    assert list(first.candles.open_time) == list(klines.candles.open_time[:2])


def test_a_kline_limit_above_binances_maximum_is_clamped(client: BinanceClient) -> None:
    assert len(client.klines("BTCUSDT", "1m", limit=5000).candles) == 1000
    with pytest.raises(ValueError):
        client.klines("BTCUSDT", "1m", limit=0)


def test_the_average_price_is_a_float(client: BinanceClient) -> None:
    assert client.avg_price("SOLUSDT") == pytest.approx(client.ticker_price("SOLUSDT").price, 0.05)


def test_symbols_resolve_against_the_live_exchange_info(client: BinanceClient) -> None:
    directory = SymbolDirectory.from_exchange_info(client.exchange_info(), "USDT")
    spellings = ["BTC", "btc", "BTCUSDT", "BTC/USDT", "btc-usdt"]
    assert {directory.resolve(text) for text in spellings} == {"BTCUSDT"}
    with pytest.raises(UnknownSymbol) as refused:
        directory.resolve("ETHER")
    assert refused.value.suggestions[0] == "ETHUSDT"


def test_the_client_is_built_from_config(simulator: ExchangeSimulator, clock: ManualClock) -> None:
    config = BotConfig(
        exchange_urls=(simulator.base_url,),
        rate_limit_strategy="token_bucket",
        request_weight_limit_per_minute=300,
        http_read_timeout_s=3.0,
    )
    with BinanceClient.from_config(config, clock=clock, wall_clock=clock) as client:
        assert client.base_urls == (simulator.base_url,)
        assert client.budget.strategy == "token_bucket"
        assert client.budget.limit == 300
        assert client.ticker_price("BTC" + config.default_quote).price > 0


def test_a_client_pools_one_connection_per_host_as_one_fetch_worker_needs(
        simulator: ExchangeSimulator, clock: ManualClock) -> None:
    """A fetch worker does one request at a time, so its client needs one connection per
    exchange URL (the removed http_max_connections sized a pool nobody used)."""
    sessions: list[requests.Session] = []

    def session() -> requests.Session:
        sessions.append(requests.Session())
        return sessions[-1]

    config = BotConfig(exchange_urls=(simulator.base_url,))
    with BinanceClient.from_config(config, clock=clock, wall_clock=clock,
                                   session_factory=session):
        adapter = sessions[0].get_adapter(simulator.base_url)
        assert adapter.poolmanager.connection_pool_kw["maxsize"] == 1


# -- refusals by Binance -----------------------------------------------------------------------


def test_an_unknown_symbol_is_a_typed_error_and_never_fails_over(
    client: BinanceClient, simulator: ExchangeSimulator
) -> None:
    with pytest.raises(UnknownSymbol) as refused:
        client.ticker_price("NOPEUSDT")
    assert refused.value.code == -1121
    with pytest.raises(UnknownSymbol):
        client.ticker_prices(["BTCUSDT", "NOPEUSDT"])


def test_a_symbol_binance_could_never_accept_is_refused_without_a_request(
    client: BinanceClient, simulator: ExchangeSimulator
) -> None:
    for bad in ["BTC USDT", "", "A" * 21, "BTC/USDT"]:
        with pytest.raises(InvalidSymbolFormat):
            client.ticker_price(bad)
    assert requests_to(simulator) == 0


def test_a_bad_request_is_not_retried_and_not_failed_over(
    start_simulator: Callable[..., ExchangeSimulator], make_client: MakeClient
) -> None:
    first, second = start_simulator(), start_simulator()
    client = make_client(first.base_url, second.base_url)
    with pytest.raises(BadRequest) as refused:
        client.klines("BTCUSDT", "7m")
    assert (refused.value.status, refused.value.code) == (400, -1120)
    assert refused.value.permanent is True
    assert (requests_to(first), requests_to(second)) == (1, 0)


# -- fault modes -------------------------------------------------------------------------------


def test_5xx_is_retried_by_urllib3_then_raised_as_upstream_error(
    client: BinanceClient, simulator: ExchangeSimulator
) -> None:
    simulator.inject("5xx", endpoint=KLINES)
    with pytest.raises(UpstreamError) as failed:
        client.klines("BTCUSDT", "1h")
    assert (failed.value.status, failed.value.code) == (503, -1008)
    assert requests_to(simulator, KLINES) == 3  # the first try and retry_total=2 retries
    assert simulator.counters()["faults"] == {"5xx": 3}


def test_a_5xx_blip_is_hidden_by_the_retries(
    client: BinanceClient, simulator: ExchangeSimulator
) -> None:
    simulator.inject("5xx", endpoint=KLINES, count=2, status=500)
    assert len(client.klines("BTCUSDT", "1h", limit=3).candles) == 3
    assert requests_to(simulator, KLINES) == 3


def test_a_gateways_html_502_is_an_upstream_error_without_a_code(
    client: BinanceClient, simulator: ExchangeSimulator
) -> None:
    simulator.inject("5xx", status=502)
    with pytest.raises(UpstreamError) as failed:
        client.ticker_price("BTCUSDT")
    assert (failed.value.status, failed.value.code) == (502, None)
    assert "502" in failed.value.msg


def test_a_slow_answer_within_the_read_timeout_succeeds(
    make_client: MakeClient, simulator: ExchangeSimulator
) -> None:
    client = make_client(simulator.base_url, read_timeout_s=2.0)
    simulator.inject("slow", delay_s=0.2)
    assert client.ticker_price("BTCUSDT").price > 0


def test_an_answer_slower_than_the_read_timeout_is_an_exchange_timeout(
    make_client: MakeClient, simulator: ExchangeSimulator
) -> None:
    client = make_client(simulator.base_url, read_timeout_s=0.3)
    simulator.inject("timeout", delay_s=2.0)
    with pytest.raises(ExchangeTimeout):
        client.ticker_price("BTCUSDT")
    assert requests_to(simulator) == 1  # a read timeout is not repeated on the same host


@pytest.mark.parametrize("mode", ["malformed", "wrong_shape"])
@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.ticker_price("BTCUSDT"),
        lambda c: c.ticker_prices(["BTCUSDT", "ETHUSDT"]),
        lambda c: c.tickers_24h(["BTCUSDT"]),
        lambda c: c.klines("BTCUSDT", "1h", limit=4),
        lambda c: c.avg_price("BTCUSDT"),
        lambda c: c.exchange_info(),
    ],
    ids=["price", "prices", "day", "klines", "avg", "info"],
)
def test_a_bad_body_is_a_malformed_response_never_a_crash(
    client: BinanceClient,
    simulator: ExchangeSimulator,
    mode: str,
    call: Callable[[BinanceClient], object],
) -> None:
    simulator.inject(mode)
    with pytest.raises(MalformedResponse):
        call(client)
    assert requests_to(simulator) == 1


def test_a_429_stops_every_request_until_retry_after(
    client: BinanceClient, simulator: ExchangeSimulator, clock: ManualClock
) -> None:
    simulator.inject("429", retry_after_s=30, count=1)
    with pytest.raises(RateLimited) as limited:
        client.ticker_price("BTCUSDT")
    assert limited.value.retry_after_s == 30
    assert requests_to(simulator) == 1  # urllib3 does not retry a 429

    def any_call(index: int) -> RateLimited | None:
        calls = [lambda: client.klines("ETHUSDT", "1h"), lambda: client.exchange_info()]
        try:
            calls[index % 2]()
        except RateLimited as refused:
            return refused
        return None

    clock.advance(29)
    with ThreadPoolExecutor(max_workers=4) as pool:
        refusals = list(pool.map(any_call, range(8), timeout=10))
    assert [one.retry_after_s if one else None for one in refusals] == [pytest.approx(1.0)] * 8
    assert requests_to(simulator) == 1
    clock.advance(1)
    assert client.ticker_price("BTCUSDT").price > 0
    assert requests_to(simulator) == 2


def test_a_429_without_retry_after_is_held_for_a_minute(
    client: BinanceClient, simulator: ExchangeSimulator
) -> None:
    simulator.inject("429", retry_after_s=0, count=1)
    with pytest.raises(RateLimited) as limited:
        client.ticker_price("BTCUSDT")
    assert limited.value.retry_after_s == 60


def test_a_418_ban_stops_every_request_until_it_ends(
    client: BinanceClient, simulator: ExchangeSimulator, clock: ManualClock
) -> None:
    simulator.inject("418", retry_after_s=300, count=1)
    with pytest.raises(IpBanned) as banned:
        client.klines("BTCUSDT", "1h")
    assert banned.value.retry_after_s == 300
    assert banned.value.until_ms == clock.now_ms + 300_000
    assert client.budget.snapshot().blocked_reason is BlockReason.BANNED
    clock.advance(299)
    with pytest.raises(IpBanned) as still:
        client.ticker_price("BTCUSDT")
    assert still.value.until_ms == banned.value.until_ms
    assert requests_to(simulator) == 1
    clock.advance(1)
    client.ticker_price("BTCUSDT")


def test_a_dropped_connection_is_retried_then_a_connection_error(
    client: BinanceClient, simulator: ExchangeSimulator
) -> None:
    simulator.inject("disconnect")
    with pytest.raises(ExchangeConnectionError) as failed:
        client.ticker_price("BTCUSDT")
    assert requests_to(simulator) == 3
    assert failed.value.attempts == ((failed.value.url, failed.value.reason),)


def test_ignoring_binance_would_get_us_banned_but_the_budget_stops_first(
    start_simulator: Callable[..., ExchangeSimulator], make_client: MakeClient
) -> None:
    sim = start_simulator(weight_limit_per_minute=60)
    client = make_client(sim.base_url, limit=60)
    outcomes = []
    for _ in range(40):
        try:
            client.klines("BTCUSDT", "1m", limit=1)
            outcomes.append("ok")
        except WeightBudgetExhausted:
            outcomes.append("refused")
    assert outcomes.count("ok") == 30
    assert set(sim.counters()["statuses"]) == {"200"}  # type: ignore[call-overload]


# -- failover ----------------------------------------------------------------------------------


def test_a_dead_first_url_fails_over_to_the_second(
    dead_url: str, simulator: ExchangeSimulator, make_client: MakeClient
) -> None:
    client = make_client(dead_url, simulator.base_url)
    assert client.ticker_price("BTCUSDT").price > 0
    assert requests_to(simulator) == 1


def test_a_failed_url_is_skipped_until_its_mark_expires(
    start_simulator: Callable[..., ExchangeSimulator],
    make_client: MakeClient,
    clock: ManualClock,
) -> None:
    flaky, steady = start_simulator(), start_simulator()
    client = make_client(flaky.base_url, steady.base_url, url_down_s=30.0)
    flaky.inject("5xx", count=3)
    client.ticker_price("BTCUSDT")
    assert (requests_to(flaky), requests_to(steady)) == (3, 1)
    client.ticker_price("BTCUSDT")
    assert (requests_to(flaky), requests_to(steady)) == (3, 2)
    clock.advance(30)
    client.ticker_price("BTCUSDT")
    assert (requests_to(flaky), requests_to(steady)) == (4, 2)


def test_a_timeout_and_a_drop_fail_over_too(
    start_simulator: Callable[..., ExchangeSimulator], make_client: MakeClient
) -> None:
    slow, dropping, good = start_simulator(), start_simulator(), start_simulator()
    client = make_client(slow.base_url, dropping.base_url, good.base_url, read_timeout_s=0.3)
    slow.inject("timeout", delay_s=2.0)
    dropping.inject("disconnect")
    assert client.avg_price("BTCUSDT") > 0
    assert (requests_to(slow), requests_to(dropping), requests_to(good)) == (1, 3, 1)


def test_when_every_url_fails_the_error_lists_every_attempt(
    dead_url: str, simulator: ExchangeSimulator, make_client: MakeClient
) -> None:
    client = make_client(dead_url, simulator.base_url)
    simulator.inject("5xx", status=504)
    with pytest.raises(ExchangeUnavailable) as failed:
        client.ticker_price("BTCUSDT")
    assert isinstance(failed.value, UpstreamError)
    assert [url for url, _reason in failed.value.attempts] == [
        dead_url + PRICE,
        simulator.base_url + PRICE,
    ]
    assert "connection failed" in failed.value.attempts[0][1]
    with pytest.raises(UpstreamError):  # both marked down: still tried, in order
        client.ticker_price("BTCUSDT")


def test_a_host_that_refuses_us_fails_over_to_the_next(
    geo_blocked_url: str, simulator: ExchangeSimulator, make_client: MakeClient
) -> None:
    client = make_client(geo_blocked_url, simulator.base_url)
    assert client.ticker_price("BTCUSDT").price > 0
    alone = make_client(geo_blocked_url)
    with pytest.raises(ExchangeRefused) as refused:
        alone.ticker_price("BTCUSDT")
    assert refused.value.status == 451
    assert "restricted location" in refused.value.msg


def test_a_throttled_exchange_does_not_fail_over(
    start_simulator: Callable[..., ExchangeSimulator], make_client: MakeClient
) -> None:
    first, second = start_simulator(), start_simulator()
    client = make_client(first.base_url, second.base_url)
    first.inject("429", retry_after_s=10)
    with pytest.raises(RateLimited):
        client.ticker_price("BTCUSDT")
    assert requests_to(second) == 0


# -- the weight budget -------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["sliding_window", "token_bucket"])
def test_a_burst_from_many_threads_never_exceeds_the_budget(
    start_simulator: Callable[..., ExchangeSimulator], make_client: MakeClient, strategy: str
) -> None:
    sim = start_simulator(weight_limit_per_minute=100)
    client = make_client(sim.base_url, limit=100, strategy=strategy)
    granted = 100 if strategy == "sliding_window" else 50
    outcomes: list[str] = []
    lock = threading.Lock()

    def fetch(index: int) -> None:
        try:
            client.klines(["BTCUSDT", "ETHUSDT"][index % 2], "1h", limit=2)
            outcome = "ok"
        except WeightBudgetExhausted:
            outcome = "refused"
        with lock:
            outcomes.append(outcome)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(fetch, range(80), timeout=30))
    assert outcomes.count("ok") == granted // request_weight(KLINES)
    counters = sim.counters()
    assert set(counters["statuses"]) == {"200"}  # type: ignore[call-overload]
    assert counters["weight"] == {KLINES: granted}
    assert client.budget.snapshot().used == granted


def test_the_servers_used_weight_header_keeps_the_budget_in_step(
    simulator: ExchangeSimulator, make_client: MakeClient, http: requests.Session
) -> None:
    client = make_client(simulator.base_url, limit=6000)
    for _ in range(10):  # someone else on our IP spends weight 200
        http.get(simulator.base_url + "/api/v3/exchangeInfo", timeout=5)
    client.ticker_price("BTCUSDT")
    assert client.budget.snapshot().used == 202


# -- urllib3's retry rules ---------------------------------------------------------------------


def retry_rules() -> _GetRetry:
    return _GetRetry(total=2, backoff_max=2.0, status_forcelist=(500, 502, 503, 504))


def answer(status: int, retry_after: str | None = None) -> HTTPResponse:
    headers = {} if retry_after is None else {"Retry-After": retry_after}
    return HTTPResponse(body=b"", status=status, headers=headers, preload_content=False)


def test_urllib3_never_retries_429_or_418_even_with_retry_after() -> None:
    rules = retry_rules()
    assert not rules.is_retry("GET", 429, has_retry_after=True)
    assert not rules.is_retry("GET", 418, has_retry_after=True)
    assert rules.is_retry("GET", 503, has_retry_after=True)


def test_a_retry_after_within_the_cap_is_honoured_and_a_longer_one_ends_the_retries() -> None:
    pool = HTTPConnectionPool("127.0.0.1", 9)
    rules = retry_rules()
    assert rules.increment("GET", "/x", response=answer(503, "1"), _pool=pool).total == 1
    with pytest.raises(MaxRetryError):
        rules.increment("GET", "/x", response=answer(503, "60"), _pool=pool)
    pool.close()


def test_a_read_timeout_is_not_retried_on_the_same_host() -> None:
    pool = HTTPConnectionPool("127.0.0.1", 9)
    timeout = ReadTimeoutError(pool, "/x", "read timed out")
    with pytest.raises(ReadTimeoutError):
        retry_rules().increment("GET", "/x", error=timeout, _pool=pool)
    pool.close()
