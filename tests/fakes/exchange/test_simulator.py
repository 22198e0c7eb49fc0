"""The exchange simulator over real loopback HTTP: Binance's wire format, limits and faults."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from pathlib import Path
from typing import Any

import pytest
import requests

from fakes.exchange.simulator import ExchangeSimulator
from tests.market.conftest import ManualClock

HOUR_MS = 3_600_000
TIMEOUT = 5.0
KLINE_TYPES = [int, str, str, str, str, str, int, str, int, str, str, str]
FULL_TICKER_INTEGERS = {"openTime", "closeTime", "firstId", "lastId", "count"}
FULL_TICKER_KEYS = {
    "symbol",
    "priceChange",
    "priceChangePercent",
    "weightedAvgPrice",
    "prevClosePrice",
    "lastPrice",
    "lastQty",
    "bidPrice",
    "bidQty",
    "askPrice",
    "askQty",
    "openPrice",
    "highPrice",
    "lowPrice",
    "volume",
    "quoteVolume",
} | FULL_TICKER_INTEGERS
MINI_TICKER_KEYS = {
    "symbol",
    "openPrice",
    "highPrice",
    "lowPrice",
    "lastPrice",
    "volume",
    "quoteVolume",
} | FULL_TICKER_INTEGERS


def get(
    http: requests.Session, sim: ExchangeSimulator, path: str, **params: Any
) -> requests.Response:
    return http.get(sim.base_url + path, params=params, timeout=TIMEOUT)


def symbols(*names: str) -> str:
    return json.dumps(list(names), separators=(",", ":"))


def klines(
    http: requests.Session, sim: ExchangeSimulator, symbol: str = "BTCUSDT", **params: Any
) -> list[list[Any]]:
    response = get(http, sim, "/api/v3/klines", symbol=symbol, **{"interval": "1h", **params})
    assert response.status_code == 200, response.text
    rows: list[list[Any]] = response.json()
    return rows


# -- endpoints and wire format ---------------------------------------------------------------


def test_ping_answers_an_empty_object_as_json_with_the_weight_header(
    simulator: ExchangeSimulator, http: requests.Session
) -> None:
    response = get(http, simulator, "/api/v3/ping")
    assert response.status_code == 200 and response.json() == {}
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["X-MBX-USED-WEIGHT-1M"] == "1"


def test_server_time_is_the_simulators_clock(
    simulator: ExchangeSimulator, http: requests.Session, clock: ManualClock
) -> None:
    assert get(http, simulator, "/api/v3/time").json() == {"serverTime": clock.now_ms}


def test_exchange_info_lists_at_least_twenty_trading_usdt_pairs(
    simulator: ExchangeSimulator, http: requests.Session
) -> None:
    info = get(http, simulator, "/api/v3/exchangeInfo").json()
    assert {
        "rateLimitType": "REQUEST_WEIGHT",
        "interval": "MINUTE",
        "intervalNum": 1,
        "limit": 6000,
    } in info["rateLimits"]
    usdt = [s for s in info["symbols"] if s["quoteAsset"] == "USDT" and s["status"] == "TRADING"]
    assert len(usdt) >= 20
    price_filter = next(f for f in usdt[0]["filters"] if f["filterType"] == "PRICE_FILTER")
    assert all(isinstance(price_filter[key], str) for key in ("minPrice", "maxPrice", "tickSize"))


def test_klines_are_twelve_element_rows_with_binance_types(
    simulator: ExchangeSimulator, http: requests.Session, clock: ManualClock
) -> None:
    rows = klines(http, simulator, limit=24)
    assert len(rows) == 24
    assert all([type(value) for value in row] == KLINE_TYPES for row in rows)
    assert all(row[6] == row[0] + HOUR_MS - 1 for row in rows)
    last = rows[-1]
    assert last[0] <= clock.now_ms <= last[6]


def test_ui_klines_are_the_same_as_klines(
    simulator: ExchangeSimulator, http: requests.Session
) -> None:
    ui = get(http, simulator, "/api/v3/uiKlines", symbol="ETHUSDT", interval="15m", limit=5).json()
    assert ui == klines(http, simulator, "ETHUSDT", interval="15m", limit=5)


def test_the_ticker_price_is_the_latest_close(
    simulator: ExchangeSimulator, http: requests.Session
) -> None:
    ticker = get(http, simulator, "/api/v3/ticker/price", symbol="SOLUSDT").json()
    assert ticker == {
        "symbol": "SOLUSDT",
        "price": klines(http, simulator, "SOLUSDT", interval="1m", limit=1)[0][4],
    }
    several = get(
        http, simulator, "/api/v3/ticker/price", symbols=symbols("BTCUSDT", "ETHUSDT")
    ).json()
    assert [t["symbol"] for t in several] == ["BTCUSDT", "ETHUSDT"]


def test_the_full_24h_ticker_has_binances_fields_and_types(
    simulator: ExchangeSimulator, http: requests.Session
) -> None:
    ticker = get(http, simulator, "/api/v3/ticker/24hr", symbol="BTCUSDT").json()
    assert set(ticker) == FULL_TICKER_KEYS
    assert all(isinstance(ticker[k], int) for k in FULL_TICKER_INTEGERS)
    assert all(isinstance(ticker[k], str) for k in FULL_TICKER_KEYS - FULL_TICKER_INTEGERS)
    minutes = klines(http, simulator, interval="1m", limit=1)
    assert ticker["lastPrice"] == minutes[-1][4]
    assert float(ticker["lowPrice"]) <= float(ticker["lastPrice"]) <= float(ticker["highPrice"])


def test_the_mini_24h_ticker_keeps_only_the_mini_fields(
    simulator: ExchangeSimulator, http: requests.Session
) -> None:
    tickers = get(
        http, simulator, "/api/v3/ticker/24hr", symbols=symbols("BTCUSDT", "XRPUSDT"), type="MINI"
    ).json()
    assert [set(t) for t in tickers] == [MINI_TICKER_KEYS, MINI_TICKER_KEYS]


def test_avg_price_reports_five_minutes(
    simulator: ExchangeSimulator, http: requests.Session, clock: ManualClock
) -> None:
    body = get(http, simulator, "/api/v3/avgPrice", symbol="ETHUSDT").json()
    assert (
        body["mins"] == 5 and isinstance(body["price"], str) and body["closeTime"] == clock.now_ms
    )


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("/api/v3/ticker/price", {"symbol": "btcusdt"}, -1100),
        ("/api/v3/ticker/price", {"symbol": "NOPEUSDT"}, -1121),
        ("/api/v3/ticker/price", {"symbols": '["BTCUSDT", "ETHUSDT"]'}, -1100),
        ("/api/v3/ticker/24hr", {"symbol": "BTCUSDT", "symbols": '["ETHUSDT"]'}, -1128),
        ("/api/v3/klines", {"symbol": "BTCUSDT", "interval": "7m"}, -1120),
        ("/api/v3/klines", {"interval": "1h"}, -1102),
        ("/api/v3/klines", {"symbol": "BTCUSDT", "interval": "1h", "limit": "2000"}, -1130),
    ],
)
def test_bad_requests_get_400_with_a_binance_error_body(
    simulator: ExchangeSimulator,
    http: requests.Session,
    path: str,
    params: dict[str, str],
    code: int,
) -> None:
    response = get(http, simulator, path, **params)
    assert response.status_code == 400
    assert response.json()["code"] == code and "X-MBX-USED-WEIGHT-1M" in response.headers


def test_an_unknown_symbol_is_invalid_symbol(
    simulator: ExchangeSimulator, http: requests.Session
) -> None:
    assert get(http, simulator, "/api/v3/klines", symbol="NOPEUSDT", interval="1h").json() == {
        "code": -1121,
        "msg": "Invalid symbol.",
    }


# -- series behaviour seen through the API ---------------------------------------------------


def test_two_simulators_with_the_same_seed_serve_the_same_candles(
    start_simulator: Callable[..., ExchangeSimulator], http: requests.Session
) -> None:
    first, second, other = (
        start_simulator(seed=11),
        start_simulator(seed=11),
        start_simulator(seed=12),
    )
    assert klines(http, first, "DOGEUSDT", limit=100) == klines(http, second, "DOGEUSDT", limit=100)
    assert klines(http, first, "DOGEUSDT", limit=100) != klines(http, other, "DOGEUSDT", limit=100)


def test_candles_advance_when_the_clock_moves(
    simulator: ExchangeSimulator, http: requests.Session, clock: ManualClock
) -> None:
    before = klines(http, simulator, limit=3)
    clock.advance(HOUR_MS / 1000)
    after = klines(http, simulator, limit=3)
    assert after[0] == before[1]
    assert after[1][0] == before[2][0] and after[1][4] != before[2][4]
    assert after[2][0] == before[2][0] + HOUR_MS


def test_the_real_sol_series_is_served_at_its_real_times(
    simulator: ExchangeSimulator, http: requests.Session
) -> None:
    rows = klines(
        http, simulator, "SOLREALUSDT", startTime=1_726_844_400_000, limit=2
    )  # 2024-09-20 15:00 UTC
    assert [row[1:5] for row in rows] == [
        ["147.81000000", "148.78000000", "146.61000000", "147.88000000"],
        ["147.88000000", "148.42000000", "147.16000000", "147.66000000"],
    ]


def test_a_csv_loaded_at_run_time_is_served(
    simulator: ExchangeSimulator, http: requests.Session, tmp_path: Path
) -> None:
    csv_file = tmp_path / "toy.csv"
    csv_file.write_text(
        "timestamp,Open,High,Low,Close,Volume\n2025-01-01,1,3,0.5,2,10\n2025-01-02,2,4,1.5,3,20\n"
    )
    simulator.load_csv_series("TOYUSDT", csv_file, "1d")
    rows = klines(http, simulator, "TOYUSDT", interval="1d", startTime=1_735_689_600_000, limit=2)
    assert [row[4] for row in rows] == ["2.00000000", "3.00000000"]


# -- request weight, 429 and 418 -------------------------------------------------------------


def test_the_weight_header_grows_and_restarts_each_minute(
    simulator: ExchangeSimulator, http: requests.Session, clock: ManualClock
) -> None:
    weights = [
        get(http, simulator, path).headers["x-mbx-used-weight-1m"]
        for path in ("/api/v3/ping", "/api/v3/exchangeInfo")
    ]
    assert weights == ["1", "21"]
    clock.advance(60)
    assert get(http, simulator, "/api/v3/ping").headers["X-MBX-USED-WEIGHT"] == "1"


def test_too_much_weight_is_a_429_then_ignoring_it_is_a_418_ban(
    start_simulator: Callable[..., ExchangeSimulator], http: requests.Session, clock: ManualClock
) -> None:
    sim = start_simulator(weight_limit_per_minute=2, ban_after_429s=2)
    statuses = [get(http, sim, "/api/v3/ping") for _ in range(5)]
    assert [r.status_code for r in statuses] == [200, 200, 429, 429, 418]
    assert statuses[2].json()["code"] == -1003 and statuses[2].headers["Retry-After"] == "50"
    assert statuses[4].json()["code"] == -1003 and statuses[4].headers["Retry-After"] == "120"
    clock.advance(121)
    assert get(http, sim, "/api/v3/ping").status_code == 200


# -- fault injection -------------------------------------------------------------------------


def test_a_5xx_fault_hits_only_its_endpoint_and_only_count_times(
    simulator: ExchangeSimulator, http: requests.Session
) -> None:
    simulator.inject("5xx", endpoint="/api/v3/klines", count=1)
    assert get(http, simulator, "/api/v3/ping").status_code == 200
    failed = get(http, simulator, "/api/v3/klines", symbol="BTCUSDT", interval="1h")
    assert failed.status_code == 503 and failed.json()["code"] == -1008
    assert (
        get(http, simulator, "/api/v3/klines", symbol="BTCUSDT", interval="1h").status_code == 200
    )


def test_a_slow_fault_delays_the_answer(
    simulator: ExchangeSimulator, http: requests.Session
) -> None:
    simulator.inject("slow", delay_s=0.3, count=1)
    started = time.monotonic()
    assert get(http, simulator, "/api/v3/ping").json() == {}
    assert time.monotonic() - started >= 0.3


def test_a_timeout_fault_outlasts_the_client_and_does_not_delay_stop(
    start_simulator: Callable[..., ExchangeSimulator],
) -> None:
    sim = start_simulator()
    sim.inject("timeout", delay_s=60, count=1)
    with requests.Session() as session, pytest.raises(requests.ReadTimeout):
        session.get(sim.base_url + "/api/v3/ping", timeout=0.3)
    started = time.monotonic()
    sim.stop()
    assert time.monotonic() - started < 2.0


def test_malformed_and_wrong_shape_faults_answer_200_with_unusable_bodies(
    simulator: ExchangeSimulator, http: requests.Session
) -> None:
    simulator.inject("malformed", count=1)
    simulator.inject("wrong_shape", count=1)
    malformed = get(http, simulator, "/api/v3/ticker/price", symbol="BTCUSDT")
    assert malformed.status_code == 200
    with pytest.raises(requests.JSONDecodeError):
        malformed.json()
    wrong = get(http, simulator, "/api/v3/ticker/price", symbol="BTCUSDT")
    assert wrong.status_code == 200 and "price" not in wrong.json()


@pytest.mark.parametrize(("mode", "status"), [("429", 429), ("418", 418)])
def test_injected_limits_carry_retry_after(
    simulator: ExchangeSimulator, http: requests.Session, mode: str, status: int
) -> None:
    simulator.inject(mode, retry_after_s=9, count=1)
    response = get(http, simulator, "/api/v3/time")
    assert (response.status_code, response.headers["Retry-After"], response.json()["code"]) == (
        status,
        "9",
        -1003,
    )


def test_a_disconnect_fault_hangs_up_without_an_answer(
    simulator: ExchangeSimulator, http: requests.Session
) -> None:
    simulator.inject("disconnect", count=1)
    with pytest.raises(requests.ConnectionError):
        get(http, simulator, "/api/v3/ping")
    assert get(http, simulator, "/api/v3/ping").status_code == 200


def test_faults_can_be_set_listed_and_cleared_over_http(
    simulator: ExchangeSimulator, http: requests.Session
) -> None:
    created = http.post(
        simulator.base_url + "/_sim/faults", json={"mode": "5xx", "status": 502}, timeout=TIMEOUT
    )
    assert created.status_code == 201 and created.json()["fault"]["status"] == 502
    gateway = get(http, simulator, "/api/v3/ping")
    assert gateway.status_code == 502 and gateway.headers["Content-Type"] == "text/html"
    assert len(http.get(simulator.base_url + "/_sim/faults", timeout=TIMEOUT).json()["faults"]) == 1
    assert http.delete(simulator.base_url + "/_sim/faults", timeout=TIMEOUT).json() == {
        "cleared": 1
    }
    assert get(http, simulator, "/api/v3/ping").status_code == 200


def test_one_fault_can_be_removed_by_id_over_http(
    simulator: ExchangeSimulator, http: requests.Session
) -> None:
    keep = simulator.inject("slow", delay_s=0.01)
    drop = simulator.inject("5xx")
    removed = http.delete(f"{simulator.base_url}/_sim/faults/{drop.id}", timeout=TIMEOUT)
    assert removed.json() == {"removed": True}
    assert [fault["id"] for fault in simulator.faults()] == [keep.id]
    missing = http.delete(f"{simulator.base_url}/_sim/faults/{drop.id}", timeout=TIMEOUT)
    assert missing.status_code == 404


@pytest.mark.parametrize("body", [b'{"endpoint": "*"}', b"[1, 2]", b"{not json"])
def test_a_fault_request_without_a_valid_object_is_a_400(
    simulator: ExchangeSimulator, http: requests.Session, body: bytes
) -> None:
    response = http.post(simulator.base_url + "/_sim/faults", data=body, timeout=TIMEOUT)
    assert response.status_code == 400 and response.json()["error"]


def test_reset_lifts_a_ban(
    start_simulator: Callable[..., ExchangeSimulator], http: requests.Session
) -> None:
    sim = start_simulator(weight_limit_per_minute=1, ban_after_429s=0)
    assert [get(http, sim, "/api/v3/ping").status_code for _ in range(2)] == [200, 418]
    assert http.post(sim.base_url + "/_sim/reset", timeout=TIMEOUT).json() == {"reset": "all"}
    assert get(http, sim, "/api/v3/ping").status_code == 200


def test_only_get_is_served_on_api_paths(
    simulator: ExchangeSimulator, http: requests.Session
) -> None:
    response = http.post(simulator.base_url + "/api/v3/ping", timeout=TIMEOUT)
    assert response.status_code == 405 and response.json()["code"] == -1000


def test_a_bad_fault_request_is_refused_with_a_reason(
    simulator: ExchangeSimulator, http: requests.Session
) -> None:
    response = http.post(
        simulator.base_url + "/_sim/faults", json={"mode": "meteor"}, timeout=TIMEOUT
    )
    assert response.status_code == 400 and "mode" in response.json()["error"]


def test_counters_count_requests_and_weight_per_endpoint_and_reset(
    simulator: ExchangeSimulator, http: requests.Session
) -> None:
    for _ in range(3):
        klines(http, simulator, limit=1)
    get(http, simulator, "/api/v3/ping")
    counters = http.get(simulator.base_url + "/_sim/counters", timeout=TIMEOUT).json()
    assert counters["requests"] == {"/api/v3/klines": 3, "/api/v3/ping": 1}
    assert counters["weight"] == {"/api/v3/klines": 6, "/api/v3/ping": 1}
    assert counters["statuses"] == {"200": 4}
    assert (
        http.post(simulator.base_url + "/_sim/counters/reset", timeout=TIMEOUT).status_code == 200
    )
    assert simulator.counters()["total_requests"] == 0


def test_concurrent_clients_are_all_counted(simulator: ExchangeSimulator) -> None:
    def ping_five_times() -> None:
        with requests.Session() as session:
            for _ in range(5):
                session.get(simulator.base_url + "/api/v3/ping", timeout=TIMEOUT).raise_for_status()

    workers = [threading.Thread(target=ping_five_times) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(TIMEOUT)
    assert simulator.counters()["requests"] == {"/api/v3/ping": 20}


# -- process entry point ---------------------------------------------------------------------


def test_the_command_line_entry_point_serves_until_terminated(http: requests.Session) -> None:
    with (
        subprocess.Popen(
            [sys.executable, "-m", "fakes.exchange.simulator", "--port", "0", "--seed", "5"],
            stdout=subprocess.PIPE,
            text=True,
        ) as process,
        ThreadPoolExecutor(max_workers=1) as reader,
    ):
        assert process.stdout is not None
        try:
            banner = reader.submit(process.stdout.readline).result(timeout=TIMEOUT)
        except FuturesTimeout:
            process.kill()  # unblocks the reader thread so the executor can shut down
            raise
        url = banner.rsplit(" ", 1)[1].strip()
        assert http.get(url + "/api/v3/ping", timeout=TIMEOUT).json() == {}
        process.terminate()
        assert process.wait(timeout=TIMEOUT) == 0
