"""Several ``bot.py run`` processes against the fakes on loopback, driven as users drive them.

Why: "two instances share one token and nothing is answered twice" can only be shown from
outside - real processes, a real ``kill -9``, the real Bot API protocol. ``Cluster`` owns the
exchange simulator and the fake Bot API (in this process), starts each bot as its own process
group with its own instance name, status port and log file, and waits on conditions with
deadlines (``/healthz`` answering, a long poll held, replies counted), never on fixed sleeps.
``stop()`` ends every process group it started, also after a failed test (use it as a context
manager), so no bot outlives its test.

A command and how its answer is recognised travel together (``fakes.scale.asks.Ask``):
``answers`` counts, per ask, the messages in its chat that match its pattern, so "each
answered exactly once" is a count of 1 for every ask.

Shared-state readers (``lease_holder``, ``pending_updates``) read the Redis keys of the
contract in docs/scaling.md directly (``cryptobot:<bot id>:poll:lease``, the ``updates``
stream's group ``bot``); they need ``redis_url``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from fakes.exchange.simulator import ExchangeSimulator
from fakes.scale import asks
from fakes.scale.asks import Ask
from fakes.scale.pinned import PinnedSeries, pinned_spec
from fakes.telegram.bot_api import FakeBotApi
from fakes.telegram.rules import FloodRules

__all__ = ["TOKEN", "Cluster", "Instance", "free_port", "wait_until"]

REPO_ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghi"
"""A token of Telegram's shape; the fake Bot API accepts only this one."""
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
"""SIGTERM to exit: the bot's own shutdown bound; SIGKILL after it."""
POLL_S = 0.05
"""How often a condition on another process (HTTP, Redis) is looked at again."""
PINNED_BASE = "PIN"
PINNED_PRICE = 100.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Look at ``condition`` every POLL_S until it holds; TimeoutError naming ``what``."""
    deadline = time.monotonic() + timeout_s
    pace = threading.Event()  # never set: a wait with a timeout, between two looks
    while not condition():
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what}: not within {timeout_s:.1f} s")
        pace.wait(POLL_S)


@dataclass
class Instance:
    """One ``bot.py run`` process started by the cluster."""

    name: str
    """CRYPTOBOT_INSTANCE_NAME, hence also its InstanceId.key (the lease value, the consumer)."""
    process: subprocess.Popen[bytes]
    status_port: int
    log_path: Path
    killed_at: float | None = None
    """Monotonic time of a SIGKILL sent by ``Cluster.kill``."""
    paused: bool = False
    """Stopped by ``Cluster.pause`` (SIGSTOP) and not resumed yet."""

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def healthz(self, timeout_s: float = 2.0) -> dict[str, Any] | None:
        """The /healthz JSON (200 or 503), or None while nothing answers on the port."""
        url = f"http://127.0.0.1:{self.status_port}/healthz"
        try:
            with urllib.request.urlopen(url, timeout=timeout_s) as response:
                body = response.read()
        except urllib.error.HTTPError as error:
            body = error.read()
        except OSError:
            return None
        answer = json.loads(body)
        return answer if isinstance(answer, dict) else None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class Cluster:
    """The fakes plus N bot processes; ``with Cluster(tmp_path, ...) as cluster:``.

    ``database_url``/``redis_url`` None means the embedded default (a SQLite file per instance
    under ``workdir``, nothing shared). ``env`` adds settings for every instance (e.g. a short
    alert sweep interval). ``pinned`` is a symbol (PINUSDT) whose price the test moves.
    """

    workdir: Path
    database_url: str | None = None
    redis_url: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    flood: FloodRules = field(default_factory=FloodRules)
    token: str = TOKEN
    given_exchange: ExchangeSimulator | None = None
    """A started simulator to use and leave running (e.g. one primed for a benchmark); None:
    the cluster starts its own and stops it."""
    exchange: ExchangeSimulator = field(init=False)
    telegram: FakeBotApi = field(init=False)
    pinned: PinnedSeries = field(init=False)
    instances: list[Instance] = field(default_factory=list, init=False)

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> Self:
        """Start the fakes (not the bots: ``start_instances``); stops what started on failure."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            self.exchange = self.given_exchange or ExchangeSimulator().start()
            self.pinned = PinnedSeries(pinned_spec(PINNED_BASE, PINNED_PRICE))
            self.exchange.market.add(self.pinned)  # before any bot reads exchangeInfo
            self.telegram = FakeBotApi(token=self.token, flood=self.flood).start()
        except Exception:
            self.stop()
            raise
        return self

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    def instance_env(self, name: str, status_port: int) -> dict[str, str]:
        """The environment of one instance: the caller's without bot settings, plus ours."""
        env = {key: value for key, value in os.environ.items()
               if key != "TELEGRAM_BOT_TOKEN" and not key.startswith("CRYPTOBOT_")}
        env.update(TELEGRAM_BOT_TOKEN=self.token,
                   CRYPTOBOT_TELEGRAM_API_URL=self.telegram.base_url,
                   CRYPTOBOT_EXCHANGE_URLS=self.exchange.base_url,
                   CRYPTOBOT_INSTANCE_NAME=name, CRYPTOBOT_STATUS_PORT=str(status_port),
                   CRYPTOBOT_DB_PATH=str(self.workdir / f"{name}.sqlite3"),
                   CRYPTOBOT_LOG_FORMAT="json")
        if self.database_url is not None:
            env["CRYPTOBOT_DATABASE_URL"] = self.database_url
        if self.redis_url is not None:
            env["CRYPTOBOT_REDIS_URL"] = self.redis_url
        env.update(self.env)
        return env

    def launch(self, name: str, env: Mapping[str, str] | None = None) -> Instance:
        """Start ``bot.py run`` as ``name`` in its own process group; does not wait. ``env``
        overrides settings for this instance alone (e.g. its own path to Redis)."""
        port = free_port()
        log_path = self.workdir / f"{name}.log"
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "bot.py", "run"], cwd=REPO_ROOT,
                env={**self.instance_env(name, port), **(env or {})}, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        instance = Instance(name, process, port, log_path)
        self.instances.append(instance)
        return instance

    def wait_ready(self, instance: Instance, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Until its /healthz answers 'ok' or 'degraded' naming it; raises if it exits."""
        def ready() -> bool:
            if not instance.alive():
                raise RuntimeError(f"{instance.name} exited with {instance.process.returncode}"
                                   f":\n{instance.log_tail()}")
            answer = instance.healthz()
            return (answer is not None and answer.get("status") in ("ok", "degraded")
                    and (answer.get("instance") or {}).get("id") == instance.name)

        try:
            wait_until(ready, timeout_s, f"{instance.name} ready")
        except TimeoutError as error:
            raise TimeoutError(f"{error}\n{instance.log_tail()}") from None

    def start_instances(self, *names: str, timeout_s: float = READY_TIMEOUT_S) -> list[Instance]:
        """Launch all at once (they start in parallel), then wait for each to be ready."""
        started = [self.launch(name) for name in names]
        for instance in started:
            self.wait_ready(instance, timeout_s)
        return started

    def wait_polling(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Until some instance holds a getUpdates long poll: updates are being fetched."""
        if not self.telegram.wait_for(lambda: self.telegram.polling() > 0, timeout_s):
            tails = "\n".join(f"--- {i.name}\n{i.log_tail()}" for i in self.instances)
            raise TimeoutError(f"no instance polled getUpdates within {timeout_s} s\n{tails}")

    def kill(self, instance: Instance, sig: int = signal.SIGKILL) -> float:
        """Send ``sig`` to the instance's process group and reap it; returns the monotonic
        time it was sent."""
        if not instance.alive():
            raise RuntimeError(f"{instance.name} already exited ({instance.process.returncode})")
        instance.killed_at = time.monotonic()
        _signal_group(instance.process, sig)
        instance.process.wait(timeout=STOP_TIMEOUT_S)
        return instance.killed_at

    def pause(self, instance: Instance) -> None:
        """SIGSTOP its process group: alive but silent, as in a long GC or a frozen VM."""
        if not instance.alive():
            raise RuntimeError(f"{instance.name} already exited ({instance.process.returncode})")
        _signal_group(instance.process, signal.SIGSTOP)
        instance.paused = True

    def resume(self, instance: Instance) -> None:
        """SIGCONT after ``pause``."""
        if instance.alive():
            _signal_group(instance.process, signal.SIGCONT)
        instance.paused = False

    def stop(self) -> None:
        """SIGTERM every live instance, SIGKILL what has not exited in time, stop the fakes."""
        for instance in self.instances:
            if instance.alive():
                if instance.paused:  # a stopped process would not act on SIGTERM
                    self.resume(instance)
                _signal_group(instance.process, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for instance in self.instances:
            try:
                instance.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:  # not reaped yet, so its pid is still its own
                _signal_group(instance.process, signal.SIGKILL)
                instance.process.wait(timeout=STOP_TIMEOUT_S)
        own_exchange = None if self.given_exchange else getattr(self, "exchange", None)
        for service in (getattr(self, "telegram", None), own_exchange):
            if service is not None:
                service.stop()

    # -- users ---------------------------------------------------------------------------------

    def send(self, wanted: Iterable[Ask]) -> None:
        """Each ask arrives at the fake Bot API as a user's message, in order."""
        for one in wanted:
            self.telegram.push_message(one.chat_id, one.chat_id, one.text)

    def texts(self, chat_id: int) -> list[str]:
        """What the bot sent to ``chat_id`` (messages, captions, edits), in order."""
        return [record.text or "" for record in self.telegram.sent(chat_id=chat_id)
                if record.method in asks.TEXT_METHODS]

    def answers(self, wanted: Iterable[Ask]) -> dict[Ask, int]:
        """How many messages answered each ask (1 each is 'answered exactly once')."""
        return asks.answer_counts(self.telegram.sent(), wanted)

    def first_answered_at(self, wanted: Iterable[Ask]) -> dict[Ask, float]:
        """When each answered ask got its first answer, on the fake Bot API's clock (by
        default ``time.monotonic``, so comparable with a ``time.monotonic()`` taken here)."""
        return asks.first_answers(self.telegram.sent(), wanted)

    def wait_answered(self, wanted: Iterable[Ask], timeout_s: float) -> dict[Ask, int]:
        """Until every ask has at least one answer; returns the counts (TimeoutError if not)."""
        wanted = list(wanted)
        counts: dict[Ask, int] = {}

        def all_answered() -> bool:
            nonlocal counts
            counts = self.answers(wanted)
            return all(counts[one] >= 1 for one in wanted)

        try:
            wait_until(all_answered, timeout_s, "every ask answered")
        except TimeoutError:
            missing = [one for one in wanted if counts.get(one, 0) == 0]
            raise TimeoutError(f"{len(missing)} of {len(wanted)} asks unanswered after "
                               f"{timeout_s} s, e.g. {missing[:3]}") from None
        return counts

    def barrier(self, chat_id: int, timeout_s: float = 30.0) -> None:
        """Send /help from ``chat_id`` and wait for its answer: what was sent before it has
        been taken up (updates are fetched in order)."""
        ask = asks.help_card(chat_id)
        self.send([ask])
        self.wait_answered([ask], timeout_s)

    def too_many_requests(self) -> int:
        """429s the fake Bot API has answered so far."""
        return self.telegram.too_many_requests_count()

    # -- shared state (Redis) ------------------------------------------------------------------

    @property
    def namespace(self) -> str:
        """The Redis key prefix of this bot: ``cryptobot:<bot id>:``."""
        return f"cryptobot:{self.token.split(':', 1)[0]}:"

    def _redis(self) -> Any:
        if self.redis_url is None:
            raise RuntimeError("this cluster runs without Redis")
        import redis  # the [redis] extra; only shared-state readers need it

        return redis.Redis.from_url(self.redis_url, socket_timeout=1.0,
                                    socket_connect_timeout=1.0, decode_responses=True)

    def lease_holder(self) -> str | None:
        """The instance key in ``poll:lease`` (who polls getUpdates), or None."""
        client = self._redis()
        try:
            value = client.get(self.namespace + "poll:lease")
        finally:
            client.close()
        return None if value is None else str(value)

    def wait_lease_holder(self, wanted: Callable[[str | None], bool], timeout_s: float,
                          what: str = "lease holder") -> str | None:
        holder: str | None = None

        def holds() -> bool:
            nonlocal holder
            holder = self.lease_holder()
            return wanted(holder)

        wait_until(holds, timeout_s, what)
        return holder

    def pending_updates(self) -> int | None:
        """Entries of the ``updates`` stream read but not acked by group ``bot``; None when the
        stream or the group does not exist."""
        import redis

        client = self._redis()
        try:
            summary = client.xpending(self.namespace + "updates", "bot")
        except redis.ResponseError:
            return None
        finally:
            client.close()
        return int(summary["pending"])

    def wait_until_no_pending_updates(self, timeout_s: float) -> None:
        """Until every update read from the stream has been acked (none left to reclaim, so
        none can be answered again); RuntimeError at once if there is no stream or group."""
        def drained() -> bool:
            pending = self.pending_updates()
            if pending is None:
                raise RuntimeError(f"no stream {self.namespace}updates with group 'bot'")
            return pending == 0

        wait_until(drained, timeout_s, "no pending updates")


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    """``sig`` to the process group the process leads (its children too). Only called while
    the process is not reaped, so the group id cannot have been reused by someone else."""
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass
