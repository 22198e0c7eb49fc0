"""Messages of operations: command outcomes for the SLO figures, and the pushed alerts'
controls (a sample now, a mute, an admin seen in private)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AdminSeen", "CheckAlerts", "CommandOutcome", "MuteAlerts"]


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    """Conversation (its command listener) to the ``slo`` actor: one command was answered."""

    command: str
    """Command name from the table (or "button", "unknown", ...)."""
    outcome: str
    """ok, usage, degraded, unavailable, error, ..."""
    latency_ms: float
    """From receipt to the final reply being handed to the transport."""


@dataclass(frozen=True, slots=True)
class CheckAlerts:
    """Timer (or a test) to ``ops_alerts``: sample the tree now and push what changed.
    Asked, it answers with the notification's text, or None when nothing was sent."""


@dataclass(frozen=True, slots=True)
class AdminSeen:
    """Conversation to ``ops_alerts``: an admin wrote to the bot in private, so Telegram lets
    the bot write to them (their private chat id is their user id)."""

    user_id: int
    """The admin's Telegram user id."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MuteAlerts:
    """/mute to ``ops_alerts`` (asked): silence pushed alerts for ``for_s`` seconds from now
    (0: unmute). The answer is the seconds left muted (0.0 when unmuted)."""

    for_s: float
    """How long to stay silent, in seconds; 0 ends a mute."""
    admin_id: int
    """Who asked (logged)."""
    request_id: str
    """Correlates the log line."""
