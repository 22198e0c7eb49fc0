"""Property tests of log redaction: whatever a message, its arguments, its fields or an
exception carry, the bot token never appears in a formatted line, in either format, and a JSON
line stays one parseable JSON object. tests/core/test_logs.py has the worked examples."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.logs import (
    JsonFormatter,
    RedactingFormatter,
    Redactor,
    TextFormatter,
    log_event,
)

LOGGER = logging.getLogger("tests.core.logs_fuzz")
LOGGER.propagate = False
LOGGER.setLevel(logging.DEBUG)

# Telegram's shape: the bot id, a colon, 35 URL-safe characters.
tokens = st.builds(
    lambda bot_id, secret: f"{bot_id}:{secret}",
    st.from_regex(r"[1-9][0-9]{7,9}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9_-]{35}", fullmatch=True),
)
# Other configured secrets may hold anything but the brackets of the marker, and are long
# enough that "[REDACTED]" and its neighbours can never spell one by accident.
secrets = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="[]"),
                  min_size=9, max_size=20).filter(str.strip)
noise = st.text(max_size=12)


class Lines(logging.Handler):
    def __init__(self, formatter: logging.Formatter) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(formatter)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


class Leaky:
    """An object whose repr (or str) carries the secret, or fails outright."""

    def __init__(self, secret: str, broken: bool) -> None:
        self.secret, self.broken = secret, broken

    def __repr__(self) -> str:
        if self.broken:
            raise RuntimeError(f"cannot show {self.secret}")
        return f"Leaky({self.secret})"


def raise_carrying(secret: str, how: int) -> BaseException:
    """An exception that carries ``secret`` in its message, its cause or a note, raised."""
    try:
        try:
            raise KeyError(secret)
        except KeyError as inner:
            error: Exception = ValueError(
                f"request to https://api.telegram.org/bot{secret}/getMe failed")
            if how == 1:
                error = RuntimeError("wrapped")
                error.add_note(f"while sending {secret!r}")
            if how == 2:
                raise error from inner
            raise error
    except Exception as caught:
        return caught


@st.composite
def log_calls(draw: st.DrawFn, secret: str) -> Callable[[logging.Logger], None]:
    """One logging call that puts ``secret`` somewhere: text, args, fields, exception..."""
    before, after = draw(noise), draw(noise)
    text = before + secret + after
    kind = draw(st.integers(min_value=0, max_value=10))
    how = draw(st.integers(min_value=0, max_value=2))
    calls: list[Callable[[logging.Logger], None]] = [
        lambda log: log.info(text),
        lambda log: log.warning("value %s then %r", text, text),
        lambda log: log.error("%d items", text),  # bad arguments: the fallback shows them raw
        lambda log: log_event(log, "chat.event", logging.INFO, value=text),
        lambda log: log_event(log, "chat.event", logging.INFO, nested=[{"k": (text, 1)}]),
        lambda log: log_event(log, "chat.event", logging.INFO, raw=text.encode(),
                              url=quote(text, safe="")),
        lambda log: log_event(log, "chat.event", logging.INFO,
                              **dict[str, Any]({text: 1, "msg": text})),
        lambda log: log_event(log, "chat.event", logging.INFO, obj=Leaky(secret, how == 1)),
        lambda log: log.error("failed", exc_info=raise_carrying(secret, how)),
        lambda log: log_event(log, "chat.failed", logging.ERROR,
                              exc_info=raise_carrying(secret, how), error=repr(text)),
        lambda log: log.debug(Leaky(secret, False), stack_info=True),
    ]
    return calls[kind]


def formatted(formatter: logging.Formatter, call: Callable[[logging.Logger], None]) -> str:
    handler = Lines(formatter)
    # Only ours: pytest's capture handlers would format the record too, unredacted.
    others, LOGGER.handlers = LOGGER.handlers, [handler]
    try:
        call(LOGGER)
    finally:
        LOGGER.handlers = others
    assert len(handler.lines) == 1
    return handler.lines[0]


@pytest.mark.parametrize("inner", [JsonFormatter, TextFormatter])
@given(data=st.data(), token=tokens, configured=st.booleans())
def test_the_token_never_appears_in_a_line_whatever_carries_it(
    inner: type[logging.Formatter], data: st.DataObject, token: str, configured: bool
) -> None:
    # Configured: the bot's own token. Not configured: another bot's, caught by its shape.
    redactor = Redactor([token] if configured else [])
    line = formatted(RedactingFormatter(inner(), redactor), data.draw(log_calls(token)))
    assert token not in line
    assert token.split(":")[1] not in line
    if inner is JsonFormatter:
        assert "\n" not in line and isinstance(json.loads(line), dict)


@pytest.mark.parametrize("inner", [JsonFormatter, TextFormatter])
@given(data=st.data(), secret=secrets)
def test_a_configured_secret_never_appears_in_a_line_as_written(
    inner: type[logging.Formatter], data: st.DataObject, secret: str
) -> None:
    line = formatted(RedactingFormatter(inner(), Redactor([secret])),
                     data.draw(log_calls(secret)))
    assert secret not in line
    if inner is JsonFormatter:
        assert "\n" not in line and isinstance(json.loads(line), dict)


@given(st.text(max_size=200), st.lists(st.one_of(st.text(max_size=20), st.integers(),
                                                 st.floats()), max_size=3))
def test_any_message_and_arguments_give_exactly_one_line(message: str, args: list[Any]) -> None:
    for inner in (JsonFormatter(), TextFormatter()):
        line = formatted(RedactingFormatter(inner, Redactor()),
                         lambda log: log.info(message, *args))
        assert line


@pytest.mark.parametrize("configured", [True, False])
@pytest.mark.parametrize("before", ["\x00", "\x10", "\x1f", "\x7f", "\\u00"])
def test_a_token_right_after_a_control_character_leaves_one_parseable_json_line(
    before: str, configured: bool
) -> None:
    token = "10000000:" + "0" * 35  # its digits continue the escape's, as "\u0010" + "1000..."
    redactor = Redactor([token] if configured else [])
    line = formatted(RedactingFormatter(JsonFormatter(), redactor),
                     lambda log: log.info(before + token))
    assert token not in line and token.split(":")[1] not in line
    assert json.loads(line)["msg"].startswith(before)


@pytest.mark.parametrize("inner", [JsonFormatter, TextFormatter])
def test_a_line_with_a_long_run_of_digits_is_redacted_at_once(
    inner: type[logging.Formatter],
) -> None:
    # E.g. an exchange answer quoting a 50,000-digit "price" in a fetch.failed line: a search
    # restarted at every digit took seconds per line (quadratic); one pass takes milliseconds.
    token = "123456789:" + "A" * 35
    digits = "9" * 50_000
    started = time.perf_counter()
    line = formatted(RedactingFormatter(inner(), Redactor([token])),
                     lambda log: log.info("%s then %s", digits, digits + token))
    assert time.perf_counter() - started < 1.0
    assert token not in line and digits in line
