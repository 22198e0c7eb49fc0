"""What the fake Bot API checks of uploaded files (photos, documents) and who blocked the bot.

Why apart from ``fakes.telegram.state``: these are the real server's rules for the two upload
methods and for users who blocked the bot, each a pure check the state applies, tested
without a socket. Descriptions are the real server's wording.

* ``sendPhoto``: a PNG or JPEG up to 10 MB (``IMAGE_PROCESS_FAILED``, ``file is too big``).
* ``sendDocument``: any non-empty file up to 50 MB, else 413 ``Request Entity Too Large``; its
  file name is the multipart part's ``filename`` (Telegram shows it to the user).
* A user who blocked the bot: every send to their private chat (whose id is the user's id) is
  403 ``Forbidden: bot was blocked by the user`` until they unblock it; groups are unaffected.
  Telegram tells the bot with a ``my_chat_member`` update each time (``kicked``, ``member``).
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass
from typing import Any

from fakes.telegram.rules import BotApiError

__all__ = ["DOCUMENT_LIMIT", "PHOTO_LIMIT", "Blocks", "Upload", "check_document", "check_photo",
           "png_size"]

PHOTO_LIMIT = 10_000_000
DOCUMENT_LIMIT = 50 * 1024 * 1024
"""sendDocument's upload limit: 50 MB."""
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_BLOCKED = "Forbidden: bot was blocked by the user"


class Upload(bytes):
    """An uploaded file part: its bytes, and the file name the multipart part gave it."""

    filename: str

    def __new__(cls, data: bytes, filename: str) -> Upload:
        upload = super().__new__(cls, data)
        upload.filename = filename
        return upload


@dataclass(frozen=True, slots=True)
class Document:
    """A checked sendDocument upload (or a file_id/URL string sent instead of bytes)."""

    data: bytes
    """The file's bytes (empty for a file_id or URL)."""
    filename: str | None
    """The name it was uploaded under; None for a file_id or URL."""


def check_photo(params: dict[str, Any], files: dict[str, bytes]) -> bytes | None:
    """The uploaded photo (None for a file_id string), or the real server's 400."""
    photo = files.get("photo")
    if photo is None and not params.get("photo"):
        raise BotApiError(400, "Bad Request: there is no photo in the request")
    if photo is not None and len(photo) > PHOTO_LIMIT:
        raise BotApiError(400, "Bad Request: file is too big")
    if photo is not None and not photo.startswith((_PNG_SIGNATURE, b"\xff\xd8\xff")):
        raise BotApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
    return photo


def check_document(params: dict[str, Any], files: dict[str, bytes]) -> Document:
    """The uploaded document with its file name, or the real server's error."""
    upload = files.get("document")
    if upload is None:
        reference = params.get("document")
        if not isinstance(reference, str) or not reference:
            raise BotApiError(400, "Bad Request: there is no document in the request")
        return Document(b"", None)
    if len(upload) > DOCUMENT_LIMIT:
        raise BotApiError(413, "Request Entity Too Large")
    if not upload:
        raise BotApiError(400, "Bad Request: file must be non-empty")
    filename = upload.filename if isinstance(upload, Upload) else None
    return Document(bytes(upload), filename or "document")


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR; 320x320 for anything else."""
    if data.startswith(_PNG_SIGNATURE) and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    return 320, 320


class Blocks:
    """The users who blocked the bot (not thread-safe: the server's lock guards it)."""

    def __init__(self) -> None:
        self._blocked: set[int] = set()

    def check_send(self, chat_id: int) -> None:
        """403 for a send to the private chat of a user who blocked the bot."""
        if chat_id in self._blocked:
            raise BotApiError(403, _BLOCKED)

    def is_blocked(self, user_id: int) -> bool:
        return user_id in self._blocked

    def change(self, user_id: int, bot_user: dict[str, Any], *,
               blocked: bool) -> dict[str, Any]:
        """Block or unblock; the ``my_chat_member`` update Telegram sends the bot for it."""
        if user_id <= 0:
            raise ValueError(f"only a user (a positive id) can block a bot, not {user_id}")
        old, new = ("member", "kicked") if blocked else ("kicked", "member")
        if blocked:
            self._blocked.add(user_id)
        else:
            self._blocked.discard(user_id)
        user = {"id": user_id, "is_bot": False, "first_name": f"user{user_id}"}
        return {"my_chat_member": {
            "chat": {"id": user_id, "type": "private", "first_name": f"user{user_id}"},
            "from": user, "date": int(time.time()),
            "old_chat_member": {"user": bot_user, "status": old,
                                **({"until_date": 0} if old == "kicked" else {})},
            "new_chat_member": {"user": bot_user, "status": new,
                                **({"until_date": 0} if new == "kicked" else {})},
        }}

    def clear(self) -> None:
        self._blocked.clear()
