"""The chat path end to end: update in, reply out, through the real python-telegram-bot stack.

The bot runs with its Telegram transport against the fake Bot API server (loopback, Telegram's
limits enforced) and the exchange simulator (a separate process). Goals (issue "Telegram
chat"): warm /price p50 <= 50 ms and warm /analysis p50 <= 100 ms from update to final reply;
a burst of 300 commands from 100 chats all answered with zero 429s, at close to the allowed
rate. Baseline: the fake server's own round trip (getMe through a plain HTTP session).

Run: ``python bench/chat.py`` (after ``pip install -e '.[test]'``).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests

from actors.telegram_io import TelegramIO
from bench.market import simulator_process
from bench.report import Row, print_table
from bot import CryptoBot
from fakes.telegram.bot_api import FakeBotApi
from core.config import BotConfig

__all__ = ["run"]

TOKEN = "123456789:AAEhBP0av28ntIfnmYsaRgCc3dS5Xl0XvYs"
WARM_SAMPLES = 60
BURST_CHATS = 100
BURST_PER_CHAT = 3
REPLY_TIMEOUT_S = 60.0


def _latency_ms(fake: FakeBotApi, chat_id: int, text: str, marker: str) -> float:
    before = len(fake.sent(chat_id=chat_id))
    start = time.monotonic()
    fake.push_message(chat_id, chat_id, text)

    def replied() -> bool:
        return any(marker in (r.text or "") for r in fake.sent(chat_id=chat_id)[before:])

    if not fake.wait_for(replied, REPLY_TIMEOUT_S):
        raise RuntimeError(f"no reply to {text!r}")
    record = next(r for r in fake.sent(chat_id=chat_id)[before:] if marker in (r.text or ""))
    return (record.at - start) * 1000


def _baseline_ms(fake: FakeBotApi) -> float:
    with requests.Session() as session:
        samples = []
        for _ in range(50):
            start = time.monotonic()
            session.get(f"{fake.base_url}{TOKEN}/getMe", timeout=5).raise_for_status()
            samples.append((time.monotonic() - start) * 1000)
    return statistics.median(samples)


def run() -> list[Row]:
    with simulator_process() as exchange_url, FakeBotApi(token=TOKEN) as fake, \
            tempfile.TemporaryDirectory() as scratch:
        config = BotConfig().with_overrides(
            exchange_urls=(exchange_url,), telegram_token=TOKEN,
            telegram_api_url=fake.base_url, db_path=f"{scratch}/bench.sqlite3",
            user_rate_limit_count=1000, lazy_loading=False)
        bot = CryptoBot(config, transport_factory=lambda ctx: TelegramIO.start(ctx, config=config))
        bot.start()
        try:
            _latency_ms(fake, 1, "/price btc", "BTCUSDT")  # warm the cache and the symbol list
            _latency_ms(fake, 1, "/analysis eth", "ETHUSDT")
            price, analysis = [], []
            for n in range(WARM_SAMPLES):
                chat = 1000 + n  # a fresh chat each time: no per-chat send limit in the way
                price.append(_latency_ms(fake, chat, "/price btc", "BTCUSDT"))
                analysis.append(_latency_ms(fake, chat + 5000, "/analysis eth", "ETHUSDT"))
            baseline = _baseline_ms(fake)
            burst_rows = _burst(fake)
        finally:
            bot.stop()
    p_price, p_analysis = statistics.median(price), statistics.median(analysis)
    return [
        Row("warm /price, update to reply (p50)", "<= 50 ms", p_price, "ms", baseline,
            p_price / baseline, p_price <= 50),
        Row("warm /analysis, update to reply (p50)", "<= 100 ms", p_analysis, "ms", baseline,
            p_analysis / baseline, p_analysis <= 100),
        *burst_rows,
    ]


def _burst(fake: FakeBotApi) -> list[Row]:
    fake.reset()
    chats = [20_000 + n for n in range(BURST_CHATS)]
    start = time.monotonic()
    for round_ in range(BURST_PER_CHAT):
        for chat in chats:
            fake.push_message(chat, chat, "/price btc" if round_ % 2 == 0 else "/help")
    total = BURST_CHATS * BURST_PER_CHAT

    def all_answered() -> bool:
        return len([r for r in fake.sent(method="sendMessage") if r.chat_id in set(chats)]) >= total

    answered = fake.wait_for(all_answered, 120.0)
    elapsed = time.monotonic() - start
    got = len([r for r in fake.sent(method="sendMessage") if r.chat_id in set(chats)])
    throughput = got / elapsed
    # Telegram allows ~30 messages/s overall and 1/s per private chat: 3 per chat need >= 2 s.
    allowed = min(30.0, total / max(BURST_PER_CHAT - 1, 1))
    return [
        Row(f"burst {total} commands / {BURST_CHATS} chats answered", "all", got, "",
            float(total), got / total, answered and got >= total),
        Row("429s from the fake Bot API during the burst", "0",
            float(fake.too_many_requests_count()), "", None, None,
            fake.too_many_requests_count() == 0),
        Row("burst throughput (messages/s)", "close to allowed", throughput, "/s", allowed,
            throughput / allowed, throughput >= 0.7 * allowed),
    ]


if __name__ == "__main__":
    import logging

    logging.disable(logging.WARNING)
    print_table("bench/chat.py: Telegram path end to end", run())
