"""The shapes a command's arguments may take, each with an example: for ``/help NAME``,
docs/commands.md and usage errors that show the form the user was writing.

Why a module of its own: the command table (``chat.commands``) lists them and the argument
parsers (``chat.alert_grammar``) quote them, and the parsers cannot import the table.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ArgumentForm"]


@dataclass(frozen=True, slots=True)
class ArgumentForm:
    """One shape of a command's arguments."""

    usage: str
    """The pattern, e.g. "/alert SYM +N%|-N%"."""
    example: str
    """A complete example that parses, e.g. "/alert eth -10%"."""
    meaning: str
    """What it does, one plain sentence."""
