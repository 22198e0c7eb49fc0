"""TelegramLoop on its own: starting, refusing, stopping, and keeping the token out of sight."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Iterator

import pytest

from actors.telegram_loop import (
    TelegramLoop,
    TransportError,
    TransportTuning,
    WebhookSettings,
    quiet_token_leaking_loggers,
)
from fakes.telegram.bot_api import FakeBotApi
from messages.chat import ChatReply

TOKEN = "123456789:AAEhBP0av28ntIfnmYsaRgCc3dS5Xl0XvYs"
FAST = TransportTuning(lifecycle_timeout_s=10.0)


def make_loop(api_url: str, webhook: WebhookSettings | None = None) -> TelegramLoop:
    return TelegramLoop(token=TOKEN, api_url=api_url, on_update=lambda update, at: None,
                        on_failed=lambda failed: None, tuning=FAST, webhook=webhook)


@pytest.fixture
def fake() -> Iterator[FakeBotApi]:
    with FakeBotApi(token=TOKEN) as server:
        yield server


def test_a_rejected_token_fails_the_start_without_showing_the_token() -> None:
    with FakeBotApi(token="987654321:AAothertokenothertokenothertokenxx") as other:
        loop = make_loop(other.base_url)
        try:
            with pytest.raises(TransportError) as raised:
                loop.start()
        finally:
            loop.stop()

    assert "Unauthorized" in str(raised.value)
    assert TOKEN not in repr(raised.value) and raised.value.__cause__ is None
    assert raised.value.__suppress_context__


def test_webhook_mode_registers_the_webhook_or_says_which_extra_is_missing(
    fake: FakeBotApi,
) -> None:
    url = "https://bot.example.org/telegram/hook"
    loop = make_loop(fake.base_url, WebhookSettings(listen="127.0.0.1", port=0, url=url))
    try:
        if importlib.util.find_spec("tornado") is None:
            with pytest.raises(TransportError, match=r"webhooks"):
                loop.start()
        else:
            loop.start()
            assert fake.counters()["webhook_url"] == url
    finally:
        loop.stop()


def test_replies_before_the_start_are_refused_and_stopping_twice_is_harmless(
    fake: FakeBotApi,
) -> None:
    loop = make_loop(fake.base_url)
    with pytest.raises(TransportError, match="not running"):
        loop.submit(ChatReply(request_id="r", chat_id=1, text="hi"))

    loop.start()
    loop.stop()
    loop.stop()

    assert fake.polling() == 0
    with pytest.raises(TransportError, match="not running"):
        loop.submit(ChatReply(request_id="r", chat_id=1, text="hi"))


def test_loggers_that_print_the_token_are_raised_but_never_lowered() -> None:
    logging.getLogger("telegram.Bot").setLevel(logging.ERROR)

    quiet_token_leaking_loggers()

    assert logging.getLogger("httpx").level == logging.WARNING
    assert logging.getLogger("httpcore").level == logging.WARNING
    assert logging.getLogger("telegram.ext.ExtBot").level == logging.INFO
    assert logging.getLogger("telegram.Bot").level == logging.ERROR
    logging.getLogger("telegram.Bot").setLevel(logging.INFO)
