"""The one entry point: the command line, and ``CryptoBot``, the facade over the actor system.

Everything the bot does runs inside one supervision tree (docs/supervision.md); this module
only builds that tree from the configuration, starts and stops it, and turns its outcome into
an exit status an external process manager understands: 0 clean, 1 the root supervisor gave
up (restart me), 2 bad configuration or usage, or a fault no restart can fix (a rejected
token, a database path that is a directory or not a database: ``core.errors.PermanentFault``).

Subcommands: ``run`` (Telegram, long polling or webhook, with the loopback status endpoint),
``demo`` (the real actor system with a small console against an in-process exchange
simulator), ``inspect`` (reads a running bot's status endpoint), ``exchange-sim`` (the
simulator on its own) and ``config`` (the effective settings, secrets masked). Installed, the
same CLI is the ``cryptobot`` console script.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence

import pykka.debug

from actors.market_access import MarketAccess
from actors.alerts import alerts_spec
from actors.digest import digest_spec
from actors.chat_storage import StorageCommands
from actors.chat_tree import chat_spec
from actors.db_writer import storage_spec
from actors.console_io import DEMO_USER_ID, ConsoleIO, ConsoleSession
from actors.market_tree import market_spec
from actors.instance_registry import registry_reader, registry_spec
from actors.shared_link import close_shared_links
from actors.memory_monitor import memory_spec
from actors.metrics_reporter import metrics_spec
from actors.ops_alerts import ops_alerts_spec
from actors.slo_tracker import ops_listener, slo_spec
from actors.telegram_io import TelegramIO
from chat.commands import menu_commands
from ops import inspect_cli
from ops.metrics import BotMetrics
from ops.status_http import StatusServer
from core.config import TOKEN_ENV_VAR, BotConfig, url_passwords, with_webhook_secret
from core.config_catalogue import describe_settings
from core.config_loader import Deprecation, load_config
from core.errors import ConfigError
from core.instance import this_instance
from core.logs import HANDLER_NAME, configure_logging, log_event
from market.analysis import MarketAnalysis, MarketUnavailable
from market.errors import MarketError
from storage.read_pool import ReadPool
from supervision.address import Address, Directory
from supervision.messages import ChildFailed
from supervision.process_exit import (
    EXIT_BAD_USAGE,
    EXIT_OK,
    EXIT_ROOT_FAILED,
    MAIN_THREAD_WAIT_S,
    describe_root_failure,
    permanent_fault,
    serve_until_stopped,
)
from supervision.snapshot import ActorSnapshot
from supervision.spec import ActorFactory, ChildSpec
from supervision.supervisor import SupervisorSettings
from supervision.tree import SupervisionTree

__all__ = [
    "EXIT_BAD_USAGE", "EXIT_OK", "EXIT_ROOT_FAILED", "CryptoBot", "build_specs",
    "describe_root_failure", "main", "permanent_fault", "render_config", "serve_until_stopped",
    "supervisor_settings",
]

logger = logging.getLogger("cryptobot")


def build_specs(
    config: BotConfig,
    *,
    market: MarketAccess,
    directory: Directory,
    read_pool: ReadPool | None = None,
    transport_factory: ActorFactory | None = None,
    storage_fault: Callable[[str], None] | None = None,
    metrics: BotMetrics | None = None,
) -> list[ChildSpec]:
    """The bot's own children of the root supervisor, in start order.

    ``metrics`` (the bot's Prometheus registry) is fed by the fetch workers and the
    conversation.

    Storage comes first (users' data must be writable before anyone can ask to save it); chat
    and the alert sweep only exist with a transport to talk through (not in tests and
    benchmarks of the market alone).
    """
    settings = supervisor_settings(config)
    specs = [market_spec(config, settings, on_exchange_request=(
        metrics.observe_exchange_request if metrics is not None else None)), memory_spec(config)]
    if config.performance_monitoring:
        specs.append(metrics_spec(config))
    registry = registry_spec(config)  # redis_url set: heartbeats, the live instances
    if registry is not None:
        specs.append(registry)
    if read_pool is not None:
        specs.insert(0, storage_spec(config, settings, read_pool=read_pool,
                                     fault=storage_fault or _no_storage_fault))
    if transport_factory is not None:
        storage = (StorageCommands(market=market, directory=directory, reads=read_pool)
                   if read_pool is not None else None)
        specs.append(chat_spec(config, settings, market=market, directory=directory,
                               transport_factory=transport_factory, storage=storage,
                               command_listeners=(
                                   ops_listener(directory, config.admin_ids),
                                   *((metrics.observe_command,) if metrics else ()))))
        # The SLO figures and the pushed admin alerts exist where commands are answered.
        specs += [slo_spec(), ops_alerts_spec(config)]
        if read_pool is not None:
            alerts = alerts_spec(config, read_pool)
            specs.append(dataclasses.replace(alerts, depends_on=("storage", "market", "chat")))
            digest = digest_spec(config, read_pool)
            specs.append(dataclasses.replace(digest, depends_on=("storage", "market", "chat")))
    return specs


def _no_storage_fault(point: str) -> None:
    """The production storage seam: nothing is injected."""


def supervisor_settings(config: BotConfig) -> SupervisorSettings:
    """The root supervisor's failure policy, taken from the supervision settings."""
    return SupervisorSettings(
        max_restarts=config.restart_intensity,
        period_s=config.restart_period_s,
        backoff_base_s=config.restart_backoff_base_s,
        backoff_cap_s=config.restart_backoff_cap_s,
        backoff_reset_s=config.restart_backoff_reset_s,
        heartbeat_interval_s=config.heartbeat_interval_s,
        hang_timeout_s=config.hang_timeout_s,
        shutdown_timeout_s=config.shutdown_timeout_s,
    )


class CryptoBot:
    """The whole bot as one object: a supervision tree over ``build_specs`` + ``extra_specs``."""

    def __init__(self, config: BotConfig, *, transport_factory: ActorFactory | None = None,
                 extra_specs: Sequence[ChildSpec] = (),
                 storage_fault: Callable[[str], None] | None = None) -> None:
        self.config = config
        # Set by a stop request or by the root giving up: whatever should end serve_until_stopped.
        self._should_exit = threading.Event()
        self.preloaded = threading.Event()
        """Set once the preload (if configured) has finished."""
        directory = Directory()
        self.market = MarketAccess(directory, default_quote=config.default_quote)
        # Storage comes with the chat: without a transport nobody can save anything.
        self.read_pool = (ReadPool.from_config(config) if transport_factory is not None
                          else None)
        self.instance = this_instance(config.instance_name)
        """Which process this is (logs, /actors, /healthz and /metrics name it)."""
        self.metrics = BotMetrics(self.status, instance=self.instance)
        """This bot's Prometheus registry, served at ``/metrics`` by the status endpoint."""
        specs = build_specs(config, market=self.market, directory=directory,
                            read_pool=self.read_pool, transport_factory=transport_factory,
                            storage_fault=storage_fault, metrics=self.metrics)
        self._tree = SupervisionTree([*specs, *extra_specs], supervisor_settings(config),
                                     directory=directory,
                                     on_root_failure=lambda _report: self._should_exit.set())

    @property
    def failed(self) -> threading.Event:
        """Set once the root supervisor has given up; ``failure`` says why."""
        return self._tree.failed

    @property
    def failure(self) -> ChildFailed | None:
        return self._tree.failure

    def start(self) -> CryptoBot:
        self._tree.start()
        if self.config.preload_on_start:
            threading.Thread(target=self._preload, name="preload", daemon=True).start()
        else:
            self.preloaded.set()
        return self

    def _preload(self) -> None:
        """Warm the cache for ``preload_symbols`` in the background (not on anyone's path)."""
        warmed = []
        for symbol in self.config.preload_symbols:
            try:
                answer = self.market.analysis(symbol)
            except MarketError as exc:
                log_event(logger, "market.preload_failed", logging.WARNING, symbol=symbol,
                          error=str(exc))
                continue
            if isinstance(answer, MarketAnalysis):
                warmed.append(answer.symbol)
        log_event(logger, "market.preloaded", logging.INFO, symbols=",".join(warmed))
        self.preloaded.set()

    def stop(self, timeout_s: float = 10.0) -> bool:
        """Stop every actor in reverse start order; True if all stopped within ``timeout_s``."""
        stopped = self._tree.stop(timeout_s)
        if self.read_pool is not None:
            self.read_pool.close()
        close_shared_links()  # the Redis link, after everything that used it has stopped
        return stopped

    def market_analysis(
        self, symbol: str, interval: str = "1h", *, request_id: str | None = None
    ) -> MarketAnalysis | MarketUnavailable:
        """Price, 24h stats and indicators for ``symbol`` (any spelling: btc, BTC/USDT, ...).

        Degrades instead of failing: stale data labelled with its age, or ``MarketUnavailable``
        with a retry delay. Bad input raises a ``MarketError`` (unknown symbol with
        suggestions, unknown interval).
        """
        return self.market.analysis(symbol, interval, request_id=request_id)

    def status(self, timeout_s: float = 1.0) -> ActorSnapshot:
        """A plain-data snapshot of every actor; ones busy with a long message show as ``busy``."""
        return self._tree.snapshot(timeout_s)

    def address(self, name: str) -> Address:
        """The restart-proof address of the actor called ``name``."""
        return self._tree.address(name)

    def request_stop(self) -> None:
        """Make ``serve_until_stopped`` return; safe to call from a signal handler."""
        self._should_exit.set()

    def wait_for_exit_request(self, timeout_s: float) -> bool:
        """Wait until a stop is requested or the root fails; False if ``timeout_s`` ran out."""
        return self._should_exit.wait(timeout_s)

    def __enter__(self) -> CryptoBot:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _render_value(value: object) -> str:
    # JSON spells strings, numbers, booleans and lists the way TOML does; TOML has no null and
    # the config loader reads "" as unset, so the output can be pasted back into a file.
    return '""' if value is None else json.dumps(value, ensure_ascii=False)


def render_config(config: BotConfig) -> str:
    """``key = value  # env VAR`` per setting, in declaration order, secrets redacted."""
    values = config.redacted()
    return "\n".join(f"{info.name} = {_render_value(values[info.name])}  # env {info.env_var}"
                     for info in describe_settings())


# -- the demo: the console transport in place of Telegram ----------------------------------------

_DEMO_BANNER = ("cryptobot demo: the supervised actor system is running against a simulated "
                "exchange. Type /help; numbers press buttons; Ctrl-D (end of input) quits.")
_DEMO_COMMANDS = "Commands: " + " ".join(f"/{name}" for name, _ in menu_commands(admin=True))
"""The demo user is an admin: the whole menu, from the command table."""
_DEMO_ANSWER_WAIT_S = 60.0
"""After end of input, how long to wait for the answers still being prepared."""


def _log_deprecations(deprecations: Sequence[Deprecation]) -> None:
    """One ``config.deprecated`` line per old setting still in use, once logging is set up
    (the config is read before, so ``load_config`` only collects them)."""
    for old in deprecations:
        log_event(logger, "config.deprecated", logging.WARNING, setting=old.key,
                  replacement=old.replacement, note=old.note)


def _run_demo(config: BotConfig, deprecations: Sequence[Deprecation] = ()) -> int:
    """The real actor system with a console in place of Telegram and an in-process exchange."""
    # Lazy: only demo and exchange-sim need the test double (and its numpy and candle data).
    from fakes.exchange.simulator import ExchangeSimulator

    _configure_demo_logging(config)
    _log_deprecations(deprecations)
    _log_thread_tracebacks_on_sigusr1()
    simulator = ExchangeSimulator().start()  # no network needed
    scratch = tempfile.TemporaryDirectory(prefix="cryptobot-demo-")  # the demo keeps nothing
    config = config.with_overrides(exchange_urls=(simulator.base_url,),
                                   admin_ids=(*config.admin_ids, DEMO_USER_ID),
                                   db_path=os.path.join(scratch.name, "demo.sqlite3"),
                                   database_url=None)  # never a configured PostgreSQL
    session = ConsoleSession(sys.stdin, sys.stdout, echo=not sys.stdin.isatty())
    bot = CryptoBot(config, transport_factory=lambda ctx: ConsoleIO.start(ctx, session=session))
    bot.start()
    session.print(_DEMO_BANNER)
    session.print(_DEMO_COMMANDS)
    session.start(bot.address("conversation"), stop=bot.failed)
    try:
        while not session.input_closed.wait(MAIN_THREAD_WAIT_S) and not bot.failed.is_set():
            pass  # bounded waits keep the main thread responsive to Ctrl-C and root failure
        session.wait_until_done(_DEMO_ANSWER_WAIT_S, abort=bot.failed)
    except KeyboardInterrupt:
        print()  # Ctrl-C quits like end of input, without a traceback
    finally:
        stopped_in_time = bot.stop(config.shutdown_timeout_s * 2)
        simulator.stop()
        scratch.cleanup()
    if bot.failed.is_set():
        if permanent_fault(bot) is not None:
            print(f"cryptobot cannot run: {permanent_fault(bot)}", file=sys.stderr)
            return EXIT_BAD_USAGE
        print(f"the root supervisor gave up ({describe_root_failure(bot.failure)}); exiting",
              file=sys.stderr)
        return EXIT_ROOT_FAILED
    if not stopped_in_time:
        print("some actors did not stop in time", file=sys.stderr)
    print("bye")
    return EXIT_OK


# -- command line -------------------------------------------------------------------------------

def _secrets(config: BotConfig) -> list[str]:
    """What the log redactor removes: the token, the webhook secret, and any password inside a
    configured URL."""
    return [secret for secret in (config.telegram_token, config.webhook_secret_token)
            if secret] + url_passwords(config)


def _configure_demo_logging(config: BotConfig) -> None:
    """Text at WARNING on stderr, so log lines never interleave with the console on stdout."""
    configure_logging(log_format="text", log_level="WARNING", log_file=None,
                      secrets=_secrets(config))
    for handler in logging.getLogger().handlers:
        if handler.get_name() == HANDLER_NAME and isinstance(handler, logging.StreamHandler):
            handler.setStream(sys.stderr)


def _log_thread_tracebacks_on_sigusr1() -> None:
    # `kill -USR1 <pid>` logs every thread's stack: the quickest diagnosis of a deadlock.
    if hasattr(signal, "SIGUSR1") and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGUSR1, pykka.debug.log_thread_tracebacks)


def _run(config: BotConfig, deprecations: Sequence[Deprecation] = ()) -> int:
    config = with_webhook_secret(config)  # before logging, so the redactor knows it
    instance = this_instance(config.instance_name)
    configure_logging(log_format=config.log_format, log_level=config.log_level,
                      log_file=config.log_file, secrets=_secrets(config), instance=instance.key)
    # Every line names the instance by its key; this one says where a named one runs.
    log_event(logger, "bot.starting", logging.INFO, host=instance.host, pid=instance.pid,
              started=instance.started_iso, name=instance.name)
    _log_deprecations(deprecations)
    _log_thread_tracebacks_on_sigusr1()
    if config.telegram_token is None:
        print(f"{TOKEN_ENV_VAR} is not set; export it or try `python bot.py demo`",
              file=sys.stderr)
        return EXIT_BAD_USAGE
    bot = CryptoBot(config, transport_factory=lambda ctx: TelegramIO.start(ctx, config=config))
    bot.start()
    status = _start_status_server(bot)
    try:
        return serve_until_stopped(bot)
    finally:
        if status is not None:
            status.stop()


def _start_status_server(bot: CryptoBot) -> StatusServer | None:
    """The loopback status endpoint (/healthz, /actors, /metrics) unless status_port is 0."""
    port = bot.config.status_port
    if not port:
        return None
    try:
        return StatusServer(bot.status, port=port, metrics=bot.metrics,
                            instance=bot.instance).start()
    except OSError as exc:  # a busy port must not take the bot down: it still answers users
        log_event(logger, "status_http.unavailable", logging.ERROR, port=port, error=str(exc))
        return None


def _exchange_sim(argv: list[str]) -> int:
    try:
        from fakes.exchange import simulator  # lazy: numpy and the candle data load only when asked
    except ImportError as error:
        missing = isinstance(error, ModuleNotFoundError) and error.name in (
            "fakes", "fakes.exchange", "fakes.exchange.simulator")
        print("exchange-sim: not built yet" if missing
              else f"exchange-sim: cannot be loaded ({error})", file=sys.stderr)
        return EXIT_BAD_USAGE
    return simulator.main(argv)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bot.py", description="Telegram crypto-analysis bot built as supervised actors.",
        epilog="Exit status: 0 clean, 1 the root supervisor gave up, 2 bad configuration or usage "
               "or a fault no restart can fix (rejected token, unusable database file).")
    parser.add_argument("--config", metavar="PATH",
                        help="flat TOML file of settings (environment variables override it)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("run", help="run the bot on Telegram (the default)")
    commands.add_parser("demo", help="run the actor system with a console on stdin/stdout")
    inspect = commands.add_parser("inspect", help="show a running bot's actors")
    inspect.add_argument("--url", help="status endpoint of the running bot")
    inspect.add_argument("--all", action="store_true",
                         help="first list every live instance (the registry in Redis)")
    # add_help=False: its options and --help belong to the simulator's own parser.
    commands.add_parser("exchange-sim", add_help=False,
                        help="serve a fake Binance API on 127.0.0.1 (--port N [--seed S])")
    commands.add_parser("config", help="print the effective configuration, secrets redacted")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args, rest = parser.parse_known_args(argv)
    command = args.command or "run"  # `python bot.py --config bot.toml` runs the bot
    if rest and command != "exchange-sim":
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        deprecations: list[Deprecation] = []
        config = load_config(toml_path=args.config, deprecations=deprecations)
        if command == "config":
            print(render_config(config))
            for old in deprecations:
                print(f"deprecated setting {old.key}: {old.note}", file=sys.stderr)
            return EXIT_OK
        if command == "inspect":
            return inspect_cli.main(
                (["--url", args.url] if args.url else []) + (["--all"] if args.all else []),
                config=config, instances=registry_reader(config))
        if command == "exchange-sim":
            return _exchange_sim(rest)
        if command == "demo":
            return _run_demo(config, deprecations)
        return _run(config, deprecations)
    except ConfigError as error:
        print(error, file=sys.stderr)  # one line naming the key; a traceback would bury it
        return EXIT_BAD_USAGE


if __name__ == "__main__":
    sys.exit(main())
