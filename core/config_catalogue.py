"""The settings as a reader sees them: name, env var, default, meaning and what is allowed.

Why a module of its own: ``bot.py config`` and the table in docs/configuration.md (checked
by tests/core/test_config.py) render the same catalogue; turning the specs of
:mod:`core.config` into display text is presentation, not validation or loading.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.config import SPECS

__all__ = ["SettingInfo", "describe_settings"]


@dataclass(frozen=True, slots=True)
class SettingInfo:
    """One setting as shown in docs/configuration.md and by ``bot.py config``."""

    name: str
    env_var: str
    default: str
    doc: str
    allowed: str


def _render_default(value: object) -> str:
    if value is None or value == "" or value == ():
        return "(empty)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return str(value)


def describe_settings() -> tuple[SettingInfo, ...]:
    """Every setting in declaration order, with its env var, rendered default and doc."""
    return tuple(SettingInfo(spec.name, spec.env_var, _render_default(spec.default), spec.doc,
                             spec.allowed) for spec in SPECS)
