"""The simulator's fault rules, weight ledger and counters, tested as plain state."""

from __future__ import annotations

import json

import pytest

from fakes.exchange.faults import EXCHANGE_FAULTS, RequestCounters, WeightLedger, fault_action
from fakes.faults import FaultBook, FaultMode, FaultRule

MINUTE_START_S = 1_749_988_800.0
KLINES = "/api/v3/klines"
TICKER = "/api/v3/ticker/price"


def rule(**fields: object) -> FaultRule:
    return EXCHANGE_FAULTS.parse(fields)


# -- rules and the fault book ----------------------------------------------------------------


def test_a_rule_gets_mode_specific_defaults() -> None:
    assert rule(mode="slow").delay_s == 1.0
    assert rule(mode="timeout").delay_s == 30.0
    assert rule(mode="429").retry_after_s == 5
    assert rule(mode="418").retry_after_s == 120
    assert rule(mode="5xx").status == 503


@pytest.mark.parametrize(
    "fields",
    [
        {"mode": "explode"},
        {"mode": "5xx", "status": 404},
        {"mode": "slow", "delay_s": 500},
        {"mode": "slow", "delay_s": "soon"},
        {"mode": "5xx", "count": 0},
        {"mode": "5xx", "count": True},
        {"mode": "5xx", "endpoint": "/_sim/faults"},
        {"mode": "5xx", "colour": "red"},
    ],
)
def test_an_invalid_rule_is_refused_with_a_reason(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        EXCHANGE_FAULTS.parse(fields)


def test_a_counted_fault_hits_that_many_requests_then_disappears() -> None:
    book = FaultBook()
    book.add(rule(mode="5xx", count=2))
    assert [book.take(KLINES) is not None for _ in range(3)] == [True, True, False]
    assert book.active() == []


def test_a_fault_on_one_endpoint_leaves_the_others_alone() -> None:
    book = FaultBook()
    book.add(rule(mode="5xx", endpoint=KLINES))
    assert book.take(TICKER) is None
    assert book.take(KLINES) is not None


def test_skip_lets_the_first_requests_through() -> None:
    book = FaultBook()
    book.add(rule(mode="5xx", skip=2, count=1))
    assert [book.take(KLINES) is not None for _ in range(4)] == [False, False, True, False]


def test_the_earliest_matching_fault_wins_and_faults_can_be_removed_by_id() -> None:
    book = FaultBook()
    slow = book.add(rule(mode="slow"))
    book.add(rule(mode="5xx"))
    taken = book.take(KLINES)
    assert taken is not None and taken.mode is FaultMode.SLOW
    assert book.remove(slow.id)
    taken = book.take(KLINES)
    assert taken is not None and taken.mode is FaultMode.SERVER_ERROR
    assert book.clear() == 1


# -- what each fault puts on the wire --------------------------------------------------------


def test_server_errors_carry_binance_bodies_except_the_gateway_page() -> None:
    busy = fault_action(rule(mode="5xx", status=503), now_s=0, weight_limit=6000)
    assert busy.status == 503 and json.loads(busy.body)["code"] == -1008
    timeout = fault_action(rule(mode="5xx", status=504), now_s=0, weight_limit=6000)
    assert json.loads(timeout.body)["code"] == -1007
    gateway = fault_action(rule(mode="5xx", status=502), now_s=0, weight_limit=6000)
    assert gateway.content_type == "text/html" and b"Bad Gateway" in gateway.body


def test_malformed_cuts_the_json_and_wrong_shape_wraps_it() -> None:
    malformed = fault_action(rule(mode="malformed"), now_s=0, weight_limit=6000)
    wrong = fault_action(rule(mode="wrong_shape"), now_s=0, weight_limit=6000)
    assert malformed.rewrite_body is not None and wrong.rewrite_body is not None
    with pytest.raises(json.JSONDecodeError):
        json.loads(malformed.rewrite_body(b'{"price":"1.00"}'))
    assert json.loads(wrong.rewrite_body(b"[1,2]")) == {"unexpected": "shape", "data": [1, 2]}


def test_injected_limits_say_when_to_retry() -> None:
    limited = fault_action(rule(mode="429", retry_after_s=7), now_s=0, weight_limit=6000)
    banned = fault_action(rule(mode="418"), now_s=100, weight_limit=6000)
    assert (limited.status, limited.retry_after_s, json.loads(limited.body)["code"]) == (
        429,
        7,
        -1003,
    )
    assert (banned.status, banned.retry_after_s) == (418, 120)
    assert "220000" in json.loads(banned.body)["msg"]


def test_timeouts_hold_then_hang_up_and_slow_answers_hold_then_answer() -> None:
    assert fault_action(rule(mode="timeout", delay_s=2), now_s=0, weight_limit=1).drop_connection
    slow = fault_action(rule(mode="slow", delay_s=2), now_s=0, weight_limit=1)
    assert slow.delay_s == 2 and not slow.drop_connection and slow.status is None


# -- weight ledger ---------------------------------------------------------------------------


def test_weight_accumulates_within_a_minute_and_restarts_with_the_next() -> None:
    ledger = WeightLedger(limit=100)
    assert ledger.admit("ip", 20, MINUTE_START_S + 1).used_weight == 20
    assert ledger.admit("ip", 2, MINUTE_START_S + 59).used_weight == 22
    assert ledger.admit("ip", 2, MINUTE_START_S + 60).used_weight == 2


def test_weight_is_counted_per_ip() -> None:
    ledger = WeightLedger(limit=100)
    ledger.admit("a", 50, MINUTE_START_S)
    assert ledger.admit("b", 1, MINUTE_START_S).used_weight == 1


def test_going_over_the_limit_is_a_429_until_the_minute_ends_and_is_not_charged() -> None:
    ledger = WeightLedger(limit=10)
    ledger.admit("ip", 9, MINUTE_START_S)
    refused = ledger.admit("ip", 2, MINUTE_START_S + 45.5)
    assert (refused.status, refused.retry_after_s, refused.used_weight) == (429, 15, 9)
    assert ledger.admit("ip", 1, MINUTE_START_S + 46).status == 200


def test_ignoring_429s_gets_the_ip_banned_for_two_minutes_then_longer_each_time() -> None:
    ledger = WeightLedger(limit=1, ban_after_429s=2)
    now = MINUTE_START_S
    ledger.admit("ip", 1, now)
    assert [ledger.admit("ip", 1, now).status for _ in range(3)] == [429, 429, 418]
    assert ledger.admit("ip", 1, now + 119).status == 418
    assert ledger.admit("ip", 1, now + 119).retry_after_s == 1
    now += 120
    ledger.admit("ip", 1, now)
    statuses = [ledger.admit("ip", 1, now) for _ in range(3)]
    assert [s.status for s in statuses] == [429, 429, 418]
    assert statuses[-1].retry_after_s == 240


def test_counters_report_and_reset() -> None:
    counters = RequestCounters()
    counters.requests[KLINES] += 2
    counters.statuses["200"] += 2
    assert counters.snapshot()["total_requests"] == 2
    counters.reset()
    assert counters.snapshot() == {
        "total_requests": 0,
        "requests": {},
        "weight": {},
        "statuses": {},
        "faults": {},
    }
