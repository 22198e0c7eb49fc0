"""answerInlineQuery on the transport's event loop: at once, once, within a few seconds.

Why not through the outbox's queue: an inline answer goes to no chat (no per-chat pacing
applies), is useful only while the user is still typing, and may be given once per query. So
it is sent as soon as it arrives, with a short timeout, and never retried after a flood wait
or a network error: by then the user has typed on or Telegram has stopped waiting. The one
retry is Telegram refusing our HTML ("can't parse entities"): the cards are sent again as
plain text, as the outbox does for messages. Every failure is logged as
``telegram.inline_unanswered`` (the token never appears: errors go through ``redact``).

Bounded for everyone together (:class:`InlineAnswerer`): the workers bound the lookups, but
help, refusals and cached lookups are answered within milliseconds, each its own call lasting
up to the timeout while Telegram is slow; so at most ``MAX_ANSWERS_IN_FLIGHT`` calls run at
once and any answer beyond them is dropped and logged (the query just expires, which is what
a late answer would meet anyway).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from telegram import Bot, InlineQueryResultArticle, InputTextMessageContent
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError

from chat.html import visible_text
from core.logs import log_event
from messages.inline import InlineAnswer

__all__ = ["INLINE_ANSWER_TIMEOUT_S", "MAX_ANSWERS_IN_FLIGHT", "InlineAnswerer",
           "answer_inline_query", "inline_results"]

logger = logging.getLogger(__name__)

INLINE_ANSWER_TIMEOUT_S = 5.0
"""Longest wait for Telegram to take an answer (connect, write and read together)."""
MAX_ANSWERS_IN_FLIGHT = 64
"""answerInlineQuery calls running at once, for all users together (4x the connection pool)."""


def inline_results(answer: InlineAnswer, *, plain: bool = False) -> list[InlineQueryResultArticle]:
    """PTB's result objects for ``answer``: articles whose message is the HTML card."""
    return [InlineQueryResultArticle(
        id=article.result_id, title=article.title, description=article.description or None,
        input_message_content=InputTextMessageContent(
            visible_text(article.html) if plain else article.html,
            parse_mode=None if plain else ParseMode.HTML))
        for article in answer.results]


async def answer_inline_query(bot: Bot, answer: InlineAnswer, *,
                              redact: Callable[[object], str],
                              timeout_s: float = INLINE_ANSWER_TIMEOUT_S) -> None:
    """Answer ``answer.query_id`` with its results, or log why it could not be."""
    for plain in (False, True):
        try:
            await asyncio.wait_for(bot.answer_inline_query(
                answer.query_id, inline_results(answer, plain=plain),
                cache_time=answer.cache_time_s, is_personal=answer.is_personal,
                read_timeout=timeout_s, write_timeout=timeout_s, connect_timeout=timeout_s,
                pool_timeout=timeout_s), timeout_s)
            return
        except BadRequest as error:
            if plain or "can't parse entities" not in str(error).lower():
                reason = redact(error)
                break
            log_event(logger, "telegram.html_rejected", logging.WARNING,
                      request_id=answer.request_id, error=redact(error))
        except TimeoutError:
            reason = f"no answer from Telegram within {timeout_s:g} s"
            break
        except TelegramError as error:  # RetryAfter, NetworkError, Forbidden: too late to retry
            reason = redact(error)
            break
    log_event(logger, "telegram.inline_unanswered", logging.WARNING,
              request_id=answer.request_id, reason=reason)


class InlineAnswerer:
    """:func:`answer_inline_query` with at most ``max_in_flight`` calls running at once.

    Lives on the transport's event loop (one thread): a plain counter is enough."""

    def __init__(self, *, redact: Callable[[object], str],
                 max_in_flight: int = MAX_ANSWERS_IN_FLIGHT,
                 timeout_s: float = INLINE_ANSWER_TIMEOUT_S) -> None:
        self._redact = redact
        self._max = max_in_flight
        self._timeout_s = timeout_s
        self.in_flight = 0

    async def answer(self, bot: Bot, answer: InlineAnswer) -> None:
        """Answer now, or drop the answer (logged) when ``max_in_flight`` calls are running."""
        if self.in_flight >= self._max:
            log_event(logger, "telegram.inline_unanswered", logging.WARNING,
                      request_id=answer.request_id,
                      reason=f"{self._max} inline answers already in flight")
            return
        self.in_flight += 1
        try:
            await answer_inline_query(bot, answer, redact=self._redact, timeout_s=self._timeout_s)
        finally:
            self.in_flight -= 1
