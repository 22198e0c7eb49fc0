"""What each command and button does: runs in a command worker's thread, returns the replies.

Not an actor: the command workers own one each. Handlers may block on asks and futures (always
with a timeout) because a worker is a dedicated thread; the conversation actor never waits.
Every path ends in at least one reply: bad input gets usage with an example, an unknown coin
gets suggestions, a failing exchange gets a labelled stale answer or "try again in N s", and an
unexpected error gets an apology (and an ERROR log line) instead of silence.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from typing import Any

import psutil

from actors.db_writer import DbWriterStats
from actors.fetcher import FetcherStats
from actors.market_access import MarketAccess, Quotes, SeriesUnavailable
from chat import cards
from chat.callbacks import (
    DeleteAlert,
    InvalidCallback,
    RearmAlert,
    RefreshAnalysis,
    RefreshWatchlist,
    ShowAnalysis,
    ShowChart,
    decode,
)
from chat.charts import ChartUnavailable, caption
from chat.keyboards import analysis_keyboard, chart_keyboard
from chat.parsing import ParsedCommand, UsageError, parse, symbol_and_interval
from core.errors import BotError
from core.logs import log_event
from market.analysis import MarketAnalysis, MarketUnavailable
from market.cache import CacheStats
from market.errors import InvalidSymbolFormat, UnknownSymbol
from messages.charts import ChartKey, RenderChart
from messages.chat import Button, ButtonPressed, ChatCommand, ChatReply, RunCommand
from messages.market import CacheLookup, CachePut
from ops.memory import MemoryStats
from supervision.address import Directory
from supervision.errors import ChildUnavailable
from supervision.snapshot import ActorSnapshot, collect_tree

__all__ = ["CommandService", "Outcome", "Replies"]

logger = logging.getLogger(__name__)

Replies = tuple[ChatReply, ...]
Outcome = tuple[Replies, str]
Request = ChatCommand | ButtonPressed

CHART_TIMEOUT_S = 15.0
SNAPSHOT_TIMEOUT_S = 1.0
SORRY = "😕 Something went wrong on our side while answering. Please try again in a moment."


def reply(request: Request, text: str, buttons: tuple[tuple[Button, ...], ...] = (),
          **fields: Any) -> ChatReply:
    """A reply to ``request``; button presses edit the message that carried the button."""
    if isinstance(request, ButtonPressed):
        fields.setdefault("edit_message_id", request.message_id)
        fields.setdefault("callback_id", request.callback_id)
    return ChatReply(
        request_id=request.request_id,
        chat_id=request.chat_id,
        text=text,
        buttons=buttons,
        chat_type=request.chat_type,
        received_at=request.received_at,
        **fields,
    )


class CommandService:
    """One handler per command and per button action."""

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
        self._handlers: dict[str, Callable[[RunCommand, ParsedCommand], Outcome]] = {
            "price": self._price,
            "analysis": self._analysis,
            "chart": self._chart,
            "top": self._top,
            "actors": self._actors,
            "health": self._health,
            "stats": self._stats,
        }

    def execute(self, run: RunCommand) -> Outcome:
        request = run.request
        try:
            if isinstance(request, ButtonPressed):
                return self._button(request)
            parsed = parse(request.text)
            if not isinstance(parsed, ParsedCommand):
                return (reply(request, "Send /help to see what I can do."),), "usage"
            handler = self._handlers.get(parsed.name)
            if handler is None and self._storage is not None:
                handler = self._storage.handler(parsed.name)
            if handler is None:
                return (reply(request, f"/{parsed.name} is not available yet."),), "unavailable"
            return handler(run, parsed)
        except UsageError as exc:
            return (reply(request, exc.html),), "usage"
        except (UnknownSymbol, InvalidSymbolFormat) as exc:
            return (reply(request, cards.symbol_error_text(exc)),), "usage"
        except BotError as exc:
            log_event(logger, "chat.command_failed", logging.ERROR, command=run.command,
                      error=repr(exc), request_id=request.request_id)
            return (reply(request, SORRY),), "error"

    # -- market commands -----------------------------------------------------------------------

    def _price(self, run: RunCommand, parsed: ParsedCommand) -> Outcome:
        quotes = self._market.quotes(parsed.args, request_id=run.request_id)
        return (reply(run.request, self._quotes_text(quotes)),), self._quotes_outcome(quotes)

    def _analysis(self, run: RunCommand, parsed: ParsedCommand) -> Outcome:
        symbol, interval = symbol_and_interval(parsed)
        return self._analysis_reply(run.request, symbol, interval, expanded=False)

    def _analysis_reply(self, request: Request, symbol: str, interval: str, *,
                        expanded: bool, note: str | None = None) -> Outcome:
        answer = self._market.analysis(symbol, interval, request_id=request.request_id)
        if isinstance(answer, MarketUnavailable):
            return (reply(request, cards.unavailable_text(answer)),), "unavailable"
        text = cards.analysis_card(answer, expanded=expanded)
        if note:
            text = f"{note}\n\n{text}"
        keyboard = analysis_keyboard(answer.symbol, answer.interval, expanded)
        outcome = "degraded" if answer.stale or answer.indicators is None else "ok"
        return (reply(request, text, keyboard),), outcome

    def _chart(self, run: RunCommand, parsed: ParsedCommand) -> Outcome:
        symbol, interval = symbol_and_interval(parsed)
        return self._chart_reply(run.request, symbol, interval)

    def _chart_reply(self, request: Request, text: str, interval: str) -> Outcome:
        try:
            symbol, klines, stale_age = self._market.candles(
                text, interval, request_id=request.request_id)
        except SeriesUnavailable as exc:
            answer = MarketUnavailable(text.upper(), exc.reason, exc.retry_after_s)
            return (reply(request, cards.unavailable_text(answer)),), "unavailable"
        candles = klines.candles
        key = ChartKey(symbol, interval, int(candles.open_time[-1]) if len(candles) else 0)
        try:
            png = self._render(key, candles, request.request_id)
        except (ChartUnavailable, ChildUnavailable) as exc:
            note = f"🖼 Chart unavailable right now ({getattr(exc, 'reason', exc)}); " \
                   "here is the text analysis instead."
            return self._analysis_reply(request, text, interval, expanded=False,
                                        note=cards.escape(note))
        analysis = self._market.analysis(symbol, interval, request_id=request.request_id)
        text_caption = caption(analysis if isinstance(analysis, MarketAnalysis) else None,
                               symbol, interval)
        if stale_age is not None:
            text_caption = f"⚠️ stale chart: {cards.format_age(stale_age)} old\n{text_caption}"
        photo = reply(request, text_caption, chart_keyboard(symbol, interval), photo=png)
        if isinstance(request, ButtonPressed):  # a chart is a new message, not an edit
            photo = dataclasses.replace(photo, edit_message_id=None)
        return (photo,), "ok" if stale_age is None else "degraded"

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

    def _top(self, run: RunCommand, parsed: ParsedCommand) -> Outcome:
        quotes = self._market.usdt_quotes(request_id=run.request_id)
        if quotes.unavailable is not None:
            return (reply(run.request, cards.unavailable_text(quotes.unavailable)),), "unavailable"
        text = cards.top_movers(quotes.tickers)
        if quotes.stale_age_s is not None:
            text = f"⚠️ Stale: {cards.format_age(quotes.stale_age_s)} old — " \
                   f"{cards.escape(quotes.reason or '')}\n{text}"
        return (reply(run.request, text),), self._quotes_outcome(quotes)

    @staticmethod
    def _quotes_text(quotes: Quotes) -> str:
        if quotes.unavailable is not None:
            lines = [cards.unavailable_text(quotes.unavailable)]
        else:
            lines = [cards.price_lines(quotes.tickers)] if quotes.tickers else []
            if quotes.stale_age_s is not None:
                lines.insert(0, f"⚠️ Stale: {cards.format_age(quotes.stale_age_s)} old — "
                                f"{cards.escape(quotes.reason or '')}")
        for text, problem in quotes.unknown:
            lines.append(f"⚠️ {cards.code(text)}: {cards.escape(problem)}")
        return "\n".join(lines) or "No prices to show."

    @staticmethod
    def _quotes_outcome(quotes: Quotes) -> str:
        if quotes.unavailable is not None:
            return "unavailable"
        return "degraded" if quotes.stale_age_s is not None else "ok"

    # -- admin commands ------------------------------------------------------------------------

    def _snapshot(self) -> ActorSnapshot:
        return collect_tree(self._directory[self._root], timeout_s=SNAPSHOT_TIMEOUT_S,
                            asker=self._worker)

    def _actors(self, run: RunCommand, parsed: ParsedCommand) -> Outcome:
        return (reply(run.request, cards.actors_tree(self._snapshot())),), "ok"

    def _health(self, run: RunCommand, parsed: ParsedCommand) -> Outcome:
        return (reply(run.request, cards.health_text(self._snapshot())),), "ok"

    def _stats(self, run: RunCommand, parsed: ParsedCommand) -> Outcome:
        snapshot = self._snapshot()
        text = cards.runtime_stats_text(
            uptime_s=time.time() - psutil.Process().create_time(),
            restarts=sum(node.restarts for node in snapshot.walk()),
            cache=snapshot.find_stats(CacheStats),
            fetcher=snapshot.find_stats(FetcherStats),
            db_writer=snapshot.find_stats(DbWriterStats),
            memory=snapshot.find_stats(MemoryStats),
        )
        if self._storage is not None:
            text += "\n" + cards.command_stats_text(self._storage.recent_command_stats())
        return (reply(run.request, text),), "ok"

    # -- buttons -------------------------------------------------------------------------------

    def _button(self, request: ButtonPressed) -> Outcome:
        try:
            action = decode(request.data)
        except InvalidCallback as exc:
            answer = reply(request, "", edit_message_id=None, toast=exc.user_text)
            return (answer,), "usage"
        match action:
            case ShowAnalysis() | RefreshAnalysis():
                return self._analysis_reply(request, action.symbol, action.interval,
                                            expanded=action.expanded)
            case ShowChart():
                return self._chart_reply(request, action.symbol, action.interval)
            case RefreshWatchlist() | RearmAlert() | DeleteAlert() if self._storage is not None:
                outcome: Outcome = self._storage.button(request, action)
                return outcome
        answer = reply(request, "", edit_message_id=None, toast="This button is not available.")
        return (answer,), "unavailable"

