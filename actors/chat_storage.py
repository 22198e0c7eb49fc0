"""The commands that read or write what users told us: alerts and the watchlist.

Runs in command workers: the ``@handles`` functions of ``actors/command_handlers.py`` call
these methods with the typed arguments, and ``chat_commands`` passes on the buttons. A write is
told to the DB writer with a reply future and the user hears "saved" only when the writer has committed; a refusal comes back as
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

from actors.market_access import MarketAccess
from actors.user_data import UserDataCommands
from chat import cards
from chat.arguments import AlertRequest
from chat.callbacks import (
    CallbackAction,
    DeleteAlertButton,
    ForgetButton,
    RearmAlertButton,
    RefreshWatchlist,
)
from chat.cards import UNCONFIRMED
from chat.keyboards import alerts_keyboard, owner_of, watchlist_keyboard
from chat.replies import BUTTON_NOT_AVAILABLE, CommandResult, reply
from core.logs import log_event
from messages.chat import ButtonPressed, ChatCommand, ChatReply, CommandDone
from messages.storage import (
    AddAlert,
    CommandStat,
    DeleteAlert,
    LogCommand,
    RearmAlert,
    Saved,
    Unwatch,
    Watch,
)
from storage.errors import NotSaved
from storage.read_pool import ReadPool
from supervision import request
from supervision.address import Directory
from supervision.errors import ChildUnavailable

__all__ = ["StorageCommands"]

logger = logging.getLogger(__name__)

Request = ChatCommand | ButtonPressed

WRITE_TIMEOUT_S = 5.0

PRICE_NOTE_DEADLINE_S = 1.0
"""How long a saved alert's confirmation waits for the current price it mentions."""


class StorageCommands:
    """Handlers for /alert, /alerts, /delalert, /watch, /unwatch, /watchlist and their buttons;
    /export and /forget through :attr:`user_data`."""

    def __init__(self, *, market: MarketAccess, directory: Directory, reads: ReadPool) -> None:
        self._market = market
        self._writer = directory["db_writer"]
        self._reads = reads
        self.user_data = UserDataCommands(writer=self._writer, reads=reads)
        """/export, /forget and the buttons under /forget (``actors/user_data.py``)."""

    def command_listener(self) -> Callable[[CommandDone, float], None]:
        """Feeds the command log (fire-and-forget) for /stats."""
        writer, user_data = self._writer, self.user_data

        def log(done: CommandDone, latency_ms: float) -> None:
            # The press that deleted its user's data is logged without them.
            user_id = None if user_data.is_anonymous(done.request_id) else done.user_id
            writer.tell(LogCommand(request_id=done.request_id, command=done.command,
                                   latency_ms=latency_ms, outcome=done.outcome, at=time.time(),
                                   user_id=user_id))
        return log

    def recent_command_stats(self) -> tuple[CommandStat, ...]:
        """Per-command use, failures and latency over the last 24 h (from the command log),
        for /stats (``cards.command_stats_text``)."""
        return self._reads.command_stats(time.time() - 24 * 3600)

    # -- writes --------------------------------------------------------------------------------

    def _save(self, command: ChatCommand | ButtonPressed, write: Callable[..., Any]) -> Saved | str:
        """Send a write with a reply future; the Saved ack, or the text to show instead."""
        try:
            saved = request(self._writer, write, WRITE_TIMEOUT_S)
        except NotSaved as exc:
            return cards.not_saved_text(str(exc))
        except ChildUnavailable:  # also AskTimeout: no answer in time
            log_event(logger, "storage.write_unconfirmed", logging.WARNING,
                      request_id=command.request_id)
            return UNCONFIRMED
        assert isinstance(saved, Saved)
        return saved

    def add_alert(self, request: Request, wanted: AlertRequest) -> CommandResult:
        symbol = self._market.resolve(wanted.symbol_text, request_id=request.request_id)
        result = self._save(request, lambda reply_to: AddAlert(
            request_id=request.request_id, user_id=request.user_id, chat_id=request.chat_id,
            symbol=symbol, direction=wanted.direction, price=wanted.price, reply_to=reply_to))
        if isinstance(result, str):
            return CommandResult((reply(request, result, keep=True),), "unavailable")
        # The alert is already saved: its confirmation must not wait 5 s on a slow exchange
        # for the current price, which only decorates it.
        now = self._market.quotes([symbol], request_id=request.request_id,
                                  deadline_s=PRICE_NOTE_DEADLINE_S)
        text = cards.alert_saved_text(
            result.alert_id, symbol, wanted.direction, wanted.price,
            now=now.tickers[0].last_price if now.tickers else None, now_age_s=now.stale_age_s)
        return CommandResult((reply(request, text, keep=True),), "ok")

    def delete_alert(self, request: Request, alert_id: int) -> CommandResult:
        result = self._save(request, lambda reply_to: DeleteAlert(
            request_id=request.request_id, user_id=request.user_id, alert_id=alert_id,
            reply_to=reply_to))
        if isinstance(result, str):
            return CommandResult((reply(request, result, keep=True),), "usage")
        text = cards.alert_deleted_text(alert_id)
        return CommandResult((reply(request, text, keep=True),), "ok")

    def watch(self, request: Request, symbol_text: str) -> CommandResult:
        return self._watch_change(request, symbol_text, Watch, added=True)

    def unwatch(self, request: Request, symbol_text: str) -> CommandResult:
        return self._watch_change(request, symbol_text, Unwatch, added=False)

    def _watch_change(self, request: Request, symbol_text: str, kind: Any, *,
                      added: bool) -> CommandResult:
        symbol = self._market.resolve(symbol_text, request_id=request.request_id)
        result = self._save(request, lambda reply_to: kind(
            request_id=request.request_id, user_id=request.user_id, symbol=symbol,
            reply_to=reply_to))
        if isinstance(result, str):
            return CommandResult((reply(request, result, keep=True),), "unavailable")
        text = cards.watch_changed_text(symbol, added=added, changed=result.changed)
        return CommandResult((reply(request, text, keep=True),), "ok")

    # -- reads ---------------------------------------------------------------------------------

    def list_alerts(self, request: Request) -> CommandResult:
        records = self._reads.alerts_of(request.user_id)
        views = [cards.AlertView(r.alert_id, r.symbol, r.direction, r.price, r.created_at)
                 for r in records if r.fired_at is None]
        text = cards.alerts_list(views)
        keyboard = alerts_keyboard([v.id for v in views], owner=owner_of(request))
        return CommandResult((reply(request, text, keyboard),), "ok")

    def watchlist(self, request: Request) -> CommandResult:
        symbols = self._reads.watchlist_of(request.user_id)
        if not symbols:
            return CommandResult((reply(request, cards.watchlist([])),), "ok")
        quotes = self._market.quotes(symbols, request_id=request.request_id)
        by_symbol = {t.symbol: t for t in quotes.tickers}
        note = cards.watch_note(stale_age_s=quotes.stale_age_s)
        missing = cards.watch_note(missing=quotes.reason or "")
        rows = [
            cards.WatchRow(s, by_symbol[s].last_price, by_symbol[s].price_change_percent, note)
            if s in by_symbol else cards.WatchRow(s, None, None, missing)
            for s in symbols
        ]
        outcome = "ok" if quotes.stale_age_s is None and quotes.unavailable is None else "degraded"
        keyboard = watchlist_keyboard(owner=owner_of(request))
        return CommandResult((reply(request, cards.watchlist(rows), keyboard),), outcome)

    # -- buttons -------------------------------------------------------------------------------

    def button(self, request: ButtonPressed, action: CallbackAction) -> CommandResult:
        match action:
            case RefreshWatchlist():
                return self.watchlist(request)
            case DeleteAlertButton(alert_id=alert_id):
                replies, outcome = self.delete_alert(request, alert_id)
                return CommandResult(tuple(_as_new_message(r) for r in replies), outcome)
            case ForgetButton():
                return self.user_data.forget_button(request, action)
            case RearmAlertButton(alert_id=alert_id):
                result = self._save(request, lambda reply_to: RearmAlert(
                    request_id=request.request_id, user_id=request.user_id,
                    alert_id=alert_id, reply_to=reply_to))
                text = result if isinstance(result, str) else cards.alert_rearmed_text(alert_id)
                return CommandResult((_as_new_message(reply(request, text, keep=True)),), "ok")
        answer = reply(request, "", edit_message_id=None, toast=BUTTON_NOT_AVAILABLE)
        return CommandResult((answer,), "unavailable")


def _as_new_message(answer: ChatReply) -> ChatReply:
    """Deleting or re-arming from a button: say so in a new message, keep the old one."""
    return dataclasses.replace(answer, edit_message_id=None)
