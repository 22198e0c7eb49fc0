"""Pushed admin alerts, through the whole bot: real PTB against the fake Bot API, two exchange
simulators answering 500 to everything for a while, then well again. The admin's chat gets
exactly one "degraded / breaker open" message and one "recovered" message.

``CRYPTOBOT_E2E_FAULT_S`` makes the outage last that long (30 for the issue's run; by default
the faults are cleared as soon as the first alert arrived), and
``CRYPTOBOT_E2E_PRODUCTION_TIMINGS=1`` keeps the default sample interval and breaker waits.
The two messages, with the fake
Bot API's timestamps, are printed (``pytest -s`` shows them).
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from messages.ops import CheckAlerts
from tests.chaos.rig import ADMIN, ChaosRig

USER = 1000
WAIT_S = 90.0
FAULT_S = float(os.environ.get("CRYPTOBOT_E2E_FAULT_S", "0"))
PRODUCTION_TIMINGS = os.environ.get("CRYPTOBOT_E2E_PRODUCTION_TIMINGS") == "1"
"""The default sample interval (10 s) and breaker waits (3 s doubling to 30 s): slow, by hand."""


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[ChaosRig]:
    # A generous memory budget: this test is about the exchange, not the pytest process size.
    # Trials soon after the outage (the default doubles its wait up to 30 s after each failed
    # trial), so the test does not wait half a minute for the breaker to try again.
    timings = {} if PRODUCTION_TIMINGS else {
        "ops_alert_interval_s": 0.25, "breaker_reset_timeout_s": 0.5,
        "breaker_max_reset_timeout_s": 2.0}
    rig = ChaosRig(tmp_path, max_memory_mb=16_384, user_rate_limit_count=10_000,
                   **timings).start()
    yield rig
    rig.stop()


def alerts(rig: ChaosRig) -> list[tuple[float, str]]:
    texts = [(record.at, record.text or "") for record in rig.telegram.sent(chat_id=ADMIN)]
    return [(at, text) for at, text in texts
            if "cryptobot is" in text or "cryptobot recovered" in text]


def say(rig: ChaosRig, chat: int, text: str) -> str:
    """Send ``text`` as user ``chat`` and wait for the final (not "Working on it") answer."""
    before = len(rig.telegram.sent(chat_id=chat))

    def answered() -> str | None:
        records = rig.telegram.sent(chat_id=chat)[before:]
        finals = [r.text for r in records if r.text and "Working on it" not in r.text]
        return finals[-1] if finals else None
    rig.telegram.push_message(chat, chat, text)
    assert rig.telegram.wait_for(lambda: answered() is not None, WAIT_S), text
    return answered() or ""


def traffic_until(rig: ChaosRig, done: object, *, at_least_s: float = 0.0) -> None:
    """A user asking for prices, one command after another, until ``done()`` holds (and at
    least ``at_least_s`` have passed): the breaker only moves when calls go through it."""
    started = time.monotonic()
    deadline = started + WAIT_S + at_least_s
    for coin in itertools.cycle(("btc", "eth", "sol")):
        if done() and time.monotonic() - started >= at_least_s:  # type: ignore[operator]
            return
        assert time.monotonic() < deadline, alerts(rig)
        say(rig, USER, f"/price {coin}")


def test_an_exchange_outage_gives_the_admin_one_degraded_message_and_one_recovered(rig):
    assert "ok" in say(rig, ADMIN, "/health")  # the admin has started the bot
    for coin in ("btc", "eth", "sol"):  # stale answers exist to fall back on
        assert "USDT" in say(rig, USER, f"/price {coin}")
    assert alerts(rig) == []

    rig.exchange_fault("5xx", status=500)
    traffic_until(rig, lambda: len(alerts(rig)) >= 1, at_least_s=FAULT_S)
    rig.clear_exchange_faults()
    traffic_until(rig, lambda: len(alerts(rig)) >= 2)
    for _ in range(3):  # a few more samples, each waited for: nothing more to say
        assert rig.bot.address("ops_alerts").ask(CheckAlerts(), timeout=10.0) is None

    told = alerts(rig)
    to_wall = time.time() - time.monotonic()  # the fake stamps records on the monotonic clock
    for at, text in told:
        wall = at + to_wall
        print(f"\n--- {time.strftime('%H:%M:%S', time.gmtime(wall))}.{int(wall % 1 * 1000):03d}"
              f" UTC\n{text}")
    assert len(told) == 2, told
    (_, degraded), (_, recovered) = told
    assert "cryptobot is degraded" in degraded and "breaker" in degraded
    assert "/breaker" in degraded and "/mute" in degraded
    assert "cryptobot recovered" in recovered and "closed" in recovered


def test_mute_is_for_admins_says_until_when_refuses_nonsense_and_silences_the_next_alert(rig):
    assert "not available" in say(rig, USER, "/mute 2h")
    assert "not a duration" in say(rig, ADMIN, "/mute forever")
    assert "muted for 30 min, until" in say(rig, ADMIN, "/mute 30m")
    assert rig.bot.address("ops_alerts").ask(CheckAlerts(), timeout=10.0) is None
    rig.exchange_fault("5xx", status=500)
    traffic_until(rig, lambda: not rig.healthy())
    for _ in range(3):  # confirmed bad, but muted: held back
        assert rig.bot.address("ops_alerts").ask(CheckAlerts(), timeout=10.0) is None
    assert alerts(rig) == []
    assert "on again" in say(rig, ADMIN, "/mute off")
    # The held news comes first; a separate error-rate alert may follow it once enough failed
    # commands are counted, so wait for the first rather than for exactly one.
    traffic_until(rig, lambda: len(alerts(rig)) >= 1)
    assert "cryptobot is degraded" in alerts(rig)[0][1]


def test_the_slo_figures_reach_health_and_stats(rig):
    for coin in ("btc", "eth"):
        assert "USDT" in say(rig, USER, f"/price {coin}")
    assert "commands, 5 min: 100.0% ok of 2" in say(rig, ADMIN, "/health")
    stats = say(rig, ADMIN, "/stats")
    assert "SLO" in stats and "/price 2 · 100.0% · 0.0%" in stats
