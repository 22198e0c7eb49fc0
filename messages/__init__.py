"""The messages actors exchange, one module per conversation (chat, market, storage, charts,
system): frozen, slotted dataclasses with tuples and one-line field docs, so nothing mutable
travels between threads (pykka does not copy messages).

May import: the standard library at run time; the domain types they carry (market candles,
pykka futures) only for type checking. Never actors/, supervision/ or ``bot``.
"""

from __future__ import annotations

__all__: list[str] = []
