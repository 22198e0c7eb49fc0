"""The fake Bot API keeps one command menu per scope and checks scopes like Telegram does."""

from __future__ import annotations


import httpx
import pytest

from fakes.telegram.bot_api import FakeBotApi
from fakes.telegram.menus import DEFAULT_SCOPE, Scope, parse_scope

from tests.fakes.telegram.conftest import call
PUBLIC = [{"command": "price", "description": "Price of a coin"}]
ADMIN = [*PUBLIC, {"command": "stats", "description": "Runtime stats"}]


def error_of(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["description"]


def test_scopes_parse_from_a_json_string_an_object_or_nothing() -> None:
    assert parse_scope(None) == DEFAULT_SCOPE
    assert parse_scope('{"type": "all_private_chats"}') == Scope("all_private_chats")
    assert parse_scope({"type": "chat", "chat_id": "42"}) == Scope("chat", 42)
    assert parse_scope({"type": "chat_member", "chat_id": -5, "user_id": 7}) == Scope(
        "chat_member", -5, 7)


@pytest.mark.parametrize(
    ("scope", "description"),
    [
        ('{"type": "everyone"}',
         "Bad Request: can't parse BotCommandScope: Unsupported type specified"),
        ("{not json", "Bad Request: can't parse BotCommandScope JSON object"),
        ("[1, 2]", "Bad Request: can't parse BotCommandScope: expected an Object"),
        ('{"chat_id": 1}', 'Bad Request: can\'t parse BotCommandScope: Can\'t find field "type"'),
        ('{"type": "chat"}',
         'Bad Request: can\'t parse BotCommandScope: Can\'t find field "chat_id"'),
        ('{"type": "chat_member", "chat_id": 1, "user_id": 0}',
         "Bad Request: can't parse BotCommandScope: Invalid user_id specified"),
    ],
)
def test_an_unknown_or_malformed_scope_is_refused_with_telegrams_400(
    fake: FakeBotApi, http: httpx.Client, scope: str, description: str
) -> None:
    answer = call(http, fake, "setMyCommands", commands=PUBLIC, scope=scope)

    assert error_of(answer) == (400, description)
    assert fake.commands() == ()


def test_a_chat_scope_menu_is_stored_apart_from_the_default_one(
    fake: FakeBotApi, http: httpx.Client
) -> None:
    fake.push_message(7, 7, "/start")

    assert call(http, fake, "setMyCommands", commands=PUBLIC).json()["result"] is True
    assert call(http, fake, "setMyCommands", commands=ADMIN,
                scope={"type": "chat", "chat_id": 7}).json()["result"] is True

    assert fake.commands() == (("price", "Price of a coin"),)
    assert fake.commands(chat_id=7) == (("price", "Price of a coin"), ("stats", "Runtime stats"))
    assert call(http, fake, "getMyCommands",
                scope={"type": "chat", "chat_id": 7}).json()["result"] == ADMIN
    assert call(http, fake, "getMyCommands",
                scope={"type": "all_private_chats"}).json()["result"] == []
    assert [record.chat_id for record in fake.calls("setMyCommands")] == [None, 7]
    control = http.get(f"{fake.control_url}/commands", params={"chat_id": 7}).json()
    assert control == {"commands": [["price", "Price of a coin"], ["stats", "Runtime stats"]]}


def test_a_chat_scope_for_a_chat_the_bot_never_saw_is_chat_not_found(
    fake: FakeBotApi, http: httpx.Client
) -> None:
    answer = call(http, fake, "setMyCommands", commands=ADMIN,
                  scope={"type": "chat", "chat_id": 7})

    by_username = call(http, fake, "setMyCommands", commands=ADMIN,
                       scope={"type": "chat", "chat_id": "@nobody"})

    assert error_of(answer) == error_of(by_username) == (400, "Bad Request: chat not found")
    assert fake.commands(chat_id=7) == ()


def test_a_private_chat_takes_only_the_chat_scope(fake: FakeBotApi, http: httpx.Client) -> None:
    fake.push_message(7, 7, "hi")

    answer = call(http, fake, "setMyCommands", commands=ADMIN,
                  scope={"type": "chat_administrators", "chat_id": 7})

    assert error_of(answer) == (400, "Bad Request: can't use specified scope in private chats")


def test_deleting_one_scope_leaves_the_others_and_languages_are_checked(
    fake: FakeBotApi, http: httpx.Client
) -> None:
    fake.push_message(7, 7, "hi")
    call(http, fake, "setMyCommands", commands=PUBLIC)
    call(http, fake, "setMyCommands", commands=ADMIN, scope={"type": "chat", "chat_id": 7})

    call(http, fake, "deleteMyCommands", scope={"type": "chat", "chat_id": 7})
    bad_language = call(http, fake, "setMyCommands", commands=PUBLIC, language_code="english")

    assert fake.commands(chat_id=7) == () and fake.commands() == (("price", "Price of a coin"),)
    assert error_of(bad_language) == (400, "Bad Request: invalid language code specified")

