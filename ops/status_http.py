"""The status HTTP server: health, the live actor tree and Prometheus metrics on loopback.

Why: a process manager or load balancer needs a yes/no health probe, Prometheus needs a page
to scrape, and ``bot.py inspect`` needs the tree of a bot running in another process. All three
read one ``ActorSnapshot`` taken per request through ``snapshot_provider``, so this module never
talks to an actor itself; a provider that raises (the tree is stopping, a bug) turns into a 503
naming the reason, never into a dead server thread.

It binds 127.0.0.1 only: the tree names internal failures and is no business of the network;
put a reverse proxy in front if a remote scraper must reach it. It is plain ``http.server``:
one thread per request, and every answer closes its connection (HTTP/1.0), so no idle
keep-alive client can hold ``stop()`` up and a probe every few seconds loses nothing.

Routes (``GET`` only); each JSON answer, 503s included, also carries ``"instance"``, the
process that answered (``core.instance.InstanceId.to_dict``: id, host, pid, start, uptime), so
a probe or ``bot.py inspect`` can tell a restarted bot, or one of several, from another:

* ``/healthz``: the verdict of ``ops.health.assess``: 200 ``{"status": "ok", "reasons": []}``
  (plus ``"slo"``, the figures of ``ops.slo``, when the ``slo`` actor answered),
  200 ``{"status": "degraded", "reasons": ["breaker exchange is open, retry in 12 s
  (market/fetcher)"]}`` (the bot still answers: stale data, labelled), or 503
  ``{"status": "failing", "reasons": [...]}`` when it cannot do its job and a process manager
  should restart it (also when no snapshot can be taken at all);
* ``/actors``: the snapshot as JSON (``ActorSnapshot.to_dict()``, the root's keys);
* with ``redis_url`` (several instances) both also carry ``"instances"`` (the live ones from
  the registry, each with ``this`` and ``lease``: holds the polling lease) and ``"redis"``
  (``up``, ``mode`` shared or local, ``fallback_fraction``, ``lease_holder``,
  ``heartbeat_failures``): ``ops.cluster_view``;
* ``/metrics``: Prometheus text format, ``generate_latest`` of the bot's own prometheus-client
  registry (``ops.metrics.BotMetrics``): the snapshot taken during the scrape, the command and
  exchange latency histograms, the process figures.

Binding loopback is not enough on its own: a web page in a local browser can reach
``127.0.0.1`` through DNS rebinding (its own name, re-pointed at 127.0.0.1), and the browser
then sends that name as ``Host``. So only ``Host: 127.0.0.1``, ``localhost`` or ``[::1]`` (any
port) is answered; any other name gets 421 with a one-line body. A request without ``Host``
(HTTP/1.0 probes) is answered: browsers always send one.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit

from core.instance import InstanceId, this_instance
from core.logs import log_event
from ops.cluster_view import cluster_json
from ops.health import assess
from ops.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from ops.metrics import BotMetrics, SnapshotUnavailable
from ops.slo import SloStats
from supervision.snapshot import ActorSnapshot

__all__ = ["LOOPBACK", "SnapshotProvider", "StatusServer", "is_loopback_host"]

logger = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
SnapshotProvider = Callable[[], ActorSnapshot]
"""Takes a fresh snapshot of the whole tree (``CryptoBot.status``); may block briefly."""

_POLL_INTERVAL_S = 0.1
_JSON_CONTENT_TYPE = "application/json;charset=UTF-8"
_TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"
_REQUEST_TIMEOUT_S = 30.0
_LOOPBACK_HOST = re.compile(r"(?:127\.0\.0\.1|localhost|\[::1\])(?::[0-9]{1,5})?", re.IGNORECASE)


def is_loopback_host(host: str | None) -> bool:
    """Whether a ``Host`` header names loopback (absent counts: only browsers matter here)."""
    return host is None or _LOOPBACK_HOST.fullmatch(host.strip()) is not None


def _describe_error(error: Exception) -> str:
    return f"snapshot failed: {type(error).__name__}: {error}"


class _StatusHandler(BaseHTTPRequestHandler):
    """One request; HTTP/1.0, so the connection closes after the answer."""

    protocol_version = "HTTP/1.0"
    timeout = _REQUEST_TIMEOUT_S
    server: _StatusHTTPServer

    def do_GET(self) -> None:
        self.server.dispatch(self, "GET")

    def do_POST(self) -> None:
        self.server.dispatch(self, "POST")

    def do_DELETE(self) -> None:
        self.server.dispatch(self, "DELETE")

    def log_message(self, format: str, *args: object) -> None:
        logger.debug("%s " + format, self.client_address[0], *args)

    def send_bytes(self, status: int, body: bytes, *, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


Dispatch = Callable[[_StatusHandler, str], None]


class _StatusHTTPServer(ThreadingHTTPServer):
    """A thread per request; stopping does not wait for requests still being answered."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], dispatch: Dispatch) -> None:
        super().__init__(address, _StatusHandler)
        self.dispatch = dispatch

    def handle_error(self, request: object, client_address: object) -> None:
        if isinstance(sys.exc_info()[1], OSError):  # a scraper hanging up mid-answer
            logger.debug("connection from %s ended abruptly", client_address, exc_info=True)
        else:
            logger.exception("status request from %s failed", client_address)


def _send_json(handler: _StatusHandler, status: int, payload: object) -> None:
    # default=str: an actor's stats() may hold a value JSON cannot spell (a Decimal, a path);
    # showing its text beats failing the whole tree.
    body = json.dumps(payload, separators=(",", ":"), default=str).encode()
    handler.send_bytes(status, body, content_type=_JSON_CONTENT_TYPE)


def _slo_json(slo: SloStats) -> dict[str, object]:
    """The SLO figures (``ops.slo``): overall and per command, 5 min and 1 h."""
    return {"last_5m": dataclasses.asdict(slo.last_5m), "last_1h": dataclasses.asdict(slo.last_1h),
            "commands": {name: dataclasses.asdict(figures) for name, figures in slo.commands}}


class StatusServer:
    """``/healthz``, ``/actors`` and ``/metrics`` on ``http://127.0.0.1:<port>``.

    Use as a context manager, or call ``start()`` and ``stop()``. ``port=0`` picks a free port
    (tests). ``metrics`` is the bot's registry (``CryptoBot.metrics``); without one the server
    makes its own over ``snapshot_provider``, whose uptime gauge counts from ``started_at``, a
    ``clock()`` reading (monotonic by default), the time of ``start()`` when not given.
    ``instance`` is the id its answers carry (this process's when not given).
    """

    def __init__(
        self,
        snapshot_provider: SnapshotProvider,
        *,
        host: str = LOOPBACK,
        port: int,
        started_at: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        metrics: BotMetrics | None = None,
        instance: InstanceId | None = None,
    ) -> None:
        if host not in (LOOPBACK, "localhost"):
            raise ValueError(f"the status server only binds to loopback, not {host!r}")
        self._snapshot_provider = snapshot_provider
        self._address = (LOOPBACK, port)
        self._started_at = started_at
        self._clock = clock
        self._registry = metrics
        self.instance = instance if instance is not None else this_instance()
        self._server: _StatusHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> StatusServer:
        """Bind and serve on a background thread; returns self for chaining."""
        if self._server is not None:
            raise RuntimeError("status server already started")
        if self._started_at is None:
            self._started_at = self._clock()
        if self._registry is None:
            self._registry = BotMetrics(self._snapshot_provider, clock=self._clock,
                                       started_at=self._started_at, instance=self.instance)
        self._server = _StatusHTTPServer(self._address, self._dispatch)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": _POLL_INTERVAL_S},
            name=f"status-http:{self.port}",
            daemon=True,
        )
        self._thread.start()
        log_event(logger, "status_http.started", logging.INFO, url=self.url)
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop serving within ``timeout_s``; safe to call twice.

        Requests being answered finish on their own (daemon) threads; their connections close
        with the answer.
        """
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        url = self.url
        server.shutdown()
        server.server_close()
        thread.join(timeout_s)
        self._server = self._thread = None
        log_event(logger, "status_http.stopped", logging.INFO, url=url)

    def __enter__(self) -> StatusServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("status server not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    # -- request handling (server threads) ---------------------------------------------------

    def _dispatch(self, handler: _StatusHandler, method: str) -> None:
        if not is_loopback_host(handler.headers.get("Host")):
            # DNS rebinding: a foreign name pointing at us. Say as little as possible.
            handler.send_bytes(421, b"misdirected request: use Host 127.0.0.1 or localhost\n",
                               content_type=_TEXT_CONTENT_TYPE)
            return
        path = urlsplit(handler.path).path.rstrip("/") or "/"
        routes = {"/healthz": self._healthz, "/actors": self._actors, "/metrics": self._metrics}
        route = routes.get(path)
        if route is None:
            _send_json(handler, 404, {"error": f"no route {path}", "routes": sorted(routes)})
        elif method != "GET":
            _send_json(handler, 405, {"error": f"{method} not allowed on {path}; use GET"})
        else:
            route(handler)

    def _snapshot(self) -> ActorSnapshot | str:
        """A fresh snapshot, or the reason there is none."""
        try:
            return self._snapshot_provider()
        except Exception as error:
            # A failed snapshot is an answer (503), not a reason to lose the server thread.
            log_event(logger, "status_http.snapshot_failed", logging.WARNING,
                      error=repr(error), exc_info=True)
            return _describe_error(error)

    def _instance_json(self) -> dict[str, object]:
        return self.instance.to_dict(time.time())

    def _healthz(self, handler: _StatusHandler) -> None:
        snapshot = self._snapshot()
        if isinstance(snapshot, str):
            _send_json(handler, 503, {"status": "failing", "reasons": [snapshot],
                                      "instance": self._instance_json()})
            return
        health = assess(snapshot)
        payload: dict[str, object] = {"status": health.level, "reasons": list(health.reasons),
                                      "instance": self._instance_json()}
        slo = snapshot.find_stats(SloStats)
        if slo is not None:
            payload["slo"] = _slo_json(slo)
        payload.update(cluster_json(snapshot))
        _send_json(handler, 503 if health.level == "failing" else 200, payload)

    def _actors(self, handler: _StatusHandler) -> None:
        snapshot = self._snapshot()
        if isinstance(snapshot, str):
            _send_json(handler, 503, {"error": snapshot, "instance": self._instance_json()})
        else:
            _send_json(handler, 200, {**snapshot.to_dict(), "instance": self._instance_json(),
                                      **cluster_json(snapshot)})

    def _metrics(self, handler: _StatusHandler) -> None:
        assert self._registry is not None  # made in start()
        try:
            body = self._registry.exposition()
        except SnapshotUnavailable as error:
            log_event(logger, "status_http.snapshot_failed", logging.WARNING,
                      error=repr(error.cause), exc_info=True)
            handler.send_bytes(503, f"{error}\n".encode(), content_type=_TEXT_CONTENT_TYPE)
            return
        handler.send_bytes(200, body, content_type=METRICS_CONTENT_TYPE)
