"""The Telegram transport end to end: the real PTB stack against the fake Bot API on loopback."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from telegram import Update

from actors.telegram_io import SHARED_SENDER_IDS, IgnoredUpdate, convert_update
from chat.commands import menu_commands
from fakes.telegram.bot_api import FakeBotApi
from messages.chat import ButtonPressed, ChatCommand, ReplyFailed
from tests.actors.telegram_fixtures import (  # noqa: F401 (fake, make_bot, bot: fixtures)
    CHAT,
    LONG_TEXT,
    PNG,
    TOKEN,
    USER,
    Bot,
    bot,
    fake,
    make_bot,
)

def test_startup_calls_get_me_and_delete_webhook_then_sets_the_menu(bot: Bot) -> None:
    bot.wait_until(lambda: bool(bot.fake.commands()))

    methods = [call.method for call in bot.fake.calls()]
    assert methods.index("getMe") < methods.index("deleteWebhook")
    assert bot.fake.polling() == 1
    assert bot.fake.commands() == menu_commands(admin=False)


def test_a_user_message_reaches_the_conversation_as_a_chat_command(bot: Bot) -> None:
    bot.say("/price btc")

    assert bot.journal.wait_for(lambda: bool(bot.journal.of(ChatCommand)))
    (command,) = bot.journal.of(ChatCommand)
    assert (command.chat_id, command.user_id, command.text) == (CHAT, USER, "/price btc")
    assert (command.chat_type, command.username, command.message_id) == ("private", "ann", 1)
    assert command.request_id and command.received_at > 0


def test_a_reply_arrives_at_the_fake_as_html(bot: Bot) -> None:
    bot.say("a & b")

    assert bot.wait_for_texts(1) == ["echo: a &amp; b"]
    assert bot.sent("sendMessage")[0].parse_mode == "HTML"


def test_a_long_text_arrives_in_order_in_chunks_that_fit(bot: Bot) -> None:
    bot.say("/long")

    bot.wait_until(lambda: "line 99" in "".join(text or "" for text in bot.texts()))
    chunks = [text or "" for text in bot.texts()]
    assert len(chunks) > 1
    assert all(len(chunk) <= 4096 for chunk in chunks)
    assert "\n".join(chunks) == LONG_TEXT


def test_a_loading_message_is_edited_in_place_through_its_slot(bot: Bot) -> None:
    bot.say("/slow")

    bot.wait_until(lambda: bool(bot.sent("editMessageText")))
    (loading,) = bot.sent("sendMessage")
    (edit,) = bot.sent("editMessageText")
    assert (loading.text, edit.text) == ("Loading…", "<b>Done</b>")
    assert edit.message_id == loading.message_id


def test_an_edit_that_changes_nothing_counts_as_delivered(bot: Bot) -> None:
    bot.say("/same")
    bot.wait_until(lambda: any(c.status == 400 for c in bot.fake.calls("editMessageText")))
    bot.say("after")

    assert bot.wait_for_texts(2) == ["Same", "echo: after"]
    assert bot.journal.of(ReplyFailed) == []
    assert bot.transport().stats.not_modified == 1


def test_a_button_press_is_forwarded_answered_and_edits_its_message(bot: Bot) -> None:
    bot.say("/keyboard")
    bot.wait_for_texts(1)
    (keyboard,) = bot.sent("sendMessage")
    assert keyboard.buttons == ((("Refresh", "refresh:1"),),)

    callback_id = bot.fake.push_callback(CHAT, USER, keyboard.message_id or 0, "refresh:1")

    bot.wait_until(lambda: bool(bot.sent("answerCallbackQuery"))
                   and bool(bot.sent("editMessageText")))
    (pressed,) = bot.journal.of(ButtonPressed)
    assert (pressed.data, pressed.message_id, pressed.callback_id) == (
        "refresh:1", keyboard.message_id, callback_id)
    (answer,) = bot.sent("answerCallbackQuery")
    assert (answer.callback_query_id, answer.text) == (callback_id, "ok")
    assert bot.sent("editMessageText")[0].text == "pressed refresh:1"


def test_a_photo_is_uploaded_with_its_caption_after_a_chat_action(bot: Bot) -> None:
    bot.say("/photo")

    bot.wait_until(lambda: bool(bot.sent("sendPhoto")) and bool(bot.sent("sendChatAction")))
    (photo,) = bot.sent("sendPhoto")
    assert (photo.photo_bytes, photo.text) == (len(PNG), "<i>BTC 1h</i>")
    assert [record.action for record in bot.sent("sendChatAction")] == ["upload_photo"]


def test_a_429_delays_the_reply_which_still_arrives_in_order(bot: Bot) -> None:
    bot.fake.inject("sendMessage", "429", count=1, retry_after_s=1)

    bot.say("/burst 3")

    assert bot.wait_for_texts(3) == ["n0", "n1", "n2"]
    assert [call.status for call in bot.fake.calls("sendMessage")] == [429, 200, 200, 200]
    assert bot.journal.of(ReplyFailed) == []


def test_a_burst_to_one_chat_is_paced_so_telegram_never_says_429(bot: Bot) -> None:
    bot.say("/burst 20")

    assert bot.wait_for_texts(20) == [f"n{n}" for n in range(20)]
    assert bot.fake.too_many_requests_count() == 0


def test_dropped_connections_and_server_errors_are_retried(bot: Bot) -> None:
    bot.fake.inject("sendMessage", "drop", count=1)
    bot.fake.inject("sendMessage", "5xx", count=1, status=502)

    bot.say("hello")

    assert bot.wait_for_texts(1) == ["echo: hello"]
    assert bot.transport().stats.retries == 2


def test_a_reply_that_keeps_failing_is_reported_to_the_conversation(bot: Bot) -> None:
    bot.fake.inject("sendMessage", "5xx", count=None)

    bot.say("hello")

    assert bot.journal.wait_for(lambda: bool(bot.journal.of(ReplyFailed)))
    (failed,) = bot.journal.of(ReplyFailed)
    assert failed.chat_id == CHAT and "3 attempts" in failed.reason
    assert failed.request_id == bot.journal.of(ChatCommand)[0].request_id


def test_a_reply_telegram_rejects_is_reported_failed_not_retried(bot: Bot) -> None:
    bot.say("/badbutton")

    assert bot.journal.wait_for(lambda: bool(bot.journal.of(ReplyFailed)))
    assert "button_data_invalid" in bot.journal.of(ReplyFailed)[0].reason.lower()
    assert len(bot.fake.calls("sendMessage")) == 1


def test_html_telegram_cannot_parse_is_sent_again_as_plain_text(bot: Bot) -> None:
    bot.say("/badhtml")

    assert bot.wait_for_texts(1) == ["1 < 2 bold"]
    assert bot.sent("sendMessage")[0].parse_mode is None


def test_an_edit_of_a_message_telegram_cannot_find_is_sent_as_a_new_message(bot: Bot) -> None:
    bot.say("/editgone")

    assert bot.wait_for_texts(1) == ["fresh"]
    assert [call.status for call in bot.fake.calls("editMessageText")] == [400]


def test_replies_still_queued_at_shutdown_are_reported_failed(bot: Bot) -> None:
    bot.fake.inject("sendMessage", "429", count=1, retry_after_s=60)
    bot.say("hello")
    bot.wait_until(lambda: bot.fake.too_many_requests_count() == 1)

    assert bot.tree.stop(timeout_s=15)

    (failed,) = bot.journal.of(ReplyFailed)
    assert failed.reason == "transport stopped before sending it"


def test_a_failing_set_my_commands_is_retried_and_the_bot_still_works(
    fake: FakeBotApi, make_bot: Callable[..., Bot], caplog: pytest.LogCaptureFixture
) -> None:
    fake.inject("setMyCommands", "5xx", count=2)

    bot = make_bot()
    bot.say("hi")

    assert bot.wait_for_texts(1) == ["echo: hi"]
    bot.wait_until(lambda: bot.fake.commands() == menu_commands(admin=False))
    assert [call.status for call in fake.calls("setMyCommands")] == [500, 500, 200]
    assert sum("telegram.startup_call_failed" in r.getMessage() for r in caplog.records) == 2


def test_updates_that_are_not_messages_or_buttons_are_ignored_without_a_restart(bot: Bot) -> None:
    chat = {"id": CHAT, "type": "private", "first_name": "Ann"}
    user = {"id": USER, "is_bot": False, "first_name": "Ann"}
    message = {"message_id": 99, "date": 1, "chat": chat, "from": user, "text": "edited"}
    for update in (
        {"edited_message": message},
        {"channel_post": {**message, "chat": {"id": -100123, "type": "channel", "title": "c"}}},
        {"message": {"message_id": 98, "date": 1, "chat": chat, "from": user,
                     "sticker": {"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1,
                                 "is_animated": False, "is_video": False, "type": "regular"}}},
        {"message": {"message_id": 97, "date": 1, "chat": chat, "text": "no sender"}},
        {"callback_query": {"id": "cq-no-data", "from": user, "chat_instance": "1"}},
        {"something_new": {"x": 1}},
    ):
        bot.fake.push_raw_update(update)
    bot.say("still here")

    assert bot.wait_for_texts(1) == ["echo: still here"]
    assert [command.text for command in bot.journal.of(ChatCommand)] == ["still here"]
    bot.wait_until(lambda: bool(bot.fake.sent(method="answerCallbackQuery")))
    assert bot.transport().stats.ignored_updates == 6
    assert bot.transport().restarts == 0


def test_the_token_never_reaches_the_logs(
    fake: FakeBotApi, make_bot: Callable[..., Bot], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.inject("sendMessage", "429", count=1, retry_after_s=1)
    fake.inject("setMyCommands", "5xx", count=1)
    bot = make_bot()

    bot.say("/badbutton")
    bot.say("hello")
    bot.wait_for_texts(1)
    bot.tree.stop(timeout_s=15)

    assert caplog.records, "nothing was logged at all"
    assert TOKEN not in caplog.text
    assert all(TOKEN not in record.getMessage() for record in caplog.records)
    assert TOKEN.split(":")[1] not in caplog.text


# -- senders that share one Telegram id (issue 12 item 2) --------------------------------------

ANONYMOUS_ADMIN, CHANNEL_BOT, SERVICE = 1087968824, 136817688, 777000


def sent_as(chat: dict[str, Any], sender: int, text: str, *, sender_chat: dict[str, Any] | None,
            **extra: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": 5, "date": 1, "chat": chat, "text": text,
        "from": {"id": sender, "is_bot": sender != SERVICE, "first_name": "x"}, **extra}
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0,
                                "length": len(text.split()[0])}]
    if sender_chat is not None:
        message["sender_chat"] = sender_chat
    return {"update_id": 1, "message": message}


GROUP_A = {"id": -1001111, "type": "supergroup", "title": "A"}
GROUP_B = {"id": -1002222, "type": "supergroup", "title": "B"}
CHANNEL = {"id": -1003333, "type": "channel", "title": "News", "username": "news"}


def converted(update: dict[str, Any]) -> object:
    return convert_update(Update.de_json(update, None), 0.0)  # type: ignore[arg-type]


def test_senders_speaking_for_a_chat_are_that_chat_not_their_shared_id() -> None:
    """Anonymous admins of group A and of group B were one user (1087968824): B listed and
    deleted A's alerts. Each now speaks as its chat (a negative id, never a user's)."""
    in_a = converted(sent_as(GROUP_A, ANONYMOUS_ADMIN, "/alerts", sender_chat=GROUP_A))
    in_b = converted(sent_as(GROUP_B, ANONYMOUS_ADMIN, "/alerts", sender_chat=GROUP_B))
    as_channel = converted(sent_as(GROUP_A, CHANNEL_BOT, "/watchlist", sender_chat=CHANNEL))
    assert isinstance(in_a, ChatCommand) and isinstance(in_b, ChatCommand)
    assert isinstance(as_channel, ChatCommand)
    assert (in_a.user_id, in_b.user_id, as_channel.user_id) == (-1001111, -1002222, -1003333)
    assert as_channel.username == "news"
    person = converted(sent_as(GROUP_A, 42, "/alerts", sender_chat=None))
    assert isinstance(person, ChatCommand) and person.user_id == 42


@pytest.mark.parametrize(("update", "reason"), [
    (sent_as(GROUP_A, SERVICE, "/price btc", sender_chat=CHANNEL, is_automatic_forward=True),
     "automatic forward"),
    (sent_as(GROUP_A, SERVICE, "/price btc", sender_chat=None), "automatic forward"),
    (sent_as(GROUP_A, ANONYMOUS_ADMIN, "/alerts", sender_chat=None), "shared Telegram sender"),
    (sent_as(GROUP_A, CHANNEL_BOT, "/alerts", sender_chat=None), "shared Telegram sender"),
    (sent_as(GROUP_A, ANONYMOUS_ADMIN, "/alerts",
             sender_chat={"id": 42, "type": "supergroup", "title": "posing as user 42"}),
     "non-negative"),
])
def test_shared_senders_that_name_no_chat_are_ignored(update: dict[str, Any], reason: str) -> None:
    ignored = converted(update)
    assert isinstance(ignored, IgnoredUpdate) and reason in ignored.reason


def test_an_anonymous_admins_command_reaches_the_conversation_as_their_group(bot: Bot) -> None:
    bot.fake.push_message(GROUP_A["id"], 7, "hi", chat_type="supergroup")  # the fake knows it
    bot.fake.push_raw_update(sent_as(GROUP_A, ANONYMOUS_ADMIN, "/alerts", sender_chat=GROUP_A))
    bot.fake.push_raw_update(sent_as(GROUP_A, SERVICE, "/alerts", sender_chat=CHANNEL,
                                     is_automatic_forward=True))
    bot.say("after")
    bot.wait_for_texts(1)
    bot.wait_until(lambda: len(bot.journal.of(ChatCommand)) >= 3)
    assert [(c.text, c.user_id) for c in bot.journal.of(ChatCommand)] == [
        ("hi", 7), ("/alerts", -1001111), ("after", USER)]


@given(st.one_of(st.sampled_from([ANONYMOUS_ADMIN, CHANNEL_BOT, SERVICE]),
                 st.integers(min_value=1, max_value=2**52)),
       st.one_of(st.none(), st.integers(min_value=-(2**52), max_value=2**52)),
       st.sampled_from(["supergroup", "group", "channel"]), st.booleans(),
       st.sampled_from(["/alerts", "/price btc", "hello"]))
def test_no_update_makes_a_shared_id_or_a_chat_pose_as_a_user(
    sender: int, sender_chat_id: int | None, sender_chat_type: str, automatic: bool, text: str
) -> None:
    sender_chat = (None if sender_chat_id is None
                   else {"id": sender_chat_id, "type": sender_chat_type, "title": "t"})
    extra = {"is_automatic_forward": True} if automatic else {}
    result = converted(sent_as(GROUP_A, sender, text, sender_chat=sender_chat, **extra))
    if not isinstance(result, ChatCommand):
        assert isinstance(result, IgnoredUpdate)
        return
    assert result.user_id not in SHARED_SENDER_IDS and not automatic and sender != SERVICE
    if sender_chat_id is not None:
        assert result.user_id == sender_chat_id < 0
    else:
        assert result.user_id == sender > 0
