"""Real log lines carry the fields docs/events.md lists for them, under those names.

A market subtree against the exchange simulator is made to start, fail upstream until the
breaker opens, and shrink under memory pressure; every line it logs is rendered by the real
JSON formatter. The events not produced here are checked by ``tests/test_events_doc.py``.
"""

from __future__ import annotations

import json
import logging

from core.logs import JsonFormatter
from market.analysis import MarketUnavailable
from messages.system import MemoryPressure
from tests.events_doc import documented_events, missing_fields

PRODUCED_HERE = ("actor.started", "fetch.failed", "breaker.state_changed", "cache.shrunk",
                 "indicator.state_dropped")


def test_the_lines_a_failing_exchange_and_memory_pressure_produce_have_the_documented_fields(
        make_market, caplog) -> None:
    caplog.set_level(logging.INFO)
    market = make_market()
    assert market.access.analysis("btc", "1h").source == "exchange"  # type: ignore[union-attr]
    market.simulator.inject("5xx", endpoint="*", status=502)
    for symbol in ("eth", "sol", "xrp", "ada"):
        assert isinstance(market.access.analysis(symbol, "1h"), MarketUnavailable)
    assert market.breaker_state() == "open"
    pressure = MemoryPressure(level="critical", rss_mb=600.0, limit_mb=512.0,
                              target_fraction=0.5)
    for actor in ("cache", "indicator"):
        market.tree.address(actor).ask(pressure, timeout=5)

    formatter = JsonFormatter()
    lines = [json.loads(formatter.format(record)) for record in caplog.records]
    by_event: dict[str, list[dict[str, object]]] = {}
    for line in lines:
        by_event.setdefault(str(line["event"]), []).append(line)
    assert [event for event in PRODUCED_HERE if event not in by_event] == []
    documented = {d.event: d for d in documented_events()}
    wrong = [(event, missing) for event in PRODUCED_HERE for line in by_event[event]
             if (missing := missing_fields(documented[event], line))]
    assert wrong == []
