"""The fake Bot API's inline mode refuses what Telegram refuses and records what it accepts."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from telegram import Update

from fakes.telegram.bot_api import FakeBotApi
from fakes.telegram.inline import MAX_RESULTS, QUERY_LIMIT, InlineQueries, check_inline_results
from fakes.telegram.rules import BotApiError
from tests.fakes.telegram.conftest import call


def article(result_id: str = "a", text: str = "<b>BTC</b>", **extra: Any) -> dict[str, Any]:
    return {"type": "article", "id": result_id, "title": "BTC",
            "input_message_content": {"message_text": text, "parse_mode": "HTML"}, **extra}


def refusal(results: Any) -> str:
    with pytest.raises(BotApiError) as raised:
        check_inline_results(results)
    assert raised.value.status == 400
    return raised.value.description


def test_articles_are_recorded_with_their_message_and_description() -> None:
    (record,) = check_inline_results([article(description="65,000")])

    assert (record.result_id, record.type, record.title, record.description) == (
        "a", "article", "BTC", "65,000")
    assert (record.text, record.parse_mode, record.buttons) == ("<b>BTC</b>", "HTML", ())


@pytest.mark.parametrize(("results", "problem"), [
    ([article(str(n)) for n in range(MAX_RESULTS + 1)], "RESULTS_TOO_MUCH"),
    ([article("a"), article("a")], "RESULT_ID_DUPLICATE"),
    ([article("")], "RESULT_ID_INVALID"),
    ([article("x" * 65)], "RESULT_ID_INVALID"),
    ([{**article(), "title": " "}], "ARTICLE_TITLE_EMPTY"),
    ([{**article(), "type": "photo"}], "RESULT_TYPE_INVALID"),
    ([{**article(), "input_message_content": {}}], 'Can\'t find field "message_text"'),
    ([article(text="1 < 2")], "can't parse entities"),
    ([article(text="x" * 4097)], "message is too long"),
    ("not a list", "can't parse inline query results"),
])
def test_results_telegram_would_refuse_are_refused(results: Any, problem: str) -> None:
    assert problem in refusal(results)


def test_fifty_results_with_64_byte_ids_are_fine() -> None:
    results = [article(f"{n:02d}" + "x" * 62) for n in range(MAX_RESULTS)]

    assert len(check_inline_results(results)) == MAX_RESULTS


def test_a_pushed_query_is_an_update_python_telegram_bot_reads() -> None:
    queries = InlineQueries()
    query_id, inline = queries.new_query(7, "btc 4h", chat_type="group", username="ann")

    update = Update.de_json({"update_id": 1, "inline_query": inline}, None)

    assert update.inline_query is not None
    assert (update.inline_query.id, update.inline_query.query, update.inline_query.offset,
            update.inline_query.chat_type) == (query_id, "btc 4h", "", "group")
    assert update.inline_query.from_user.id == 7


def test_a_query_longer_than_telegram_sends_or_from_an_unknown_chat_type_is_a_test_bug() -> None:
    queries = InlineQueries()

    with pytest.raises(ValueError):
        queries.new_query(7, "x" * (QUERY_LIMIT + 1))
    with pytest.raises(ValueError):
        queries.new_query(7, "btc", chat_type="forum")


def test_a_query_is_answered_once_over_http_with_cache_time_and_is_personal(
        fake: FakeBotApi, http: httpx.Client) -> None:
    query_id = fake.push_inline_query(7, "btc")

    first = call(http, fake, "answerInlineQuery", inline_query_id=query_id,
                 results=[article()], cache_time=10, is_personal=True)
    again = call(http, fake, "answerInlineQuery", inline_query_id=query_id, results=[article()])
    unknown = call(http, fake, "answerInlineQuery", inline_query_id="404", results=[article()])

    assert first.json() == {"ok": True, "result": True}
    for refused in (again, unknown):
        assert refused.status_code == 400
        assert "query is too old" in refused.json()["description"]
    (answer,) = fake.inline_answers(7)
    assert (answer.query_id, answer.query, answer.cache_time, answer.is_personal) == (
        query_id, "btc", 10, True)


def test_cache_time_defaults_to_300_and_must_not_be_negative(
        fake: FakeBotApi, http: httpx.Client) -> None:
    first, second = fake.push_inline_query(7, "a"), fake.push_inline_query(7, "b")

    negative = call(http, fake, "answerInlineQuery", inline_query_id=first, results=[article()],
                    cache_time=-1)
    default = call(http, fake, "answerInlineQuery", inline_query_id=second, results=[article()])

    assert negative.status_code == 400 and default.status_code == 200
    assert [a.cache_time for a in fake.inline_answers()] == [300]


def test_reset_forgets_queries_and_answers(fake: FakeBotApi, http: httpx.Client) -> None:
    query_id = fake.push_inline_query(7, "btc")
    call(http, fake, "answerInlineQuery", inline_query_id=query_id, results=[article()])

    fake.reset()

    assert fake.inline_answers() == [] and fake.pending_updates() == 0


def test_the_control_api_pushes_inline_queries_and_lists_the_answers(
        fake: FakeBotApi, http: httpx.Client) -> None:
    pushed = http.post(f"{fake.control_url}/updates/inline",
                       json={"user_id": 7, "query": "btc", "chat_type": "group"})
    query_id = pushed.json()["inline_query_id"]
    call(http, fake, "answerInlineQuery", inline_query_id=query_id, results=[article()],
         cache_time=10)

    listed = http.get(f"{fake.control_url}/inline_answers", params={"user_id": 7}).json()
    bad = http.post(f"{fake.control_url}/updates/inline", json={"user_id": 7, "query": "x" * 257})

    assert pushed.status_code == 201 and bad.status_code == 400
    (answer,) = listed["answers"]
    assert (answer["query_id"], answer["query"], answer["cache_time"]) == (query_id, "btc", 10)
    assert answer["results"][0]["result_id"] == "a" and answer["results"][0]["buttons"] == []
