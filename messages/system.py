"""Messages about the process itself (memory pressure, broadcast to actors that hold memory)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MemoryPressure"]


@dataclass(frozen=True, slots=True)
class MemoryPressure:
    """Memory crossed a threshold: shrink caches and drop cold state."""

    level: str
    """"warning" or "critical" (or "normal" when it drops back)."""
    rss_mb: float
    """Resident memory of the process when sampled."""
    limit_mb: float
    """Configured ``max_memory_mb``."""
    target_fraction: float
    """Fraction of their budget that caches should shrink to (1.0 = no change)."""
