"""/export and /forget, run in command workers: a user's data out as a file, or deleted.

Thin: the read is one read-pool call (one snapshot, ``storage.user_data``), the document is
built by ``users.export``, the texts come from ``chat.cards_user_data``, and the deletion is
one acknowledged ``ForgetUser`` write the db_writer commits in one transaction. Only a press
of the confirm button under /forget deletes, and only the presser's own data (the button is
bound to its owner, and the write names the presser), and only within
``FORGET_CONFIRM_WINDOW_S`` of the preview (which listed what it deletes). Both answer only
in a private chat:
the document would otherwise show the user's data to a group.

The press that deletes is itself a command, logged for /stats after it has run; it is logged
without the user id (:meth:`UserDataCommands.is_anonymous`), so nothing of the user is left.
So is any command of the user received before the deletion ended and finishing after it (a
slow /chart): its log row would otherwise name the user again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from chat.cards_user_data import (
    FORGET_CANCELLED,
    FORGET_EXPIRED,
    FORGET_UNCONFIRMED,
    export_caption,
    export_too_soon_text,
    forget_confirm_expired,
    forget_preview_text,
    forgotten_text,
    private_only_text,
    read_unavailable_text,
)
from chat.callbacks import ForgetButton
from chat.cards import not_saved_text
from chat.keyboards import forget_keyboard, owner_of
from chat.replies import NOT_YOURS, CommandResult, reply
from core.logs import log_event
from messages.chat import ButtonPressed, ChatCommand, CommandDone
from messages.user_data import ForgetUser, Forgotten
from storage.errors import NotSaved, StorageUnavailable
from storage.read_pool import ReadPool
from storage.user_data import EXPORT_ALERTS, EXPORT_FIRINGS, EXPORT_SETTINGS, EXPORT_WATCHLIST
from supervision import request
from supervision.address import Address
from supervision.errors import ChildUnavailable
from users.export import ExportCaps, ExportGate, build_export

__all__ = ["UserDataCommands"]

logger = logging.getLogger(__name__)

Request = ChatCommand | ButtonPressed

FORGET_TIMEOUT_S = 10.0
"""How long the confirm press waits for the writer (a user with many logged commands)."""
_CAPS = ExportCaps(alerts=EXPORT_ALERTS, firings=EXPORT_FIRINGS, watchlist=EXPORT_WATCHLIST,
                   settings=EXPORT_SETTINGS)
_ANONYMOUS_MEMORY = 1024
FORGET_LOG_GRACE_S = 600.0
"""How long a forgotten user's commands received before the deletion may still finish (every
command has a deadline far shorter): logged without them until then."""


def _private(request: Request) -> bool:
    return request.chat_type == "private" and request.chat_id == request.user_id


class UserDataCommands:
    """The handlers of /export, /forget and the buttons under /forget."""

    def __init__(self, *, writer: Address, reads: ReadPool,
                 clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._writer = writer
        self._reads = reads
        self._clock = clock
        self._monotonic = monotonic
        """The conversation's clock (command latencies are measured on it)."""
        self._lock = threading.Lock()
        self._forgotten: OrderedDict[int, float] = OrderedDict()
        """User -> when their deletion ended (inf while it runs), oldest first."""
        self._exports = ExportGate(clock=clock)
        """One export per user a minute (guarded by ``_lock``: workers share this object)."""
        self._anonymous: OrderedDict[str, None] = OrderedDict()

    def export(self, request: Request) -> CommandResult:
        if not _private(request):
            return CommandResult((reply(request, private_only_text("export")),), "usage")
        with self._lock:
            wait_s = self._exports.claim(request.user_id)
        if wait_s:
            return CommandResult((reply(request, export_too_soon_text(wait_s)),), "usage")
        try:
            data = self._reads.user_data(request.user_id)
        except StorageUnavailable:
            with self._lock:
                self._exports.release(request.user_id)
            return CommandResult((reply(request, read_unavailable_text("export")),),
                                 "unavailable")
        export = build_export(data, _CAPS)
        log_event(logger, "user_data.exported", logging.INFO, request_id=request.request_id,
                  rows=data.counts.total, bytes=len(export.document))
        caption = export_caption(data.counts, export.time_zone)
        answer = reply(request, caption, document=export.document, filename=export.filename,
                       edit_message_id=None)
        return CommandResult((answer,), "ok")

    def forget_preview(self, request: Request) -> CommandResult:
        if not _private(request):
            return CommandResult((reply(request, private_only_text("forget")),), "usage")
        try:
            counts = self._reads.user_data_counts(request.user_id)
        except StorageUnavailable:
            return CommandResult((reply(request, read_unavailable_text("forget")),),
                                 "unavailable")
        keyboard = forget_keyboard(owner=owner_of(request)) if counts.total else ()
        return CommandResult((reply(request, forget_preview_text(counts), keyboard),), "ok")

    def forget_button(self, request: ButtonPressed, action: ForgetButton) -> CommandResult:
        # The conversation already refuses a press on someone else's button; this holds even
        # for a press that reached here some other way: only the owner's press deletes.
        if owner_of(request) != request.user_id or not _private(request):
            return CommandResult((reply(request, "", edit_message_id=None, toast=NOT_YOURS),),
                                 "denied")
        if not action.confirm:
            return CommandResult((reply(request, FORGET_CANCELLED, keep=True),), "ok")
        if forget_confirm_expired(request.message_date, self._clock()):
            return CommandResult((reply(request, FORGET_EXPIRED, keep=True),), "usage")
        self._forgetting(request.user_id, float("inf"))
        refused = False
        try:
            forgotten = request_forget(self._writer, request)
        except NotSaved as exc:
            refused = True
            return CommandResult((reply(request, not_saved_text(str(exc)), keep=True),),
                                 "unavailable")
        except ChildUnavailable:  # also AskTimeout: it may still commit
            log_event(logger, "storage.write_unconfirmed", logging.WARNING,
                      request_id=request.request_id)
            return CommandResult((reply(request, FORGET_UNCONFIRMED, keep=True),),
                                 "unavailable")
        finally:
            # However the write ended (an unexpected error too), the user is never left
            # "being forgotten" forever; a refused write deleted nothing.
            self._forgetting(request.user_id, None if refused else self._monotonic())
        self._remember_anonymous(request.request_id)
        deleted = forgotten.deleted
        log_event(logger, "user_data.forgotten", logging.INFO, request_id=request.request_id,
                  users=deleted.users, alerts=deleted.alerts,
                  alert_firings=deleted.alert_firings, watchlist=deleted.watchlist,
                  digests=deleted.digests, command_log=deleted.command_log)
        return CommandResult((reply(request, forgotten_text(deleted), keep=True),), "ok")

    def is_anonymous(self, done: CommandDone, latency_ms: float) -> bool:
        """Whether to log ``done`` without its user: the press that deleted their data (once),
        or a command of theirs received before the deletion ended."""
        with self._lock:
            if self._anonymous.pop(done.request_id, "absent") is None:
                return True
            now = self._monotonic()
            self._prune_forgotten(now)
            ended = self._forgotten.get(done.user_id) if done.user_id is not None else None
            return ended is not None and now - latency_ms / 1000 < ended

    def _forgetting(self, user_id: int, ended: float | None) -> None:
        """Record that ``user_id``'s deletion runs (inf), ended, or was refused (None)."""
        with self._lock:
            self._forgotten.pop(user_id, None)
            if ended is not None:
                self._forgotten[user_id] = ended
            self._prune_forgotten(self._monotonic())

    def _prune_forgotten(self, now: float) -> None:
        while self._forgotten:
            user, ended = next(iter(self._forgotten.items()))
            if (now - ended < FORGET_LOG_GRACE_S
                    and len(self._forgotten) <= _ANONYMOUS_MEMORY):
                break
            del self._forgotten[user]

    def _remember_anonymous(self, request_id: str) -> None:
        with self._lock:
            self._anonymous[request_id] = None
            while len(self._anonymous) > _ANONYMOUS_MEMORY:
                self._anonymous.popitem(last=False)


def request_forget(writer: Address, pressed: ButtonPressed) -> Forgotten:
    """Ask the writer to delete the presser's data; its answer after the commit."""
    answer = request(writer, lambda reply_to: ForgetUser(
        request_id=pressed.request_id, user_id=pressed.user_id, reply_to=reply_to),
        FORGET_TIMEOUT_S)
    assert isinstance(answer, Forgotten)
    return answer
