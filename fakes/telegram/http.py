"""HTTP plumbing of the fake Bot API: its connection handler and request-body parsing.

Why its own module: python-telegram-bot never sends JSON. It posts urlencoded forms, multipart
uploads for photos and empty bodies for parameterless calls (api-contracts §4.3), and the fake
must read all of them, plus JSON for curl and the bench. The server itself (connection
tracking, prompt stop) is the shared ``fakes.loopback`` one. Request paths carry the bot
token, so nothing here logs a raw path.
"""

from __future__ import annotations

import json
import logging
import re
from email.message import Message
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fakes.loopback import BodyError, LoopbackHandler
from fakes.telegram.uploads import DOCUMENT_LIMIT, Upload

__all__ = ["BodyError", "BotApiHandler", "RequestInput", "redact_path"]

_log = logging.getLogger(__name__)

_BOT_PATH = re.compile(r"^/bot[^/]*")

RequestInput = tuple[dict[str, Any], dict[str, bytes]]
"""Request parameters and uploaded files (by form field name; each an ``Upload``)."""


def redact_path(path: str) -> str:
    """``path`` with the token part of ``/bot<token>/...`` replaced, safe to log."""
    return _BOT_PATH.sub("/bot<token>", path)


class BotApiHandler(LoopbackHandler):
    """One connection to the fake; JSON answers keep non-ASCII text as UTF-8, like Telegram."""

    timeout = 60.0
    json_ensure_ascii = False
    max_body_bytes = DOCUMENT_LIMIT + 1_000_000
    """Room for a document upload at its 50 MB limit (and one byte over, to refuse it as
    Telegram does, with 413)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        _log.debug("%s %s -> %s", self.command, redact_path(urlsplit(self.path).path), code)

    def log_message(self, format: str, *args: object) -> None:
        # http.server's error lines quote the request line, token included.
        _log.debug("fake bot api: %s", redact_path(format % args))

    def read_params(self) -> RequestInput:
        """Query string plus body (urlencoded, multipart, JSON or empty) as parameters."""
        params: dict[str, Any] = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
        files: dict[str, bytes] = {}
        raw = self.read_body()
        content_type = self.headers.get("Content-Type", "")
        kind = content_type.split(";", 1)[0].strip().lower()
        if not raw.strip():
            return params, files
        if kind == "application/json":
            try:
                body = json.loads(raw)
            except json.JSONDecodeError as error:
                raise BodyError(f"body is not JSON: {error}") from None
            if not isinstance(body, dict):
                raise BodyError("a JSON body must be an object")
            params.update(body)
        elif kind == "multipart/form-data":
            fields, files = parse_multipart(raw, content_type)
            params.update(fields)
        else:
            params.update(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        return params, files


def parse_multipart(raw: bytes, content_type: str) -> tuple[dict[str, str], dict[str, bytes]]:
    """Split a multipart/form-data body into text fields and file parts (by field name)."""
    header = Message()
    header["Content-Type"] = content_type
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise BodyError("multipart body without a boundary")
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    delimiter = b"--" + boundary.encode()
    for part in raw.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break  # the closing delimiter
        head, separator, body = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not separator:
            raise BodyError("multipart part without headers")
        body = body.removesuffix(b"\r\n")
        disposition = Message()
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            disposition[name.strip()] = value.strip()
        field_name = disposition.get_param("name", header="content-disposition")
        if not isinstance(field_name, str):
            raise BodyError("multipart part without a name")
        filename = disposition.get_param("filename", header="content-disposition")
        if filename is not None:
            files[field_name] = Upload(body, filename if isinstance(filename, str) else "")
        else:
            fields[field_name] = body.decode("utf-8", "replace")
    return fields, files
