"""Change a logger's level at run time, refusing names that would create loggers.

Why: an operator chasing a problem wants DEBUG lines from one component now, without a
restart that would lose the very state being looked at, and wants to put it back after.
``logging.getLogger(name)`` creates (and keeps forever) a logger for any name it is given,
so a name typed in a chat is only accepted if logging's manager already holds that logger:
user input can never grow the process's logger table. Only the four levels the
``log_level`` setting knows are accepted.
"""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass

from core.errors import BotError

__all__ = ["LevelChange", "UnknownLogger", "known_loggers", "set_log_level"]

_ALLOWED = ("DEBUG", "INFO", "WARNING", "ERROR")


class UnknownLogger(BotError):
    """No logger of that name exists (and none is created for the asking)."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"no logger named {name!r}")


@dataclass(frozen=True, slots=True)
class LevelChange:
    """What one /loglevel did."""

    logger: str
    """"root" or the dotted logger name."""
    old: str
    """The level set on it before ("NOTSET" when it inherited one)."""
    effective_before: str
    """The level it actually logged at before (its own or inherited)."""
    new: str
    """The level set now."""


def _existing(name: str | None) -> logging.Logger:
    if name is None or name == "root":
        return logging.getLogger()
    # Read the manager's table instead of getLogger(), which would create the logger.
    found = logging.Logger.manager.loggerDict.get(name)
    if not isinstance(found, logging.Logger):  # absent, or a PlaceHolder for a child's parent
        raise UnknownLogger(name)
    return found


def known_loggers(near: str, *, limit: int = 12) -> tuple[str, ...]:
    """Existing logger names to suggest for a refused ``near``: the closest spellings, else
    those sharing its first segment, else every top-level package that has loggers (at
    most ``limit``)."""
    names = sorted(name for name, found in logging.Logger.manager.loggerDict.items()
                   if isinstance(found, logging.Logger))
    spelled = difflib.get_close_matches(near, names, n=min(limit, 3), cutoff=0.8)
    if spelled:
        return tuple(spelled)
    head = near.split(".")[0]
    close = [name for name in names if name.split(".")[0] == head]
    if close:
        return tuple(close[:limit])
    return tuple(sorted({name.split(".")[0] for name in names})[:limit])


def set_log_level(level: str, name: str | None = None) -> LevelChange:
    """Set ``level`` on the root logger (``name`` None) or on an existing logger ``name``.

    Raises ``ValueError`` for a level outside DEBUG/INFO/WARNING/ERROR and
    :class:`UnknownLogger` for a name logging does not know.
    """
    if level not in _ALLOWED:
        raise ValueError(f"level must be one of {', '.join(_ALLOWED)}, got {level!r}")
    logger = _existing(name)
    old = logging.getLevelName(logger.level)
    effective = logging.getLevelName(logger.getEffectiveLevel())
    logger.setLevel(level)
    return LevelChange(logger="root" if logger is logging.getLogger() else logger.name,
                       old=old, effective_before=effective, new=level)
