"""A reply's document goes out as a sendDocument upload through the real PTB stack; a user who
blocked the bot makes a send fail once (reported, not retried) until they unblock it."""

from __future__ import annotations

from actors.telegram_outbox import TransportStats
from messages.chat import ChatReply, ReplyFailed
from tests.actors.telegram_fixtures import (  # noqa: F401 (fake, make_bot, bot: fixtures)
    CHAT,
    Bot,
    bot,
    fake,
    make_bot,
)


def stats(bot: Bot) -> TransportStats:
    figures = bot.transport().stats
    assert isinstance(figures, TransportStats)
    return figures


def test_a_document_is_uploaded_with_its_file_name_and_caption(bot: Bot) -> None:
    bot.say("/document")

    bot.wait_until(lambda: bool(bot.sent("sendDocument")))
    (document,) = bot.sent("sendDocument")
    assert (document.document, document.filename, document.text) == (
        b'{"schema": 1}', "export.json", "<b>Your data</b>")


def test_a_send_to_a_user_who_blocked_the_bot_fails_once_and_works_after_unblocking(
    bot: Bot,
) -> None:
    transport = bot.tree.address("transport")
    bot.fake.block(CHAT)

    transport.tell(ChatReply(request_id="push-1", chat_id=CHAT, text="🔔 pushed"))

    assert bot.journal.wait_for(lambda: bool(bot.journal.of(ReplyFailed)))
    (failed,) = bot.journal.of(ReplyFailed)
    assert failed.request_id == "push-1" and "blocked" in failed.reason
    assert [call.status for call in bot.fake.calls("sendMessage")] == [403]

    bot.fake.unblock(CHAT)
    bot.say("/document")
    bot.wait_until(lambda: bool(bot.sent("sendDocument")))
    assert [call.status for call in bot.fake.calls("sendMessage")] == [403]
    assert stats(bot).failed == 1
