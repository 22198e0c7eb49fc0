"""answerInlineQuery on the transport's event loop: at once, once, within a few seconds.

Why not through the outbox's queue: an inline answer goes to no chat (no per-chat pacing
applies), is useful only while the user is still typing, and may be given once per query. So
it is sent as soon as it arrives, with a short timeout, and never retried after a flood wait
or a network error: by then the user has typed on or Telegram has stopped waiting. The one
retry is Telegram refusing our HTML ("can't parse entities"): the cards are sent again as
plain text, as the outbox does for messages. Every failure is logged as
``telegram.inline_unanswered`` (the token never appears: errors go through ``redact``).
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

__all__ = ["INLINE_ANSWER_TIMEOUT_S", "answer_inline_query", "inline_results"]

logger = logging.getLogger(__name__)

INLINE_ANSWER_TIMEOUT_S = 5.0
"""Longest wait for Telegram to take an answer (connect, write and read together)."""


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
