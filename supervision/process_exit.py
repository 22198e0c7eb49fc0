"""How the ``run`` process ends: its exit statuses, and the signals that stop it.

An external process manager reads the status: 0 clean, 1 the root supervisor gave up (restart
me), 2 bad configuration or usage, or a fault no restart can fix (``PermanentFault``: systemd's
``RestartPreventExitStatus=2``), 130 a second SIGINT/SIGTERM cut the orderly stop short.
``bot.py`` wires these around its ``CryptoBot``; nothing here knows the tree's shape.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from types import FrameType
from typing import Protocol

from core.config import BotConfig
from core.logs import log_event
from supervision.messages import ChildFailed

__all__ = [
    "EXIT_BAD_USAGE", "EXIT_FORCED", "EXIT_OK", "EXIT_ROOT_FAILED", "MAIN_THREAD_WAIT_S",
    "RunningBot", "describe_root_failure", "exit_after_root_failure", "permanent_fault",
    "serve_until_stopped",
]

EXIT_OK = 0
EXIT_ROOT_FAILED = 1
EXIT_BAD_USAGE = 2
EXIT_FORCED = 130
"""A second SIGINT/SIGTERM cut the orderly stop short (128 + SIGINT, as shells report it)."""

MAIN_THREAD_WAIT_S = 0.25
"""Bounds each wait of the main thread so signal handlers and root failures are noticed
promptly."""

logger = logging.getLogger("cryptobot")


class RunningBot(Protocol):
    """What ending the process needs of the bot (``bot.CryptoBot``)."""

    config: BotConfig

    @property
    def failed(self) -> threading.Event: ...

    @property
    def failure(self) -> ChildFailed | None: ...

    def stop(self, timeout_s: float = 10.0) -> bool: ...

    def request_stop(self) -> None: ...

    def wait_for_exit_request(self, timeout_s: float) -> bool: ...


def describe_root_failure(report: ChildFailed | None) -> str:
    """One line saying why the root gave up, for the console and the exit log line."""
    return "unknown reason" if report is None else f"{report.phase}: {report.error}"


def permanent_fault(bot: RunningBot) -> str | None:
    """The one-line reason when the root gave up on a fault no restart can fix, else None."""
    report = bot.failure
    return report.permanent if bot.failed.is_set() and report is not None else None


def exit_after_root_failure(bot: RunningBot) -> int:
    """Exit 2 with one line on stderr for a permanent fault, else 1 (restart me)."""
    reason = permanent_fault(bot)
    if reason is not None:
        log_event(logger, "bot.exiting_after_permanent_fault", logging.CRITICAL,
                  reason=reason, exit_status=EXIT_BAD_USAGE)
        print(f"cryptobot cannot run: {reason}", file=sys.stderr)
        return EXIT_BAD_USAGE
    log_event(logger, "bot.exiting_after_root_failure", logging.CRITICAL,
              reason=describe_root_failure(bot.failure), exit_status=EXIT_ROOT_FAILED)
    return EXIT_ROOT_FAILED


def serve_until_stopped(bot: RunningBot) -> int:
    """Block until SIGINT/SIGTERM (exit 0) or until the root supervisor gives up (exit 1, or 2
    for a permanent fault: a restart would fail the same way, so systemd should not try).

    ``bot`` must be started; it is stopped before this returns. ``run`` ends with this call
    once the Telegram transport exists; a non-zero exit lets systemd restart the process. A
    second signal while stopping exits at once (``EXIT_FORCED``): every write already
    acknowledged to a user is committed, so only unacknowledged work is cut short.
    """
    signals_seen: list[str] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        signals_seen.append(name)
        if len(signals_seen) > 1:
            log_event(logger, "bot.forced_exit", logging.CRITICAL, signal=name,
                      exit_status=EXIT_FORCED)
            os._exit(EXIT_FORCED)  # skips the orderly stop on purpose: the operator insisted
        log_event(logger, "bot.stopping", logging.INFO, signal=name)
        bot.request_stop()

    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = ({sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
                if in_main_thread else {})
    try:
        while not bot.wait_for_exit_request(MAIN_THREAD_WAIT_S):
            pass  # the bounded wait only keeps the main thread responsive to signals
        stopped_in_time = _stop_responsively(bot)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if bot.failed.is_set():
        return exit_after_root_failure(bot)
    log_event(logger, "bot.stopped", logging.INFO, in_time=stopped_in_time)
    return EXIT_OK


def _stop_responsively(bot: RunningBot) -> bool:
    """``bot.stop`` on a thread of its own while the main thread waits in short slices.

    Why: Python runs a signal handler in the main thread, and only when that thread runs
    bytecode; a second SIGTERM the kernel delivers to another thread would otherwise wait until
    a long join inside the stop returned (up to twice shutdown_timeout_s), not exit at once.
    """
    outcome: list[bool] = []
    errors: list[Exception] = []

    def stop() -> None:
        try:
            outcome.append(bot.stop(bot.config.shutdown_timeout_s * 2))
        except Exception as exc:  # re-raised in the main thread below
            errors.append(exc)

    stopper = threading.Thread(target=stop, name="bot-stop", daemon=True)
    stopper.start()
    while stopper.is_alive():
        stopper.join(MAIN_THREAD_WAIT_S)
    if errors:
        raise errors[0]
    return outcome[0]
