"""The typed arguments of ``/settings`` (its parser is ``chat.settings_card.settings_args``).

A module of its own so ``chat.arguments`` can name it in ``CommandArgs`` without importing the
settings card, which itself builds on ``chat.arguments``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SettingsRequest"]


@dataclass(frozen=True, slots=True)
class SettingsRequest:
    """/settings: show all, explain one, or set one (already checked and canonical)."""

    key: str | None = None
    """The catalogue's key (``users.settings.SETTING_KEYS``), or None: show them all."""
    value: str | None = None
    """With ``key``: the canonical value to store; None: explain the key."""
