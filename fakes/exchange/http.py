"""The simulator's HTTP plumbing: a loopback threading server that can be stopped promptly.

``http.server`` gets most of the way, but a test fixture needs ``stop()`` to return quickly
even when a keep-alive client is idle on a connection or a request is deliberately being held
(the "timeout" fault). ``LoopbackServer`` therefore remembers each open connection and its
thread, and ``close_live_connections`` shuts the sockets down and joins the threads with a
deadline. Request semantics live elsewhere: every request goes to one ``dispatch`` callable.
"""

from __future__ import annotations

import json
import logging
import socket
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["JSON_CONTENT_TYPE", "Dispatch", "LoopbackServer", "RequestHandler"]

_log = logging.getLogger(__name__)

JSON_CONTENT_TYPE = "application/json;charset=UTF-8"
"""What Binance sends as Content-Type."""
_IDLE_CONNECTION_TIMEOUT_S = 30.0
_MAX_REQUEST_BODY = 64 * 1024

Dispatch = Callable[["RequestHandler", str], None]
"""Called with the handler and the HTTP method; must write exactly one answer or none."""


class RequestHandler(BaseHTTPRequestHandler):
    """One connection; answers with Content-Length so keep-alive clients can reuse it."""

    protocol_version = "HTTP/1.1"
    timeout = _IDLE_CONNECTION_TIMEOUT_S
    # Headers and body go out in separate writes; with Nagle on, keep-alive clients wait ~40 ms.
    disable_nagle_algorithm = True
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
        content_type: str = JSON_CONTENT_TYPE,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, status: int, payload: object) -> None:
        self.send_bytes(status, json.dumps(payload, separators=(",", ":")).encode())

    def read_json_body(self) -> object:
        """The request body parsed as JSON (None when empty); ValueError when it is not JSON."""
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_REQUEST_BODY:
            raise ValueError("body too large")
        raw = self.rfile.read(length) if length else b""
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except json.JSONDecodeError as error:
            raise ValueError(f"body is not JSON: {error}") from None

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
        dispatch: Callable[[Any, str], None],
        handler: type[BaseHTTPRequestHandler] | None = None,
    ) -> None:
        # The fake Bot API reuses this server with a handler of its own.
        super().__init__(address, handler or RequestHandler)
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
