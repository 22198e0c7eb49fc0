"""The alert sweep over a large book of mixed alerts (issue 15), for ``bench/storage.py``.

100,000 live alerts over 200 symbols: price levels, percent moves (a level measured from the
price when set), RSI(14) crossings on three intervals, and a quarter of each kind recurring
(re-armed after the condition clears, with a cool-down). A timed sweep is the database part of
``AlertsActor``'s (see :func:`timed_sweeps`): its reads, then one ``FireCrossedAlerts``
through the db_writer (expire, re-arm what cleared, fire what is reached, one transaction)
and a ``MarkNotified`` for what moved. The RSI values are inputs here: computing them (an
indicator refresh when a candle closes) is the indicator actor's work and is excluded, as the
goal says; how many indicator states the book needs is reported.

Prices creep up and each refreshed RSI takes a random step, so alerts fire, clear and re-arm
every sweep. Baseline, in the same run: load every live alert and evaluate every kind
in Python.
"""

from __future__ import annotations

import random
import sqlite3
import statistics
import time
from typing import Any

from messages.storage import AddAlert, FireCrossedAlerts, MarkNotified
from storage.read_pool import ReadPool
from supervision import request
from supervision.address import Address

__all__ = ["RSI_INTERVALS", "SweepFigures", "mixed_alerts", "naive_sweep_ms", "timed_sweeps"]

RSI_INTERVALS = ("15m", "1h", "4h")
_KINDS = ("price", "price", "percent", "percent", "rsi", "rsi", "rsi", "price")
"""Shares of the book: 3/8 price levels, 2/8 percent moves, 3/8 RSI crossings."""
_TIMEOUT_S = 60.0


def mixed_alerts(count: int, symbols: list[str], base: dict[str, float], users: int,
                 rng: random.Random) -> list[AddAlert]:
    """``count`` alerts of every kind spread over ``symbols``; none reached at ``base``."""
    alerts = []
    now = time.time()
    for n in range(count):
        symbol = symbols[n % len(symbols)]
        kind = _KINDS[(n // len(symbols)) % len(_KINDS)]
        above = rng.random() < 0.5
        fields: dict[str, Any] = {}
        if kind == "rsi":
            level = rng.uniform(70, 85) if above else rng.uniform(15, 30)
            fields["interval"] = RSI_INTERVALS[n % len(RSI_INTERVALS)]
        elif kind == "percent":
            percent = rng.uniform(1, 100) if above else -rng.uniform(1, 50)
            fields["base_price"] = base[symbol]
            level = base[symbol] * (1 + percent / 100)
        else:
            level = base[symbol] * (rng.uniform(1.01, 2.0) if above else rng.uniform(0.5, 0.99))
        recurring = n % 4 == 0
        alerts.append(AddAlert(
            request_id=f"m{n}", user_id=n % users + 1, chat_id=n % users + 1, symbol=symbol,
            direction="above" if above else "below", price=level, kind=kind,
            recurring=recurring, cooldown_s=3600.0 if recurring else 0.0,
            expires_at=now + 30 * 86_400 if n % 10 == 0 else None, **fields))
    return alerts


class SweepFigures:
    """What the timed sweeps measured."""

    def __init__(self) -> None:
        self.took_ms: list[float] = []
        self.full_pass_ms: list[float] = []
        self.fired = 0
        self.rearmed = 0
        self.rsi_states = 0

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.took_ms)


REFRESHES_PER_SWEEP = 16
"""``RsiTracker``'s bound: at most this many pairs recomputed per sweep (candle closes)."""
FULL_PASS_EVERY = 12
"""The actor passes every RSI value once a minute: every 12th sweep at the default 5 s."""


def timed_sweeps(writer: Address, pool: ReadPool, base: dict[str, float], sweeps: int,
                 rng: random.Random) -> SweepFigures:
    """Sweeps as ``AlertsActor`` runs them: the outbox read, the symbols, the newest alert id
    (``rsi_pairs`` again only when it changed), the next expiry, one ``FireCrossedAlerts``
    with every price and the RSI values refreshed this sweep (all of them every
    :data:`FULL_PASS_EVERY` sweeps), then ``MarkNotified`` for what moved."""
    figures = SweepFigures()
    rsi: dict[tuple[str, str], float] = {}
    pairs: tuple[tuple[str, str], ...] = ()
    newest_seen = -1
    for sweep in range(sweeps):
        drift = 1.0 + 0.0001 * sweep  # prices creep up: a few levels are reached per sweep
        started = time.perf_counter()
        pool.unnotified_alerts()
        symbols = pool.alert_symbols()
        newest = pool.newest_alert_id()
        if newest != newest_seen:
            pairs, newest_seen = pool.rsi_pairs(), newest
        pool.next_expiry()
        prices = tuple((symbol, base[symbol] * drift) for symbol in symbols)
        refreshed = tuple(pairs[(sweep * REFRESHES_PER_SWEEP + k) % len(pairs)]
                          for k in range(min(REFRESHES_PER_SWEEP, len(pairs))))
        for pair in refreshed:  # a closed candle moves its RSI a few points
            rsi[pair] = min(99.0, max(1.0, rsi.get(pair, 50.0) + rng.gauss(0, 4)))
        full = sweep % FULL_PASS_EVERY == 0
        values = tuple((symbol, interval, rsi.setdefault((symbol, interval), 50.0))
                       for symbol, interval in (pairs if full else refreshed))
        fired = request(writer, lambda reply_to: FireCrossedAlerts(
            prices=prices, rsi=values, fired_at=time.time(), reply_to=reply_to), _TIMEOUT_S)
        moved = tuple(alert.alert_id for alert in (*fired.alerts, *fired.expired))
        if moved:
            request(writer, lambda reply_to: MarkNotified(
                alert_ids=moved, notified_at=time.time(), reply_to=reply_to), _TIMEOUT_S)
        took = (time.perf_counter() - started) * 1000
        figures.took_ms.append(took)
        if full:
            figures.full_pass_ms.append(took)
        figures.fired += len(fired.alerts)
        figures.rearmed += fired.rearmed
        figures.rsi_states = max(figures.rsi_states, len(pairs))
    return figures


def naive_sweep_ms(pool: ReadPool, base: dict[str, float]) -> float:
    """Baseline: read every live alert and evaluate every kind in Python (no write)."""
    def load(conn: sqlite3.Connection) -> list[tuple[str, str, str, str | None, float]]:
        return conn.execute("SELECT kind, symbol, direction, interval, price FROM alerts"
                            " WHERE ended IS NULL AND fired_at IS NULL").fetchall()

    took = []
    for _ in range(5):
        started = time.perf_counter()
        rows = pool.run("naive", load)
        reached = 0
        for kind, symbol, direction, _interval, level in rows:
            value = 50.0 if kind == "rsi" else base[symbol]
            reached += value >= level if direction == "above" else value <= level
        took.append((time.perf_counter() - started) * 1000)
    return statistics.median(took)
