"""The fake Telegram Bot API: python-telegram-bot talks to it in the tests and benchmarks.

``bot_api`` is the server (``FakeBotApi``) and its command line; ``state`` holds the Bot API
semantics, ``rules`` what the real server validates (HTML, sizes, keyboards, flood limits),
``http`` the request parsing, ``control`` the ``/_fake`` routes and ``records`` what tests
read. Not shipped in the wheel. See docs/telegram.md.
"""

from __future__ import annotations

__all__: list[str] = []
