"""The acker of the shared update stream: done key + XACK as soon as an entry is finished.

Why a thread of its own: the duplicate window of a reclaimed update is the time between
Telegram's 200 for its last reply and its done key, so the ack goes at once, not at the next
beat of the lease thread, and never blocks the transport's event loop (a Redis call may take
the link's socket timeout). While Redis is down the finished entries wait in a backlog and are
retried every beat; the relay keeps their idle time fresh so no other instance takes them.
"""

from __future__ import annotations

import queue
import threading


from cluster.open_updates import StreamRef
from cluster.redis_link import redis_trouble
from cluster.update_stream import UpdateStream

__all__ = ["Acker"]


class Acker:
    """A queue of finished entries and the thread that acks them, in order."""

    def __init__(self, stream: UpdateStream, *, retry_every_s: float) -> None:
        self._stream = stream
        self._retry_every_s = retry_every_s
        self._queue: queue.SimpleQueue[StreamRef] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._backlog: list[StreamRef] = []
        self._acked = 0
        self._stopping = threading.Event()
        self._halted = threading.Event()

    def put(self, ref: StreamRef) -> None:
        """Ack ``ref`` (any thread): its done key is set first when it has an update id."""
        self._queue.put(ref)

    @property
    def acked(self) -> int:
        return self._acked

    def backlog(self) -> tuple[str, ...]:
        """Entry ids finished but not acked yet (Redis did not take the ack)."""
        with self._lock:
            return tuple(ref.entry_id for ref in self._backlog)

    def stop(self) -> None:
        """Finish: ack what is queued (one attempt), then end the thread."""
        self._stopping.set()

    def halt(self) -> None:
        """End the thread at once, acking nothing more (what kill -9 does)."""
        self._halted.set()
        self._stopping.set()

    def run(self) -> None:
        """The thread: wait for finished entries, ack them, retry the backlog every beat."""
        while not self._halted.is_set():
            try:
                first: StreamRef | None = self._queue.get(timeout=self._retry_every_s)
            except queue.Empty:
                first = None
            with self._lock:
                if first is not None:
                    self._backlog.append(first)
                while True:
                    try:
                        self._backlog.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
            self._flush()
            if self._stopping.is_set() and self._queue.empty():
                return

    def _flush(self) -> None:
        while not self._halted.is_set():
            with self._lock:
                if not self._backlog:
                    return
                ref = self._backlog[0]
            try:
                self._stream.finish(ref.entry_id, ref.update_id)
            except redis_trouble():
                return  # retried at the next beat
            with self._lock:
                self._backlog.pop(0)
                self._acked += 1
