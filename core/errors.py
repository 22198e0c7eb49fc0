"""The root of every error this project raises on purpose.

Hierarchy (each package adds its own branch in its ``errors`` module)::

    BotError
    ├── ConfigError                 core.errors: a setting has a value that is not allowed
    ├── PermanentFault              core.errors: a fault no restart can fix (the root gives up
    │                               at once, the process exits 2); subclassed where detected
    ├── SupervisionError            supervision.errors
    │   ├── ChildUnavailable        an actor is restarting, stopped or not started
    │   └── MaxRestartsExceeded     restart intensity exceeded; escalates to the parent
    ├── CircuitOpenError            resilience.errors: a circuit breaker refuses calls for now
    └── ...                         market, storage and chat errors arrive with their packages

Errors carry data (a key, a retry delay) as attributes so callers never parse messages.
"""

from __future__ import annotations

import re

__all__ = ["TOKEN_SHAPE", "BotError", "ConfigError", "PermanentFault"]

TOKEN_SHAPE = r"\d{5,}+(?::|%3[Aa])[A-Za-z0-9_-]{30,}"
"""A Telegram bot token, "<bot id>:<30+ url-safe chars>" (%3A: the colon URL-encoded). Defined
here, the bottom of the import graph, because core.logs redacts it and ConfigError masks it."""
# A token pasted into the wrong setting must not be printed back in the error about it.
# Matching starts only where a run of digits does, so a 5000-digit value is scanned once.
_TOKEN_SHAPED = re.compile(rf"(?<![0-9]){TOKEN_SHAPE}")
_REDACTED = "<redacted>"


class BotError(Exception):
    """Base class of every error raised deliberately by cryptobot."""


class ConfigError(BotError):
    """A configuration value is invalid; the message is one line naming key, value and rule."""

    def __init__(self, key: str, value: object, allowed: str) -> None:
        self.key = key
        self.value = _REDACTED if _TOKEN_SHAPED.search(repr(value)) else value
        self.allowed = allowed
        shown_key = key if key.isprintable() else repr(key)  # a TOML key may hold a newline
        message = f"invalid setting {shown_key}={self.value!r}: {allowed}"
        super().__init__(_TOKEN_SHAPED.sub(_REDACTED, message))


class PermanentFault(BotError):
    """A fault that restarting cannot fix: a rejected bot token, a database file that is not a
    database, a database path that is a directory.

    Raised where it is detected (usually an actor's ``setup``); the supervisors do not restart
    the actor but give up at once, and ``bot.py`` exits 2 with ``str(fault)`` as its one line,
    so the message must name the cause and what to do, in one line, and never hold a secret.
    Subclasses also derive from their package's error class (``TokenRejected`` is a
    ``TransportError`` too).
    """
