"""The fake Bot API behaves like Telegram: its rules, its wire format, its faults, its controls."""

from __future__ import annotations

import logging
import threading
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from fakes.faults import FaultBook
from fakes.telegram import state as fake_state
from fakes.telegram.bot_api import FakeBotApi, FloodRules
from fakes.telegram.rules import (
    BOT_API_FAULTS,
    BotApiError,
    FloodControl,
    check_callback_answer,
    check_caption,
    check_commands,
    check_text,
    keyboard_rows,
    parse_html,
)

from tests.fakes.telegram.conftest import TOKEN, call
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000002000000030806000000"
    "1f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082"
)


def description(error: pytest.ExceptionInfo[BotApiError]) -> str:
    return error.value.description


# -- rules ----------------------------------------------------------------------------------------


def test_html_with_allowed_tags_and_entities_parses_to_its_visible_text() -> None:
    text = ('<b>BTC</b> &lt;up&gt; &amp; <a href="https://x">link</a> &#8364; '
            "<pre><code>x</code></pre>")

    assert parse_html(text) == "BTC <up> & link € x"


def test_an_ampersand_that_starts_no_entity_is_taken_literally() -> None:
    assert parse_html("AT&T &nbsp;") == "AT&T &nbsp;"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("<div>x</div>", 'Unsupported start tag "div" at byte offset 0'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("é<br>", 'Unsupported start tag "br" at byte offset 2'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b", "Unclosed start tag at byte offset 0"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ],
)
def test_bad_html_is_rejected_like_telegram_does(text: str, problem: str) -> None:
    with pytest.raises(BotApiError) as raised:
        parse_html(text)

    assert raised.value.status == 400
    assert description(raised) == f"Bad Request: can't parse entities: {problem}"


def test_the_length_limit_counts_visible_text_not_tags() -> None:
    assert len(check_text("<b>" + "x" * 4096 + "</b>", "HTML")) == 4096
    with pytest.raises(BotApiError) as raised:
        check_text("x" * 4097, None)
    assert description(raised) == "Bad Request: message is too long"


def test_empty_texts_and_long_captions_and_answers_are_refused() -> None:
    with pytest.raises(BotApiError, match="message text is empty"):
        check_text("<b> </b>", "HTML")
    with pytest.raises(BotApiError, match="message caption is too long"):
        check_caption("y" * 1025, None)
    with pytest.raises(BotApiError, match="MESSAGE_TOO_LONG"):
        check_callback_answer("z" * 201)
    assert check_caption(None, "HTML") == ""


def test_callback_data_may_have_64_bytes_but_not_65() -> None:
    fits = {"inline_keyboard": [[{"text": "ok", "callback_data": "é" * 32}]]}
    too_long = {"inline_keyboard": [[{"text": "no", "callback_data": "é" * 32 + "x"}]]}

    assert keyboard_rows(fits) == ((("ok", "é" * 32),),)
    with pytest.raises(BotApiError) as raised:
        keyboard_rows(too_long)
    assert description(raised) == "Bad Request: BUTTON_DATA_INVALID"


def test_menu_commands_follow_telegrams_naming_rules() -> None:
    assert check_commands([{"command": "price", "description": "Price"}]) == (("price", "Price"),)
    with pytest.raises(BotApiError, match="BOT_COMMAND_INVALID"):
        check_commands([{"command": "Price!", "description": "x"}])
    with pytest.raises(BotApiError, match="BOT_COMMAND_DESCRIPTION_INVALID"):
        check_commands([{"command": "price", "description": ""}])


def test_one_chat_gets_a_small_burst_then_one_message_a_second() -> None:
    flood = FloodControl(FloodRules())

    admitted = [flood.admit(1, is_group=False, is_message=True, now=0.0) for _ in range(4)]

    assert admitted == [None, None, None, 1]
    assert flood.admit(1, is_group=False, is_message=True, now=1.0) is None
    assert flood.admit(2, is_group=False, is_message=True, now=1.0) is None  # another chat


def test_a_group_gets_twenty_messages_a_minute() -> None:
    flood = FloodControl(FloodRules())
    times = [n * 1.0 for n in range(20)]

    assert all(flood.admit(-5, is_group=True, is_message=True, now=t) is None for t in times)
    assert flood.admit(-5, is_group=True, is_message=True, now=20.0) == 40
    assert flood.admit(-5, is_group=True, is_message=True, now=60.0) is None


def test_the_bursts_are_configurable_per_chat_kind_and_refill_at_the_sustained_rate() -> None:
    flood = FloodControl(FloodRules(chat_burst=5, group_burst=2))

    private = [flood.admit(1, is_group=False, is_message=True, now=0.0) for _ in range(6)]
    group = [flood.admit(-1, is_group=True, is_message=True, now=0.0) for _ in range(3)]

    assert private == [None] * 5 + [1]
    assert group == [None, None, 1]
    assert flood.admit(1, is_group=False, is_message=True, now=0.5) == 1  # half a token
    assert flood.admit(1, is_group=False, is_message=True, now=1.0) is None
    assert flood.admit(1, is_group=False, is_message=False, now=1.0) is None  # edits: global only


def test_the_bot_gets_thirty_calls_a_second_over_all_chats() -> None:
    flood = FloodControl(FloodRules())

    assert all(flood.admit(c, is_group=False, is_message=False, now=0.5) is None for c in range(30))
    assert flood.admit(99, is_group=False, is_message=True, now=0.5) == 1


def test_a_fault_fires_count_times_on_its_method_only() -> None:
    book = FaultBook()
    book.add(BOT_API_FAULTS.parse({"method": "sendMessage", "mode": "5xx", "count": 2}))

    assert book.take("getMe") is None
    assert [book.take("sendmessage") is not None for _ in range(3)] == [True, True, False]
    with pytest.raises(ValueError, match="mode must be one of"):
        BOT_API_FAULTS.parse({"mode": "explode"})


# -- over HTTP ------------------------------------------------------------------------------------


def result(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ok"] is True
    return body["result"]


def test_get_me_answers_an_empty_post_with_the_fields_ptb_needs(
    fake: FakeBotApi, http: httpx.Client
) -> None:
    me = result(http.post(f"{fake.base_url}{TOKEN}/getMe"))

    assert {"id", "is_bot", "first_name", "username"} <= set(me)
    assert me["id"] == 123456789 and me["is_bot"] is True


def test_a_wrong_token_is_unauthorized_and_an_unknown_method_not_found(
    fake: FakeBotApi, http: httpx.Client
) -> None:
    wrong = http.post(f"{fake.base_url}123:wrong/getMe")
    unknown = call(http, fake, "sendTelepathy")

    assert (wrong.status_code, wrong.json()) == (
        401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    assert (unknown.status_code, unknown.json()["description"]) == (404, "Not Found")


def test_message_ids_grow_per_chat_and_messages_echo_the_visible_text(
    fake: FakeBotApi, http: httpx.Client
) -> None:
    first = result(call(http, fake, "sendMessage", chat_id=1, text="<b>a</b>", parse_mode="HTML"))
    second = result(call(http, fake, "sendMessage", chat_id=1, text="b"))
    other = result(http.post(f"{fake.base_url}{TOKEN}/sendMessage",
                             json={"chat_id": 2, "text": "c"}))

    assert [first["message_id"], second["message_id"], other["message_id"]] == [1, 2, 1]
    assert first["text"] == "a" and first["chat"]["id"] == 1
    assert [record.text for record in fake.sent()] == ["<b>a</b>", "b", "c"]


def test_editing_without_a_change_is_not_modified_and_a_missing_message_not_found(
    fake: FakeBotApi, http: httpx.Client
) -> None:
    markup = {"inline_keyboard": [[{"text": "R", "callback_data": "r"}]]}
    sent = result(call(http, fake, "sendMessage", chat_id=1, text="x", reply_markup=markup))

    same = call(http, fake, "editMessageText", chat_id=1, message_id=sent["message_id"], text="x",
                reply_markup=markup)
    missing = call(http, fake, "editMessageText", chat_id=1, message_id=77, text="y")
    changed = call(http, fake, "editMessageText", chat_id=1, message_id=sent["message_id"],
                   text="y")

    assert same.status_code == 400
    assert same.json()["description"] == (
        "Bad Request: message is not modified: specified new message content and reply markup "
        "are exactly the same as a current content and reply markup of the message")
    assert missing.json()["description"] == "Bad Request: message to edit not found"
    assert result(changed)["text"] == "y"


def test_a_photo_upload_is_read_from_multipart(fake: FakeBotApi, http: httpx.Client) -> None:
    response = http.post(f"{fake.base_url}{TOKEN}/sendPhoto",
                         data={"chat_id": "5", "caption": "<i>c</i>", "parse_mode": "HTML"},
                         files={"photo": ("chart.png", PNG, "image/png")})

    message = result(response)
    assert (message["photo"][0]["width"], message["photo"][0]["height"]) == (2, 3)
    assert message["caption"] == "c"
    assert fake.sent(5)[0].photo_bytes == len(PNG)


def test_a_callback_query_can_be_answered_once(fake: FakeBotApi, http: httpx.Client) -> None:
    callback_id = fake.push_callback(3, 9, 1, "refresh")

    first = call(http, fake, "answerCallbackQuery", callback_query_id=callback_id, text="ok")
    again = call(http, fake, "answerCallbackQuery", callback_query_id=callback_id)

    assert result(first) is True
    assert again.status_code == 400
    assert fake.sent(3)[0].callback_query_id == callback_id


def test_get_updates_honours_offset_and_limit_and_marks_commands(
    fake: FakeBotApi, http: httpx.Client
) -> None:
    ids = [fake.push_message(1, 2, text) for text in ("/price btc", "hello", "/top")]

    first_two = result(call(http, fake, "getUpdates", limit=2))
    after = result(call(http, fake, "getUpdates", offset=ids[1] + 1))

    assert [u["update_id"] for u in first_two] == ids[:2]
    assert first_two[0]["message"]["entities"] == [
        {"type": "bot_command", "offset": 0, "length": 6}]
    assert "entities" not in first_two[1]["message"]
    assert [u["message"]["text"] for u in after] == ["/top"]
    assert fake.pending_updates() == 1


def test_a_long_poll_returns_as_soon_as_an_update_arrives(
    fake: FakeBotApi, http: httpx.Client
) -> None:
    answers: list[Any] = []
    poller = threading.Thread(target=lambda: answers.append(
        result(call(http, fake, "getUpdates", timeout=30))))
    poller.start()
    assert fake.wait_for(lambda: fake.polling() == 1, 5)

    fake.push_message(1, 2, "wake up")
    poller.join(10)

    assert not poller.is_alive()
    assert answers[0][0]["message"]["text"] == "wake up"


def test_the_most_long_polls_held_at_once_is_remembered_until_a_reset(
    fake: FakeBotApi
) -> None:
    """Several instances sharing a token must poll one at a time: the fake says if they did not."""
    with httpx.Client(timeout=10.0) as first, httpx.Client(timeout=10.0) as second:
        pollers = [threading.Thread(target=call, args=(client, fake, "getUpdates"),
                                    kwargs={"timeout": 30}) for client in (first, second)]
        for poller in pollers:
            poller.start()
        assert fake.wait_for(lambda: fake.polling() == 2, 5)
        fake.push_message(1, 2, "wake up")
        for poller in pollers:
            poller.join(10)

    assert fake.most_polling() == 2 and fake.polling() == 0
    fake.reset()
    assert fake.most_polling() == 0


def test_stop_is_prompt_even_with_a_long_poll_held(http: httpx.Client) -> None:
    fake = FakeBotApi(token=TOKEN).start()
    answers: list[object] = []

    def poll() -> None:
        try:
            answers.append(result(call(http, fake, "getUpdates", timeout=45)))
        except httpx.HTTPError as error:  # cut by the stop: also prompt
            answers.append(error)

    poller = threading.Thread(target=poll)
    poller.start()
    assert fake.wait_for(lambda: fake.polling() == 1, 5)

    fake.stop(timeout_s=5)
    poller.join(10)

    assert not poller.is_alive()
    assert answers == [[]]


def test_get_updates_conflicts_with_a_webhook(fake: FakeBotApi, http: httpx.Client) -> None:
    result(call(http, fake, "setWebhook", url="https://example.org/hook"))

    conflict = call(http, fake, "getUpdates")
    result(call(http, fake, "deleteWebhook"))

    assert conflict.status_code == 409
    assert result(call(http, fake, "getUpdates")) == []


def test_flooding_one_chat_gets_429_with_retry_after(fake: FakeBotApi, http: httpx.Client) -> None:
    responses = [call(http, fake, "sendMessage", chat_id=8, text=f"m{n}") for n in range(5)]

    flooded = [r for r in responses if r.status_code == 429]
    assert flooded, "five messages at once to one chat must be throttled"
    body = flooded[0].json()
    assert body["description"].startswith("Too Many Requests: retry after ")
    assert body["parameters"]["retry_after"] == int(flooded[0].headers["Retry-After"]) >= 1
    assert fake.too_many_requests_count() == len(flooded)


def test_without_limits_a_burst_is_never_throttled(http: httpx.Client) -> None:
    with FakeBotApi(token=TOKEN, enforce_limits=False) as fake:
        statuses = {call(http, fake, "sendMessage", chat_id=8, text="m").status_code
                    for _ in range(10)}

    assert statuses == {200}


def test_injected_faults_answer_429_5xx_or_drop_the_connection(
    fake: FakeBotApi, http: httpx.Client
) -> None:
    fake.inject("sendMessage", "429", retry_after_s=7)
    fake.inject("sendMessage", "5xx", status=502)
    fake.inject("sendMessage", "drop")
    fake.inject("getMe", "slow", delay_s=0.05)

    throttled = call(http, fake, "sendMessage", chat_id=1, text="a")
    broken = call(http, fake, "sendMessage", chat_id=1, text="a")
    with pytest.raises(httpx.RemoteProtocolError):
        call(http, fake, "sendMessage", chat_id=1, text="a")
    slow = http.post(f"{fake.base_url}{TOKEN}/getMe")

    assert throttled.json()["parameters"] == {"retry_after": 7}
    assert broken.status_code == 502
    assert slow.status_code == 200
    assert [(c.status, c.fault) for c in fake.calls("sendMessage")] == [
        (429, "429"), (502, "5xx"), (0, "disconnect")]
    assert fake.faults() == []


def test_bad_chat_actions_and_commands_are_rejected(fake: FakeBotApi, http: httpx.Client) -> None:
    assert call(http, fake, "sendChatAction", chat_id=1, action="dancing").status_code == 400
    assert result(call(http, fake, "sendChatAction", chat_id=1, action="typing")) is True
    commands = [{"command": "price", "description": "Price of a coin"}]
    assert result(call(http, fake, "setMyCommands", commands=commands)) is True
    assert result(call(http, fake, "getMyCommands")) == commands


def test_the_control_api_drives_and_inspects_the_fake(fake: FakeBotApi, http: httpx.Client) -> None:
    control = fake.control_url
    pushed = http.post(f"{control}/updates/message",
                       json={"chat_id": 4, "user_id": 5, "text": "hi"})
    http.post(f"{control}/faults", json={"method": "sendMessage", "mode": "5xx", "count": 1})
    failed = call(http, fake, "sendMessage", chat_id=4, text="x")
    result(call(http, fake, "sendMessage", chat_id=4, text="y"))

    sent = http.get(f"{control}/sent", params={"chat_id": 4}).json()["sent"]
    counters = http.get(f"{control}/counters").json()

    assert pushed.status_code == 201 and pushed.json()["update_id"] == 1
    assert failed.status_code == 500
    assert [record["text"] for record in sent] == ["y"]
    assert counters["statuses"] == {"500": 1, "200": 1} and counters["pending_updates"] == 1
    assert http.post(f"{control}/faults", json={"mode": "bogus"}).status_code == 400
    assert http.get(f"{control}/nothing").status_code == 404
    assert http.post(f"{control}/reset").json() == {"reset": "all"}
    assert fake.sent() == [] and fake.pending_updates() == 0


def test_wait_for_gives_up_after_its_timeout(fake: FakeBotApi) -> None:
    assert fake.wait_for(lambda: bool(fake.sent()), 0.05) is False


def test_the_fake_never_logs_the_token(
    fake: FakeBotApi, http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    call(http, fake, "sendMessage", chat_id=1, text="<div>")
    http.post(f"{fake.base_url}{TOKEN}/getMe", content=b"{broken",
              headers={"Content-Type": "application/json"})

    # Only the fake's own lines: the test's httpx client logs its URLs, token included.
    lines = [record.getMessage() for record in caplog.records if record.name.startswith("fakes.")]
    assert lines
    assert all(TOKEN not in line for line in lines)


def test_a_press_carries_the_date_its_message_was_sent_not_the_time_of_the_press(
    fake: FakeBotApi, http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1_800_000_000.0]
    monkeypatch.setattr(fake_state, "time", SimpleNamespace(time=lambda: now[0]))
    sent = result(call(http, fake, "sendMessage", chat_id=3, text="Delete all your data?"))
    now[0] += 3600

    fake.push_callback(3, 3, sent["message_id"], "x")
    (update,) = result(call(http, fake, "getUpdates"))
    assert update["callback_query"]["message"]["date"] == 1_800_000_000
