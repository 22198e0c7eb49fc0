"""getUpdates' own HTTP connection, which hands PTB only updates it can parse.

Why a module of its own: it is a fix to PTB's batch parsing, apart from the transport's
lifecycle (``actors.telegram_loop``); both PTB's updater and the shared-stream poller
(``actors.update_poller``) call getUpdates through it.
"""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

from telegram import Update
from telegram.request import HTTPXRequest

from core.logs import log_event

__all__ = ["UpdatesRequest"]

logger = logging.getLogger(__name__)


class UpdatesRequest(HTTPXRequest):
    """getUpdates' own connection, which hands PTB only updates it can parse.

    PTB parses a whole batch at once and, when one update fails, drops the batch without
    confirming it: the next poll gets the same batch, so one malformed update would stop the
    bot for good (and spin). Such an update is replaced by a bare one (its update_id only),
    which is confirmed and then ignored like any update of an unknown kind.
    """

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        status, payload = await super().do_request(*args, **kwargs)
        try:
            body = json.loads(payload)
        except (ValueError, RecursionError):
            return status, payload  # PTB reports it as it always does
        if status != 200 or not isinstance(body, dict) or not isinstance(body.get("result"), list):
            return status, payload
        updates = body["result"]
        parseable = [_parseable(update) for update in updates]
        if all(new is old for new, old in zip(parseable, updates)):
            return status, payload  # the usual case: nothing to rewrite
        body["result"] = parseable
        return status, json.dumps(body).encode()


def _parseable(update: object) -> object:
    try:
        Update.de_json(copy.deepcopy(update), None)  # type: ignore[arg-type]
        return update
    except Exception as error:  # whatever PTB's parser raises on a malformed update
        update_id = update.get("update_id") if isinstance(update, dict) else None
        log_event(logger, "telegram.update_unparseable", logging.WARNING, update_id=update_id,
                  error=type(error).__name__)
        return {"update_id": update_id} if isinstance(update_id, int) else update
