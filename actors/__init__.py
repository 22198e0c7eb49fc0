"""Every actor of the bot: thin shells that own a thread, state and I/O, and call pure code.

One actor per module (fetcher, cache, indicator, chart, db_writer, alerts, conversation,
command workers, telegram_io / console_io, memory_monitor, metrics_reporter), each built on
``supervision.SupervisedActor`` and started by the subtree modules (``market_tree``,
``chat_tree``). The logic they apply lives in the domain packages.

May import: supervision/, messages/, core/ and the domain packages (market/, chat/, storage/,
ops/), plus third-party I/O libraries (pykka, requests, python-telegram-bot, psutil). Never
imported by those packages, and never imports ``bot`` or the test doubles.
"""

from __future__ import annotations

__all__: list[str] = []
