"""The exchange simulator's fixtures are the market tests' (the Binance client runs on them)."""

from __future__ import annotations

from tests.market.conftest import clock, http, simulator, start_simulator

__all__ = ["clock", "http", "simulator", "start_simulator"]
