"""Errors raised on purpose by the storage package.

Hierarchy (extends ``core.errors``)::

    BotError
    └── StorageError            storage.errors: anything about the database
        ├── SchemaError         the file is newer than this code, or a migration failed
        ├── DatabaseUnusable    the path is a directory, a special file, a symlink, not a
        │                       database, or cannot be created: no restart helps (also a
        │                       core.errors.PermanentFault: the bot exits 2)
        ├── StorageUnavailable  a read could not be served (pool exhausted, file unreadable)
        └── NotSaved            a write was refused; nothing changed. str() is for the user
            ├── InvalidWrite    the request itself is wrong (direction, price, symbol)
            ├── LimitReached    a per-user limit (alerts, watchlist) is reached
            ├── AlertNotFound   no such alert among the user's own
            │   └── NotYours    ...because it is someone else's (same text to the user)
            └── StorageBusy     locked or failing database after the retries

A ``NotSaved`` always means "nothing changed": the writer raises it only for writes it rolled
back, never for one it committed, so a caller can show ``str(error)`` as it is.
"""

from __future__ import annotations

from core.errors import BotError, PermanentFault

__all__ = [
    "AlertNotFound",
    "DatabaseUnusable",
    "InvalidWrite",
    "LimitReached",
    "NotSaved",
    "NotYours",
    "SchemaError",
    "StorageBusy",
    "StorageError",
    "StorageUnavailable",
]


class StorageError(BotError):
    """Base class of the storage package's errors."""


class SchemaError(StorageError):
    """The database cannot be brought to the schema this code expects."""


class DatabaseUnusable(StorageError, PermanentFault):
    """The database path cannot hold this bot's database, whatever a restart does.

    ``str()`` is one line for the operator: the path, the cause, what to do.
    """

    def __init__(self, path: str, cause: str, remedy: str) -> None:
        self.path = path
        self.cause = cause
        super().__init__(f"database {path}: {cause}; {remedy}")


class StorageUnavailable(StorageError):
    """A read failed; ``reason`` is short and safe to show."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"storage unavailable: {reason}")


class NotSaved(StorageError):
    """A write was refused and rolled back; the message is meant for the user."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"not saved, nothing changed: {reason}")


class InvalidWrite(NotSaved):
    """The write request breaks a rule (unknown direction, price not a positive number...)."""


class LimitReached(NotSaved):
    """The user already holds ``limit`` items of this kind."""

    def __init__(self, what: str, limit: int) -> None:
        self.what = what
        self.limit = limit
        super().__init__(f"you already have {limit} {what}, the most allowed")


class AlertNotFound(NotSaved):
    """No alert ``alert_id`` among the user's own."""

    def __init__(self, alert_id: int) -> None:
        self.alert_id = alert_id
        super().__init__(f"you have no alert #{alert_id}")


class NotYours(AlertNotFound):
    """The alert exists but belongs to another user; worded like ``AlertNotFound`` on purpose,
    so nobody learns which ids other people hold."""


class StorageBusy(NotSaved):
    """The database stayed locked or failing through every retry."""
