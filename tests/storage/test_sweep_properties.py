"""Property tests of the sweep's SQL against the rules in storage/alert_rules.py: for any level
and values, an armed alert fires exactly when ``reached`` says, and a fired recurring alert
re-arms exactly when ``cleared`` says - for price and RSI alerts alike."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from messages.storage import AddAlert, FireCrossedAlerts, MarkNotified
from storage.engine import Connection
from storage.alert_rules import cleared, reached
from storage.connection import open_writer
from storage.writes import WriteRules, add_alert, fire_crossed_alerts, mark_notified

NOW = 1_750_000_000.0
levels = st.floats(min_value=0.5, max_value=99.5)
values = st.floats(min_value=0.0, max_value=100.0)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def shared(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Connection]:
    """One migrated database per engine for every example (each starts by emptying the
    alerts)."""
    if request.param == "postgres":
        engine = request.getfixturevalue("postgres_engine")
        url = engine.new_database()
        conn = open_writer(url)
        yield conn
        conn.close()
        engine.drop_database(url)
        return
    conn = open_writer(Path(tmp_path_factory.mktemp("sweep")) / "bot.sqlite3")
    yield conn
    conn.close()


def sweep(conn: Connection, kind: str, value: float, at: float) -> tuple[int, int]:
    prices = (("BTCUSDT", value),) if kind == "price" else ()
    rsi = (("BTCUSDT", "1h", value),) if kind == "rsi" else ()
    result = fire_crossed_alerts(conn, FireCrossedAlerts(prices=prices, rsi=rsi, fired_at=at))
    return len(result.alerts), result.rearmed


@settings(max_examples=150, deadline=None)
@given(kind=st.sampled_from(["price", "rsi"]), direction=st.sampled_from(["above", "below"]),
       level=levels, first=values, second=values)
def test_the_sweep_fires_and_re_arms_exactly_as_the_rules_say(
    shared: Connection, kind: str, direction: str, level: float, first: float,
    second: float
) -> None:
    conn = shared
    conn.execute("DELETE FROM alerts")
    conn.execute("DELETE FROM alert_firings")
    saved = add_alert(conn, AddAlert(request_id="p", user_id=1, chat_id=1, symbol="BTCUSDT",
                                     direction=direction, price=level, kind=kind,
                                     interval="1h" if kind == "rsi" else None, recurring=True),
                      now=NOW, rules=WriteRules())
    assert saved.alert_id is not None
    if kind == "price" and first <= 0:
        return  # the sweep ignores a non-positive price, as it ignores a missing one
    fired, _ = sweep(conn, kind, first, NOW)
    assert fired == int(reached(direction, level, first))  # type: ignore[arg-type]
    if not fired:
        return
    mark_notified(conn, MarkNotified(alert_ids=(saved.alert_id,), notified_at=NOW))
    if kind == "price" and second <= 0:
        return
    _, rearmed = sweep(conn, kind, second, NOW + 1)
    assert rearmed == int(cleared(direction, level, second))  # type: ignore[arg-type]
