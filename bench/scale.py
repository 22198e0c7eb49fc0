"""One instance vs two sharing one token: what a second `bot.py run` buys, and must not cost.

Each mode starts real `bot.py run` processes (fakes/scale/harness.py) on PostgreSQL and Redis
(real servers from the test extras, fakes/engines.py) against the fake Bot API and the exchange
simulator, and measures, in this order (so no phase warms another's data):

1. 40 users ask ``/price`` for one symbol nobody asked before, all at once: the upstream ticker
   calls the simulator counted (goal 1 with two instances: the shared single-flight of issue 16;
   baseline: one instance, whose in-process single-flight also gives 1);
2. cold ``/analysis`` over 50 symbols from 50 chats at once (CPU-bound: candles and indicators):
   commands/s and p95 from update to reply (goal: two instances at least as fast as one);
3. a burst of 300 commands from 100 chats: every command answered, none twice, 0 x 429 at the fake
   Bot API (the shared flood budgets), throughput against the global limit.

Both modes run as a bot with paid broadcasts (``TELEGRAM_GLOBAL_PER_S``): at Telegram's default
30 messages/s one token's replies are capped at the same rate whatever the instances.

The exchange simulator runs in this process and is primed first (``fakes/scale/primed.py``: a
throwaway instance asks for the 50 analyses, the simulator keeps each answer), so the measured
runs spend their CPU in the bots, not in generating candles; every measured run starts new
bot processes on a new database and an empty Redis, so the bots' caches are cold.

Each mode runs twice, alternating with the other (one, two, one, two), and the table shows the
mean rates and the worst counts. The same-run baseline of every two-instance figure is the
one-instance run. Until the issue-16 pieces are merged the instances ignore the URLs (each
polls on its own: answers come twice and nothing is shared), so ``--instances 1`` runs the
one-instance mode alone to check the plumbing.

Run: ``python -m bench --scale`` (opt-in, about 90 s; ``--scale 1`` for the one-instance
run alone) or ``python bench/scale.py [--instances 1]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import Row, print_table
from fakes.engines import PostgresEngine, RedisEngine, start_postgres, start_redis
from fakes.exchange.catalog import DEFAULT_SYMBOLS
from fakes.scale import asks as ask
from fakes.scale.asks import Ask
from fakes.scale.harness import Cluster
from fakes.scale.primed import PrimedSimulator
from fakes.telegram.rules import FloodRules

__all__ = ["ModeFigures", "run", "scale_rows"]

ANALYSIS_SYMBOLS = [spec.base_asset for spec in DEFAULT_SYMBOLS[:50]]
PRICE_SYMBOL = DEFAULT_SYMBOLS[52].base_asset
"""Asked by the 40 users; not among the 50 analysed, so cold in every mode."""
PRICE_USERS = 40
BURST_CHATS = 100
TELEGRAM_GLOBAL_PER_S = 300
"""The global limit of the measured runs, as for a bot with paid broadcasts, on both sides (the
bots' ``telegram_global_per_s`` and the fake Bot API). At Telegram's default 30/s both modes
would reply at the same capped rate and hide what a second instance's CPU buys; the per-chat
and per-group limits stay Telegram's."""
PHASE_TIMEOUT_S = 120.0
ROUNDS = 2
"""Runs of each mode, alternating (one, two, one, two): a busy 2-core machine is noisy."""
BENCH_ENV = {
    "CRYPTOBOT_LOG_LEVEL": "WARNING",
    "CRYPTOBOT_TELEGRAM_GLOBAL_PER_S": str(TELEGRAM_GLOBAL_PER_S),
    # 40 + 50 + 300 commands from distinct users: no user comes near the per-user limit, but
    # the bench should measure sharing, not limits.
    "CRYPTOBOT_USER_RATE_LIMIT_COUNT": "1000",
}


@dataclass(frozen=True, slots=True)
class ModeFigures:
    """What one mode (1 or 2 instances) measured."""

    instances: int
    ticker_calls: int
    """Upstream ticker requests while 40 users asked /price for one symbol."""
    analysis_per_s: float
    analysis_p95_ms: float
    burst_answered: int
    burst_total: int
    burst_twice: int
    """Asks of the burst answered more than once."""
    burst_429s: int
    burst_per_s: float


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def _reply_times(cluster: Cluster, asks: list[Ask]) -> list[float]:
    """For each answered ask, the fake Bot API's clock when its first answer was accepted."""
    return list(cluster.first_answered_at(asks).values())


def _price_phase(cluster: Cluster, first_chat: int) -> int:
    asks = [ask.price(first_chat + n, PRICE_SYMBOL) for n in range(PRICE_USERS)]
    cluster.exchange.reset_counters()
    cluster.send(asks)
    cluster.wait_answered(asks, PHASE_TIMEOUT_S)
    requests = cluster.exchange.counters()["requests"]
    assert isinstance(requests, dict)
    return sum(count for path, count in requests.items() if path.startswith("/api/v3/ticker"))


def _analysis_phase(cluster: Cluster, first_chat: int) -> tuple[float, float]:
    asks = [ask.analysis(first_chat + n, base) for n, base in enumerate(ANALYSIS_SYMBOLS)]
    started = time.monotonic()  # the fake's records use the same monotonic clock
    cluster.send(asks)
    cluster.wait_answered(asks, PHASE_TIMEOUT_S)
    times = _reply_times(cluster, asks)
    latencies = [(at - started) * 1000 for at in times]
    return len(asks) / (max(times) - started), percentile(latencies, 95)


def _burst_phase(cluster: Cluster, first_chat: int) -> tuple[int, int, int, int, float]:
    asks: list[Ask] = []
    for n in range(BURST_CHATS):
        chat = first_chat + n
        asks += [ask.price(chat), ask.help_card(chat), ask.price(chat, "ETH")]
    refused_before = cluster.too_many_requests()
    started = time.monotonic()
    cluster.send(asks)
    cluster.wait_answered(asks, PHASE_TIMEOUT_S)
    elapsed = max(_reply_times(cluster, asks)) - started
    cluster.barrier(first_chat + BURST_CHATS)  # late duplicates have arrived by now
    counts = cluster.answers(asks)
    answered = sum(1 for count in counts.values() if count >= 1)
    twice = sum(1 for count in counts.values() if count > 1)
    return (answered, len(asks), twice, cluster.too_many_requests() - refused_before,
            len(asks) / elapsed)


def prime(exchange: PrimedSimulator, scratch: Path) -> None:
    """One throwaway embedded instance asks what the measured runs will ask."""
    with Cluster(scratch / "prime", env=BENCH_ENV, given_exchange=exchange,
                 flood=FloodRules(global_calls=TELEGRAM_GLOBAL_PER_S)) as cluster:
        cluster.start_instances("bench-prime")
        cluster.wait_polling()
        wanted = [ask.analysis(50_000 + n, base) for n, base in enumerate(ANALYSIS_SYMBOLS)]
        wanted += [ask.price(49_998), ask.price(49_999, "ETH")]
        cluster.send(wanted)
        cluster.wait_answered(wanted, PHASE_TIMEOUT_S)


def measure_mode(instances: int, scratch: Path, postgres: PostgresEngine, redis: RedisEngine,
                 exchange: PrimedSimulator) -> ModeFigures:
    """Start ``instances`` bots on a fresh database and an empty Redis, run the three phases."""
    database_url = postgres.new_database("bench_scale")
    redis.flush()
    try:
        with Cluster(scratch / f"mode{instances}", database_url=database_url,
                     flood=FloodRules(global_calls=TELEGRAM_GLOBAL_PER_S),
                     redis_url=redis.url, env=BENCH_ENV, given_exchange=exchange) as cluster:
            cluster.start_instances(*(f"bench-{n + 1}" for n in range(instances)))
            cluster.wait_polling()
            ticker_calls = _price_phase(cluster, first_chat=100_000)
            per_s, p95 = _analysis_phase(cluster, first_chat=200_000)
            answered, total, twice, refused, burst_per_s = _burst_phase(cluster, 300_000)
    finally:
        postgres.drop_database(database_url)
    return ModeFigures(instances, ticker_calls, per_s, p95, answered, total, twice, refused,
                       burst_per_s)


def scale_rows(one: ModeFigures, two: ModeFigures | None) -> list[Row]:
    """The table: two instances against the one-instance baseline (or one alone, as today)."""
    subject = two or one
    base = one if two is not None else None
    who = f"{subject.instances} instance{'s' if subject.instances > 1 else ''}"

    def ratio(measured: float, baseline: float | None) -> float | None:
        return None if baseline in (None, 0) else measured / baseline

    rows = [
        Row(f"{PRICE_USERS} users /price {PRICE_SYMBOL} at once, {who}: upstream ticker calls",
            "1", float(subject.ticker_calls), "", None if base is None else base.ticker_calls,
            None, subject.ticker_calls == 1),
        Row(f"cold /analysis x{len(ANALYSIS_SYMBOLS)} symbols, {who}: commands/s",
            ">= one instance" if base else "(info)", subject.analysis_per_s, "/s",
            None if base is None else base.analysis_per_s,
            ratio(subject.analysis_per_s, None if base is None else base.analysis_per_s),
            base is None or subject.analysis_per_s >= base.analysis_per_s),
        Row(f"same, p95 update to reply, {who}", "(info)", subject.analysis_p95_ms, "ms",
            None if base is None else base.analysis_p95_ms,
            ratio(subject.analysis_p95_ms, None if base is None else base.analysis_p95_ms), True),
        Row(f"burst {subject.burst_total} commands / {BURST_CHATS} chats, {who}: answered",
            "all", float(subject.burst_answered), "", float(subject.burst_total),
            subject.burst_answered / subject.burst_total,
            subject.burst_answered == subject.burst_total),
        Row("same, commands answered more than once", "0", float(subject.burst_twice), "",
            None, None, subject.burst_twice == 0),
        Row("same, 429s from the fake Bot API (shared flood budget)", "0",
            float(subject.burst_429s), "", None if base is None else float(base.burst_429s),
            None, subject.burst_429s == 0),
        Row(f"same, throughput (the fake allows {TELEGRAM_GLOBAL_PER_S} messages/s)", "(info)",
            subject.burst_per_s,
            "/s", TELEGRAM_GLOBAL_PER_S, subject.burst_per_s / TELEGRAM_GLOBAL_PER_S, True),
    ]
    return rows


def run(instances: float = 2) -> list[Row]:
    """``instances`` 2: one-instance baseline then two instances; 1: the baseline alone
    (``python -m bench`` passes its section arguments as floats)."""
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as scratch_dir:
        scratch = Path(scratch_dir)
        exchange = PrimedSimulator().start()
        postgres = start_postgres(scratch / "postgres")
        redis = start_redis(scratch / "redis")
        try:
            prime(exchange, scratch)
            ones: list[ModeFigures] = []
            twos: list[ModeFigures] = []
            for round_ in range(ROUNDS):  # alternating, so both modes see the same machine load
                ones.append(measure_mode(1, scratch / f"r{round_}", postgres, redis, exchange))
                if instances >= 2:
                    twos.append(measure_mode(2, scratch / f"r{round_}", postgres, redis,
                                             exchange))
        finally:
            redis.stop()
            postgres.stop()
            exchange.stop()
    return scale_rows(combine(ones), combine(twos) if twos else None)


def combine(rounds: list[ModeFigures]) -> ModeFigures:
    """One mode over its rounds: mean rates and p95, the worst of the counts."""
    return ModeFigures(
        instances=rounds[0].instances,
        ticker_calls=max(r.ticker_calls for r in rounds),
        analysis_per_s=statistics.fmean(r.analysis_per_s for r in rounds),
        analysis_p95_ms=statistics.fmean(r.analysis_p95_ms for r in rounds),
        burst_answered=min(r.burst_answered for r in rounds),
        burst_total=rounds[0].burst_total,
        burst_twice=max(r.burst_twice for r in rounds),
        burst_429s=max(r.burst_429s for r in rounds),
        burst_per_s=statistics.fmean(r.burst_per_s for r in rounds),
    )


if __name__ == "__main__":
    import logging

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, choices=(1, 2), default=2,
                        help="2: one vs two instances (after the merge); 1: the plumbing alone")
    options = parser.parse_args()
    logging.disable(logging.WARNING)
    print_table("bench/scale.py: one instance vs two sharing one token", run(options.instances))
