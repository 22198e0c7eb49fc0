"""Soak: `python bot.py run` under steady mixed chat load; does memory, thread or fd use grow?

The bot runs as its own process (so its RSS is its own) against the fake Bot API (in this
process) and the exchange simulator (another process). Load: a steady mix of /price,
/analysis, /chart, /top, /watchlist and button-free commands from 20 chats, within Telegram's
per-chat limit. Goals (issue "Operations"): RSS growth <= 5 % after warm-up, no thread or file
descriptor growth, idle RSS of `python bot.py run` <= 120 MB. Not part of CI (10 minutes).

Run: ``python bench/soak.py [--seconds 600] [--warmup 120]``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil

from bench.market import simulator_process
from bench.report import Row, print_table
from fakes.telegram.bot_api import FakeBotApi

__all__ = ["run"]

TOKEN = "123456789:AAEhBP0av28ntIfnmYsaRgCc3dS5Xl0XvYs"
REPO = Path(__file__).resolve().parents[1]
COMMANDS = ("/price btc eth", "/analysis eth", "/price sol", "/analysis btc 4h", "/top",
            "/watchlist", "/chart sol", "/help", "/analysis xrp 15m", "/price doge ada")
CHATS = 20


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _sample(process: psutil.Process) -> tuple[float, int, int]:
    return process.memory_info().rss / 2**20, process.num_threads(), process.num_fds()


def _fd_kinds(process: psutil.Process) -> dict[str, int]:
    """What the open descriptors are: files, and TCP sockets by peer port (pooled keep-alive
    connections show up here, so growth can be told from a leak)."""
    kinds: dict[str, int] = {"files": len(process.open_files())}
    for conn in process.net_connections(kind="inet"):
        peer = f"tcp->{conn.raddr.port}" if conn.raddr else f"tcp listen {conn.laddr.port}"
        kinds[peer] = kinds.get(peer, 0) + 1
    kinds["other (pipes, epoll, eventfd)"] = process.num_fds() - sum(kinds.values())
    return kinds


def run(seconds: float, warmup: float) -> list[Row]:
    with simulator_process() as exchange, FakeBotApi(token=TOKEN) as fake, \
            tempfile.TemporaryDirectory() as scratch:
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN,
               "CRYPTOBOT_TELEGRAM_API_URL": fake.base_url, "CRYPTOBOT_EXCHANGE_URLS": exchange,
               "CRYPTOBOT_DB_PATH": f"{scratch}/soak.sqlite3", "CRYPTOBOT_LOG_LEVEL": "WARNING",
               "CRYPTOBOT_STATUS_PORT": str(_free_port()), "CRYPTOBOT_ADMIN_IDS": "1"}
        bot = subprocess.Popen([sys.executable, "bot.py", "run"], cwd=REPO, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            process = psutil.Process(bot.pid)
            fake.push_message(1, 1, "/help")  # wait until it answers: started and polling
            assert fake.wait_for(lambda: bool(fake.sent(chat_id=1)), 60), "bot did not start"
            idle = threading.Event()
            idle.wait(10)  # settle before reading idle memory (bench pacing, not a sync)
            idle_rss = _sample(process)[0]
            samples = _drive(fake, process, seconds, warmup)
        finally:
            bot.send_signal(signal.SIGTERM)
            bot.wait(timeout=30)
    print("open fds every 10 s:", " ".join(str(fds) for _t, _rss, _threads, fds in samples))
    after_warmup = [s for t, *s in samples if t >= warmup]
    first, last = after_warmup[:6], after_warmup[-6:]
    rss0, rss1 = statistics.median(s[0] for s in first), statistics.median(s[0] for s in last)
    growth = (rss1 - rss0) / rss0 * 100
    # Thread and fd counts move with pooled keep-alive connections (bounded by the pools'
    # sizes): a leak keeps climbing, a pool plateaus. So compare the peak of the first third
    # of the measured window with the peak of the last third.
    third = max(1, len(after_warmup) // 3)
    threads0 = max(s[1] for s in after_warmup[:third])
    threads1 = max(s[1] for s in after_warmup[-third:])
    fds0, fds1 = max(s[2] for s in after_warmup[:third]), max(s[2] for s in after_warmup[-third:])
    answered = len(fake.sent(method="sendMessage")) + len(fake.sent(method="sendPhoto"))
    return [
        Row("idle RSS of python bot.py run", "<= 120 MB", idle_rss, "MB", None, None,
            idle_rss <= 120),
        Row(f"RSS growth after {warmup:.0f} s warm-up ({seconds:.0f} s run)", "<= 5 %", growth,
            "%", rss0, rss1 / rss0, growth <= 5),
        Row("threads, peak of first vs last third", "no growth", float(threads1), "",
            float(threads0), threads1 / threads0, threads1 <= threads0),
        Row("open fds, peak of first vs last third", "no growth", float(fds1), "",
            float(fds0), fds1 / fds0, fds1 <= fds0),
        Row("replies sent during the soak", "(info)", float(answered), "", None, None, True),
    ]


def _drive(fake: FakeBotApi, process: psutil.Process, seconds: float,
           warmup: float) -> list[tuple[float, float, int, int]]:
    """Steady load: one command per chat per 2 s (Telegram allows 1 reply/s per chat)."""
    samples: list[tuple[float, float, int, int]] = []
    described_after_warmup = False
    start = time.monotonic()
    pace = threading.Event()
    commands = itertools.cycle(COMMANDS)
    next_sample = start
    while (now := time.monotonic()) - start < seconds:
        for chat in range(100, 100 + CHATS):
            fake.push_message(chat, chat, next(commands))
        if now >= next_sample:
            samples.append((now - start, *_sample(process)))
            next_sample = now + 10
            if not described_after_warmup and now - start >= warmup:
                print(f"fds after warm-up: {_fd_kinds(process)}", flush=True)
                described_after_warmup = True
        pace.wait(2.0)  # load pacing, not synchronisation
    print(f"fds at the end:    {_fd_kinds(process)}", flush=True)
    return samples


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--warmup", type=float, default=120.0)
    options = parser.parse_args()
    print_table("bench/soak.py: steady load on python bot.py run",
                run(options.seconds, options.warmup))
