"""The fake Bot API's sendDocument and blocked users behave like Telegram's."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from telegram import Bot, Update
from telegram.error import Forbidden
from telegram.request import HTTPXRequest

from fakes.telegram.bot_api import FakeBotApi
from fakes.telegram.rules import BotApiError
from fakes.telegram.uploads import DOCUMENT_LIMIT, Upload, check_document

from tests.fakes.telegram.conftest import TOKEN, call

BLOCKED = "Forbidden: bot was blocked by the user"


def send_document(http: httpx.Client, fake: FakeBotApi, chat_id: int, data: bytes,
                  filename: str = "export.json", **params: str) -> httpx.Response:
    return http.post(f"{fake.base_url}{TOKEN}/sendDocument",
                     data={"chat_id": str(chat_id), **params},
                     files={"document": (filename, data, "application/json")})


def test_a_document_upload_is_recorded_with_its_bytes_and_file_name(
    fake: FakeBotApi, http: httpx.Client
) -> None:
    body = json.dumps({"schema": 1}).encode()

    response = send_document(http, fake, 5, body, "cryptobot-export-5.json",
                             caption="<b>Your data</b>", parse_mode="HTML")

    message = response.json()["result"]
    assert message["document"]["file_name"] == "cryptobot-export-5.json"
    assert message["document"]["file_size"] == len(body)
    assert message["caption"] == "Your data"
    record = fake.sent(5, "sendDocument")[0]
    assert (record.document, record.filename, record.text) == (
        body, "cryptobot-export-5.json", "<b>Your data</b>")


def test_a_document_caption_over_1024_characters_is_refused(
    fake: FakeBotApi, http: httpx.Client
) -> None:
    response = send_document(http, fake, 5, b"{}", caption="x" * 1025)

    assert response.status_code == 400
    assert response.json()["description"] == "Bad Request: message caption is too long"
    assert fake.sent(5) == []


def test_a_document_request_without_a_file_or_with_an_empty_one_is_refused(
    fake: FakeBotApi, http: httpx.Client
) -> None:
    missing = call(http, fake, "sendDocument", chat_id=5)
    empty = send_document(http, fake, 5, b"")

    assert missing.json()["description"] == "Bad Request: there is no document in the request"
    assert empty.json()["description"] == "Bad Request: file must be non-empty"


def test_a_document_over_50_megabytes_is_refused_with_413() -> None:
    with pytest.raises(BotApiError) as too_big:
        check_document({}, {"document": Upload(b"x" * (DOCUMENT_LIMIT + 1), "big.json")})

    assert (too_big.value.status, too_big.value.description) == (413, "Request Entity Too Large")
    at_limit = check_document({}, {"document": Upload(b"x" * DOCUMENT_LIMIT, "big.json")})
    assert (len(at_limit.data), at_limit.filename) == (DOCUMENT_LIMIT, "big.json")


def test_sends_to_a_user_who_blocked_the_bot_are_forbidden_until_they_unblock(
    fake: FakeBotApi, http: httpx.Client
) -> None:
    fake.block(5)

    refused = [call(http, fake, "sendMessage", chat_id=5, text="hi"),
               send_document(http, fake, 5, b"{}"),
               call(http, fake, "sendChatAction", chat_id=5, action="typing")]
    in_a_group = call(http, fake, "sendMessage", chat_id=-100, text="hi")
    fake.unblock(5)
    again = call(http, fake, "sendMessage", chat_id=5, text="hi")

    assert [(r.status_code, r.json()["description"]) for r in refused] == [(403, BLOCKED)] * 3
    assert in_a_group.status_code == 200
    assert again.status_code == 200
    assert [r.method for r in fake.sent(5)] == ["sendMessage"]


def test_blocking_and_unblocking_send_the_bot_my_chat_member_updates_ptb_reads(
    fake: FakeBotApi, http: httpx.Client
) -> None:
    fake.block(5)
    fake.unblock(5)

    updates = call(http, fake, "getUpdates").json()["result"]
    bot = Bot(TOKEN, base_url=fake.base_url)
    parsed = [Update.de_json(update, bot) for update in updates]

    assert [(u.my_chat_member.old_chat_member.status, u.my_chat_member.new_chat_member.status)
            for u in parsed if u is not None and u.my_chat_member is not None] == [
        ("member", "kicked"), ("kicked", "member")]


def test_a_user_who_blocked_the_bot_cannot_write_to_it_in_private(fake: FakeBotApi) -> None:
    fake.block(5)

    with pytest.raises(ValueError, match="unblock"):
        fake.push_message(5, 5, "/start")
    fake.push_message(-100, 5, "/price btc", chat_type="group")  # groups still work


def test_ptb_sees_the_403_of_a_blocked_user_as_forbidden(fake: FakeBotApi) -> None:
    fake.block(5)

    async def send() -> Any:
        async with Bot(TOKEN, base_url=fake.base_url,
                       request=HTTPXRequest(read_timeout=5, write_timeout=5)) as bot:
            return await bot.send_document(5, document=b"{}", filename="x.json")

    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        asyncio.run(send())


def test_the_control_api_blocks_and_shows_documents_as_base64(
    fake: FakeBotApi, http: httpx.Client
) -> None:
    blocked = http.post(f"{fake.control_url}/users/block", json={"user_id": 5})
    refused = call(http, fake, "sendMessage", chat_id=5, text="hi")
    http.post(f"{fake.control_url}/users/block", json={"user_id": 5, "blocked": False})
    send_document(http, fake, 5, b"{}")
    sent = http.get(f"{fake.control_url}/sent", params={"method": "sendDocument"}).json()

    assert blocked.status_code == 201 and refused.status_code == 403
    assert sent["sent"][0]["document"] == "e30="
