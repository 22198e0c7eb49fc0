"""The chat domain: commands, parsing, the conversation policy, reply texts and HTML cards,
keyboards, callback codec and chunking.

Everything here is pure (no threads, no I/O) so the conversation actor stays a thin shell and
each rule (one command table, escaped HTML, 64-byte callback data, 4096-character messages) is
tested on its own. Import the submodules directly (``from chat.commands import COMMANDS``).
"""

from __future__ import annotations

__all__: list[str] = []
