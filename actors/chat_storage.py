"""The commands that read or write what users told us: alerts, the watchlist and settings.

Runs in command workers: the ``@handles`` functions of ``actors/command_handlers.py`` call
these methods with the typed arguments, and ``chat_commands`` passes on the buttons. A write is
told to the DB writer with a reply future and the user hears "saved" only when the writer has committed; a refusal comes back as
``NotSaved`` ("not saved, nothing changed: ..."), and a writer that does not answer in time gets
an honest "could not confirm" rather than a guess. Reads go through the read pool, so they work
while the writer writes.

/alert gathers what ``chat.alert_plan`` needs (the coin, the user's settings when the form
uses them, the current price for a percentage move) and sends the plan it returns; a
percentage with no price fresh enough to measure from is refused before anything is written.
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
from chat.alert_plan import NoBasePrice, plan_alert
from chat.arguments import AlertRequest
from chat.callbacks import (
    CallbackAction,
    DeleteAlertButton,
    ForgetButton,
    RearmAlertButton,
    RefreshWatchlist,
    SettingButton,
)
from chat.cards import UNCONFIRMED
from chat.cards_alerts import (
    alert_details_text,
    alert_not_yours_text,
    alert_set_text,
    alerts_list_text,
    is_listed,
    no_base_price_text,
)
from chat.keyboards import alerts_keyboard, owner_of, settings_keyboard, watchlist_keyboard
from chat.settings_card import setting_explained, setting_saved_text, settings_card
from chat.settings_request import SettingsRequest
from chat.replies import BUTTON_NOT_AVAILABLE, CommandResult, reply
from core.logs import log_event
from messages.chat import ButtonPressed, ChatCommand, ChatReply, CommandDone
from messages.storage import (
    CommandStat,
    DeleteAlert,
    LogCommand,
    RearmAlert,
    Saved,
    SaveSettings,
    Unwatch,
    Watch,
)
from storage.errors import NotSaved, StorageUnavailable
from storage.read_pool import ReadPool
from supervision import request
from supervision.address import Directory
from supervision.errors import ChildUnavailable
from users.settings import UserSettings

__all__ = ["StorageCommands"]

logger = logging.getLogger(__name__)

Request = ChatCommand | ButtonPressed

WRITE_TIMEOUT_S = 5.0

PRICE_NOTE_DEADLINE_S = 1.0
"""How long a saved alert's confirmation waits for the current price it mentions."""
BASE_PRICE_MAX_AGE_S = 300.0
"""A percentage move is measured from a price at most this old (a cached one while the
exchange is slow), never from an older one: the alert could fire on the spot."""


class StorageCommands:
    """Handlers for /alert, /alerts, /delalert, /watch, /unwatch, /watchlist, /settings and
    their buttons; /export and /forget through :attr:`user_data`."""

    def __init__(self, *, market: MarketAccess, directory: Directory, reads: ReadPool,
                 clock: Callable[[], float] = time.time) -> None:
        self._market = market
        self._writer = directory["db_writer"]
        self._reads = reads
        self._clock = clock
        self.user_data = UserDataCommands(writer=self._writer, reads=reads)
        """/export, /forget and the buttons under /forget (``actors/user_data.py``)."""

    @property
    def reads(self) -> ReadPool:
        """The read pool (for commands in modules of their own, like /digest)."""
        return self._reads

    def command_listener(self) -> Callable[[CommandDone, float], None]:
        """Feeds the command log (fire-and-forget) for /stats."""
        writer, user_data = self._writer, self.user_data

        def log(done: CommandDone, latency_ms: float) -> None:
            # The press that deleted its user's data is logged without them.
            user_id = None if user_data.is_anonymous(done, latency_ms) else done.user_id
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
        """/alert of any kind (``chat.alert_plan`` decides what is stored)."""
        symbol = self._market.resolve(wanted.symbol_text, request_id=request.request_id)
        # Settings only matter to some forms: a plain price alert reads nothing before its write.
        needs_settings = (wanted.recurring or wanted.expires_in_s is not None
                          or (wanted.kind == "rsi" and wanted.interval is None))
        settings = self.settings_of(request.user_id) if needs_settings else UserSettings()
        base, base_age = None, None
        if wanted.kind == "percent":  # the price the move is measured from: needed, not decor
            quotes = self._market.quotes([symbol], request_id=request.request_id)
            if quotes.tickers and (quotes.stale_age_s or 0.0) <= BASE_PRICE_MAX_AGE_S:
                base, base_age = quotes.tickers[0].last_price, quotes.stale_age_s
        try:
            plan = plan_alert(wanted, symbol, settings, now=self._clock(), price=base)
        except NoBasePrice:
            signed = wanted.price if wanted.direction == "above" else -wanted.price
            text = no_base_price_text(symbol, signed)
            return CommandResult((reply(request, text, keep=True),), "unavailable")
        result = self._save(request, lambda reply_to: plan.message(
            request_id=request.request_id, user_id=request.user_id, chat_id=request.chat_id,
            reply_to=reply_to))
        if isinstance(result, str):
            return CommandResult((reply(request, result, keep=True),), "unavailable")
        now_price, now_age = None, base_age
        if plan.kind == "price":
            # The alert is already saved: its confirmation must not wait 5 s on a slow
            # exchange for the current price, which only decorates it.
            now = self._market.quotes([symbol], request_id=request.request_id,
                                      deadline_s=PRICE_NOTE_DEADLINE_S)
            now_price = now.tickers[0].last_price if now.tickers else None
            now_age = now.stale_age_s
        text = alert_set_text(result.alert_id, plan, zone=settings.timezone,
                              now_price=now_price, now_age_s=now_age)
        return CommandResult((reply(request, text, keep=True),), "ok")

    def settings_of(self, user_id: int) -> UserSettings:
        """The user's settings, defaults filled in."""
        return UserSettings.from_pairs(self._reads.user_settings(user_id))

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
        zone = self.settings_of(request.user_id).timezone
        records = [r for r in self._reads.alerts_of(request.user_id) if is_listed(r)]
        text = alerts_list_text(records, zone=zone, now=self._clock())
        keyboard = alerts_keyboard([r.alert_id for r in records], owner=owner_of(request))
        return CommandResult((reply(request, text, keyboard),), "ok")

    def alert_details(self, request: Request, alert_id: int) -> CommandResult:
        """/alerts ID: one of the user's alerts, times local and UTC, with its delete button."""
        record = self._reads.alert_by_id(alert_id)
        if record is None or record.user_id != request.user_id:
            return CommandResult((reply(request, alert_not_yours_text(alert_id)),), "usage")
        zone = self.settings_of(request.user_id).timezone
        text = alert_details_text(record, zone=zone, now=self._clock())
        keyboard = alerts_keyboard([alert_id] if record.live else [], owner=owner_of(request))
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

    # -- settings ------------------------------------------------------------------------------

    def user_settings(self, user_id: int) -> UserSettings:
        """The user's settings, defaults for what is unset; defaults too when the read fails
        (a command never fails over a setting)."""
        try:
            return UserSettings.from_pairs(self._reads.user_settings(user_id))
        except StorageUnavailable as exc:
            log_event(logger, "storage.settings_unread", logging.WARNING, user_id=user_id,
                      reason=exc.reason)
            return UserSettings()

    def settings(self, request: Request, wanted: SettingsRequest) -> CommandResult:
        """/settings: the card with buttons, one key explained, or one key set."""
        if wanted.key is None:
            current = self.user_settings(request.user_id)
            keyboard = settings_keyboard(current, owner=owner_of(request))
            return CommandResult((reply(request, settings_card(current), keyboard),), "ok")
        if wanted.value is None:
            text = setting_explained(self.user_settings(request.user_id), wanted.key)
            return CommandResult((reply(request, text),), "ok")
        text, outcome = self._save_setting(request, wanted.key, wanted.value)
        return CommandResult((reply(request, text, keep=True),), outcome)

    def _save_setting(self, request: Request, key: str, value: str) -> tuple[str, str]:
        """Store one setting for the requesting user (their own, also in a group); the
        answer's text once committed, or why not."""
        result = self._save(request, lambda reply_to: SaveSettings(
            request_id=request.request_id, user_id=request.user_id, chat_id=request.chat_id,
            settings=((key, value),), reply_to=reply_to))
        if isinstance(result, str):
            return result, "unavailable"
        return setting_saved_text(key, value, changed=result.changed,
                                  alerts_updated=result.alerts_updated, now=self._clock()), "ok"

    def _press_setting(self, request: ButtonPressed, action: SettingButton) -> CommandResult:
        """A /settings button: save, then redraw the card in place with what was stored."""
        note, outcome = self._save_setting(request, action.key, action.value)
        current = self.user_settings(request.user_id)
        text = settings_card(current, note)
        keyboard = settings_keyboard(current, owner=owner_of(request))
        return CommandResult((reply(request, text, keyboard),), outcome)

    # -- buttons -------------------------------------------------------------------------------

    def button(self, request: ButtonPressed, action: CallbackAction) -> CommandResult:
        match action:
            case RefreshWatchlist():
                return self.watchlist(request)
            case SettingButton():
                return self._press_setting(request, action)
            case DeleteAlertButton(alert_id=alert_id):
                replies, outcome = self.delete_alert(request, alert_id)
                return CommandResult(tuple(_as_new_message(r) for r in replies), outcome)
            case ForgetButton():
                return self.user_data.forget_button(request, action)
            case RearmAlertButton(alert_id=alert_id):
                result = self._save(request, lambda reply_to: RearmAlert(
                    request_id=request.request_id, user_id=request.user_id,
                    alert_id=alert_id, reply_to=reply_to))
                if isinstance(result, str):
                    text = result
                elif result.alert_id not in (None, alert_id):  # the same condition, live
                    text = cards.alert_twin_text(alert_id, result.alert_id)
                else:
                    text = cards.alert_rearmed_text(alert_id)
                return CommandResult((_as_new_message(reply(request, text, keep=True)),), "ok")
        answer = reply(request, "", edit_message_id=None, toast=BUTTON_NOT_AVAILABLE)
        return CommandResult((answer,), "unavailable")


def _as_new_message(answer: ChatReply) -> ChatReply:
    """Deleting or re-arming from a button: say so in a new message, keep the old one."""
    return dataclasses.replace(answer, edit_message_id=None)
