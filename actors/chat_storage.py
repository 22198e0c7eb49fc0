"""The commands that read or write what users told us: alerts and the watchlist.

Runs in command workers, like ``chat_commands``. A write is told to the DB writer with a reply
future and the user hears "saved" only when the writer has committed; a refusal comes back as
``NotSaved`` ("not saved, nothing changed: ..."), and a writer that does not answer in time gets
an honest "could not confirm" rather than a guess. Reads go through the read pool, so they work
while the writer writes.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from typing import Any

from actors.chat_commands import Outcome, reply
from actors.market_access import MarketAccess
from chat import cards
from chat.callbacks import CallbackAction, DeleteAlert, RearmAlert, RefreshWatchlist
from chat.keyboards import alerts_keyboard, watchlist_keyboard
from chat.parsing import ParsedCommand, alert_request, parse_alert_id
from core.logs import log_event
from messages.chat import ButtonPressed, ChatCommand, ChatReply, CommandDone, RunCommand
from messages.storage import AddAlert, LogCommand, Saved, Unwatch, Watch
from messages.storage import DeleteAlert as DeleteAlertWrite
from messages.storage import RearmAlert as RearmAlertWrite
from storage.errors import NotSaved
from storage.read_pool import ReadPool
from supervision import request
from supervision.address import Directory
from supervision.errors import ChildUnavailable

__all__ = ["StorageCommands"]

logger = logging.getLogger(__name__)

WRITE_TIMEOUT_S = 5.0
UNCONFIRMED = ("⚠️ I could not confirm that this was saved (the database is slow right now). "
               "Check with /alerts or /watchlist in a moment before trying again.")


PRICE_NOTE_DEADLINE_S = 1.0
"""How long a saved alert's confirmation waits for the current price it mentions."""


class StorageCommands:
    """Handlers for /alert, /alerts, /delalert, /watch, /unwatch, /watchlist and their buttons."""

    def __init__(self, *, market: MarketAccess, directory: Directory, reads: ReadPool) -> None:
        self._market = market
        self._writer = directory["db_writer"]
        self._reads = reads
        self._handlers: dict[str, Callable[[RunCommand, ParsedCommand], Outcome]] = {
            "alert": self._alert,
            "alerts": self._alerts,
            "delalert": self._delalert,
            "watch": self._watch,
            "unwatch": self._unwatch,
            "watchlist": self._watchlist,
        }

    def handler(self, name: str) -> Callable[[RunCommand, ParsedCommand], Outcome] | None:
        return self._handlers.get(name)

    def command_listener(self) -> Callable[[CommandDone, float], None]:
        """Feeds the command log (fire-and-forget) for /stats."""
        writer = self._writer

        def log(done: CommandDone, latency_ms: float) -> None:
            writer.tell(LogCommand(request_id=done.request_id, command=done.command,
                                   latency_ms=latency_ms, outcome=done.outcome, at=time.time()))
        return log

    def stats_text(self) -> str:
        """Per-command use, error rate and latency over the last 24 h (from the command log)."""
        stats = self._reads.command_stats(time.time() - 24 * 3600)
        if not stats:
            return "commands (24 h): none yet"
        total = sum(s.count for s in stats)
        failures = sum(s.failures for s in stats)
        lines = [f"<b>Commands, 24 h</b>: {total} · not ok {failures / total:.1%}"]
        lines += [f"/{cards.escape(s.command.lstrip('/'))} {s.count} · p50 {s.p50_ms:.0f} ms · "
                  f"p95 {s.p95_ms:.0f} ms" for s in stats[:8]]
        return "\n".join(lines)

    # -- writes --------------------------------------------------------------------------------

    def _save(self, command: ChatCommand | ButtonPressed, write: Callable[..., Any]) -> Saved | str:
        """Send a write with a reply future; the Saved ack, or the text to show instead."""
        try:
            saved = request(self._writer, write, WRITE_TIMEOUT_S)
        except NotSaved as exc:
            return f"⚠️ {cards.escape(str(exc))}"
        except ChildUnavailable:  # also AskTimeout: no answer in time
            log_event(logger, "storage.write_unconfirmed", logging.WARNING,
                      request_id=command.request_id)
            return UNCONFIRMED
        assert isinstance(saved, Saved)
        return saved

    def _alert(self, run: RunCommand, parsed: ParsedCommand) -> Outcome:
        request = run.request
        wanted = alert_request(parsed)
        symbol = self._market.resolve(wanted.symbol_text, request_id=run.request_id)
        result = self._save(request, lambda reply_to: AddAlert(
            request_id=run.request_id, user_id=request.user_id, chat_id=request.chat_id,
            symbol=symbol, direction=wanted.direction, price=wanted.price, reply_to=reply_to))
        if isinstance(result, str):
            return (reply(request, result),), "unavailable"
        # The alert is already saved: its confirmation must not wait 5 s on a slow exchange
        # for the current price, which only decorates it.
        now = self._market.quotes([symbol], request_id=run.request_id,
                                  deadline_s=PRICE_NOTE_DEADLINE_S)
        current = ""
        if now.tickers:  # an old price says how old: never an unlabelled stale figure
            age = ("" if now.stale_age_s is None
                   else f", {cards.format_age(now.stale_age_s)} old")
            current = f" (now {cards.format_price(now.tickers[0].last_price)}{age})"
        text = (f"✅ Alert #{result.alert_id} saved: {cards.bold(symbol)} {wanted.direction} "
                f"{cards.escape(cards.format_price(wanted.price))}{cards.escape(current)}. "
                "I'll message you once when it crosses.")
        return (reply(request, text),), "ok"

    def _delalert(self, run: RunCommand, parsed: ParsedCommand) -> Outcome:
        alert_id = parse_alert_id(parsed.args[0], spec=parsed.spec)
        return self._delete(run.request, alert_id)

    def _delete(self, request: ChatCommand | ButtonPressed, alert_id: int) -> Outcome:
        result = self._save(request, lambda reply_to: DeleteAlertWrite(
            request_id=request.request_id, user_id=request.user_id, alert_id=alert_id,
            reply_to=reply_to))
        if isinstance(result, str):
            return (reply(request, result),), "usage"
        return (reply(request, f"🗑 Alert #{alert_id} deleted."),), "ok"

    def _watch(self, run: RunCommand, parsed: ParsedCommand) -> Outcome:
        return self._watch_change(run, parsed, Watch, "added to")

    def _unwatch(self, run: RunCommand, parsed: ParsedCommand) -> Outcome:
        return self._watch_change(run, parsed, Unwatch, "removed from")

    def _watch_change(self, run: RunCommand, parsed: ParsedCommand, kind: Any,
                      verb: str) -> Outcome:
        request = run.request
        symbol = self._market.resolve(parsed.args[0], request_id=run.request_id)
        result = self._save(request, lambda reply_to: kind(
            request_id=run.request_id, user_id=request.user_id, symbol=symbol,
            reply_to=reply_to))
        if isinstance(result, str):
            return (reply(request, result),), "unavailable"
        note = "" if result.changed else " (it already was)"
        return (reply(request, f"👀 {cards.bold(symbol)} {verb} your watchlist{note}."),), "ok"

    # -- reads ---------------------------------------------------------------------------------

    def _alerts(self, run: RunCommand, parsed: ParsedCommand) -> Outcome:
        records = self._reads.alerts_of(run.request.user_id)
        views = [cards.AlertView(r.alert_id, r.symbol, r.direction, r.price, r.created_at)
                 for r in records if r.fired_at is None]
        text = cards.alerts_list(views)
        return (reply(run.request, text, alerts_keyboard([v.id for v in views])),), "ok"

    def _watchlist(self, run: RunCommand, parsed: ParsedCommand) -> Outcome:
        return self._watchlist_reply(run.request)

    def _watchlist_reply(self, request: ChatCommand | ButtonPressed) -> Outcome:
        symbols = self._reads.watchlist_of(request.user_id)
        if not symbols:
            text = f"Your watchlist is empty. Add a coin with {cards.code('/watch btc')}."
            return (reply(request, text),), "ok"
        quotes = self._market.quotes(symbols, request_id=request.request_id)
        by_symbol = {t.symbol: t for t in quotes.tickers}
        note = None
        if quotes.stale_age_s is not None:
            note = f"stale: {cards.format_age(quotes.stale_age_s)} old"
        rows = [
            cards.WatchRow(s, by_symbol[s].last_price, by_symbol[s].price_change_percent, note)
            if s in by_symbol else cards.WatchRow(s, None, None, quotes.reason or "unavailable")
            for s in symbols
        ]
        outcome = "ok" if quotes.stale_age_s is None and quotes.unavailable is None else "degraded"
        return (reply(request, cards.watchlist(rows), watchlist_keyboard()),), outcome

    # -- buttons -------------------------------------------------------------------------------

    def button(self, request: ButtonPressed, action: CallbackAction) -> Outcome:
        match action:
            case RefreshWatchlist():
                return self._watchlist_reply(request)
            case DeleteAlert(alert_id=alert_id):
                replies, outcome = self._delete(request, alert_id)
                return tuple(_as_new_message(r) for r in replies), outcome
            case RearmAlert(alert_id=alert_id):
                result = self._save(request, lambda reply_to: RearmAlertWrite(
                    request_id=request.request_id, user_id=request.user_id,
                    alert_id=alert_id, reply_to=reply_to))
                text = result if isinstance(result, str) else f"🔁 Alert #{alert_id} re-armed."
                return (_as_new_message(reply(request, text)),), "ok"
        return (reply(request, "", edit_message_id=None, toast="Not available."),), "unavailable"


def _as_new_message(answer: ChatReply) -> ChatReply:
    """Deleting or re-arming from a button: say so in a new message, keep the old one."""
    return dataclasses.replace(answer, edit_message_id=None)
