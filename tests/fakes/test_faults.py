"""The fault model both fakes share: one book, each fake's schema for what a body may say."""

from __future__ import annotations

import pytest

from fakes.exchange.faults import EXCHANGE_FAULTS
from fakes.faults import FaultBook, FaultMode, FaultSchema
from fakes.telegram.rules import BOT_API_FAULTS

KLINES = "/api/v3/klines"


def test_each_fake_names_the_target_its_own_way_and_the_book_matches_it_exactly() -> None:
    book = FaultBook(BOT_API_FAULTS.target_key)
    rule = book.add(BOT_API_FAULTS.parse({"method": "sendMessage", "mode": "5xx"}))

    assert rule.target == "sendmessage" and rule.id == 1
    assert book.take("getme") is None
    assert book.active() == [{"id": 1, "method": "sendmessage", "mode": "5xx", "count": 1,
                              "skip": 0, "delay_s": 1.0, "retry_after_s": 1, "status": 500,
                              "remaining": 1}]
    assert book.take("sendmessage") == rule
    assert book.active() == []


def test_the_schemas_keep_each_fakes_defaults() -> None:
    exchange = EXCHANGE_FAULTS.parse({"mode": "429", "endpoint": KLINES})
    telegram = BOT_API_FAULTS.parse({"mode": "429"})

    assert (exchange.count, exchange.retry_after_s, exchange.target) == (None, 5, KLINES)
    assert (telegram.count, telegram.retry_after_s, telegram.target) == (1, 1, "*")
    assert EXCHANGE_FAULTS.parse({"mode": "418", "retry_after_s": None}).retry_after_s == 120
    assert BOT_API_FAULTS.parse({"mode": "drop"}).mode is FaultMode.DISCONNECT
    assert BOT_API_FAULTS.parse({"mode": "5xx", "status": 599}).status == 599


@pytest.mark.parametrize(
    ("schema", "body", "reason"),
    [
        (BOT_API_FAULTS, {"mode": "418"}, "mode must be one of"),
        (BOT_API_FAULTS, {"mode": "429", "retry_after_s": 0}, "retry_after_s must be"),
        (BOT_API_FAULTS, {"mode": "5xx", "status": 404}, "status must be a 5xx code"),
        (BOT_API_FAULTS, {"mode": "5xx", "endpoint": KLINES}, "unknown fields"),
        (EXCHANGE_FAULTS, {"mode": "drop"}, "mode must be one of"),
        (EXCHANGE_FAULTS, {"mode": "5xx", "method": "x"}, "unknown fields"),
        (EXCHANGE_FAULTS, {"mode": "5xx", "status": 501}, "status must be 500, 502, 503 or 504"),
    ],
)
def test_a_body_the_fake_cannot_carry_out_is_refused_with_a_reason(
    schema: FaultSchema, body: dict[str, object], reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        schema.parse(body)


def test_skip_count_and_removal_work_the_same_for_both_fakes() -> None:
    book = FaultBook(BOT_API_FAULTS.target_key)
    skipped = book.add(BOT_API_FAULTS.parse({"mode": "slow", "skip": 1, "count": None}))
    book.add(BOT_API_FAULTS.parse({"mode": "5xx"}))

    first, second = book.take("getme"), book.take("getme")

    assert first is not None and first.mode is FaultMode.SERVER_ERROR  # slow skipped once
    assert second is not None and second.mode is FaultMode.SLOW
    assert book.remove(skipped.id) and not book.remove(skipped.id)
    assert book.clear() == 0
