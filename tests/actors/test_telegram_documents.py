"""A reply's document goes out as a sendDocument upload through the real PTB stack; a user who
blocked the bot makes a send fail once (reported, not retried) until they unblock it."""

from __future__ import annotations

import pytest

from actors.telegram_stats import TransportStats
from fakes.telegram import uploads
from messages.chat import ChatReply, ReplyFailed
from tests.actors.telegram_fixtures import (  # noqa: F401 (fake, make_bot, bot: fixtures)
    CHAT,
    TOKEN,
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


def test_a_document_refused_as_too_large_fails_once_and_is_not_uploaded_again(
    bot: Bot, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 413 is permanent (the same bytes are refused again), but PTB raises it as a
    NetworkError, so the outbox re-uploaded the file for two minutes before giving up. A
    proxy in front of the Bot API with a small body limit (nginx: 1 MB) makes this real."""
    monkeypatch.setattr(uploads, "DOCUMENT_LIMIT", 4)  # the fake now refuses our 13 bytes

    bot.say("/document")

    assert bot.journal.wait_for(lambda: bool(bot.journal.of(ReplyFailed)))
    (failed,) = bot.journal.of(ReplyFailed)
    assert "Too Large" in failed.reason and TOKEN.split(":")[1] not in failed.reason
    assert [call.status for call in bot.fake.calls("sendDocument")] == [413]
    assert stats(bot).failed == 1 and stats(bot).retries == 0
