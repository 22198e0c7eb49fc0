"""What a user asks, and how its answer is recognised among everything a chat received.

Why: "each command answered exactly once" needs every answer tied to the command it answers.
An ``Ask`` carries the command and a pattern that matches its answer only (the bot's HTML as
the fake Bot API records it), so counting is per ask: 0 is lost, 1 is right, 2 is a duplicate.
The patterns of one chat's asks must tell them apart (``/help`` mentions BTCUSDT too, hence
the anchors). Pure: it reads records, it does not talk to anything.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from fakes.telegram.records import SentRecord

__all__ = ["Ask", "alert_above", "alert_notice", "analysis", "answer_counts", "first_answers",
           "help_card", "price", "watch"]

TEXT_METHODS = frozenset({"sendMessage", "sendPhoto", "editMessageText"})
"""The calls that carry an answer's text (a photo's is its caption)."""


@dataclass(frozen=True, slots=True)
class Ask:
    """One command from a user, and the pattern that recognises its answer in that chat."""

    chat_id: int
    """Private chat, also the user id."""
    text: str
    """What the user types, e.g. ``/price btc`` (empty for a notice nobody asked for)."""
    answer: str
    """A regular expression (re.search, MULTILINE) matching the answer's text only."""


def price(chat_id: int, base: str = "BTC") -> Ask:
    return Ask(chat_id, f"/price {base.lower()}", rf"^<b>{base}USDT</b> [0-9]")


def help_card(chat_id: int) -> Ask:
    return Ask(chat_id, "/help", r"^<b>Commands</b>")


def watch(chat_id: int, base: str) -> Ask:
    """A write: the answer is sent only after the row is committed."""
    return Ask(chat_id, f"/watch {base.lower()}", rf"<b>{base}USDT</b> added to your watchlist")


def analysis(chat_id: int, base: str) -> Ask:
    return Ask(chat_id, f"/analysis {base.lower()}", rf"^<b>{base}USDT</b> · ")


def alert_above(chat_id: int, threshold: float, base: str) -> Ask:
    return Ask(chat_id, f"/alert {base.lower()} above {threshold:g}",
               rf"Alert #[0-9]+ saved: <b>{base}USDT</b> above")


def alert_notice(chat_id: int, base: str) -> Ask:
    """Not a command: the notice an ``alert_above`` sends when the price crosses."""
    return Ask(chat_id, "", rf"^🔔 <b>{base}USDT</b> is above")


def _by_chat(records: Iterable[SentRecord]) -> dict[int, list[SentRecord]]:
    chats: dict[int, list[SentRecord]] = {}
    for record in records:
        if record.chat_id is not None and record.method in TEXT_METHODS:
            chats.setdefault(record.chat_id, []).append(record)
    return chats


@functools.lru_cache(maxsize=4096)
def _pattern(source: str) -> re.Pattern[str]:
    return re.compile(source, re.MULTILINE)


def answer_counts(records: Iterable[SentRecord], asks: Iterable[Ask]) -> dict[Ask, int]:
    """How many of ``records`` answer each ask (1 each is 'answered exactly once')."""
    chats = _by_chat(records)
    return {one: sum(1 for record in chats.get(one.chat_id, ())
                     if _pattern(one.answer).search(record.text or ""))
            for one in asks}


def first_answers(records: Iterable[SentRecord], asks: Iterable[Ask]) -> dict[Ask, float]:
    """The record time (``SentRecord.at``) of each answered ask's first answer."""
    chats = _by_chat(records)
    times: dict[Ask, float] = {}
    for one in asks:
        at = next((record.at for record in chats.get(one.chat_id, ())
                   if _pattern(one.answer).search(record.text or "")), None)
        if at is not None:
            times[one] = at
    return times
