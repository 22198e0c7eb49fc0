"""The instances and Redis as the status answers show them (``/healthz``, ``/actors``,
``inspect --all``), read from the registry actor's stats in one snapshot.

Only with ``redis_url``: without it the snapshot has no ``RegistryStats`` and every answer is
exactly what a single instance always answered.
"""

from __future__ import annotations

from core.instances import RegistryStats
from supervision.snapshot import ActorSnapshot

__all__ = ["cluster_json", "redis_down_reason"]


def redis_down_reason(stats: RegistryStats) -> str | None:
    """The health reason while Redis does not answer, or None when it does."""
    if stats.redis_up:
        return None
    return (f"redis is down: budgets are local at {stats.fallback_fraction:.0%} of the "
            "shared limits")


def cluster_json(snapshot: ActorSnapshot) -> dict[str, object]:
    """``{"instances": [...], "redis": {...}}`` for a status answer; ``{}`` without Redis."""
    stats = snapshot.find_stats(RegistryStats)
    if stats is None:
        return {}
    instances = [{**record.to_dict(), "this": record.key == stats.this,
                  "lease": record.key == stats.lease_holder} for record in stats.instances]
    redis = {"up": stats.redis_up, "mode": "shared" if stats.redis_up else "local",
             "fallback_fraction": stats.fallback_fraction, "lease_holder": stats.lease_holder,
             "heartbeat_failures": stats.heartbeat_failures}
    return {"instances": instances, "redis": redis}
