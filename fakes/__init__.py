"""Test doubles that speak the real protocols on loopback: an exchange and a Telegram Bot API.

``fakes.exchange`` is a Binance-compatible market-data server (the simulator), and
``fakes.telegram`` a fake Telegram Bot API server; both misbehave on demand through one fault
model (``fakes.faults``) and run on one loopback HTTP base (``fakes.loopback``). The tests,
the chaos matrix and the benchmarks drive the real bot against them.

Rules of the package:

* Product code never imports it. The one exception is bot.py's ``demo`` and ``exchange-sim``
  commands, which import ``fakes.exchange.simulator`` lazily inside their code paths;
  tests/fakes/test_isolation.py guards this.
* It may import the standard library, third-party libraries and the product's pure modules
  (it never does, so far); ``fakes.exchange`` must not import ``fakes.telegram``: the wheel
  ships the exchange simulator for the demo, but the fake Bot API is for tests and benchmarks
  only.
* Everything binds 127.0.0.1 only.
"""

from __future__ import annotations

__all__: list[str] = []
