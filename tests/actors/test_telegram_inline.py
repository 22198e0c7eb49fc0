"""Inline queries through the transport: InlineQuery updates in, answerInlineQuery out, via the
real python-telegram-bot against the fake Bot API."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from typing import cast

import pytest
from telegram import Bot, Update
from telegram.ext import InlineQueryHandler, TypeHandler

from actors.telegram_inline import InlineAnswerer, inline_results
from actors.telegram_io import convert_update
from actors.telegram_loop import TelegramLoop, TransportTuning
from chat.cards_inline import answer_to, help_results, price_results, unknown_coin_results
from fakes.telegram.bot_api import FakeBotApi
from fakes.telegram.inline import check_inline_results
from market.errors import InvalidSymbolFormat, UnknownSymbol
from messages.inline import InlineAnswer, InlineArticle, InlineQueryReceived

TOKEN = "123456789:AAEhBP0av28ntIfnmYsaRgCc3dS5Xl0XvYs"
WAIT_S = 15.0


class Updates:
    """What the loop handed over, converted as the transport actor converts it."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.converted: list[object] = []

    def __call__(self, update: Update, received_at: float) -> None:
        with self.changed:
            self.converted.append(convert_update(update, received_at))
            self.changed.notify_all()

    def first(self) -> object:
        with self.changed:
            assert self.changed.wait_for(lambda: self.converted, WAIT_S), "no update arrived"
            return self.converted[0]


@pytest.fixture
def fake() -> Iterator[FakeBotApi]:
    with FakeBotApi(token=TOKEN) as server:
        yield server


@pytest.fixture
def updates() -> Updates:
    return Updates()


@pytest.fixture
def loop(fake: FakeBotApi, updates: Updates) -> Iterator[TelegramLoop]:
    running = TelegramLoop(token=TOKEN, api_url=fake.base_url, on_update=updates,
                           on_failed=lambda failed: None,
                           tuning=TransportTuning(lifecycle_timeout_s=10.0))
    running.start()
    try:
        yield running
    finally:
        running.stop()


def answer(query_id: str, html: str = "<b>BTCUSDT</b> 65,000.00") -> InlineAnswer:
    article = InlineArticle(result_id="price:BTCUSDT", title="BTCUSDT 65,000.00",
                            description="24h range", html=html)
    return InlineAnswer(request_id="r1", query_id=query_id, results=(article,),
                        cache_time_s=10, is_personal=False)


def test_an_inline_query_reaches_the_conversation_as_a_query_received(
        fake: FakeBotApi, loop: TelegramLoop, updates: Updates) -> None:
    query_id = fake.push_inline_query(7, "btc 4h", chat_type="supergroup")

    received = updates.first()
    assert isinstance(received, InlineQueryReceived)
    assert (received.query_id, received.user_id, received.query, received.chat_type,
            received.offset) == (query_id, 7, "btc 4h", "supergroup", "")
    assert received.request_id and received.received_at > 0


def test_inline_queries_are_taken_by_ptbs_inline_query_handler_before_the_catch_all(
        fake: FakeBotApi, loop: TelegramLoop, updates: Updates) -> None:
    app = loop._app  # the test looks at how the running application dispatches
    assert app is not None
    first, *rest = app.handlers[0]
    assert isinstance(first, InlineQueryHandler) and rest and isinstance(rest[0], TypeHandler)
    inline_update = Update.de_json({"update_id": 1, "inline_query": {
        "id": "q", "from": {"id": 8, "is_bot": False, "first_name": "U"}, "query": "eth",
        "offset": ""}}, app.bot)
    assert first.check_update(inline_update)
    fake.push_inline_query(8, "eth")  # and a live one arrives through it
    assert isinstance(updates.first(), InlineQueryReceived)


def test_an_answer_is_sent_once_as_articles_with_its_cache_time(
        fake: FakeBotApi, loop: TelegramLoop) -> None:
    query_id = fake.push_inline_query(7, "btc")

    loop.answer_inline(answer(query_id))

    assert fake.wait_for(lambda: len(fake.inline_answers(7)) == 1, WAIT_S)
    (sent,) = fake.inline_answers(7)
    (result,) = sent.results
    assert (sent.query_id, sent.cache_time, sent.is_personal) == (query_id, 10, False)
    assert (result.result_id, result.title, result.description) == (
        "price:BTCUSDT", "BTCUSDT 65,000.00", "24h range")
    assert (result.text, result.parse_mode) == ("<b>BTCUSDT</b> 65,000.00", "HTML")


def test_html_telegram_cannot_parse_is_sent_again_as_plain_text(
        fake: FakeBotApi, loop: TelegramLoop) -> None:
    query_id = fake.push_inline_query(7, "btc")

    loop.answer_inline(answer(query_id, html="1 < 2 <b>bold"))

    assert fake.wait_for(lambda: len(fake.inline_answers(7)) == 1, WAIT_S)
    (result,) = fake.inline_answers(7)[0].results
    assert result.parse_mode is None and result.text == "1 < 2 bold"


class Unanswered(logging.Handler):
    """Sets ``seen`` when the transport logs an inline answer it could not give."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen = threading.Event()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())
        if "telegram.inline_unanswered" in record.getMessage():
            self.seen.set()


def test_an_answer_telegram_refuses_is_logged_without_the_token_and_not_retried(
        fake: FakeBotApi, loop: TelegramLoop) -> None:
    query_id = fake.push_inline_query(7, "btc")
    loop.answer_inline(answer(query_id))
    assert fake.wait_for(lambda: len(fake.inline_answers(7)) == 1, WAIT_S)
    handler = Unanswered()
    logging.getLogger("actors.telegram_inline").addHandler(handler)
    try:
        loop.answer_inline(answer(query_id))  # a second answer to the same query
        assert handler.seen.wait(WAIT_S)
    finally:
        logging.getLogger("actors.telegram_inline").removeHandler(handler)

    (refused,) = [c for c in fake.calls("answerInlineQuery") if c.status == 400]
    assert "query is too old" in (refused.description or "")
    logged = "\n".join(handler.lines)
    assert "query is too old" in logged.lower() and TOKEN.split(":")[1] not in logged


GARBAGE = ["<b>", "&amp;", "x" * 256, "💰🚀", "\u202egnp.exe", "a<b>c</i>", '"quoted"', "%s{0}"]


@pytest.mark.parametrize("typed", GARBAGE)
def test_whatever_is_typed_the_results_pass_telegrams_rules(typed: str) -> None:
    query = InlineQueryReceived(request_id="r1", query_id="q1", user_id=7, query=typed)
    answers = [
        answer_to(query, price_results([], [(typed, f"not a coin: {typed}")])),
        answer_to(query, unknown_coin_results(UnknownSymbol(typed, (typed[:20],)))),
        answer_to(query, unknown_coin_results(InvalidSymbolFormat(typed, typed))),
        answer_to(query, help_results(f"At most 5 coins, not {typed}")),
    ]

    for sent in answers:
        results = [result.to_dict() for result in inline_results(sent)]
        assert [r.result_id for r in check_inline_results(results)] == [
            a.result_id for a in sent.results]


class StuckBot:
    """A Bot whose answerInlineQuery calls hang until released (a slow Telegram)."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = asyncio.Event()
        self.called = asyncio.Event()

    async def answer_inline_query(self, *args: object, **kwargs: object) -> bool:
        self.calls += 1
        self.called.set()
        await self.release.wait()
        return True


def test_answers_in_flight_are_bounded_for_all_users_together_the_excess_is_dropped_and_logged(
        caplog: pytest.LogCaptureFixture) -> None:
    """Lookups are bounded at the workers, but every answer was its own task on the loop: a
    crowd typing while Telegram is slow piled up tasks (and help answers need no worker)."""
    async def scenario() -> tuple[int, int]:
        bot = StuckBot()
        answerer = InlineAnswerer(max_in_flight=3, redact=str)
        tasks = [asyncio.create_task(answerer.answer(cast(Bot, bot), answer(f"q{n}")))
                 for n in range(10)]
        await asyncio.wait_for(asyncio.gather(*tasks[3:]), WAIT_S)  # dropped: done at once
        calls_while_stuck = bot.calls
        bot.release.set()
        await asyncio.wait_for(asyncio.gather(*tasks[:3]), WAIT_S)
        await asyncio.wait_for(answerer.answer(cast(Bot, bot), answer("later")), WAIT_S)
        return calls_while_stuck, bot.calls

    with caplog.at_level(logging.WARNING, logger="actors.telegram_inline"):
        calls_while_stuck, calls = asyncio.run(scenario())

    assert calls_while_stuck == 3 and calls == 4
    dropped = [r for r in caplog.records if "telegram.inline_unanswered" in r.getMessage()]
    assert len(dropped) == 7 and all("in flight" in r.getMessage() for r in dropped)
