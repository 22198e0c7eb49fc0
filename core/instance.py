"""Which running bot this is: host, pid and process start time, as one ``InstanceId``.

Why: a log line, a ``/healthz`` answer, an ``/actors`` card or a Prometheus series is only
useful if the operator can tell which process wrote it: one after a restart looks like the one
before it, and once several instances share a token (issue #16) their lines interleave in one
log store. Every output names the instance through this one value, so they never disagree.

The start time is the operating system's process creation time (``psutil``), not the moment
``CryptoBot`` was built: it is what ``ps``, systemd and the Prometheus process collector's
``process_start_time_seconds`` show, so the id can be matched against them; it is the same
whenever it is first asked for (a log line before the bot is built, a test building several
bots); and with the pid it names one process on a host for good, since a pid reused later gets
a later creation time. It is read once per process (per pid: a forked child reads its own).

The text form (``key``) is ``host:pid:start`` with the start in whole epoch seconds, short and
made of ``[A-Za-z0-9_.-:]`` only, so it fits a log field, a metric label and later a Redis key.
An operator may name the instance instead (``instance_name``, ``CRYPTOBOT_INSTANCE_NAME``):
the name then is the key, and must be unique among the instances running at one time.
"""

from __future__ import annotations

import functools
import os
import re
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timezone

import psutil

__all__ = ["INSTANCE_NAME_PATTERN", "InstanceId", "this_instance", "valid_instance_name"]

INSTANCE_NAME_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,64}")
"""What an operator's ``instance_name`` may be: short, and safe in a label or key as it is."""

_HOST_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_HOST_MAX = 64


def valid_instance_name(name: str) -> bool:
    """Whether ``name`` may name an instance (``INSTANCE_NAME_PATTERN``)."""
    return INSTANCE_NAME_PATTERN.fullmatch(name) is not None


@dataclass(frozen=True, slots=True)
class InstanceId:
    """One bot process: where it runs, its pid, when it started, and the operator's name."""

    host: str
    """The host name, with anything outside ``[A-Za-z0-9_.-]`` replaced by ``-``."""
    pid: int
    started_at: float
    """Process creation time, epoch seconds."""
    name: str | None = None
    """The operator's ``instance_name``, if one was set."""

    def __post_init__(self) -> None:
        if self.name is not None and not valid_instance_name(self.name):
            raise ValueError(f"instance name {self.name!r} is not 1-64 of A-Z a-z 0-9 _ . -")

    @property
    def key(self) -> str:
        """The short stable text form: the operator's name, else ``host:pid:start``."""
        if self.name is not None:
            return self.name
        return f"{self.host}:{self.pid}:{int(self.started_at)}"

    @property
    def started_iso(self) -> str:
        """The start time in UTC, to the second: ``2026-12-06T05:38:21Z``."""
        moment = datetime.fromtimestamp(self.started_at, tz=timezone.utc)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    def uptime_s(self, now: float) -> float:
        """Seconds since the start at wall-clock time ``now`` (never negative)."""
        return max(0.0, now - self.started_at)

    def to_dict(self, now: float) -> dict[str, object]:
        """Plain data for JSON answers (``/healthz``, ``/actors``), uptime as of ``now``."""
        return {"id": self.key, "host": self.host, "pid": self.pid, "name": self.name,
                "started_at": round(self.started_at, 3), "started": self.started_iso,
                "uptime_s": round(self.uptime_s(now), 1)}


def _clean_host(host: str) -> str:
    return _HOST_UNSAFE.sub("-", host).strip("-")[:_HOST_MAX] or "unknown-host"


@functools.cache
def _process_facts(pid: int) -> tuple[str, float]:
    """(host, start time) of process ``pid``, read once; keyed by pid so a fork reads anew."""
    try:
        started = psutil.Process(pid).create_time()
    except psutil.Error:  # no /proc (a locked-down container): the first moment anyone asked
        started = time.time()
    return _clean_host(socket.gethostname()), started


def this_instance(name: str | None = None) -> InstanceId:
    """This process's id, named ``name`` when the operator set ``instance_name``."""
    pid = os.getpid()
    host, started = _process_facts(pid)
    return InstanceId(host=host, pid=pid, started_at=started, name=name)
