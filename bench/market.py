"""The market data path against its goals, with same-run baselines.

- Cold and warm ``market_analysis`` latency (p50/p99) through the real actors, against the
  exchange simulator running in a separate process (so it does not share our GIL); baseline:
  the same two HTTP calls and indicator computation done directly, without actors or cache.
- 10,000 analyses over 20 symbols with Zipf popularity: cache hit rate (goal >= 95 %) and
  upstream calls per key per refresh period (goal <= 1: fetched once, then refreshed at most
  once per 0.75 TTL ahead of expiry).
- The 50-symbol stress test: 50 concurrent cold analyses vs 50 sequential ones.
- Indicators (from ``bench/indicators_bench.py``): full set vs TA-Lib, incremental update.

Run: ``python bench/market.py`` (after ``pip install -e '.[test]'``; TA-Lib is a test extra).
"""

from __future__ import annotations

import math
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests

from bench.report import Row, print_table
from bot import CryptoBot
from core.config import BotConfig
from market.binance import BinanceClient
from market.cache import CacheTtls, ttl_for
from market.indicator_set import compute_indicators
from fakes.exchange.catalog import DEFAULT_SYMBOLS
from market.weights import WeightBudget

__all__ = ["run"]

ZIPF_ANALYSES = 10_000
ZIPF_SYMBOLS = 20
ZIPF_EXPONENT = 1.1
COLD_SAMPLES = 60
WARM_SAMPLES = 2_000


@contextmanager
def simulator_process() -> Iterator[str]:
    """``python -m fakes.exchange.simulator`` on a free port; yields its base URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "fakes.exchange.simulator", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        url = first.rsplit(" ", 1)[-1].strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"simulator did not start: {first!r}")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def _timed(call: Callable[[], Any]) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


def _counters(url: str) -> dict[str, int]:
    with requests.Session() as session:
        data = session.get(f"{url}/_sim/counters", timeout=5).json()
    return {path: int(n) for path, n in data["requests"].items()}


def _latency_rows(bot: CryptoBot, url: str) -> list[Row]:
    symbols = [spec.symbol for spec in DEFAULT_SYMBOLS]
    keys = [(s, i) for i in ("1h", "4h", "15m", "1d") for s in symbols][:COLD_SAMPLES]
    bot.market_analysis("BTC")  # learn the symbol list first: not part of any one request
    cold = [_timed(partial(bot.market_analysis, s, i)) for s, i in keys]
    warm = [_timed(lambda: bot.market_analysis("BTC")) for _ in range(WARM_SAMPLES)]
    client = BinanceClient(
        [url], max_connections=4, connect_timeout_s=3, read_timeout_s=10,
        budget=WeightBudget(60_000, "sliding_window"),
    )

    def direct(symbol: str, interval: str) -> None:
        klines = client.klines(symbol, interval, limit=500)
        client.ticker_24h(symbol)
        compute_indicators(klines.closed())

    try:
        baseline = [_timed(partial(direct, s, i)) for s, i in keys]
    finally:
        client.close()
    cold50, base50 = statistics.median(cold), statistics.median(baseline)
    return [
        Row("cold analysis p50 (actors, cache miss)", "(info)", cold50, "ms", base50,
            cold50 / base50, True),
        Row("cold analysis p99", "(info)", _percentile(cold, 99), "ms",
            _percentile(baseline, 99), _percentile(cold, 99) / _percentile(baseline, 99), True),
        Row("warm analysis p50 (cache hit)", "(info)", statistics.median(warm), "ms", base50,
            statistics.median(warm) / base50, True),
        Row("warm analysis p99", "(info)", _percentile(warm, 99), "ms", None, None, True),
    ]


REFRESH_AHEAD_PERIOD = 0.75
"""Hot keys are refreshed in the last quarter of their TTL (``LayeredCache.due_for_refresh``)."""


def _zipf_rows(bot: CryptoBot, url: str, ttls: CacheTtls) -> list[Row]:
    symbols = [spec.symbol for spec in DEFAULT_SYMBOLS][-ZIPF_SYMBOLS:]
    weights = [1 / (rank**ZIPF_EXPONENT) for rank in range(1, ZIPF_SYMBOLS + 1)]
    rng = random.Random(2026)
    picks = rng.choices(symbols, weights, k=ZIPF_ANALYSES)
    # The calls counted are those between the two counter reads, so the periods are counted
    # over the same span. Timing only the loop left out the last counter read: a key
    # refreshed just after the run's start was refreshed again 0.75 TTL later, which on a
    # fast machine fell after the loop but before the read, one call more than the
    # periods allowed (1.05 = 21 calls / 20 keys, issue "Interactive speed").
    started = time.monotonic()
    before = _counters(url)
    sources: dict[str, int] = {}
    for symbol in picks:
        answer = bot.market_analysis(symbol)
        source = getattr(answer, "source", "unavailable")
        sources[source] = sources.get(source, 0) + 1
    after = _counters(url)
    elapsed = time.monotonic() - started
    hits = sources.get("cache", 0)
    hit_rate = hits / ZIPF_ANALYSES
    worst = 0.0
    for path, kind, interval in (("/api/v3/klines", "klines", "1h"),
                                 ("/api/v3/ticker/24hr", "ticker_24h", "")):
        calls = after.get(path, 0) - before.get(path, 0)
        # A hot key is fetched once, then refreshed ahead of expiry in the last quarter of
        # its TTL: at most 1 + elapsed / (0.75 TTL) calls per key, however many analyses.
        period = REFRESH_AHEAD_PERIOD * ttl_for(kind, interval, ttls)
        windows = ZIPF_SYMBOLS * (1 + math.floor(elapsed / period))
        worst = max(worst, calls / windows)
    return [
        Row(f"cache hit rate, {ZIPF_ANALYSES:,} Zipf analyses / {ZIPF_SYMBOLS} symbols",
            ">= 95 %", hit_rate * 100, "%", None, None, hit_rate >= 0.95),
        Row("upstream calls per key per refresh period (worst)", "<= 1.00", worst, "", None,
            None, worst <= 1.0),
    ]


def _set_latency(url: str, delay_s: float | None) -> None:
    """Give every simulator answer a network-like delay (None: back to instant answers)."""
    with requests.Session() as session:
        session.delete(f"{url}/_sim/faults", timeout=5).raise_for_status()
        if delay_s is not None:
            session.post(f"{url}/_sim/faults", json={"mode": "slow", "endpoint": "*",
                                                     "delay_s": delay_s}, timeout=5)


def _stress_rows(bot_factory: Callable[[], CryptoBot], url: str) -> list[Row]:
    """50 cold analyses of 50 symbols, concurrent vs sequential.

    Without added latency the simulator is CPU-bound (it builds every kline in Python on this
    same 2-core machine), so concurrency cannot help there; a real exchange is ~100 ms away,
    which the second pair of runs imitates.
    """
    symbols = [spec.symbol for spec in DEFAULT_SYMBOLS][:50]

    def cold_run(concurrent: bool) -> float:
        bot = bot_factory().start()
        try:
            bot.market_analysis("BTC", "1w")  # symbol list, not part of the measured run
            start = time.perf_counter()
            if concurrent:
                with ThreadPoolExecutor(50) as pool:
                    answers = list(pool.map(bot.market_analysis, symbols))
            else:
                answers = [bot.market_analysis(s) for s in symbols]
            elapsed = (time.perf_counter() - start) * 1000
            assert all(getattr(a, "indicators", None) is not None for a in answers)
            return elapsed
        finally:
            bot.stop()

    rows = []
    for delay_s, label in ((None, "no added latency"), (0.1, "100 ms exchange latency")):
        _set_latency(url, delay_s)
        concurrent, sequential = cold_run(True), cold_run(False)
        rows.append(Row(f"50 symbols concurrent vs sequential ({label})",
                        "(info)" if delay_s is None else "far below sequential", concurrent,
                        "ms", sequential, concurrent / sequential,
                        delay_s is None or concurrent < sequential / 2))
    _set_latency(url, None)
    return rows


def run() -> list[Row]:
    with simulator_process() as url:
        config = BotConfig().with_overrides(exchange_urls=(url,), lazy_indicator=False)

        def make() -> CryptoBot:
            return CryptoBot(config)

        bot = make().start()
        try:
            rows = _latency_rows(bot, url)
        finally:
            bot.stop()
        # A bot of its own: the latency run read every symbol, and a refresh of one of those
        # keys landing in the Zipf run counted as a call of the measured keys (the counters
        # are per endpoint, not per key). On a machine fast enough for the latency run to end
        # about 4 s (0.75 TTL plus a refresh tick) after its first reads, one did: 1.05.
        bot = make().start()
        try:
            bot.market_analysis("BTC", "1w")  # the symbol list, not part of the measured run
            rows += _zipf_rows(bot, url, CacheTtls.from_config(config))
        finally:
            bot.stop()
        rows += _stress_rows(make, url)
    return rows


if __name__ == "__main__":
    import logging

    from bench.indicators_bench import run as indicator_rows

    logging.disable(logging.WARNING)
    # Indicators are their own section in ``python -m bench``; this script still shows them.
    print_table("bench/market.py: the market data path", run() + indicator_rows())
