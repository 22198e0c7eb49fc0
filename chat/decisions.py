"""What the conversation policy decides: one small frozen type per kind of outcome.

Why a module of its own: these are the vocabulary between the pure policy
(:mod:`chat.policy`), which produces them, and ``actors/conversation.py``, which carries them
out; reading what a decision means should not require reading the rules that make it.
"""

from __future__ import annotations

from dataclasses import dataclass

from messages.chat import ChatAction, ChatReply, CommandDone, RunCommand

__all__ = ["AnswerNow", "Decision", "Deliver", "Dispatch", "Ignore", "ShowLoading", "TimeOut"]


@dataclass(frozen=True, slots=True)
class AnswerNow:
    """Answer without a worker: access denials, rate-limit warnings, usage, inline commands."""

    done: CommandDone
    """The replies to send, with command and outcome for the log."""
    latency_ms: float
    """Since the transport received the request (0 when it did not say)."""
    logged: bool = True
    """False for answers to users outside ``allowed_users``: they are not commands of ours,
    and a stranger's flood must not fill the command log."""


@dataclass(frozen=True, slots=True)
class Dispatch:
    """Hand the request to the least busy command worker."""

    worker: str
    """The worker's name."""
    run: RunCommand
    """What it is to do."""
    action: ChatAction | None = None
    """Show this first (e.g. "sending photo…" for a chart)."""


@dataclass(frozen=True, slots=True)
class ShowLoading:
    """The answer is slow: show "typing…" and a loading message the answer will replace."""

    action: ChatAction
    """The typing indicator."""
    reply: ChatReply
    """The loading message, remembered under the request id (its slot)."""


@dataclass(frozen=True, slots=True)
class Deliver:
    """A worker's final replies (the first replaces the loading message if one was shown)."""

    done: CommandDone
    """What the worker reported, replies adjusted for the loading message."""
    latency_ms: float
    """Since dispatch (0 for a report nobody waited for any more)."""


@dataclass(frozen=True, slots=True)
class TimeOut:
    """A worker never reported: apologise rather than leave the user waiting."""

    done: CommandDone
    """The apology, outcome "error"."""
    latency_ms: float
    """Since dispatch."""


@dataclass(frozen=True, slots=True)
class Ignore:
    """Say nothing, on purpose."""

    request_id: str
    """The request ignored."""
    reason: str
    """Why, e.g. "rate limited" or "plain text in a group"."""
    event: str | None = None
    """Log event to write (None: not worth a log line)."""
    user_id: int | None = None
    """Who sent it, for the log."""


Decision = AnswerNow | Dispatch | ShowLoading | Deliver | TimeOut | Ignore
