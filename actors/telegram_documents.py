"""The outbox's document upload: one ``sendDocument`` call for a reply's DOCUMENT step.

Why apart from ``actors.telegram_outbox`` (at its size limit): the upload has its own rules.
The file goes as a multipart upload under the reply's file name; PTB applies the transport's
``media_write_timeout`` to it, as to a photo, and the read, connect and pool timeouts of every
call (``actors.telegram_loop.TransportTuning``), so the call never blocks without a bound.
Failures are sorted by the outbox like any other call: a 403 (the user blocked the bot) fails
the reply at once, it is not retried. So does a 413 (the file is too large for Telegram, or for
a proxy in front of it: nginx refuses bodies over 1 MB by default): the same bytes would be
refused again, but PTB raises it as a ``NetworkError``, which the outbox retries for minutes,
uploading the whole file each time; it is raised as :class:`DocumentRefused` instead.
"""

from __future__ import annotations

from telegram import Bot, InlineKeyboardMarkup
from telegram.error import NetworkError, TelegramError

from chat.reply_plan import OutboundStep, StepKind

__all__ = ["DOCUMENT_LIMIT_BYTES", "DocumentRefused", "send_document"]

DOCUMENT_LIMIT_BYTES = 50 * 1024 * 1024
"""The Bot API's upload limit for sendDocument (50 MB)."""
_TOO_LARGE = "request entity too large"
"""What PTB's NetworkError says for HTTP 413 (Telegram's description, or the status phrase)."""


class DocumentRefused(TelegramError):
    """The upload was refused for good (413): fail the reply, do not upload it again."""


async def send_document(bot: Bot, chat_id: int, step: OutboundStep, *, caption: str,
                        parse_mode: str | None, markup: InlineKeyboardMarkup | None) -> int:
    """Upload ``step.document`` as ``step.filename`` with ``caption``; the new message's id."""
    assert step.kind is StepKind.DOCUMENT and step.document is not None
    if len(step.document) > DOCUMENT_LIMIT_BYTES:
        raise ValueError(f"a document of {len(step.document)} bytes is over the Bot API's "
                         f"{DOCUMENT_LIMIT_BYTES}-byte limit")
    try:
        message = await bot.send_document(chat_id, document=step.document,
                                          filename=step.filename, caption=caption or None,
                                          parse_mode=parse_mode, reply_markup=markup)
    except NetworkError as error:
        if _TOO_LARGE in str(error).lower():
            raise DocumentRefused(f"{error} ({len(step.document)} bytes)") from error
        raise
    return int(message.message_id)
