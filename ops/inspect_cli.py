"""``python bot.py inspect``: the live actor tree and health of a bot running elsewhere.

Why: when a bot misbehaves on a server, the operator wants the same tree the /actors card
shows without a Telegram client, from a shell on that machine. The running bot serves its
snapshot on the loopback status port (``ops.status_http``); this command fetches ``/actors``
and ``/healthz``, rebuilds the snapshot and prints it with the same ``render_tree``, under a
line naming the instance that answered (id, host, pid, start in UTC and uptime).

``--all`` first lists every live instance of the bot (several instances on one token): it
reads the instance registry from Redis (``redis_url`` from the same configuration, and the
same bot token: keys are per bot), one line each, the one polling Telegram marked. Without
``redis_url`` it says the bot runs as a single instance and shows just the local one.

Exit status: 0 healthy, 1 degraded (reasons printed), 2 the bot could not be reached or did not
answer like a cryptobot status endpoint (one line naming the URL on stderr), 3 failing (it
answers, but cannot do its job: reasons printed).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import requests

from core.config import BotConfig
from core.errors import BotError
from core.instances import InstanceRecord
from resilience.breaker import BreakerSnapshot
from supervision.snapshot import ActorSnapshot, ChildState, render_tree
from core.stats import NO_STATS, FlatStats

__all__ = [
    "EXIT_DEGRADED", "EXIT_FAILING", "EXIT_HEALTHY", "EXIT_UNREACHABLE", "InspectError",
    "InstanceReader", "default_url", "instance_line", "instances_lines", "main",
    "snapshot_from_dict",
]

InstanceReader = Callable[[], tuple[tuple[InstanceRecord, ...], str | None]]
"""Reads the registry: (the live instances, the polling lease holder's key); raises a
``BotError`` when Redis does not answer."""

EXIT_HEALTHY = 0
EXIT_DEGRADED = 1
EXIT_UNREACHABLE = 2
EXIT_FAILING = 3

_DEFAULT_TIMEOUT_S = 5.0
_FALLBACK_TERMINAL_COLUMNS = 100


class InspectError(BotError):
    """The status endpoint could not be reached or answered something unexpected."""


def default_url(config: BotConfig | None = None) -> str | None:
    """The status URL of a bot using ``config`` (defaults when None); None if it is disabled."""
    port = (config or BotConfig()).status_port
    return f"http://127.0.0.1:{port}" if port else None


def _breaker_from_dict(data: Mapping[str, Any]) -> BreakerSnapshot:
    return BreakerSnapshot(
        name=str(data["name"]),
        state=str(data["state"]),
        consecutive_failures=int(data.get("consecutive_failures", 0)),
        failure_rate=data.get("failure_rate"),
        calls_in_window=int(data.get("calls_in_window", 0)),
        trips=int(data.get("trips", 0)),
        reset_timeout_s=float(data.get("reset_timeout_s", 0.0)),
        retry_after_s=float(data.get("retry_after_s", 0.0)),
    )


def _node_from_dict(data: Mapping[str, Any]) -> ActorSnapshot:
    stats = data.get("stats") or {}
    return ActorSnapshot(
        name=str(data["name"]),
        state=ChildState(data["state"]),
        kind=str(data.get("kind", "worker")),
        restarts=int(data.get("restarts", 0)),
        last_failure=data.get("last_failure"),
        mailbox_depth=int(data.get("mailbox_depth", 0)),
        handled=int(data.get("handled", 0)),
        restart_type=str(data.get("restart_type", "permanent")),
        priority=str(data.get("priority", "CRITICAL")),
        strategy=data.get("strategy"),
        breakers=tuple(_breaker_from_dict(b) for b in data.get("breakers") or ()),
        stats=FlatStats(tuple(sorted((str(key), value) for key, value in stats.items())))
        if stats else NO_STATS,
        children=tuple(_node_from_dict(child) for child in data.get("children") or ()),
    )


def snapshot_from_dict(data: object) -> ActorSnapshot:
    """The inverse of ``ActorSnapshot.to_dict()``; ``InspectError`` if ``data`` is not one.

    Each actor's figures come back by their flat names (``FlatStats``): the types they had in
    the running bot are not known here, and ``render_tree`` does not need them."""
    if not isinstance(data, Mapping):
        raise InspectError(f"expected an actor tree object, got {type(data).__name__}")
    try:
        return _node_from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InspectError(f"malformed actor tree: {type(exc).__name__}: {exc}") from exc


def _duration(seconds: float) -> str:
    """``40 s``, ``12 min``, ``5 h 3 min``, ``3 d 4 h``: an uptime at a glance."""
    whole = max(0, int(seconds))
    days, rest = divmod(whole, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else f"{secs} s"


def instance_line(data: object) -> str | None:
    """``instance <id> · host <h> · pid <p> · up since <UTC> (<uptime>)`` from the
    ``"instance"`` object of a status answer; None when it has none (an older bot)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("instance"), Mapping):
        return None
    instance = data["instance"]
    try:
        uptime = f" ({_duration(float(instance['uptime_s']))})"
    except (KeyError, TypeError, ValueError):
        uptime = ""
    return (f"instance {instance.get('id', '?')} · host {instance.get('host', '?')} · "
            f"pid {instance.get('pid', '?')} · up since {instance.get('started', '?')}{uptime}")


def instances_lines(records: Sequence[InstanceRecord], holder: str | None) -> list[str]:
    """``2 live instances:`` then one line per instance, the lease holder marked."""
    lines = [f"{len(records)} live instance{'' if len(records) == 1 else 's'}:"]
    for record in records:
        polling = " · polling" if record.key == holder else ""
        version = f" · v{record.version}" if record.version else ""
        lines.append(f"  {record.key} · host {record.host} · pid {record.pid} · "
                     f"up {_duration(record.uptime_s)}{version}{polling}")
    return lines


def _get_json(session: requests.Session, url: str, timeout_s: float) -> tuple[int, Any]:
    try:
        response = session.get(url, timeout=timeout_s)
    except requests.RequestException as exc:
        raise InspectError(f"cannot reach the bot at {url} ({type(exc).__name__})") from exc
    try:
        return response.status_code, response.json()
    except ValueError as exc:
        raise InspectError(
            f"{url} answered {response.status_code} without JSON; is it a cryptobot status port?"
        ) from exc


def _tree_text(status: int, body: Any, url: str) -> str:
    if status == 200:
        width = shutil.get_terminal_size((_FALLBACK_TERMINAL_COLUMNS, 24)).columns
        return render_tree(snapshot_from_dict(body), width=width)
    if status == 503 and isinstance(body, Mapping):
        return f"actor tree unavailable: {body.get('error', 'no reason given')}"
    raise InspectError(f"{url} answered {status}; is it a cryptobot status port?")


def _health_verdict(status: int, body: Any, url: str) -> tuple[int, list[str]]:
    if not isinstance(body, Mapping) or status not in (200, 503):
        raise InspectError(f"{url} answered {status}; is it a cryptobot status port?")
    reasons = [str(reason) for reason in body.get("reasons") or ()]
    level = body.get("status")
    if status == 200 and level == "ok" and not reasons:
        return EXIT_HEALTHY, ["health: ok"]
    verdict = EXIT_DEGRADED if status == 200 and level == "degraded" else EXIT_FAILING
    name = "degraded" if verdict == EXIT_DEGRADED else "failing"
    return verdict, [f"health: {name}", *(f"  • {reason}" for reason in reasons)]


def _parser(fallback_url: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bot.py inspect", description="Show a running bot's actor tree and health.",
        epilog="Exit status: 0 healthy, 1 degraded, 2 the bot could not be reached, "
               "3 failing.")
    parser.add_argument("--url", default=fallback_url,
                        help=f"status endpoint of the running bot (default: {fallback_url})")
    parser.add_argument("--timeout", type=float, default=_DEFAULT_TIMEOUT_S, metavar="SECONDS",
                        help="how long to wait for each answer")
    parser.add_argument("--all", action="store_true",
                        help="first list every live instance (from the registry in Redis)")
    return parser


def main(argv: Sequence[str] | None = None, *, config: BotConfig | None = None,
         instances: InstanceReader | None = None) -> int:
    """Print the tree and the health verdict; the exit status says which verdict.

    ``instances`` reads the registry for ``--all`` (None: no ``redis_url``, one instance)."""
    args = _parser(default_url(config)).parse_args(argv)
    if args.all:
        if instances is None:
            print("redis_url is not set: the bot runs as a single instance")
        else:
            try:
                records, holder = instances()
            except BotError as error:
                print(f"inspect: cannot read the instance registry ({error})", file=sys.stderr)
                return EXIT_UNREACHABLE
            print("\n".join(instances_lines(records, holder)))
    if not args.url:
        print("inspect: the status server is disabled (status_port = 0); pass --url",
              file=sys.stderr)
        return EXIT_UNREACHABLE
    base_url = str(args.url).rstrip("/")
    try:
        with requests.Session() as session:
            actors_url, health_url = f"{base_url}/actors", f"{base_url}/healthz"
            tree = _tree_text(*_get_json(session, actors_url, args.timeout), actors_url)
            health_status, health = _get_json(session, health_url, args.timeout)
            verdict, lines = _health_verdict(health_status, health, health_url)
    except InspectError as error:
        print(f"inspect: {error}", file=sys.stderr)
        return EXIT_UNREACHABLE
    instance = instance_line(health)
    if instance is not None:
        print(instance)
    print(tree)
    print("\n".join(lines))
    return verdict
