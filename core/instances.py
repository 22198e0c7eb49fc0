"""What one instance knows of all of them: the registry's records and its figures.

In ``core`` because three layers read them: ``cluster.registry`` writes and reads the records
in Redis, the registry actor reports them as its stats, and ``chat`` (the /actors card) and
``ops`` (``/healthz``, ``/actors`` JSON, ``/metrics``, ``inspect --all``) render them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.instance import InstanceId
from core.stats import HIDDEN, ActorStats

__all__ = ["InstanceRecord", "RegistryStats", "local_record"]


@dataclass(frozen=True, slots=True, kw_only=True)
class InstanceRecord:
    """One live instance as it last described itself (its heartbeat)."""

    key: str
    """``InstanceId.key``: the operator's name, else ``host:pid:start``."""
    host: str
    pid: int
    started_at: float
    """Process start, epoch seconds."""
    name: str | None = None
    version: str = ""
    """The package version it runs."""
    polling: bool = False
    """It held the polling lease (``poll:lease``) at its heartbeat."""
    redis_mode: str = "shared"
    """``shared`` (its budgets are in Redis) or ``local`` (no Redis: a single instance)."""
    uptime_s: float = 0.0
    """Seconds up at its heartbeat."""
    heartbeat_at: float = 0.0
    """Wall-clock time of its heartbeat."""

    def to_dict(self) -> dict[str, object]:
        return {"id": self.key, "host": self.host, "pid": self.pid, "name": self.name,
                "started_at": round(self.started_at, 3), "version": self.version,
                "polling": self.polling, "redis_mode": self.redis_mode,
                "uptime_s": round(self.uptime_s, 1), "heartbeat_at": round(self.heartbeat_at, 3)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InstanceRecord:
        """The inverse of ``to_dict``; ``ValueError`` when ``data`` is not one."""
        try:
            name = data.get("name")
            record = cls(key=str(data["id"]), host=str(data["host"]), pid=int(data["pid"]),
                       started_at=float(data["started_at"]),
                       name=None if name is None else str(name),
                       version=str(data.get("version", "")),
                       polling=bool(data.get("polling", False)),
                       redis_mode=str(data.get("redis_mode", "shared")),
                       uptime_s=float(data.get("uptime_s", 0.0)),
                       heartbeat_at=float(data.get("heartbeat_at", 0.0)))
            if not all(map(math.isfinite, (record.started_at, record.uptime_s,
                                           record.heartbeat_at))):
                raise ValueError("a time that is not a finite number")
            return record
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise ValueError(f"not an instance record: {type(exc).__name__}") from exc


def local_record(instance: InstanceId, now: float, *, version: str = "",
                 polling: bool = False, redis_mode: str = "local") -> InstanceRecord:
    """``instance`` as a record at wall-clock time ``now``."""
    return InstanceRecord(key=instance.key, host=instance.host, pid=instance.pid,
                          started_at=instance.started_at, name=instance.name, version=version,
                          polling=polling, redis_mode=redis_mode,
                          uptime_s=instance.uptime_s(now), heartbeat_at=now)


@dataclass(frozen=True, slots=True)
class RegistryStats(ActorStats):
    """The instance registry's figures: Redis, the live instances, the polling lease."""

    redis_up: bool
    """False while Redis does not answer this instance (its budgets are local then)."""
    fallback_fraction: float
    """The share of the shared budgets this instance keeps to while Redis is down."""
    instances_live: int
    """Live instances at the last heartbeat (this one included)."""
    lease_holder: str | None
    """The key of the instance holding the polling lease, if any."""
    holds_lease: bool
    """This instance holds it."""
    heartbeats: int
    """Heartbeats written."""
    heartbeat_failures: int
    """Heartbeats Redis did not take."""
    this: str = ""
    """This instance's key."""
    instances: tuple[InstanceRecord, ...] = field(default=(), metadata=HIDDEN)
    """The live instances, oldest first (for /actors, the JSON answers, inspect)."""
