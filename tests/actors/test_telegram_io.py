"""The Telegram transport end to end: the real PTB stack against the fake Bot API on loopback."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pykka
import pytest

from actors.telegram_io import TelegramIO
from actors.telegram_loop import TransportTuning
from chat.commands import menu_commands
from fakes.telegram.bot_api import FakeBotApi, FloodRules, SentRecord
from chat.html import escape
from chat.outbound import DeliveryPolicy, OutboundLimits
from core.config import BotConfig
from messages.chat import (
    Button,
    ButtonPressed,
    ChatAction,
    ChatCommand,
    ChatReply,
    ReplyFailed,
)
from supervision.actor import SupervisedActor
from supervision.context import ChildContext
from supervision.snapshot import ActorSnapshot
from supervision.spec import ChildSpec
from supervision.tree import SupervisionTree

TOKEN = "123456789:AAEhBP0av28ntIfnmYsaRgCc3dS5Xl0XvYs"
CHAT = 42
USER = 7
WAIT_S = 15.0
# A 1x1 PNG: the fake checks the signature and reads the size from IHDR.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082"
)
# Ten times Telegram's pace on both sides, so a 20-message burst takes 2 s instead of 20.
FAST = TransportTuning(
    limits=OutboundLimits().scaled(0.1),
    delivery=DeliveryPolicy(max_attempts=3, retry_window_s=0.0, backoff_base_s=0.05,
                            backoff_cap_s=0.2),
    startup_retry_base_s=0.05,
    startup_retry_cap_s=0.2,
    lifecycle_timeout_s=10.0,
)


class Journal:
    """What the test conversation received, with a condition to wait on."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.messages: list[object] = []

    def add(self, message: object) -> None:
        with self.changed:
            self.messages.append(message)
            self.changed.notify_all()

    def of(self, kind: type) -> list[Any]:
        with self.changed:
            return [message for message in self.messages if isinstance(message, kind)]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = WAIT_S) -> bool:
        with self.changed:
            return self.changed.wait_for(predicate, timeout)


LONG_TEXT = "\n".join(f"<b>line {n}</b> " + "x" * 90 for n in range(100))


class EchoConversation(SupervisedActor):
    """Records what arrives and answers each command the way the real conversation would."""

    def __init__(self, ctx: ChildContext, *, journal: Journal) -> None:
        super().__init__(ctx)
        self._journal = journal
        self._transport = ctx.directory["transport"]

    def handle(self, message: Any) -> Any:
        match message:
            case ChatCommand():
                self._journal.add(message)
                return self._answer(message)
            case ButtonPressed():
                self._journal.add(message)
                return self._transport.tell(ChatReply(
                    request_id=message.request_id, chat_id=message.chat_id,
                    text=f"pressed {escape(message.data)}", edit_message_id=message.message_id,
                    callback_id=message.callback_id, toast="ok"))
            case ReplyFailed():
                return self._journal.add(message)
        return super().handle(message)

    def _answer(self, command: ChatCommand) -> None:
        word, _, rest = command.text.partition(" ")
        for reply in self._replies(word, rest, command):
            self._transport.tell(reply)

    def _replies(self, word: str, rest: str, command: ChatCommand) -> list[ChatReply | ChatAction]:
        def reply(text: str = "", **extra: Any) -> ChatReply:
            return ChatReply(request_id=command.request_id, chat_id=command.chat_id, text=text,
                             chat_type=command.chat_type, received_at=command.received_at,
                             **extra)

        slot = f"loading:{command.request_id}"
        match word:
            case "/long":
                return [reply(LONG_TEXT)]
            case "/slow":
                return [reply("Loading…", slot=slot, final=False),
                        reply("<b>Done</b>", edit_slot=slot)]
            case "/same":
                return [reply("Same", slot=slot, final=False), reply("Same", edit_slot=slot)]
            case "/photo":
                return [ChatAction(chat_id=command.chat_id, action="upload_photo"),
                        reply("<i>BTC 1h</i>", photo=PNG)]
            case "/burst":
                return [reply(f"n{n}") for n in range(int(rest))]
            case "/keyboard":
                return [reply("Pick", buttons=((Button("Refresh", "refresh:1"),),))]
            case "/badbutton":
                return [reply("Pick", buttons=((Button("Too long", "x" * 65),),))]
            case "/badhtml":
                return [reply("1 < 2 <b>bold")]
            case "/editgone":
                return [reply("fresh", edit_message_id=999)]
        return [reply(f"echo: {escape(command.text)}")]


@dataclass
class Bot:
    fake: FakeBotApi
    tree: SupervisionTree
    journal: Journal = field(default_factory=Journal)

    def say(self, text: str) -> None:
        self.fake.push_message(CHAT, USER, text, username="ann")

    def sent(self, method: str) -> list[SentRecord]:
        return self.fake.sent(CHAT, method)

    def texts(self) -> list[str | None]:
        return [record.text for record in self.sent("sendMessage")]

    def wait_until(self, predicate: Callable[[], bool]) -> None:
        assert self.fake.wait_for(predicate, WAIT_S), "the fake never saw it"

    def wait_for_texts(self, count: int) -> list[str | None]:
        self.wait_until(lambda: len(self.texts()) >= count)
        return self.texts()

    def transport(self) -> ActorSnapshot:
        node = self.tree.snapshot(timeout_s=5).find("transport")
        assert node is not None
        return node


@pytest.fixture
def fake() -> Iterator[FakeBotApi]:
    with FakeBotApi(token=TOKEN, flood=FloodRules().scaled(0.1)) as server:
        yield server


@pytest.fixture
def make_bot(fake: FakeBotApi) -> Iterator[Callable[..., Bot]]:
    trees: list[SupervisionTree] = []

    def make(tuning: TransportTuning = FAST) -> Bot:
        config = BotConfig().with_overrides(telegram_token=TOKEN, telegram_api_url=fake.base_url)
        journal = Journal()
        specs = [
            ChildSpec(name="conversation",
                      factory=lambda ctx: EchoConversation.start(ctx, journal=journal)),
            ChildSpec(name="transport", depends_on=("conversation",),
                      factory=lambda ctx: TelegramIO.start(ctx, config=config, tuning=tuning)),
        ]
        tree = SupervisionTree(specs).start()
        trees.append(tree)
        assert fake.wait_for(lambda: fake.polling() > 0, WAIT_S), "the bot never started polling"
        return Bot(fake, tree, journal)

    yield make
    for tree in trees:
        tree.stop(timeout_s=15)
    assert pykka.ActorRegistry.get_all() == []


@pytest.fixture
def bot(make_bot: Callable[..., Bot]) -> Bot:
    return make_bot()


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
