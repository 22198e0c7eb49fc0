"""/digest in a command worker: show, set or stop the user's daily digest.

A thin shell like ``actors.chat_storage``: the writes go to the db_writer with a reply future
and the user hears "set" or "stopped" only after the commit (a refusal says nothing changed, a
writer that does not answer in time gets the honest "could not confirm"); the schedule is read
through the read pool, in the user's time zone as stored now.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import date
from typing import Any

from chat import cards
from chat.digest import digest_off_text, digest_set_text, digest_status_text
from chat.digest_args import DigestAt
from chat.replies import CommandResult, reply
from core.logs import log_event
from messages.chat import ButtonPressed, ChatCommand
from messages.digest import ClearDigest, DigestRecord, SetDigest
from messages.storage import Saved
from storage.errors import NotSaved
from storage.read_pool import ReadPool
from supervision import request
from supervision.address import Address
from supervision.errors import ChildUnavailable
from users.digest import digest_moment, next_due, plan
from users.settings import UserSettings

__all__ = ["WRITE_TIMEOUT_S", "digest_command"]

logger = logging.getLogger(__name__)

WRITE_TIMEOUT_S = 5.0


def digest_command(*, writer: Address, reads: ReadPool, command: ChatCommand | ButtonPressed,
                   args: DigestAt, wall_clock: Callable[[], float] = time.time,
                   timeout_s: float = WRITE_TIMEOUT_S) -> CommandResult:
    """The reply to /digest, /digest HH:MM or /digest off, after the commit for the last two."""
    zone = UserSettings.from_pairs(reads.user_settings(command.user_id)).timezone
    if args.minute is None and not args.off:
        record = reads.digest_of(command.user_id)
        next_at = wall_clock() if record is None else _next_digest(record, zone, wall_clock())
        return CommandResult((reply(command, digest_status_text(record, zone, next_at)),), "ok")
    if args.off:
        saved = _save(writer, command, lambda reply_to: ClearDigest(
            request_id=command.request_id, user_id=command.user_id, reply_to=reply_to),
            timeout_s)
        if isinstance(saved, str):
            return CommandResult((reply(command, saved, keep=True),), "unavailable")
        return CommandResult((reply(command, digest_off_text(saved.changed), keep=True),), "ok")
    minute = args.minute
    assert minute is not None
    saved = _save(writer, command, lambda reply_to: SetDigest(
        request_id=command.request_id, user_id=command.user_id, chat_id=command.chat_id,
        minute=minute, reply_to=reply_to), timeout_s)
    if isinstance(saved, str):
        return CommandResult((reply(command, saved, keep=True),), "unavailable")
    record = reads.digest_of(command.user_id)  # committed: the read sees it
    text = digest_set_text(minute, zone, None if record is None else record.next_due_at,
                           changed=saved.changed)
    return CommandResult((reply(command, text, keep=True),), "ok")


def _next_digest(record: DigestRecord, zone: str, now: float) -> float:
    """When the user's next digest goes out: today's moment while it is due and not sent
    yet (the round sends it within seconds, or once prices come), else the next one."""
    done = None if record.last_day is None else date.fromisoformat(record.last_day)
    decided = plan(now, record.minute, zone, done)
    if decided.send_day is not None:
        return digest_moment(decided.send_day, record.minute, zone)
    return next_due(now, record.minute, zone, decided.done_day)


def _save(writer: Address, command: ChatCommand | ButtonPressed,
          write: Callable[[Any], object], timeout_s: float) -> Saved | str:
    """The write's ``Saved`` after the commit, or the text to show instead."""
    try:
        saved = request(writer, write, timeout_s)
    except NotSaved as exc:
        return cards.not_saved_text(str(exc))
    except ChildUnavailable:  # also AskTimeout: no answer in time
        log_event(logger, "storage.write_unconfirmed", logging.WARNING,
                  request_id=command.request_id)
        return cards.UNCONFIRMED
    assert isinstance(saved, Saved)
    return saved
