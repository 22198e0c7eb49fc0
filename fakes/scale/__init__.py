"""Drive several ``bot.py run`` processes from outside, as an operator's fleet would run.

``fakes.scale.harness.Cluster`` starts the exchange simulator and the fake Bot API on loopback,
N bot processes against them (each with its own status port, instance name and log file),
sends commands as users, counts what came back, kills an instance with SIGKILL and stops
everything. ``fakes.scale.pinned`` is a symbol whose price a test sets, for alert crossings.
Used by tests/test_scale_e2e.py and bench/scale.py. Not in the wheel (only ``fakes`` and
``fakes.exchange`` ship), like ``fakes.telegram`` which it imports.
"""

from __future__ import annotations

__all__: list[str] = []
