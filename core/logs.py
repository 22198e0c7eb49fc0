"""Structured logging: one JSON object (or one readable line) per event, with secrets removed.

Operators grep and alert on stable event names ("actor.restarted") and fields, not on prose, so
``log_event`` is the one way to log something significant. A request id bound with
``bind_request_id`` ties together every line written while one Telegram update is handled.

The bot token appears in Bot API URLs (``https://api.telegram.org/bot<TOKEN>/getMe``), and
httpx, urllib3 and exception messages print those URLs. Redaction therefore runs on the final
formatted line, after tracebacks are rendered, so no code path can slip a token past it.
``configure_logging`` is called once by bot.py; calling it again replaces its own handler.
Every JSON line names the process that wrote it (``instance``, ``core.instance``), so lines of
a restarted bot, or of several bots in one log store, can be told apart.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import re
import sys
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar
from datetime import datetime, timezone
from types import TracebackType
from typing import TypeAlias
from urllib.parse import quote

from core.errors import TOKEN_SHAPE, ConfigError
from core.instance import this_instance

__all__ = [
    "ExcInfo", "HANDLER_NAME", "JsonFormatter", "LOG_FORMATS", "LOG_LEVELS", "NOISY_LOGGERS",
    "REDACTED", "RedactingFormatter", "Redactor", "TELEGRAM_TOKEN_PATTERN", "TextFormatter",
    "bind_request_id", "configure_logging", "log_event", "new_request_id", "request_id_var",
]

REDACTED = "[REDACTED]"
TELEGRAM_TOKEN_PATTERN = re.compile(TOKEN_SHAPE)
# Where a match may start: never inside the hex digits of a JSON "\u0010" escape, whose digits
# a secret right after a control character would otherwise take with it, leaving a JSON line
# that no longer parses.
_OUTSIDE_JSON_ESCAPE = "".join(rf"(?<!\\u{'[0-9A-Fa-f]' * n})" for n in range(4))
# The token's shape as the redactor looks for it: also only where a run of digits starts (or
# right after an escape), so a long run is scanned once rather than from each of its digits.
_TOKEN_IN_TEXT = (rf"(?:(?<=\\u[0-9A-Fa-f]{{4}})|(?<![0-9]){_OUTSIDE_JSON_ESCAPE})"
                  + TOKEN_SHAPE)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("json", "text")
# httpx logs every request URL (token included) at INFO; these stay at WARNING or above.
NOISY_LOGGERS = ("httpx", "httpcore", "urllib3", "matplotlib")
# configure_logging finds the handler it installed earlier by this name, so it can replace it.
HANDLER_NAME = "cryptobot"

request_id_var: ContextVar[str | None] = ContextVar("cryptobot_request_id", default=None)

ExcInfo: TypeAlias = (
    bool | BaseException | tuple[type[BaseException], BaseException, TracebackType | None] | None
)
# Keys the JSON formatter writes itself; event fields with these names get a "field_" prefix.
_RESERVED_KEYS = frozenset({"ts", "level", "logger", "event", "instance", "request_id", "msg",
                            "exc", "stack"})


def new_request_id() -> str:
    """A short random id, unique enough to correlate the lines of one request."""
    return uuid.uuid4().hex[:12]


@contextlib.contextmanager
def bind_request_id(request_id: str | None) -> Iterator[str | None]:
    """Make ``request_id`` the current request id for this thread/task until the block ends."""
    token = request_id_var.set(request_id)
    try:
        yield request_id
    finally:
        request_id_var.reset(token)


def _render_value(value: object) -> str:
    text = value if isinstance(value, str) else _safe_repr(value)
    # Quote anything that would make "k=v k=v" ambiguous to read or to split.
    if text == "" or any(char.isspace() or char in "\"'=" for char in text):
        return json.dumps(text, ensure_ascii=False)
    return text


def _safe_repr(value: object) -> str:
    try:
        return repr(value)
    except Exception:  # a broken __repr__ must not lose the log line
        return f"<unrepresentable {type(value).__name__}>"


def log_event(logger: logging.Logger, event: str, level: int = logging.INFO, /, *,
              exc_info: ExcInfo = None, **fields: object) -> None:
    """Log the significant event ``event`` (a stable dotted name) with ``fields`` as data.

    A ``request_id`` field overrides the bound request id; ``exc_info`` attaches a traceback.
    """
    if not logger.isEnabledFor(level):
        return  # skip rendering the k=v text for lines nobody will see
    request_id = fields.pop("request_id", None) or request_id_var.get()
    text = " ".join([event, *(f"{key}={_render_value(value)}" for key, value in fields.items())])
    extra = {"event": event, "fields": fields, "request_id": request_id}
    # stacklevel=2 so the record points at the caller, not at this helper.
    logger.log(level, "%s", text, exc_info=exc_info, extra=extra, stacklevel=2)


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _request_id(record: logging.LogRecord) -> str | None:
    request_id = getattr(record, "request_id", None)
    return str(request_id) if request_id is not None else request_id_var.get()


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:  # bad %-args in someone's log call; keep the raw parts instead
        return f"{_safe_repr(record.msg)} % {_safe_repr(record.args)}"


def _json_field(value: object) -> object:
    """``value`` if it encodes as strict JSON, otherwise its repr."""
    try:
        json.dumps(value, allow_nan=False)
        return value
    except (TypeError, ValueError, RecursionError):
        if isinstance(value, float) and not math.isfinite(value):
            return str(value)
        return _safe_repr(value)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, event, instance, request_id, msg or fields,
    exc. ``instance`` is the text form of the process's ``InstanceId`` (this process's when
    not given)."""

    def __init__(self, *, instance: str | None = None) -> None:
        super().__init__()
        self.instance = instance if instance is not None else this_instance().key

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "event": getattr(record, "event", None) or "log",
            "instance": self.instance,
            "request_id": _request_id(record),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping):
            for key, value in fields.items():
                name = f"field_{key}" if key in _RESERVED_KEYS else str(key)
                payload[name] = _json_field(value)
        else:
            payload["msg"] = _message(record)
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            payload["stack"] = self.formatStack(record.stack_info)
        return json.dumps(payload, ensure_ascii=False, allow_nan=False)


class TextFormatter(logging.Formatter):
    """For humans: ``<ts> INFO actor.restarted name=fetcher restarts=2 [req=abc]``."""

    def format(self, record: logging.LogRecord) -> str:
        message = _message(record)
        # Event lines already start with their event name; plain lines need their source.
        body = message if hasattr(record, "event") else f"{record.name}: {message}"
        line = f"{_timestamp(record)} {record.levelname} {body}"
        request_id = _request_id(record)
        if request_id is not None:
            line += f" [req={request_id}]"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return line


class Redactor:
    """Replaces the given secrets, and anything shaped like a bot token, with ``REDACTED``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        variants: set[str] = set()
        for secret in filter(str.strip, secrets):
            # The same secret as it appears raw, in a repr or a URL, and each of those in JSON.
            spellings = {secret, repr(secret)[1:-1], quote(secret, safe="")}
            variants |= spellings | {json.dumps(s, ensure_ascii=False)[1:-1] for s in spellings}
        # Longest first, so a secret containing another secret is removed whole.
        literals = "|".join(re.escape(v) for v in sorted(variants, key=len, reverse=True))
        self._pattern = re.compile(
            f"{_OUTSIDE_JSON_ESCAPE}(?:{literals})|{_TOKEN_IN_TEXT}" if literals else _TOKEN_IN_TEXT)
        # Second pass: a secret that only follows text like "\u12" (no escape) is still found.
        self._anywhere = re.compile(literals) if literals else None

    def redact(self, text: str) -> str:
        text = self._pattern.sub(REDACTED, text)
        return text if self._anywhere is None else self._anywhere.sub(REDACTED, text)


class RedactingFormatter(logging.Formatter):
    """Wraps another formatter and redacts its complete output, tracebacks included."""

    def __init__(self, inner: logging.Formatter, redactor: Redactor) -> None:
        super().__init__()
        self.inner = inner
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        try:
            text = self.inner.format(record)
        # Broad on purpose: logging's own error path would print the raw, unredacted record.
        except Exception as error:
            text = (f"{_timestamp(record)} {record.levelname} {record.name}: log record could not "
                    f"be formatted ({type(error).__name__}: {_safe_repr(error)})")
        return self.redactor.redact(text)


def _open_handler(log_file: str | None) -> logging.Handler:
    if log_file is None:
        return logging.StreamHandler(sys.stdout)
    try:
        return logging.FileHandler(log_file, mode="a", encoding="utf-8")
    except OSError as error:
        raise ConfigError("log_file", log_file,
                          f"a file that can be opened for appending ({error.strerror or error})"
                          ) from error


def configure_logging(*, log_format: str, log_level: str, log_file: str | None,
                      secrets: Iterable[str] = (), instance: str | None = None) -> None:
    """Send all logging (pykka's too) to stdout or ``log_file``, formatted and redacted.

    JSON lines carry ``instance`` (default: this process's ``InstanceId`` text form); the text
    format, read by a human at one terminal, leaves it out. Calling it again replaces the
    handler installed last time rather than adding another.
    """
    level_name = log_level.upper()
    if level_name not in LOG_LEVELS:
        raise ConfigError("log_level", log_level, f"one of {', '.join(LOG_LEVELS)}")
    if log_format not in LOG_FORMATS:
        raise ConfigError("log_format", log_format, f"one of {', '.join(LOG_FORMATS)}")
    formatter = (JsonFormatter(instance=instance) if log_format == "json" else TextFormatter())
    level = logging.getLevelNamesMapping()[level_name]
    # Open the new handler first: if the file cannot be opened, the old logging keeps working.
    handler = _open_handler(log_file)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(RedactingFormatter(formatter, Redactor(secrets)))
    root = logging.getLogger()
    for previous in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(previous)
        previous.close()
    root.addHandler(handler)
    root.setLevel(level)
    for name in NOISY_LOGGERS:
        # A logger's own level is the only gate on propagated records, hence max(): at ERROR
        # the root would not filter httpx's WARNINGs for us.
        logging.getLogger(name).setLevel(max(logging.WARNING, level))
    # pykka ships only a NullHandler; make sure its crash reports reach our handler.
    pykka_logger = logging.getLogger("pykka")
    pykka_logger.setLevel(logging.NOTSET)
    pykka_logger.propagate = True
