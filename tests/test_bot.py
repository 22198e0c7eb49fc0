"""bot.py: the command line as an operator meets it, and the CryptoBot facade in-process."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import threading
import tomllib
import urllib.request
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pykka
import pytest

from actors.market_access import MarketAccess
from bot import CryptoBot, build_specs, render_config
from supervision.address import Directory
from fakes.telegram.bot_api import FakeBotApi
from core.config import BotConfig
from core.config_catalogue import describe_settings
from fakes.exchange.simulator import ExchangeSimulator
from supervision.actor import SupervisedActor
from supervision.context import ChildContext
from supervision.spec import ChildSpec

REPO_ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghi"
SUBPROCESS_TIMEOUT_S = 60
SHUTDOWN_BOUND_S = 10


def clean_env(**overrides: str) -> dict[str, str]:
    """The caller's environment without bot settings, so a developer's shell cannot leak in."""
    env = {key: value for key, value in os.environ.items()
           if key != "TELEGRAM_BOT_TOKEN" and not key.startswith("CRYPTOBOT_")}
    env.update(overrides)
    return env


def run_bot(*args: str, env: dict[str, str] | None = None,
            stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "bot.py", *args], cwd=REPO_ROOT, input=stdin,
                          env=env if env is not None else clean_env(), capture_output=True,
                          text=True, timeout=SUBPROCESS_TIMEOUT_S)


# -- the command line ---------------------------------------------------------------------------

def test_config_prints_every_setting_redacted_and_never_the_token() -> None:
    result = run_bot("config", env=clean_env(TELEGRAM_BOT_TOKEN=TOKEN))
    assert result.returncode == 0, result.stderr
    assert TOKEN not in result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == 'telegram_token = "<set>"  # env TELEGRAM_BOT_TOKEN'
    assert [line.split(" = ")[0] for line in lines] == [info.name for info in describe_settings()]


def test_a_bad_environment_value_exits_2_with_one_line_naming_the_key() -> None:
    result = run_bot("config", env=clean_env(CRYPTOBOT_STATUS_PORT="abc"))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "invalid setting CRYPTOBOT_STATUS_PORT='abc': an integer from 0 to 65535 (0 disables)"]


def test_a_bad_value_stops_every_subcommand_without_a_traceback() -> None:
    for command in ("run", "demo", "inspect"):
        result = run_bot(command, env=clean_env(CRYPTOBOT_LOG_LEVEL="loud"))
        assert result.returncode == 2, command
        assert "CRYPTOBOT_LOG_LEVEL" in result.stderr
        assert "Traceback" not in result.stderr


def test_a_toml_file_applies_and_the_environment_beats_it(tmp_path: Path) -> None:
    settings = tmp_path / "bot.toml"
    settings.write_text('status_port = 1234\nlog_level = "DEBUG"\n', encoding="utf-8")
    result = run_bot("--config", str(settings), "config",
                     env=clean_env(CRYPTOBOT_STATUS_PORT="4321"))
    assert result.returncode == 0, result.stderr
    assert "status_port = 4321  # env CRYPTOBOT_STATUS_PORT" in result.stdout
    assert 'log_level = "DEBUG"  # env CRYPTOBOT_LOG_LEVEL' in result.stdout


def test_deprecated_settings_are_logged_once_each_when_the_bot_starts(tmp_path: Path) -> None:
    settings = tmp_path / "bot.toml"
    settings.write_text("lazy_loading = false\nhttp_max_connections = 4\n", encoding="utf-8")
    # No token: run sets up logging, logs the deprecations, then stops with exit 2.
    result = run_bot("--config", str(settings), "run",
                     env=clean_env(CRYPTOBOT_LAZY_LOADING="false"))
    assert result.returncode == 2
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    deprecated = [(line["setting"], line["replacement"]) for line in lines
                  if line["event"] == "config.deprecated"]
    assert deprecated == [("CRYPTOBOT_LAZY_LOADING", "lazy_indicator"),
                          ("http_max_connections", None)]


def test_config_names_a_deprecated_setting_on_stderr(tmp_path: Path) -> None:
    result = run_bot("config", env=clean_env(CRYPTOBOT_LAZY_LOADING="false"))
    assert result.returncode == 0, result.stderr
    assert "lazy_indicator = false" in result.stdout
    assert result.stderr.startswith("deprecated setting CRYPTOBOT_LAZY_LOADING: renamed to")


def test_a_missing_config_file_exits_2_naming_the_option(tmp_path: Path) -> None:
    result = run_bot("--config", str(tmp_path / "absent.toml"), "config")
    assert result.returncode == 2
    assert result.stderr.startswith("invalid setting --config=")
    assert "Traceback" not in result.stderr


def test_demo_answers_piped_commands_in_order_and_says_bye() -> None:
    result = run_bot("demo", stdin="/help\n/actors\n/bogus\nhello\n/price\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "> /help\nCommands\n/start" in out
    assert "/alert SYM CONDITION [every] [for DURATION]" in out
    # The demo bot runs in the child process: its pid heads the card (the console drops tags).
    assert re.search(r"> /actors\n🖥 \S+ · pid \d+ · up since \d{4}-\d\d-\d\d \d\d:\d\d UTC "
                     r"\([^)]+\)\nActors\n● root  running, one_for_one", out), out
    assert "> /bogus\nI don't know /bogus." in out
    assert "> hello\nI answer commands" in out
    assert "> /price\n⚠️ /price needs SYM [SYM...].\nUsage: /price SYM [SYM...]\nExample:" in out
    assert out.rstrip().endswith("bye")


def test_demo_never_prints_the_token_and_sends_charts() -> None:
    result = run_bot("demo", stdin="/health\n/chart btc\n", env=clean_env(
        TELEGRAM_BOT_TOKEN=TOKEN))
    assert result.returncode == 0, result.stderr
    assert "> /health\n" in result.stdout
    assert "[chart: " in result.stdout and "BTCUSDT · 1h" in result.stdout
    assert TOKEN not in result.stdout + result.stderr


def test_demo_answers_price_and_analysis_with_buttons_from_the_simulator() -> None:
    stdin = "/price btc eth\n/analysis eth 4h\n1\n/analysis btcc\n"
    result = run_bot("demo", stdin=stdin)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "> /price btc eth\nBTCUSDT " in out and "\nETHUSDT " in out
    assert "ETHUSDT · 4h" in out and "RSI(14)" in out and "Trend:" in out
    assert "[1] Details  [2] Chart  [3] Refresh" in out
    assert "> 1\n(updated) ETHUSDT · 4h" in out and "Details\nSupport" in out
    assert "I don't know the coin btcc. Did you mean BTCUSDT" in out


def test_run_without_a_token_exits_2_and_says_how_to_fix_it() -> None:
    result = run_bot("run")
    assert result.returncode == 2
    assert ("TELEGRAM_BOT_TOKEN is not set; export it or try `python bot.py demo`"
            in result.stderr)


def test_run_answers_telegram_through_the_fake_bot_api_and_stops_on_sigterm(
        tmp_path: Path) -> None:
    with ExchangeSimulator() as exchange, FakeBotApi(token=TOKEN) as telegram:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            status_port = probe.getsockname()[1]
        env = clean_env(TELEGRAM_BOT_TOKEN=TOKEN, CRYPTOBOT_TELEGRAM_API_URL=telegram.base_url,
                        CRYPTOBOT_STATUS_PORT=str(status_port),
                        CRYPTOBOT_EXCHANGE_URLS=exchange.base_url, CRYPTOBOT_LOG_LEVEL="DEBUG",
                        CRYPTOBOT_DB_PATH=str(tmp_path / "bot.sqlite3"),
                        CRYPTOBOT_INSTANCE_NAME="it-run-1")
        process = subprocess.Popen([sys.executable, "bot.py", "run"], cwd=REPO_ROOT, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            telegram.push_message(42, 42, "/price btc")
            assert telegram.wait_for(
                lambda: any("BTCUSDT" in (r.text or "") for r in telegram.sent(chat_id=42)),
                SUBPROCESS_TIMEOUT_S)
            inspected = run_bot("inspect", "--url", f"http://127.0.0.1:{status_port}")
            assert inspected.returncode == 0, inspected.stderr
            assert "root" in inspected.stdout and "transport" in inspected.stdout
            assert re.match(rf"instance it-run-1 · host \S+ · pid {process.pid} · up since ",
                            inspected.stdout), inspected.stdout
            with urllib.request.urlopen(f"http://127.0.0.1:{status_port}/metrics",
                                        timeout=10) as response:
                scrape = response.read()
            assert b"cryptobot_up 1" in scrape
            assert re.search(rf'cryptobot_instance_info{{host="[^"]+",instance_id="it-run-1",'
                             rf'pid="{process.pid}",started="[0-9T:-]+Z"}} 1.0'.encode(), scrape)
            telegram.push_message(42, 42, "/alert btc above 10000000")
            assert telegram.wait_for(
                lambda: any("saved" in (r.text or "") for r in telegram.sent(chat_id=42)),
                SUBPROCESS_TIMEOUT_S)
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=SHUTDOWN_BOUND_S)  # the 10 s bound
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert TOKEN not in out + err and TOKEN.split(":")[1] not in out + err
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    events = [line["event"] for line in lines]
    assert "chat.command_handled" in events and "bot.stopped" in events
    assert {line["instance"] for line in lines} == {"it-run-1"}
    starting = lines[events.index("bot.starting")]
    assert (starting["pid"], starting["name"]) == (process.pid, "it-run-1")
    with closing(sqlite3.connect(tmp_path / "bot.sqlite3")) as db:  # acked before SIGTERM
        assert db.execute("SELECT count(*) FROM alerts").fetchone() == (1,)


def test_no_subcommand_means_run() -> None:
    assert "TELEGRAM_BOT_TOKEN is not set" in run_bot().stderr


def test_inspect_says_clearly_when_no_bot_answers() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run_bot("inspect", "--url", f"http://127.0.0.1:{port}")
    assert result.returncode == 2
    assert "cannot reach the bot" in result.stderr and "Traceback" not in result.stderr


def test_exchange_sim_hands_its_arguments_to_the_simulator() -> None:
    result = run_bot("exchange-sim", "--help")
    assert result.returncode == 0, result.stderr
    assert "usage: bot.py exchange-sim" in result.stdout and "--seed" in result.stdout


def test_unknown_arguments_are_a_usage_error() -> None:
    result = run_bot("config", "--verbose")
    assert result.returncode == 2
    assert "unrecognized arguments: --verbose" in result.stderr


# -- CryptoBot in-process -----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Crash:
    """Told to a worker: it raises while handling it."""


class Worker(SupervisedActor):
    """The smallest useful child: answers anything, crashes on ``Crash``."""

    def handle(self, message: Any) -> Any:
        if isinstance(message, Crash):
            raise RuntimeError("crash on purpose")
        return message


class FailsToStart(SupervisedActor):
    def setup(self) -> None:
        raise RuntimeError("cannot start on purpose")


def worker_spec(actor: type[SupervisedActor] = Worker) -> ChildSpec:
    def start(ctx: ChildContext) -> pykka.ActorRef[Any]:
        return actor.start(ctx)
    return ChildSpec(name="worker", factory=start)


@pytest.fixture
def no_leftover_actors() -> Iterator[None]:
    yield
    leftovers = pykka.ActorRegistry.get_all()
    pykka.ActorRegistry.stop_all(timeout=5)
    assert not leftovers, f"actors left running: {leftovers}"


@pytest.mark.usefixtures("no_leftover_actors")
def test_a_started_bot_runs_its_worker_and_stops_leaving_no_threads() -> None:
    threads_before = set(threading.enumerate())
    bot = CryptoBot(BotConfig(), extra_specs=[worker_spec()]).start()
    try:
        worker = bot.status().find("worker")
        assert worker is not None and worker.state == "running"
        assert bot.address("worker").ask("hello", timeout=5) == "hello"
    finally:
        assert bot.stop(timeout_s=10) is True
    new_threads = [t for t in threading.enumerate() if t not in threads_before and not t.daemon]
    for thread in new_threads:  # an actor thread ends a moment after answering its stop
        thread.join(timeout=5)
    assert [t.name for t in new_threads if t.is_alive()] == []
    assert not bot.failed.is_set()


@pytest.mark.usefixtures("no_leftover_actors")
def test_a_child_crashing_beyond_the_restart_intensity_makes_the_root_give_up() -> None:
    config = BotConfig().with_overrides(restart_intensity=1, restart_backoff_base_s=0.0)
    with CryptoBot(config, extra_specs=[worker_spec()]) as bot:
        # The crashing message is redelivered once, so one tell crashes the worker twice.
        bot.address("worker").tell(Crash())
        assert bot.failed.wait(5)
        assert bot.failure is not None and "MaxRestartsExceeded" in bot.failure.error


def test_a_root_failure_makes_the_process_exit_1(tmp_path: Path) -> None:
    script = tmp_path / "crashing_bot.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(REPO_ROOT)!r})
        from bot import CryptoBot, serve_until_stopped
        from core.config import BotConfig
        from core.logs import configure_logging
        from tests.test_bot import FailsToStart, worker_spec

        configure_logging(log_format="json", log_level="INFO", log_file=None)
        config = BotConfig().with_overrides(restart_intensity=0)
        bot = CryptoBot(config, extra_specs=[worker_spec(FailsToStart)]).start()
        sys.exit(serve_until_stopped(bot))
    """), encoding="utf-8")
    result = subprocess.run([sys.executable, str(script)], cwd=REPO_ROOT, env=clean_env(),
                            capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT_S)
    assert result.returncode == 1, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    exit_line = next(e for e in events if e["event"] == "bot.exiting_after_root_failure")
    assert exit_line["level"] == "CRITICAL" and exit_line["exit_status"] == 1
    assert any(e["event"] == "supervision.root_failed" for e in events)


# -- pure helpers -------------------------------------------------------------------------------

def test_rendered_config_can_be_read_back_as_toml() -> None:
    config = BotConfig().with_overrides(admin_ids=(7,), log_format="text")
    parsed = tomllib.loads(render_config(config))
    assert parsed["admin_ids"] == [7] and parsed["log_format"] == "text"
    assert parsed["log_file"] == "" and parsed["telegram_token"] == "<unset>"


def test_performance_monitoring_off_leaves_the_metrics_actor_out_of_the_tree() -> None:
    directory = Directory()
    market = MarketAccess(directory)

    def names(config: BotConfig) -> list[str]:
        return [spec.name for spec in build_specs(config, market=market, directory=directory)]

    assert "metrics" in names(BotConfig())
    assert "metrics" not in names(BotConfig().with_overrides(performance_monitoring=False))


def test_a_second_sigterm_during_a_slow_stop_exits_at_once_with_130(tmp_path: Path) -> None:
    with ExchangeSimulator() as exchange, FakeBotApi(token=TOKEN) as telegram:
        # Long timeouts make the orderly stop wait a minute for a worker stuck upstream.
        env = clean_env(TELEGRAM_BOT_TOKEN=TOKEN, CRYPTOBOT_TELEGRAM_API_URL=telegram.base_url,
                        CRYPTOBOT_STATUS_PORT="0", CRYPTOBOT_EXCHANGE_URLS=exchange.base_url,
                        CRYPTOBOT_HTTP_READ_TIMEOUT_S="60", CRYPTOBOT_SHUTDOWN_TIMEOUT_S="60",
                        CRYPTOBOT_DB_PATH=str(tmp_path / "bot.sqlite3"))
        process = subprocess.Popen([sys.executable, "bot.py", "run"], cwd=REPO_ROOT, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines: list[str] = []
        stopping = threading.Event()

        def read_output() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                lines.append(line)
                if '"bot.stopping"' in line:
                    stopping.set()

        reader = threading.Thread(target=read_output, daemon=True)
        reader.start()
        try:
            telegram.push_message(42, 42, "/price btc")
            assert telegram.wait_for(lambda: bool(telegram.sent(chat_id=42)),
                                     SUBPROCESS_TIMEOUT_S)
            exchange.inject("timeout", delay_s=110)
            telegram.push_message(42, 42, "/analysis sol 15m")
            assert telegram.wait_for(lambda: bool(exchange.counters()["faults"]),
                                     SUBPROCESS_TIMEOUT_S), "no request got stuck upstream"
            process.send_signal(signal.SIGTERM)
            assert stopping.wait(SUBPROCESS_TIMEOUT_S), "".join(lines)
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=SHUTDOWN_BOUND_S)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
            reader.join(timeout=10)
            assert process.stdout is not None
            process.stdout.close()
    output = "".join(lines)
    assert process.returncode == 130, output
    events = [json.loads(line)["event"] for line in lines if line.startswith("{")]
    assert events[-1] == "bot.forced_exit", events[-5:]
    assert TOKEN not in output and TOKEN.split(":")[1] not in output


def test_an_installed_bot_runs_as_the_cryptobot_console_script(tmp_path: Path) -> None:
    from importlib.metadata import entry_points

    import bot

    (script,) = entry_points(group="console_scripts", name="cryptobot")
    assert script.load() is bot.main
    executable = Path(sys.executable).with_name("cryptobot")
    assert executable.exists(), "pip install -e . should have written the cryptobot script"
    done = subprocess.run([str(executable), "config"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=SUBPROCESS_TIMEOUT_S, env=clean_env(), check=False)
    assert done.returncode == 0, done.stderr
    assert tomllib.loads(done.stdout)


def test_the_webhook_secret_is_among_the_secrets_the_log_redactor_masks() -> None:
    import io
    import logging

    from bot import _secrets
    from core.config import with_webhook_secret
    from core.logs import JsonFormatter, RedactingFormatter, Redactor

    config = with_webhook_secret(BotConfig(telegram_mode="webhook",
                                           webhook_url="https://bot.example.org/hook"))
    secret = config.webhook_secret_token
    assert secret is not None and secret in _secrets(config)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter(JsonFormatter(), Redactor(_secrets(config))))
    logger = logging.getLogger("test.webhook_secret")
    logger.addHandler(handler)
    try:
        logger.warning("setWebhook with secret_token=%s", secret)
    finally:
        logger.removeHandler(handler)
    assert secret not in stream.getvalue() and "[REDACTED]" in stream.getvalue()
