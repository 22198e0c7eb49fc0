"""Operations: watching and exposing the running bot so operators see trouble before users do.

Pure policy and formatting live here and are tested without threads; the actors that apply
them live in ``actors`` (e.g. ``actors.memory_monitor``).
"""

from __future__ import annotations

__all__: list[str] = []
