"""Answers of "your data": /export's caption, /forget's preview, confirmation and outcomes.

Why a module of its own: these texts promise something about a user's data (what a file
holds, what a button deletes, what was deleted), so each one says it with the counts read or
deleted in one transaction, never a guess. They only read :class:`UserDataCounts`.
"""

from __future__ import annotations

from chat.html import bold, code, escape
from messages.user_data import UserDataCounts

__all__ = [
    "FORGET_CANCELLED",
    "FORGET_CONFIRM_WINDOW_S",
    "FORGET_EXPIRED",
    "FORGET_UNCONFIRMED",
    "export_caption",
    "export_too_soon_text",
    "forget_preview_text",
    "forget_confirm_expired",
    "forgotten_text",
    "private_only_text",
    "read_unavailable_text",
]

FORGET_CANCELLED = "Cancelled — nothing was deleted."
"""The Cancel press under /forget."""
FORGET_CONFIRM_WINDOW_S = 600.0
"""How long the confirm button under a /forget preview deletes: the preview lists what it
deletes *then*, so a press long after (a message scrolled up to) would delete what was stored
since, which the user was never shown."""
FORGET_EXPIRED = ("⌛ This confirmation has expired — nothing was deleted. Send /forget again "
                  "to see what would be deleted now.")
"""A confirm press older than ``FORGET_CONFIRM_WINDOW_S`` (the keyboard is removed)."""
FORGET_UNCONFIRMED = ("⚠️ I could not confirm the deletion (the database is slow right now). "
                      "Send /forget again in a moment to see what is left.")
"""The writer did not acknowledge the ForgetUser write in time: it may or may not have run."""


def forget_confirm_expired(message_date: float | None, now: float) -> bool:
    """Whether a confirm press on a preview sent at ``message_date`` comes too late (a date
    Telegram did not give counts as fresh: the press is still the owner's own)."""
    return message_date is not None and now - message_date > FORGET_CONFIRM_WINDOW_S


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _lines(counts: UserDataCounts) -> list[str]:
    """One bullet per kind of data the user has (none for kinds with no rows)."""
    items = [
        (counts.alerts, _plural(counts.alerts, "alert", "alerts")),
        (counts.alert_firings, _plural(counts.alert_firings, "alert firing", "alert firings")
         + " (history)"),
        (counts.watchlist, _plural(counts.watchlist, "watched coin", "watched coins")),
        (counts.users, "your settings and profile (chat, username, first and last seen)"),
        (counts.digests, "your daily digest schedule"),
        (counts.command_log, _plural(counts.command_log, "logged command", "logged commands")
         + " (for usage statistics)"),
    ]
    return [f"• {escape(text)}" for count, text in items if count]


def read_unavailable_text(command: str) -> str:
    """The read pool could not serve /export or the /forget preview in time."""
    return (f"⚠️ I could not read your data right now (the database is busy). "
            f"Please try /{escape(command)} again in a moment.")


def private_only_text(command: str) -> str:
    """/export or /forget outside a private chat: they show or delete personal data."""
    return (f"🔒 /{escape(command)} works only in a private chat with me, so your data is not "
            "shown to (or deleted in front of) anyone else. Open a chat with me and send it "
            "there.")


def export_caption(counts: UserDataCounts, zone_name: str) -> str:
    """The document's caption (HTML, well under Telegram's 1024 characters)."""
    lines = [bold("Your data"), *(_lines(counts) or ["• nothing stored about you yet"])]
    lines.append(f"JSON, times in UTC and in {escape(zone_name)}. "
                 f"{code('/forget')} deletes it all.")
    return "\n".join(lines)


def export_too_soon_text(wait_s: float) -> str:
    """/export again within a minute of the last one."""
    return ("⏳ I sent you your data a moment ago (it is the file above). You can ask for a "
            f"new copy in {max(1, round(wait_s))} s.")


def forget_preview_text(counts: UserDataCounts) -> str:
    """/forget: what the confirm button would delete, or that there is nothing."""
    if counts.total == 0:
        return "I store nothing about you — there is nothing to delete."
    return "\n".join([
        bold("Delete all your data?"),
        "This deletes, at once and for good:",
        *_lines(counts),
        "",
        "Nothing is deleted unless you press the button. "
        f"Send {code('/export')} first if you want a copy.",
    ])


def forgotten_text(deleted: UserDataCounts) -> str:
    """After the confirm press: what was deleted (counted in the deleting transaction)."""
    if deleted.total == 0:
        return "Nothing left to delete — your data was already gone."
    return "\n".join([
        f"🗑 {bold('Deleted')} — {escape(_plural(deleted.total, 'row', 'rows'))}:",
        *_lines(deleted),
        "",
        "Using a command again starts from scratch. (The server's operational logs are "
        "separate and go with the operator's log rotation.)",
    ])
