"""A Unix-socket relay that can be cut: one instance loses Redis while the others keep it.

Why: a network partition is not "Redis down" - Redis is fine and the other instances reach it;
one instance alone cannot. Pointing that instance's ``CRYPTOBOT_REDIS_URL`` at this relay
instead of at Redis's own socket lets a test cut exactly its path (every open connection is
shut, new ones are refused) and heal it again.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self

__all__ = ["SocketRelay"]

_CHUNK = 65536
_JOIN_TIMEOUT_S = 5.0


class SocketRelay:
    """Listens on ``path`` and relays each connection to the Unix socket ``target``."""

    def __init__(self, target: Path, path: Path) -> None:
        self.target = target
        self.path = path
        self._cut = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        return f"unix://{self.path}"

    def start(self) -> Self:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(self.path))
        listener.listen(64)
        listener.settimeout(0.2)  # so the accept loop sees a stop
        self._listener = listener
        self._spawn(self._accept_forever, "relay-accept")
        return self

    def cut(self) -> None:
        """Shut every relayed connection and refuse new ones until ``heal``."""
        self._cut.set()
        self._close_open()

    def heal(self) -> None:
        self._cut.clear()

    def stop(self) -> None:
        self._stopping.set()
        self._close_open()
        if self._listener is not None:
            self._listener.close()
        for thread in self._threads:
            thread.join(_JOIN_TIMEOUT_S)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    def _spawn(self, target: Callable[..., None], name: str, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_forever(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed by stop()
            if self._cut.is_set():
                client.close()
                continue
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                upstream.connect(str(self.target))
            except OSError:
                client.close()
                upstream.close()
                continue
            with self._lock:
                self._open.update((client, upstream))
            self._spawn(self._pump, "relay-up", client, upstream)
            self._spawn(self._pump, "relay-down", upstream, client)

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(_CHUNK):
                sink.sendall(chunk)
        except OSError:
            pass  # cut, or the other side went away
        finally:
            for one in (source, sink):
                with contextlib.suppress(OSError):
                    one.shutdown(socket.SHUT_RDWR)

    def _close_open(self) -> None:
        with self._lock:
            open_now, self._open = self._open, set()
        for one in open_now:
            with contextlib.suppress(OSError):
                one.shutdown(socket.SHUT_RDWR)
            one.close()
