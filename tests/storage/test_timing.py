"""Query timings: percentiles per kind and an event for each slow query."""

from __future__ import annotations

import logging

import pytest

from storage.timing import QueryTimer


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_percentiles_are_per_kind_over_the_recent_window():
    timer = QueryTimer(slow_query_ms=1000.0, window=100)
    for ms in range(1, 201):
        timer.record("alerts_of", float(ms))
    timer.record("watchlist_of", 2.0)
    figures = timer.snapshot()
    assert figures["alerts_of"].count == 200  # all counted, the last 100 in the percentiles
    assert figures["alerts_of"].p50_ms == pytest.approx(150.5)
    assert figures["alerts_of"].p99_ms == pytest.approx(199.01)
    assert figures["watchlist_of"].p50_ms == 2.0


def test_measure_times_the_block_even_when_it_raises():
    clock = Clock()
    timer = QueryTimer(slow_query_ms=1000.0, clock=clock)
    with pytest.raises(KeyError), timer.measure("lookup"):
        clock.now += 0.003
        raise KeyError("x")
    assert timer.snapshot()["lookup"].p50_ms == pytest.approx(3.0)


def test_a_slow_query_is_counted_and_logged_as_an_event(caplog):
    timer = QueryTimer(slow_query_ms=5.0)
    with caplog.at_level(logging.WARNING):
        timer.record("fast", 4.0)
        timer.record("candles_between", 12.5, size=500)
    events = [r for r in caplog.records if getattr(r, "event", None) == "storage.slow_query"]
    assert len(events) == 1
    assert getattr(events[0], "fields") == {"kind": "candles_between", "elapsed_ms": 12.5,
                                            "threshold_ms": 5.0, "size": 500}
    assert dict(timer.stats())["candles_between"].slow == 1
    assert dict(timer.stats())["fast"].slow == 0
