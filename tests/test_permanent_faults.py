"""Issue 12 item 7: faults a restart cannot fix end `bot.py run` at once with exit 2 and one
line naming the cause (never the token), instead of ~36 start attempts, 43 tracebacks and
exit 1. The database file involved is left untouched."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fakes.telegram.bot_api import FakeBotApi
from tests.test_bot import REPO_ROOT, SUBPROCESS_TIMEOUT_S, TOKEN, clean_env

OTHER_TOKEN = "654321:ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrq"


@pytest.fixture
def telegram() -> Iterator[FakeBotApi]:
    with FakeBotApi(token=TOKEN) as fake:
        yield fake


def run(telegram: FakeBotApi, db_path: Path | str,
        token: str = TOKEN, **more: str) -> subprocess.CompletedProcess[str]:
    env = clean_env(TELEGRAM_BOT_TOKEN=token, CRYPTOBOT_TELEGRAM_API_URL=telegram.base_url,
                    CRYPTOBOT_STATUS_PORT="0", CRYPTOBOT_EXCHANGE_URLS="http://127.0.0.1:9",
                    CRYPTOBOT_DB_PATH=str(db_path), CRYPTOBOT_LOG_FORMAT="text", **more)
    return subprocess.run([sys.executable, "bot.py", "run"], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT_S)


def assert_gave_up_at_once(result: subprocess.CompletedProcess[str], *words: str) -> str:
    output = result.stdout + result.stderr
    assert result.returncode == 2, output[-2000:]
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr  # the logs go to stdout; stderr is the one line
    assert lines[0].startswith("cryptobot cannot run: ")
    for word in words:
        assert word in lines[0]
    assert "Traceback" not in output
    assert output.count("actor.restarted") == 0  # no start attempt beyond the first
    assert "MaxRestartsExceeded" not in output
    return lines[0]


def test_a_token_the_bot_api_rejects_exits_2_at_once_without_showing_it(telegram, tmp_path):
    line = assert_gave_up_at_once(run(telegram, tmp_path / "bot.sqlite3", token=OTHER_TOKEN),
                                  "rejected the bot token", "TELEGRAM_BOT_TOKEN")
    assert OTHER_TOKEN.split(":")[1] not in line


def test_a_corrupt_database_file_exits_2_and_is_left_untouched(telegram, tmp_path):
    db_path = tmp_path / "bot.sqlite3"
    db_path.write_bytes(b"not a database, just some bytes\n" * 500)
    db_path.chmod(0o644)
    before = (hashlib.sha256(db_path.read_bytes()).hexdigest(), db_path.stat().st_mtime_ns)
    assert_gave_up_at_once(run(telegram, db_path), str(db_path), "not a SQLite database")
    assert (hashlib.sha256(db_path.read_bytes()).hexdigest(), db_path.stat().st_mtime_ns) == before
    assert not db_path.with_name("bot.sqlite3-wal").exists()


def test_a_database_path_that_is_a_directory_exits_2_and_keeps_its_mode(telegram, tmp_path):
    db_path = tmp_path / "bot.sqlite3"
    db_path.mkdir(mode=0o755)
    db_path.chmod(0o755)
    assert_gave_up_at_once(run(telegram, db_path), str(db_path), "is a directory")
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o755  # was chmod-ed to drw------- before


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")
def test_a_database_path_under_proc_exits_2(telegram):
    assert_gave_up_at_once(run(telegram, "/proc/self/cryptobot.sqlite3"),
                           "/proc/self/cryptobot.sqlite3", "CRYPTOBOT_DB_PATH")


def test_a_postgres_url_with_a_wrong_password_exits_2_without_showing_it(telegram, tmp_path,
                                                                          postgres_url):
    """The embedded server trusts local logins; one role is made to need its password (a
    pg_hba.conf line ahead of the trust ones, for that role only), as on a real server."""
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute("CREATE ROLE cryptobot_pw LOGIN PASSWORD 'right-one'")
        hba = Path(admin.execute("SHOW hba_file").fetchone()[0])
        rules = hba.read_text(encoding="utf-8")
        hba.write_text("local all cryptobot_pw scram-sha-256\n" + rules, encoding="utf-8")
        admin.execute("SELECT pg_reload_conf()")
    base, _, query = postgres_url.partition("?")
    name = base.rpartition("/")[2]
    url = f"postgresql://cryptobot_pw:wrong-one-42@/{name}?{query}"
    try:
        result = run(telegram, tmp_path / "unused.sqlite3", CRYPTOBOT_DATABASE_URL=url)
    finally:
        hba.write_text(rules, encoding="utf-8")
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute("SELECT pg_reload_conf()")
            admin.execute("DROP ROLE IF EXISTS cryptobot_pw")
    line = assert_gave_up_at_once(result, "CRYPTOBOT_DATABASE_URL", "password authentication")
    assert "wrong-one-42" not in result.stdout + result.stderr and "***" in line


def test_a_postgres_server_nobody_listens_on_exits_2(telegram, tmp_path):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://bot:secret-pw-7@127.0.0.1:{port}/bot"
    result = run(telegram, tmp_path / "unused.sqlite3", CRYPTOBOT_DATABASE_URL=url)
    line = assert_gave_up_at_once(result, "CRYPTOBOT_DATABASE_URL", "127.0.0.1")
    assert "secret-pw-7" not in result.stdout + result.stderr and "***" in line
