"""The ground floor: configuration (``core.config``), structured JSON logging with the token
redacted (``core.logs``) and the root of the typed error hierarchy (``core.errors``).

May import: the standard library only. Every other package may import it.
"""

from __future__ import annotations

__all__: list[str] = []
