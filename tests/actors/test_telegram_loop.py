"""TelegramLoop on its own: starting, refusing, stopping, and keeping the token out of sight."""

from __future__ import annotations

import importlib.util
import json
import logging
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest
from telegram import Update

from actors.telegram_loop import (
    TelegramLoop,
    TransportError,
    TransportTuning,
    quiet_token_leaking_loggers,
)
from actors.telegram_webhook import WebhookSettings, exposure_warning
from fakes.telegram.bot_api import FakeBotApi
from messages.chat import ChatReply

TOKEN = "123456789:AAEhBP0av28ntIfnmYsaRgCc3dS5Xl0XvYs"
FAST = TransportTuning(lifecycle_timeout_s=10.0)
SECRET = "s3cr3t-Webhook_token-for-tests-only"


def make_loop(api_url: str, webhook: WebhookSettings | None = None,
              on_update: object = None) -> TelegramLoop:
    return TelegramLoop(token=TOKEN, api_url=api_url,
                        on_update=on_update or (lambda update, at: None),  # type: ignore[arg-type]
                        on_failed=lambda failed: None, tuning=FAST, webhook=webhook)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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
    loop = make_loop(fake.base_url, WebhookSettings(listen="127.0.0.1", port=0, url=url,
                                                    secret_token=SECRET))
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


FORGED_STATS = {"update_id": 7, "message": {
    "message_id": 1, "date": 1_700_000_000, "text": "/stats",
    "chat": {"id": 42, "type": "private"},
    "from": {"id": 42, "is_bot": False, "first_name": "Admin"},
    "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}}


def test_the_webhook_takes_only_updates_carrying_its_secret_token(
    fake: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 12 item 1: a plain POST with an admin's from.id was taken as that admin's /stats."""
    caplog.set_level(logging.DEBUG)
    received: list[int] = []
    arrived = threading.Event()

    def on_update(update: Update, at: float) -> None:
        received.append(update.update_id)
        arrived.set()

    port = free_port()
    settings = WebhookSettings(listen="127.0.0.1", port=port, secret_token=SECRET,
                               url="https://bot.example.org/telegram/hook")
    loop = make_loop(fake.base_url, settings, on_update)
    hook = f"http://127.0.0.1:{port}/telegram/hook"
    body = json.dumps(FORGED_STATS)
    try:
        loop.start()
        with httpx.Client(timeout=5.0) as http:
            plain = {"Content-Type": "application/json"}
            forged = http.post(hook, content=body, headers=plain)
            wrong = http.post(hook, content=body,
                              headers={**plain, "X-Telegram-Bot-Api-Secret-Token": "guess"})
            assert (forged.status_code, wrong.status_code) == (403, 403)
            assert received == []
            genuine = http.post(hook, content=body,
                                headers={**plain, "X-Telegram-Bot-Api-Secret-Token": SECRET})
            assert genuine.status_code == 200
            assert arrived.wait(5.0)
    finally:
        loop.stop()

    assert received == [7]
    assert fake.counters()["webhook_url"] == settings.url
    assert not [r for r in caplog.records if SECRET in r.getMessage()]


def test_a_webhook_without_a_valid_secret_token_cannot_be_configured() -> None:
    for bad in ("", "with space", "x" * 257, "ümlaut"):
        with pytest.raises(ValueError, match="secret token"):
            WebhookSettings(listen="127.0.0.1", port=8443, url="https://h.example/x",
                            secret_token=bad)


@pytest.mark.parametrize(("listen", "proxy", "warned"), [
    ("127.0.0.1", False, False), ("::1", False, False), ("localhost", False, False),
    ("127.0.0.2", False, False), ("0.0.0.0", False, True), ("::", False, True),
    ("10.1.2.3", False, True), ("bot.example.org", False, True), ("0.0.0.0", True, False),
])
def test_a_listener_off_loopback_without_a_tls_proxy_is_warned_about(
    listen: str, proxy: bool, warned: bool
) -> None:
    settings = WebhookSettings(listen=listen, port=8443, url="https://h.example/x",
                               secret_token=SECRET, behind_tls_proxy=proxy)
    warning = exposure_warning(settings)
    assert (warning is not None) == warned
    if warning is not None:
        assert listen in warning and "webhook_behind_tls_proxy" in warning
        assert SECRET not in warning
