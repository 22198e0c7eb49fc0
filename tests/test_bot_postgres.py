"""`bot.py run` on PostgreSQL (CRYPTOBOT_DATABASE_URL): a command's write is acknowledged after
the commit and read back through the pool, the process stops cleanly, and the password in the
URL is never printed."""

from __future__ import annotations

import signal
import subprocess
import sys

import psycopg

from fakes.exchange.simulator import ExchangeSimulator
from fakes.telegram.bot_api import FakeBotApi
from tests.test_bot import REPO_ROOT, SUBPROCESS_TIMEOUT_S, TOKEN, clean_env

PASSWORD = "pg-secret-3141"
"""The embedded server trusts local logins and ignores it; the bot must still never show it."""


def test_run_on_postgres_saves_reads_back_and_never_shows_the_password(tmp_path, postgres_url):
    url = postgres_url.replace("postgres:@", f"postgres:{PASSWORD}@", 1)
    with ExchangeSimulator() as exchange, FakeBotApi(token=TOKEN) as telegram:
        env = clean_env(TELEGRAM_BOT_TOKEN=TOKEN, CRYPTOBOT_TELEGRAM_API_URL=telegram.base_url,
                        CRYPTOBOT_STATUS_PORT="0", CRYPTOBOT_EXCHANGE_URLS=exchange.base_url,
                        CRYPTOBOT_LOG_LEVEL="DEBUG", CRYPTOBOT_DATABASE_URL=url,
                        CRYPTOBOT_DB_PATH=str(tmp_path / "unused.sqlite3"))
        process = subprocess.Popen([sys.executable, "bot.py", "run"], cwd=REPO_ROOT, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            telegram.push_message(42, 42, "/alert btc above 10000000")
            assert telegram.wait_for(
                lambda: any("saved" in (r.text or "") for r in telegram.sent(chat_id=42)),
                SUBPROCESS_TIMEOUT_S)
            telegram.push_message(42, 42, "/alerts")
            assert telegram.wait_for(
                lambda: any("10,000,000" in (r.text or "") or "10000000" in (r.text or "")
                            for r in telegram.sent(chat_id=42)), SUBPROCESS_TIMEOUT_S)
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=SUBPROCESS_TIMEOUT_S)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate(timeout=10)
    assert process.returncode == 0, err[-2000:]
    assert PASSWORD not in out + err
    assert not (tmp_path / "unused.sqlite3").exists()  # everything went to PostgreSQL
    with psycopg.connect(postgres_url) as db:
        assert db.execute("SELECT symbol, direction, price FROM alerts").fetchall() == [
            ("BTCUSDT", "above", 10_000_000.0)]
