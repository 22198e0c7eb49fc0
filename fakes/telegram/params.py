"""Reading a Bot API method's typed parameters from the strings a request carries.

Why a module of its own: PTB posts every parameter as a form field, so an id arrives as a
string and a keyboard or a command list as JSON inside one; turning them back into values,
with the exact 400 texts Telegram gives for each bad one, is parsing, not Bot API state.
``fakes.telegram.state`` reads every method's parameters through these.
"""

from __future__ import annotations

import json
from typing import Any

from fakes.telegram.rules import BotApiError

__all__ = ["integer_param", "json_param"]


def integer_param(params: dict[str, Any], name: str, *, required: bool = True) -> int | None:
    """An integer parameter (ids arrive as form strings), with the Bot API's 400 when it is not."""
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise BotApiError(400, f"Bad Request: {name} is empty")
        return None
    if isinstance(value, bool):
        raise BotApiError(400, f"Bad Request: {name} must be an integer")
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError:
        if name == "chat_id":
            raise BotApiError(400, "Bad Request: chat not found") from None
        raise BotApiError(400, f"Bad Request: {name} must be an integer") from None


def json_param(params: dict[str, Any], name: str) -> Any:
    """A JSON-typed parameter: PTB sends it json.dumps'd in a form field."""
    value = params.get(name)
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        raise BotApiError(400, f"Bad Request: can't parse {name} JSON object") from None
