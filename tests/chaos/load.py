"""Steady chat load from many users, and the ledger of what each of them was told.

Every user is a closed loop, like a person: send a command, wait for its answer, think, send
the next. So every answer belongs to exactly one command (a chat has at most one command in
flight), and a command without an answer within ``reply_timeout_s`` is counted as unanswered
rather than waited for forever. Users' writes (alerts, watchlist) are remembered only when
the bot acknowledged them, so the end check can say whether an acknowledged write was lost.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from dataclasses import dataclass, field

from chat.replies import LOADING_TEXT
from fakes.telegram.bot_api import FakeBotApi

__all__ = ["Command", "Load", "MARKET_COMMANDS"]

MARKET_COMMANDS = ("/price", "/analysis", "/top", "/chart")
_READS = ("/price btc eth", "/analysis sol", "/price xrp", "/analysis eth 4h", "/watchlist",
          "/top", "/price doge ada", "/chart btc", "/analysis btc", "/alerts")
_WATCHED = ("SOL", "ADA", "DOT", "LINK", "AVAX")
_SAVED = re.compile(r"Alert #(\d+) saved")


@dataclass
class Command:
    """One command a user sent and what became of it."""

    chat: int
    text: str
    sent_at: float
    answered_at: float | None = None
    reply: str | None = None

    @property
    def market(self) -> bool:
        return self.text.split()[0] in MARKET_COMMANDS

    @property
    def labelled(self) -> bool:
        """The answer says it is degraded: stale data, no data, or a figure missing."""
        return self.reply is not None and ("⚠️" in self.reply or " n/a — " in self.reply)


@dataclass
class _User:
    chat: int
    script: itertools.cycle[str]
    alert_price: itertools.count[int]
    watched: str
    pending: Command | None = None
    seen: int = 0
    next_at: float = 0.0
    alerts: dict[int, bool] = field(default_factory=dict)
    """Acknowledged: alert id -> should exist (saved and not deleted)."""
    watching: bool | None = None
    """Acknowledged watchlist state of ``watched`` (None: never acknowledged)."""


class Load:
    """``users`` chats, each sending a command ``think_s`` after its previous answer."""

    def __init__(self, telegram: FakeBotApi, *, users: int = 24, first_chat: int = 1000,
                 think_s: float = 3.1, reply_timeout_s: float = 30.0) -> None:
        self._telegram = telegram
        self._think_s = think_s
        self._reply_timeout_s = reply_timeout_s
        self._users = [self._user(first_chat + n, n) for n in range(users)]
        self.commands: list[Command] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-load", daemon=True)

    @staticmethod
    def _user(chat: int, n: int) -> _User:
        reads = _READS[n % len(_READS):] + _READS[:n % len(_READS)]
        script = [step for read in reads for step in (read, "@write")][:12]
        return _User(chat, itertools.cycle(script), itertools.count(10_000_000 + n * 100_000),
                     _WATCHED[n % len(_WATCHED)])

    def start(self) -> Load:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop sending; wait (bounded) for the answers still owed."""
        self._stop.set()
        self._thread.join(self._reply_timeout_s + 10)
        assert not self._thread.is_alive(), "the load driver did not finish"

    # -- the ledger ------------------------------------------------------------------------

    def expected_alerts(self) -> dict[int, bool]:
        return {alert: alive for user in self._users for alert, alive in user.alerts.items()}

    def expected_watchlist(self) -> dict[tuple[int, str], bool]:
        return {(user.chat, f"{user.watched}USDT"): user.watching for user in self._users
                if user.watching is not None}

    # -- the driver ------------------------------------------------------------------------

    def _run(self) -> None:
        pace = threading.Event()  # waits for answers (notified), or for a user's think time
        while True:
            now = time.monotonic()
            for user in self._users:
                if user.pending is not None:
                    self._check_answer(user, now)
                elif not self._stop.is_set() and now >= user.next_at:
                    self._send(user, now)
            if self._stop.is_set() and all(user.pending is None for user in self._users):
                return
            self._telegram.wait_for(lambda: pace.is_set(), 0.05)

    def _send(self, user: _User, now: float) -> None:
        text = self._next_text(user)
        user.seen = len(self._telegram.sent(chat_id=user.chat))
        user.pending = Command(user.chat, text, now)
        self.commands.append(user.pending)
        self._telegram.push_message(user.chat, user.chat, text)

    def _next_text(self, user: _User) -> str:
        step = next(user.script)
        if step != "@write":
            return step
        owned = [alert for alert, alive in user.alerts.items() if alive]
        choice = next(user.alert_price) % 3
        if choice == 0 and owned:
            return f"/delalert {owned[0]}"
        if choice == 1:
            return f"/{'unwatch' if user.watching else 'watch'} {user.watched.lower()}"
        return f"/alert btc above {next(user.alert_price)}"

    def _check_answer(self, user: _User, now: float) -> None:
        command = user.pending
        assert command is not None
        records = [r for r in self._telegram.sent(chat_id=user.chat)[user.seen:]
                   if r.method in ("sendMessage", "sendPhoto", "editMessageText")
                   and (r.text or "") != LOADING_TEXT]
        if records:
            command.answered_at, command.reply = now, records[0].text or ""
            self._remember(user, command)
        elif now - command.sent_at < self._reply_timeout_s:
            return
        user.pending = None
        user.next_at = now + self._think_s

    @staticmethod
    def _remember(user: _User, command: Command) -> None:
        reply = command.reply or ""
        if (saved := _SAVED.search(reply)) is not None:
            user.alerts[int(saved.group(1))] = True
        elif command.text.startswith("/delalert") and "deleted" in reply:
            user.alerts[int(command.text.split()[1])] = False
        elif command.text.startswith("/watch ") and ("added to" in reply or "already" in reply):
            user.watching = True
        elif command.text.startswith("/unwatch") and ("removed from" in reply
                                                      or "not on" in reply):
            user.watching = False
