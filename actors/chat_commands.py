"""A command worker's tools, and the buttons: runs in the worker's thread, returns the replies.

Not an actor: the command workers own one each. Commands are dispatched through the handler
registry (``actors/command_handlers.py``); this class holds what handlers share (the market,
chart rendering, the supervision tree, storage) and answers button presses. Handlers may
block on asks and futures (always with a timeout) because a worker is a dedicated thread; the
conversation actor never waits. Every path ends in at least one reply: an unknown coin gets
suggestions, a failing exchange gets a labelled stale answer or "try again in N s", and an
unexpected error gets an apology (and an ERROR log line) instead of silence.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any

from actors.admin_controls import AdminControls
from actors.command_handlers import HANDLERS
from storage.stats import DbWriterStats
from market.fetch_stats import FetcherStats
from actors.market_access import MarketAccess, Quotes, SeriesUnavailable
from chat import cards
from chat.callbacks import (
    DeleteAlertButton,
    ForgetButton,
    InvalidCallback,
    RearmAlertButton,
    RefreshAnalysis,
    RefreshWatchlist,
    RestartActorButton,
    SettingButton,
    ShowAnalysis,
    ShowChart,
    decode,
)
from chat.cards_alerting import slo_table
from chat.chart_caption import caption
from chat.charts import ChartUnavailable
from chat.keyboards import analysis_keyboard, chart_keyboard, owner_of
from chat.replies import BUTTON_NOT_AVAILABLE, SORRY, CommandResult, reply
from core.errors import BotError
from core.instance import InstanceId, this_instance
from core.logs import log_event
from market.analysis import MarketAnalysis, MarketUnavailable
from market.cache import CacheStats
from market.errors import InvalidSymbolFormat, UnknownSymbol
from messages.charts import ChartKey, RenderChart
from messages.chat import ButtonPressed, ChatCommand, ChatReply, RunCommand
from messages.market import CacheLookup, CachePut
from ops.memory import MemoryStats
from ops.slo import SloStats
from supervision.address import Address, Directory
from supervision.errors import ChildUnavailable
from supervision.snapshot import ActorSnapshot, collect_tree
from users.settings import UserSettings

__all__ = ["CommandService"]

logger = logging.getLogger(__name__)

Request = ChatCommand | ButtonPressed

CHART_TIMEOUT_S = 15.0
SNAPSHOT_TIMEOUT_S = 1.0


class CommandService:
    """Runs one request: a command through its registered handler, or a button press."""

    def __init__(
        self,
        *,
        market: MarketAccess,
        directory: Directory,
        root: str = "root",
        storage: Any | None = None,
        worker: str | None = None,
        instance: InstanceId | None = None,
    ) -> None:
        self.instance = instance if instance is not None else this_instance()
        """The process answering (/actors and /health name it; /stats counts uptime from it)."""
        self._worker = worker
        self._market = market
        self._directory = directory
        self._root = root
        self._storage = storage
        self._admin = AdminControls(directory=directory, snapshot=self._snapshot, root=root,
                                    worker=worker)
        self._settings_of: tuple[str, UserSettings] | None = None

    @property
    def admin(self) -> AdminControls:
        """The admin controls (/restart, /cache, /breaker, /loglevel)."""
        return self._admin

    @property
    def market(self) -> MarketAccess:
        return self._market

    @property
    def storage(self) -> Any | None:
        """The alert and watchlist commands (``StorageCommands``), None without a database."""
        return self._storage

    def user_settings(self, request: Request) -> UserSettings:
        """The requesting user's settings, read once per request (a worker runs one request at
        a time); the defaults on a bot without storage."""
        if self._storage is None:
            return UserSettings()
        if self._settings_of is None or self._settings_of[0] != request.request_id:
            settings: UserSettings = self._storage.user_settings(request.user_id)
            self._settings_of = (request.request_id, settings)
        return self._settings_of[1]

    def execute(self, run: RunCommand) -> CommandResult:
        request = run.request
        try:
            if run.invocation is None:
                assert isinstance(request, ButtonPressed), "a text command without its reading"
                return self._button(request)
            return HANDLERS[run.invocation.name](self, run, run.invocation.args)
        except (UnknownSymbol, InvalidSymbolFormat) as exc:
            return CommandResult((reply(request, cards.symbol_error_text(exc)),), "usage")
        except BotError as exc:
            log_event(logger, "chat.command_failed", logging.ERROR, command=run.command,
                      error=repr(exc), request_id=request.request_id)
            return CommandResult((reply(request, SORRY),), "error")

    # -- shared by handlers and buttons -----------------------------------------------------------

    def analysis_reply(self, request: Request, symbol: str, interval: str, *,
                       expanded: bool, note: str | None = None) -> CommandResult:
        answer = self._market.analysis(symbol, interval, request_id=request.request_id)
        if isinstance(answer, MarketUnavailable):
            return CommandResult((reply(request, cards.unavailable_text(answer)),), "unavailable")
        text = cards.analysis_card(answer, expanded=expanded,
                                   zone_name=self.user_settings(request).timezone)
        if note:
            text = f"{note}\n\n{text}"
        keyboard = analysis_keyboard(answer.symbol, answer.interval, expanded,
                                     owner=owner_of(request))
        outcome = "degraded" if answer.stale or answer.indicators is None else "ok"
        return CommandResult((reply(request, text, keyboard),), outcome)

    def chart_reply(self, request: Request, text: str, interval: str) -> CommandResult:
        try:
            symbol, klines, stale_age = self._market.candles(
                text, interval, request_id=request.request_id)
        except SeriesUnavailable as exc:
            answer = MarketUnavailable(text.upper(), exc.reason, exc.retry_after_s)
            return CommandResult((reply(request, cards.unavailable_text(answer)),), "unavailable")
        candles = klines.candles
        key = ChartKey(symbol, interval, int(candles.open_time[-1]) if len(candles) else 0)
        try:
            png = self._render(key, candles, request.request_id)
        except (ChartUnavailable, ChildUnavailable) as exc:
            note = cards.chart_unavailable_note(getattr(exc, "reason", exc))
            expanded = self.user_settings(request).style == "detailed"
            return self.analysis_reply(request, text, interval, expanded=expanded, note=note)
        analysis = self._market.analysis(symbol, interval, request_id=request.request_id)
        text_caption = caption(analysis if isinstance(analysis, MarketAnalysis) else None,
                               symbol, interval, self.user_settings(request).timezone)
        if stale_age is not None:
            text_caption = cards.stale_chart_caption(stale_age, text_caption)
        photo = reply(request, text_caption,
                      chart_keyboard(symbol, interval, owner=owner_of(request)), photo=png)
        if isinstance(request, ButtonPressed):  # a chart is a new message, not an edit
            photo = dataclasses.replace(photo, edit_message_id=None)
        return CommandResult((photo,), "ok" if stale_age is None else "degraded")

    def _render(self, key: ChartKey, candles: Any, request_id: str) -> bytes:
        cache = self._directory["cache"]
        try:
            hit = cache.ask(CacheLookup((key,)), timeout=1.0)[0]
        except ChildUnavailable:
            hit = None
        if hit is not None and hit.fresh and isinstance(hit.value, bytes):
            return hit.value
        png = self._directory["chart"].ask(
            RenderChart(key.symbol, key.interval, candles, request_id), timeout=CHART_TIMEOUT_S)
        assert isinstance(png, bytes)
        cache.tell(CachePut(key, png))
        return png

    @staticmethod
    def quotes_outcome(quotes: Quotes) -> str:
        if quotes.unavailable is not None:
            return "unavailable"
        return "degraded" if quotes.stale_age_s is not None else "ok"

    def address(self, name: str) -> Address:
        """The restart-proof address of the actor called ``name`` (admin commands)."""
        return self._directory[name]

    def snapshot(self) -> ActorSnapshot:
        """The supervision tree with each actor's state and stats (for admin commands)."""
        return self._snapshot()

    def _snapshot(self) -> ActorSnapshot:
        return collect_tree(self._directory[self._root], timeout_s=SNAPSHOT_TIMEOUT_S,
                            asker=self._worker)

    def _stats(self, run: RunCommand, parsed: object) -> tuple[tuple[ChatReply, ...], str]:
        snapshot = self._snapshot()
        text = cards.runtime_stats_text(
            uptime_s=self.instance.uptime_s(time.time()),
            restarts=sum(node.restarts for node in snapshot.walk()),
            cache=snapshot.find_stats(CacheStats),
            fetcher=snapshot.find_stats(FetcherStats),
            db_writer=snapshot.find_stats(DbWriterStats),
            memory=snapshot.find_stats(MemoryStats),
        )
        text += "\n" + slo_table(snapshot.find_stats(SloStats))
        if self._storage is not None:
            text += "\n" + cards.command_stats_text(self._storage.recent_command_stats())
        return (reply(run.request, text),), "ok"

    # -- buttons -------------------------------------------------------------------------------

    def _button(self, request: ButtonPressed) -> CommandResult:
        try:
            action = decode(request.data)
        except InvalidCallback as exc:
            answer = reply(request, "", edit_message_id=None, toast=exc.user_text)
            return CommandResult((answer,), "usage")
        match action:
            case ShowAnalysis() | RefreshAnalysis():
                return self.analysis_reply(request, action.symbol, action.interval,
                                           expanded=action.expanded)
            case ShowChart():
                return self.chart_reply(request, action.symbol, action.interval)
            case RestartActorButton(actor, confirm=True):
                return self._admin.restart(request, actor, confirmed=True)
            case RestartActorButton(actor, confirm=False):
                return self._admin.restart_cancelled(request, actor)
            case (RefreshWatchlist() | RearmAlertButton() | DeleteAlertButton()
                  | SettingButton() | ForgetButton()) if self._storage is not None:
                outcome: CommandResult = self._storage.button(request, action)
                return outcome
        answer = reply(request, "", edit_message_id=None, toast=BUTTON_NOT_AVAILABLE)
        return CommandResult((answer,), "unavailable")

