"""The root of every error this project raises on purpose.

Hierarchy (each package adds its own branch in its ``errors`` module)::

    BotError
    ├── ConfigError                 core.errors: a setting has a value that is not allowed
    ├── SupervisionError            supervision.errors
    │   ├── ChildUnavailable        an actor is restarting, stopped or not started
    │   ├── MaxRestartsExceeded     restart intensity exceeded; escalates to the parent
    │   └── CircuitOpenError        a circuit breaker refuses calls for now
    └── ...                         market, storage and chat errors arrive with their packages

Errors carry data (a key, a retry delay) as attributes so callers never parse messages.
"""

from __future__ import annotations

__all__ = ["BotError", "ConfigError"]


class BotError(Exception):
    """Base class of every error raised deliberately by cryptobot."""


class ConfigError(BotError):
    """A configuration value is invalid; the message is one line naming key, value and rule."""

    def __init__(self, key: str, value: object, allowed: str) -> None:
        self.key = key
        self.value = value
        self.allowed = allowed
        super().__init__(f"invalid setting {key}={value!r}: {allowed}")
