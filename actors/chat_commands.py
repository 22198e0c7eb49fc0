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
from collections.abc import Mapping
from typing import Any

import psutil

from actors.command_handlers import HANDLERS
from actors.market_access import MarketAccess, Quotes, SeriesUnavailable
from chat import cards
from chat.callbacks import (
    DeleteAlertButton,
    InvalidCallback,
    RearmAlertButton,
    RefreshAnalysis,
    RefreshWatchlist,
    ShowAnalysis,
    ShowChart,
    decode,
)
from chat.charts import ChartUnavailable, caption
from chat.keyboards import analysis_keyboard, chart_keyboard
from chat.replies import BUTTON_NOT_AVAILABLE, SORRY, CommandResult, reply
from core.errors import BotError
from core.logs import log_event
from market.analysis import MarketAnalysis, MarketUnavailable
from market.errors import InvalidSymbolFormat, UnknownSymbol
from messages.charts import ChartKey, RenderChart
from messages.chat import ButtonPressed, ChatCommand, ChatReply, RunCommand
from messages.market import CacheLookup, CachePut
from supervision.address import Directory
from supervision.errors import ChildUnavailable
from supervision.snapshot import ActorSnapshot, collect_tree

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
    ) -> None:
        self._worker = worker
        self._market = market
        self._directory = directory
        self._root = root
        self._storage = storage

    @property
    def market(self) -> MarketAccess:
        return self._market

    @property
    def storage(self) -> Any | None:
        """The alert and watchlist commands (``StorageCommands``), None without a database."""
        return self._storage

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
        text = cards.analysis_card(answer, expanded=expanded)
        if note:
            text = f"{note}\n\n{text}"
        keyboard = analysis_keyboard(answer.symbol, answer.interval, expanded)
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
            return self.analysis_reply(request, text, interval, expanded=False, note=note)
        analysis = self._market.analysis(symbol, interval, request_id=request.request_id)
        text_caption = caption(analysis if isinstance(analysis, MarketAnalysis) else None,
                               symbol, interval)
        if stale_age is not None:
            text_caption = cards.stale_chart_caption(stale_age, text_caption)
        photo = reply(request, text_caption, chart_keyboard(symbol, interval), photo=png)
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

    def snapshot(self) -> ActorSnapshot:
        """The supervision tree with each actor's state and stats (for admin commands)."""
        return self._snapshot()

    def _snapshot(self) -> ActorSnapshot:
        return collect_tree(self._directory[self._root], timeout_s=SNAPSHOT_TIMEOUT_S,
                            asker=self._worker)

    def _stats(self, run: RunCommand, parsed: object) -> tuple[tuple[ChatReply, ...], str]:
        snapshot = self._snapshot()
        nodes = {node.name: dict(node.stats) for node in snapshot.walk()}
        uptime_s = time.time() - psutil.Process().create_time()
        lines = [f"<b>Runtime</b> · up {cards.escape(cards.format_age(uptime_s))}"]
        cache = nodes.get("cache", {})
        rate = cache.get("computed.hit_rate")
        raw_rate = cache.get("raw.hit_rate")
        lines.append(f"cache: {cache.get('bytes') or 0:,} bytes · analyses hit "
                     f"{'n/a' if rate is None else f'{rate:.0%}'} · raw hit "
                     f"{'n/a' if raw_rate is None else f'{raw_rate:.0%}'}")
        fetcher = nodes.get("fetcher", {})
        lines.append(f"exchange: {fetcher.get('upstream_calls', 0)} calls, "
                     f"{fetcher.get('coalesced', 0)} coalesced, "
                     f"{fetcher.get('refused_circuit_open', 0)} refused while the breaker was open")
        lines.append(_weight_line(fetcher))
        db_p99 = [v for k, v in nodes.get("db_writer", {}).items()
                  if k.endswith(".p99_ms") and isinstance(v, (int, float))]
        if db_p99:
            lines.append(f"database: p99 {max(db_p99):.2f} ms (slowest query kind)")
        rss = nodes.get("memory_monitor", {}).get("rss_mb")
        if isinstance(rss, (int, float)):
            level = nodes["memory_monitor"].get("level")
            lines.append(f"memory: {rss:.0f} MB ({cards.escape(level)})")
        lines.append(f"restarts: {sum(node.restarts for node in snapshot.walk())}")
        if self._storage is not None:
            lines.append(self._storage.stats_text())
        return (reply(run.request, "\n".join(lines)),), "ok"

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
            case RefreshWatchlist() | RearmAlertButton() | DeleteAlertButton() if self._storage is not None:
                outcome: CommandResult = self._storage.button(request, action)
                return outcome
        answer = reply(request, "", edit_message_id=None, toast=BUTTON_NOT_AVAILABLE)
        return CommandResult((answer,), "unavailable")


def _weight_line(fetcher: Mapping[str, object]) -> str:
    used, limit = fetcher.get("weight.used"), fetcher.get("weight.limit")
    if not isinstance(used, (int, float)) or not isinstance(limit, int) or limit <= 0:
        return "request weight: n/a"
    line = f"request weight: {used:,.0f} of {limit:,} per minute ({used / limit:.0%})"
    blocked_s, reason = fetcher.get("weight.blocked_s"), fetcher.get("weight.blocked_reason")
    if isinstance(blocked_s, (int, float)) and blocked_s > 0:
        line += f" · held back {blocked_s:.0f} s more ({reason})"
    return cards.escape(line)
