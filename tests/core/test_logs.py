"""Structured logging: JSON/text lines, request ids, and no bot token ever reaching the output."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from core.errors import ConfigError
from core.logs import (
    HANDLER_NAME,
    NOISY_LOGGERS,
    REDACTED,
    JsonFormatter,
    RedactingFormatter,
    Redactor,
    TextFormatter,
    bind_request_id,
    configure_logging,
    log_event,
    request_id_var,
)

__all__: list[str] = []

TOKEN = "123456789:AAEhBOweik6ad9r_QXMENQjcrGbqCr4K-ms"
OTHER_TOKEN = "987654321:ZZyxWVutsRQponMLKjihGFEdcbA_-0123456"
ISO_UTC_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

Capture = Callable[..., tuple[logging.Logger, io.StringIO]]


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put back the root handlers and logger levels that configure_logging changes."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    touched = [logging.getLogger(name) for name in (*NOISY_LOGGERS, "pykka")]
    saved = [(logger.level, logger.propagate) for logger in touched]
    yield
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)
    for logger, (logger_level, propagate) in zip(touched, saved):
        logger.setLevel(logger_level)
        logger.propagate = propagate


@pytest.fixture
def capture(request: pytest.FixtureRequest) -> Iterator[Capture]:
    """A private DEBUG logger writing through a redacting formatter into a StringIO."""
    installed: list[tuple[logging.Logger, logging.Handler]] = []

    def make(formatter: logging.Formatter | None = None,
             secrets: tuple[str, ...] = ()) -> tuple[logging.Logger, io.StringIO]:
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(RedactingFormatter(formatter or JsonFormatter(), Redactor(secrets)))
        logger = logging.getLogger(f"tests.logs.{request.node.name}.{len(installed)}")
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        logger.addHandler(handler)
        installed.append((logger, handler))
        return logger, stream

    yield make
    for logger, handler in installed:
        logger.removeHandler(handler)


def json_lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_event_is_one_json_line_with_event_name_fields_and_request_id(capture: Capture) -> None:
    logger, stream = capture()
    log_event(logger, "actor.restarted", logging.WARNING, name="fetcher", restarts=2,
              request_id="req-1")
    [line] = json_lines(stream)
    assert line["event"] == "actor.restarted"
    assert (line["name"], line["restarts"]) == ("fetcher", 2)
    assert (line["level"], line["logger"], line["request_id"]) == ("WARNING", logger.name, "req-1")
    assert ISO_UTC_MS.match(str(line["ts"]))
    assert "msg" not in line


def test_event_fields_are_kept_on_the_log_record(capture: Capture,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    logger, _ = capture()
    logger.propagate = True
    with caplog.at_level(logging.INFO, logger=logger.name):
        log_event(logger, "alert.fired", symbol="BTCUSDT")
    [record] = caplog.records
    assert getattr(record, "event") == "alert.fired"
    assert getattr(record, "fields") == {"symbol": "BTCUSDT"}
    assert record.getMessage() == "alert.fired symbol=BTCUSDT"


def test_request_id_comes_from_the_bound_context(capture: Capture) -> None:
    logger, stream = capture()
    with bind_request_id("abc123"):
        log_event(logger, "command.received", command="/price")
        logger.info("plain line")
    assert [line["request_id"] for line in json_lines(stream)] == ["abc123", "abc123"]


def test_request_id_is_null_when_none_is_bound(capture: Capture) -> None:
    logger, stream = capture()
    log_event(logger, "bot.started")
    assert json_lines(stream)[0]["request_id"] is None


def test_bind_request_id_restores_the_previous_id() -> None:
    with bind_request_id("outer"):
        with bind_request_id("inner"):
            assert request_id_var.get() == "inner"
        assert request_id_var.get() == "outer"
    assert request_id_var.get() is None


def test_plain_log_call_has_event_log_and_its_message(capture: Capture) -> None:
    logger, stream = capture()
    logger.info("fetched %d candles", 500)
    [line] = json_lines(stream)
    assert (line["event"], line["msg"]) == ("log", "fetched 500 candles")


def test_exception_traceback_appears_under_exc(capture: Capture) -> None:
    logger, stream = capture()
    try:
        raise RuntimeError("exchange down")
    except RuntimeError:
        log_event(logger, "fetch.failed", logging.ERROR, exc_info=True, symbol="ETHUSDT")
    [line] = json_lines(stream)
    assert "RuntimeError: exchange down" in str(line["exc"])
    assert line["symbol"] == "ETHUSDT"


def test_unserialisable_field_values_are_rendered_with_repr(capture: Capture) -> None:
    class Opaque:
        def __repr__(self) -> str:
            return "<Opaque>"

    logger, stream = capture()
    log_event(logger, "odd.values", thing=Opaque(), ratio=float("nan"), tags={"a"})
    [line] = json_lines(stream)
    assert (line["thing"], line["ratio"], line["tags"]) == ("<Opaque>", "nan", "{'a'}")


def test_field_named_like_a_reserved_key_does_not_replace_it(capture: Capture) -> None:
    logger, stream = capture()
    log_event(logger, "odd.names", level="high", ts=1)
    [line] = json_lines(stream)
    assert (line["level"], line["field_level"], line["field_ts"]) == ("INFO", "high", 1)


def test_log_event_points_the_record_at_its_caller(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="tests.logs.caller"):
        log_event(logging.getLogger("tests.logs.caller"), "where.am.i")
    assert caplog.records[0].funcName == "test_log_event_points_the_record_at_its_caller"


def test_log_event_writes_nothing_below_the_logger_level(capture: Capture) -> None:
    logger, stream = capture()
    logger.setLevel(logging.WARNING)
    log_event(logger, "too.quiet", logging.DEBUG, detail=1)
    assert stream.getvalue() == ""


def test_text_line_is_readable_for_humans(capture: Capture) -> None:
    logger, stream = capture(TextFormatter())
    with bind_request_id("abc"):
        log_event(logger, "actor.restarted", name="fetcher", restarts=2, reason="timed out")
    line = stream.getvalue().rstrip("\n")
    timestamp, rest = line.split(" ", 1)
    assert ISO_UTC_MS.match(timestamp)
    assert rest == 'INFO actor.restarted name=fetcher restarts=2 reason="timed out" [req=abc]'


def test_plain_text_line_names_its_logger(capture: Capture) -> None:
    logger, stream = capture(TextFormatter())
    logger.warning("cache at %d%%", 91)
    assert stream.getvalue().split(" ", 1)[1] == f"WARNING {logger.name}: cache at 91%\n"


@pytest.mark.parametrize("formatter", [JsonFormatter, TextFormatter])
def test_no_token_reaches_the_output_at_debug_level(capture: Capture,
                                                    formatter: type[logging.Formatter]) -> None:
    logger, stream = capture(formatter(), secrets=(TOKEN,))
    logger.debug("token is %s", TOKEN)
    logger.debug("HTTP Request: GET https://api.telegram.org/bot%s/getMe", OTHER_TOKEN)
    logger.debug("encoded https://example.org/?t=%s", OTHER_TOKEN.replace(":", "%3A"))
    log_event(logger, "telegram.call", logging.DEBUG, url=f"https://api.telegram.org/bot{TOKEN}/x")
    try:
        raise ValueError(f"bad response for bot{OTHER_TOKEN}")
    except ValueError:
        logger.debug("request failed", exc_info=True)
    output = stream.getvalue()
    assert TOKEN not in output and OTHER_TOKEN not in output
    assert "AAEhBOweik6ad9r" not in output and "ZZyxWVutsRQ" not in output
    assert output.count(REDACTED) == 5


def test_a_configured_secret_is_redacted_even_when_not_token_shaped(capture: Capture) -> None:
    secret = 'hunter"2\\x'
    logger, stream = capture(secrets=(secret,))
    log_event(logger, "login", password=secret)
    logger.debug("raw %s and repr %r", secret, secret)
    assert "hunter" not in stream.getvalue()
    assert [line.get("password", line.get("msg")) for line in json_lines(stream)] == [
        REDACTED, f"raw {REDACTED} and repr '{REDACTED}'"]


def test_formatting_failures_produce_a_redacted_line_instead_of_raising(capture: Capture) -> None:
    class Exploding(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            raise RuntimeError(f"boom {TOKEN}")

    logger, stream = capture(Exploding())
    logger.error("anything")
    output = stream.getvalue()
    assert "could not be formatted" in output and TOKEN not in output


def test_bad_format_arguments_still_produce_a_line(capture: Capture) -> None:
    logger, stream = capture()
    logger.info("%d items", "not a number")
    assert "%d items" in str(json_lines(stream)[0]["msg"])


@pytest.mark.usefixtures("restore_logging")
def test_configure_logging_appends_json_lines_to_the_log_file(tmp_path: Path) -> None:
    log_file = tmp_path / "bot.log"
    log_file.write_text("earlier line\n", encoding="utf-8")
    configure_logging(log_format="json", log_level="INFO", log_file=str(log_file))
    log_event(logging.getLogger("cryptobot.test"), "bot.started", version="0.1.0")
    lines = log_file.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "earlier line"
    assert json.loads(lines[1])["event"] == "bot.started"


@pytest.mark.usefixtures("restore_logging")
def test_configure_logging_writes_to_stdout_without_a_file(
        capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(log_format="text", log_level="DEBUG", log_file=None, secrets=[TOKEN])
    logging.getLogger("cryptobot.test").debug("using %s", TOKEN)
    output = capsys.readouterr().out
    assert "cryptobot.test: using [REDACTED]" in output and TOKEN not in output


@pytest.mark.usefixtures("restore_logging")
def test_configuring_twice_replaces_the_handler_instead_of_adding_one(tmp_path: Path) -> None:
    configure_logging(log_format="json", log_level="INFO", log_file=str(tmp_path / "a.log"))
    configure_logging(log_format="text", log_level="INFO", log_file=str(tmp_path / "b.log"))
    ours = [h for h in logging.getLogger().handlers if h.get_name() == HANDLER_NAME]
    assert len(ours) == 1
    logging.getLogger("cryptobot.test").info("once")
    assert (tmp_path / "a.log").read_text(encoding="utf-8") == ""
    assert (tmp_path / "b.log").read_text(encoding="utf-8").count("once") == 1


@pytest.mark.usefixtures("restore_logging")
def test_noisy_http_loggers_stay_quiet_even_at_debug(tmp_path: Path) -> None:
    log_file = tmp_path / "bot.log"
    configure_logging(log_format="json", log_level="DEBUG", log_file=str(log_file))
    logging.getLogger("httpx").info("HTTP Request: POST https://api.telegram.org/bot%s/x", TOKEN)
    assert all(logging.getLogger(name).level == logging.WARNING for name in NOISY_LOGGERS)
    assert log_file.read_text(encoding="utf-8") == ""


@pytest.mark.usefixtures("restore_logging")
def test_pykka_log_records_reach_the_configured_handler(tmp_path: Path) -> None:
    log_file = tmp_path / "bot.log"
    logging.getLogger("pykka").propagate = False
    configure_logging(log_format="json", log_level="DEBUG", log_file=str(log_file))
    logging.getLogger("pykka").debug("actor started")
    assert json.loads(log_file.read_text(encoding="utf-8"))["logger"] == "pykka"


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize(("log_format", "log_level", "bad_setting"), [
    ("json", "LOUD", "log_level"),
    ("xml", "INFO", "log_format"),
])
def test_configure_logging_rejects_bad_settings(log_format: str, log_level: str,
                                                bad_setting: str) -> None:
    with pytest.raises(ConfigError) as caught:
        configure_logging(log_format=log_format, log_level=log_level, log_file=None)
    assert caught.value.key == bad_setting


@pytest.mark.usefixtures("restore_logging")
def test_unopenable_log_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        configure_logging(log_format="json", log_level="INFO", log_file=str(tmp_path))
    assert caught.value.key == "log_file"


def test_every_json_line_names_this_process_by_default(capture: Capture) -> None:
    from core.instance import this_instance

    logger, stream = capture()
    log_event(logger, "bot.started")
    logger.warning("plain line")
    assert [line["instance"] for line in json_lines(stream)] == [this_instance().key] * 2


def test_a_named_instance_is_carried_and_survives_redaction(capture: Capture) -> None:
    logger, stream = capture(JsonFormatter(instance="eu-1:4242:1796535501"), secrets=(TOKEN,))
    log_event(logger, "telegram.call", url=f"https://api.telegram.org/bot{TOKEN}/x")
    [line] = json_lines(stream)
    assert line["instance"] == "eu-1:4242:1796535501"
    assert line["url"] == f"https://api.telegram.org/bot{REDACTED}/x"
    assert list(line)[:6] == ["ts", "level", "logger", "event", "instance", "request_id"]


def test_an_event_field_called_instance_does_not_replace_the_lines_own(capture: Capture) -> None:
    logger, stream = capture(JsonFormatter(instance="bot-a"))
    log_event(logger, "odd.event", instance="someone else")
    [line] = json_lines(stream)
    assert (line["instance"], line["field_instance"]) == ("bot-a", "someone else")


@pytest.mark.usefixtures("restore_logging")
def test_configure_logging_passes_the_instance_to_json_and_not_to_text(tmp_path: Path) -> None:
    configure_logging(log_format="json", log_level="INFO", log_file=str(tmp_path / "a.log"),
                      instance="blue-7")
    log_event(logging.getLogger("cryptobot.test"), "bot.started")
    assert json.loads((tmp_path / "a.log").read_text(encoding="utf-8"))["instance"] == "blue-7"
    configure_logging(log_format="text", log_level="INFO", log_file=str(tmp_path / "b.log"),
                      instance="blue-7")
    log_event(logging.getLogger("cryptobot.test"), "bot.started")
    assert "blue-7" not in (tmp_path / "b.log").read_text(encoding="utf-8")
