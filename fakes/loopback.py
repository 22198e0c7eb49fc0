"""The loopback HTTP service both fakes are built on: server, handler base and lifecycle.

Why one module: the exchange simulator and the fake Bot API need the same plumbing, a
threaded ``http.server`` on 127.0.0.1 whose ``stop()`` returns promptly even when a keep-alive
client idles on a connection or a request is deliberately being held (a "timeout" fault, a
getUpdates long poll). ``LoopbackServer`` therefore remembers each open connection and its
thread, and ``close_live_connections`` shuts the sockets down and joins the threads with a
deadline. ``LoopbackService`` is the start/stop/context-manager shell around it; a fake
subclasses it and answers every request in ``_dispatch(handler, method)``.

Request semantics live in the fakes; this module knows HTTP, not Binance or Telegram. It
imports the standard library only.
"""

from __future__ import annotations

import json
import logging
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType, TracebackType
from typing import Any, ClassVar, Self

__all__ = [
    "LOOPBACK",
    "ApiError",
    "BodyError",
    "Dispatch",
    "LoopbackHandler",
    "LoopbackServer",
    "LoopbackService",
    "serve_until_signalled",
]

_log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
_POLL_INTERVAL_S = 0.05

Dispatch = Callable[[Any, str], None]
"""Called with the handler and the HTTP method; must write exactly one answer or none."""


class BodyError(ValueError):
    """The request body could not be read (too large, not JSON, bad multipart)."""


class ApiError(Exception):
    """A request the faked API refuses: an HTTP status and that API's own JSON error body.

    Each fake subclasses it for its protocol (Binance's ``{"code", "msg"}``, the Bot API's
    ``{"ok": false, "error_code", "description"}``); the handler sends any of them the same way.
    """

    status: int

    def body(self) -> dict[str, object]:
        raise NotImplementedError

    def headers(self) -> dict[str, str]:
        return {}


class LoopbackHandler(BaseHTTPRequestHandler):
    """One connection; answers with Content-Length so keep-alive clients can reuse it.

    A fake tunes the class attributes (idle timeout, JSON content type, body limit) in a
    subclass; GET, POST and DELETE all go to ``server.dispatch``.
    """

    protocol_version = "HTTP/1.1"
    timeout = 30.0
    """Seconds an idle keep-alive connection is kept."""
    # Headers and body go out in separate writes; with Nagle on, keep-alive clients wait ~40 ms.
    disable_nagle_algorithm = True
    json_content_type: ClassVar[str] = "application/json"
    json_ensure_ascii: ClassVar[bool] = True
    max_body_bytes: ClassVar[int] = 64 * 1024
    server: LoopbackServer

    def do_GET(self) -> None:
        self.server.dispatch(self, "GET")

    def do_POST(self) -> None:
        self.server.dispatch(self, "POST")

    def do_DELETE(self) -> None:
        self.server.dispatch(self, "DELETE")

    def log_message(self, format: str, *args: object) -> None:
        _log.debug("%s " + format, self.client_address[0], *args)

    def send_bytes(
        self,
        status: int,
        body: bytes,
        *,
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type or self.json_content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def send_json(
        self, status: int, payload: object, headers: dict[str, str] | None = None
    ) -> None:
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=self.json_ensure_ascii)
        self.send_bytes(status, body.encode(), headers=headers)

    def send_api_error(self, error: ApiError) -> None:
        self.send_json(error.status, error.body(), error.headers() or None)

    def read_body(self) -> bytes:
        """The raw request body (b"" when there is none); BodyError above ``max_body_bytes``."""
        length = int(self.headers.get("Content-Length") or 0)
        if length > self.max_body_bytes:
            raise BodyError("Request Entity Too Large")
        return self.rfile.read(length) if length else b""

    def read_json_body(self) -> object:
        """The request body parsed as JSON (None when empty); BodyError when it is not JSON."""
        raw = self.read_body()
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except json.JSONDecodeError as error:
            raise BodyError(f"body is not JSON: {error}") from None

    def hang_up(self) -> None:
        """End the connection after this request without answering it."""
        self.close_connection = True


class LoopbackServer(ThreadingHTTPServer):
    """A threading HTTP server that tracks its connections so they can be cut on stop."""

    daemon_threads = True
    block_on_close = False  # close_live_connections joins the threads, with a deadline

    def __init__(
        self,
        address: tuple[str, int],
        dispatch: Dispatch,
        handler: type[BaseHTTPRequestHandler] = LoopbackHandler,
    ) -> None:
        super().__init__(address, handler)
        self.dispatch = dispatch
        self._live_lock = threading.Lock()
        self._live: dict[socket.socket, threading.Thread] = {}

    def process_request_thread(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any
    ) -> None:
        connection = request if isinstance(request, socket.socket) else request[1]
        with self._live_lock:
            self._live[connection] = threading.current_thread()
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._live_lock:
                self._live.pop(connection, None)

    def handle_error(self, request: object, client_address: object) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, OSError):
            # Clients hanging up mid-answer is routine here (timeouts are the point).
            _log.debug("connection from %s ended abruptly", client_address, exc_info=True)
        else:
            _log.exception("request from %s failed", client_address)

    def close_live_connections(self, timeout_s: float) -> None:
        """Shut every open connection down and wait, at most ``timeout_s``, for its thread."""
        with self._live_lock:
            live = list(self._live.items())
        for connection, _thread in live:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # its handler closed it first
        deadline = time.monotonic() + timeout_s
        for _connection, thread in live:
            thread.join(max(0.0, deadline - time.monotonic()))


class LoopbackService:
    """A fake served on ``http://127.0.0.1:<port>`` from a background thread.

    Use as a context manager, or call ``start()`` and ``stop()``; ``port=0`` picks a free port.
    Subclasses name themselves (``service_name``, ``thread_name``), may pick a handler class,
    answer requests in ``_dispatch`` and may release held requests in ``_release_held``.
    ``_stopping`` is set from the start of ``stop()`` until the next ``start()``: a request
    that is deliberately waiting should wait on it.
    """

    service_name: ClassVar[str] = "loopback service"
    thread_name: ClassVar[str] = "loopback"
    handler_class: ClassVar[type[LoopbackHandler]] = LoopbackHandler

    def __init__(self, *, host: str = LOOPBACK, port: int = 0) -> None:
        if host not in (LOOPBACK, "localhost"):
            raise ValueError(f"the {self.service_name} only binds to loopback, not {host!r}")
        self._address = (LOOPBACK, port)
        self._stopping = threading.Event()
        self._server: LoopbackServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        """Bind and serve on a background thread; returns self for chaining."""
        if self._server is not None:
            raise RuntimeError(f"{self.service_name} already started")
        self._stopping.clear()
        self._server = LoopbackServer(self._address, self._dispatch, self.handler_class)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": _POLL_INTERVAL_S},
            name=f"{self.thread_name}:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop serving, wake held requests, close every socket; safe to call twice."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()
        self._release_held(timeout_s)
        server.shutdown()
        server.close_live_connections(timeout_s)
        server.server_close()
        thread.join(timeout_s)
        self._server = self._thread = None

    def __enter__(self) -> Self:
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
            raise RuntimeError(f"{self.service_name} not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``, the root every path of the fake hangs from."""
        return f"http://{LOOPBACK}:{self.port}"

    def _release_held(self, timeout_s: float) -> None:
        """Called by ``stop()`` after ``_stopping`` is set, before the sockets are cut."""

    def _dispatch(self, handler: Any, method: str) -> None:
        raise NotImplementedError


def serve_until_signalled(service: LoopbackService, banner: Callable[[], Iterable[str]]) -> int:
    """A fake's command line: start ``service``, print ``banner()``, serve until SIGINT/SIGTERM."""
    stop_requested = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop_requested.set()

    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = (
        {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        if in_main_thread
        else {}
    )
    try:
        with service:
            for line in banner():
                print(line, flush=True)
            while not stop_requested.wait(0.5):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
