"""Persistence: the schema and its migrations, reads, writes, and the batching rules, on the
SQLite file or on PostgreSQL (``database_url``; ``storage.engine``, ``storage.pg``).

Pure, actor-free code. ``actors.db_writer`` is the only writer of its process (it applies
``storage.writes`` through ``storage.batch``); any thread reads through a :class:`ReadPool`.
See docs/storage.md.
"""

from __future__ import annotations

from storage.alert_rules import DIRECTIONS, Direction, check_alert, reached
from storage.connection import open_read_only, open_writer
from storage.errors import (
    AlertNotFound,
    InvalidWrite,
    LimitReached,
    NotSaved,
    NotYours,
    SchemaError,
    StorageBusy,
    StorageError,
    StorageUnavailable,
)
from storage.read_pool import ReadPool
from storage.schema import SCHEMA_VERSION, migrate, schema_version
from storage.timing import KindTimings, QueryTimer
from storage.writes import WriteRules

__all__ = [
    "DIRECTIONS",
    "SCHEMA_VERSION",
    "AlertNotFound",
    "Direction",
    "InvalidWrite",
    "KindTimings",
    "LimitReached",
    "NotSaved",
    "NotYours",
    "QueryTimer",
    "ReadPool",
    "SchemaError",
    "StorageBusy",
    "StorageError",
    "StorageUnavailable",
    "WriteRules",
    "check_alert",
    "migrate",
    "open_read_only",
    "open_writer",
    "reached",
    "schema_version",
]
