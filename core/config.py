"""Every setting of the bot in one immutable, validated object.

Actors receive a ``BotConfig`` when they are built, so it is frozen: nobody can observe a
half-applied change. All validation happens once, at start-up, so a typo becomes one clear
``ConfigError`` line instead of an actor crashing an hour later.

Sources, lowest to highest precedence: field defaults < a flat TOML file < ``CRYPTOBOT_<NAME>``
environment variables. The bot token is read only from ``TELEGRAM_BOT_TOKEN`` so it never sits in
a file that could be committed, and it is never rendered (see ``BotConfig.redacted``).

Parsing and validation are table-driven: a field's type hint picks its ``Kind`` (one parser per
type) and its metadata carries the doc and an optional ``Rule`` (range, URL, symbol...), both
from :mod:`core.config_rules`. Reading the sources is :mod:`core.config_loader`; rendering the
catalogue for docs and ``bot.py config`` is :mod:`core.config_catalogue`.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import re
import secrets
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from core.config_rules import (
    COUNT,
    DATABASE_URL,
    FRACTION,
    GLOBAL_RATE,
    HTTP_URL,
    INSTANCE_NAME,
    Kind,
    LISTEN_PORT,
    NON_EMPTY,
    NON_NEGATIVE,
    NON_NEGATIVE_INT,
    OPTIONAL_PATH,
    OPTIONAL_URL,
    PERCENT,
    PORT,
    POSITIVE,
    REDIS_URL,
    Rule,
    SYMBOL,
    SYMBOL_LIST,
    TOKEN,
    TTL,
    URL_LIST,
    USER_IDS,
    WEBHOOK_SECRET,
    kind_for,
    require,
)
from core.errors import ConfigError

__all__ = [
    "BotConfig", "CONFIG_FILE_KEY", "DEFAULT_DB_PATH", "DEFAULT_EXCHANGE_URLS",
    "DEFAULT_TELEGRAM_API_URL", "ENV_PREFIX", "LogFormat", "LogLevel", "RateLimitStrategy",
    "REDACTED_VALUE", "SPECS", "SPECS_BY_NAME", "TOKEN_ENV_VAR", "TelegramMode",
    "mask_url_credentials", "spec_named", "url_passwords", "with_webhook_secret",
]

TelegramMode = Literal["polling", "webhook"]
RateLimitStrategy = Literal["sliding_window", "token_bucket"]
LogFormat = Literal["json", "text"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]

ENV_PREFIX = "CRYPTOBOT_"
TOKEN_ENV_VAR = "TELEGRAM_BOT_TOKEN"
# The key named in errors about the TOML file itself, matching the CLI option that supplies it.
CONFIG_FILE_KEY = "--config"
DEFAULT_TELEGRAM_API_URL = "https://api.telegram.org/bot"
DEFAULT_EXCHANGE_URLS = ("https://data-api.binance.vision", "https://api.binance.com")
DEFAULT_DB_PATH = "cryptobot.sqlite3"

REDACTED_VALUE = "<redacted>"


_MASKED_USERINFO = "***"


# libpq also takes the password as a URL parameter (postgresql://bot@db/x?password=...).
_QUERY_PASSWORD = re.compile(r"(?i)([?&]password=)([^&#\s]+)")


def mask_url_credentials(url: str) -> str:
    """``url`` with any ``user:password@`` replaced by ``***@`` and a ``password=`` parameter's
    value by ``***``; other URLs unchanged.

    ``exchange_urls`` may carry basic-auth credentials (a proxy in front of the exchange); they
    must reach neither a user's reply, nor a log line, nor ``bot.py config``.
    """
    url = _QUERY_PASSWORD.sub(lambda m: m.group(1) + _MASKED_USERINFO, url)
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{_MASKED_USERINFO}@{host}").geturl()


def url_passwords(config: BotConfig) -> list[str]:
    """The passwords inside the configured URLs, for the log redactor."""
    found: list[str] = []
    for url in (*config.exchange_urls, config.telegram_api_url, config.webhook_url,
                config.database_url or "", config.redis_url or ""):
        for match in _QUERY_PASSWORD.finditer(url):
            found += {match.group(2), unquote(match.group(2))}
        try:
            password = urlsplit(url).password
        except ValueError:
            continue
        if password:
            found.append(password)
    return found


def _setting(default: Any, doc: str, rule: Rule | None = None, *,
             env_var: str | None = None, secret: bool = False) -> Any:
    """A dataclass field whose metadata feeds validation, docs and the ``config`` CLI."""
    metadata = {"doc": doc, "rule": rule, "env_var": env_var, "secret": secret}
    # repr=False keeps a secret out of repr(config), which ends up in logs and tracebacks.
    return field(default=default, repr=not secret, metadata=metadata)


@dataclass(frozen=True, slots=True, kw_only=True)
class BotConfig:
    """All settings; constructing one validates it.

    ``core.config_loader.load_config`` builds one from the operator's sources.
    """

    # --- Telegram ---
    telegram_token: str | None = _setting(
        None, "Bot token from @BotFather; read only from its env var, never printed.", TOKEN,
        env_var=TOKEN_ENV_VAR, secret=True)
    telegram_api_url: str = _setting(DEFAULT_TELEGRAM_API_URL,
                                     "Bot API base URL (python-telegram-bot base_url).", HTTP_URL)
    telegram_mode: TelegramMode = _setting("polling", "How updates arrive: polling or webhook.")
    webhook_url: str = _setting("", "Public https:// URL for webhook mode.", OPTIONAL_URL)
    webhook_listen: str = _setting("127.0.0.1", "Address the webhook server binds.", NON_EMPTY)
    webhook_port: int = _setting(8443, "Port the webhook server binds.", LISTEN_PORT)
    webhook_secret_token: str | None = _setting(
        None, "Secret Telegram sends with every webhook update; unset: a new random one per start.",
        WEBHOOK_SECRET, secret=True)
    webhook_behind_tls_proxy: bool = _setting(
        False, "A TLS-terminating proxy forwards to webhook_listen (else a non-loopback "
        "webhook_listen is warned about at start).")
    # --- Users ---
    admin_ids: tuple[int, ...] = _setting((), "Telegram user ids allowed admin commands.",
                                          USER_IDS)
    allowed_users: tuple[int, ...] = _setting(
        (), "Telegram user ids allowed to use the bot; empty means everyone.", USER_IDS)
    user_rate_limit_count: int = _setting(20, "Commands one user may send per window.", COUNT)
    user_rate_limit_window_s: float = _setting(60.0, "Per-user rate-limit window (s).", POSITIVE)
    command_workers: int = _setting(
        8, "Actors running commands in parallel (each may wait on the market up to 5 s).",
        COUNT)
    # --- Telegram flood limits (docs/telegram.md) ---
    telegram_chat_burst: int = _setting(
        3, "Messages one chat may get back to back before the sustained rate applies.", COUNT)
    telegram_chat_per_s: float = _setting(
        1.0, "Sustained messages per second to one chat.", POSITIVE)
    telegram_group_burst: int = _setting(
        3, "The burst for a group (which also gets at most 20 messages a minute).", COUNT)
    telegram_global_per_s: int = _setting(
        30, "Messages and edits per second over all chats (Telegram's default; a bot with paid "
        "broadcasts may send up to 1000).", GLOBAL_RATE)
    telegram_queue_per_chat: int = _setting(
        50, "Calls queued for one chat before the least valuable are dropped.", COUNT)
    # --- Exchange HTTP ---
    exchange_urls: tuple[str, ...] = _setting(DEFAULT_EXCHANGE_URLS,
                                              "Exchange REST base URLs, tried in order.", URL_LIST)
    default_quote: str = _setting("USDT", "Quote asset when a user names only a base.", SYMBOL)
    http_connect_timeout_s: float = _setting(3.05, "HTTP connect timeout (s).", POSITIVE)
    http_read_timeout_s: float = _setting(10.0, "HTTP read timeout (s).", POSITIVE)
    fetcher_pool_size: int = _setting(
        8, "HTTP worker actors in the fetcher pool (requests in parallel).", COUNT)
    rate_limit_strategy: RateLimitStrategy = _setting("sliding_window",
                                                      "Algorithm of the exchange request limiter.")
    request_weight_limit_per_minute: int = _setting(
        6000, "Request weight per minute until exchangeInfo reports the real limit.", COUNT)
    # --- Circuit breaker ---
    breaker_failure_threshold: int = _setting(
        5, "Failures within the window before a circuit breaker may open.", COUNT)
    breaker_failure_rate: float = _setting(
        0.5, "Failure fraction within the window that opens a circuit breaker.", FRACTION)
    breaker_window_s: float = _setting(60.0, "Window a breaker counts failures in (s).",
                                       POSITIVE)
    # Short: a trial is one request, and users get fresh data back seconds after an outage
    # ends instead of stale answers for half a minute (the fault matrix measures this).
    breaker_reset_timeout_s: float = _setting(
        3.0, "First wait before an open breaker lets a trial call through (s).", POSITIVE)
    breaker_max_reset_timeout_s: float = _setting(
        30.0, "Cap on that wait, which doubles after each failed trial (s).", POSITIVE)
    # --- Storage ---
    db_path: str = _setting(DEFAULT_DB_PATH, "SQLite database file.", NON_EMPTY)
    database_url: str | None = _setting(
        None, "postgresql://... to keep everything in PostgreSQL (several instances can share "
        "it, docs/scaling.md); unset: the SQLite file db_path.", DATABASE_URL)
    redis_url: str | None = _setting(
        None, "redis://... (or unix://) to share caches, budgets and the update stream between "
        "instances (docs/scaling.md); unset: all in-process.", REDIS_URL)
    redis_fallback_fraction: float = _setting(
        0.5, "Share of the shared budgets (Binance weight, Telegram flood limits) one instance "
        "keeps to while Redis is unreachable; at most 1/N for N instances.", FRACTION)
    db_read_pool_size: int = _setting(4, "Read-only SQLite connections.", COUNT)
    db_batch_size: int = _setting(500, "Rows per batched write.", COUNT)
    db_flush_interval_ms: int = _setting(200, "Longest a write waits for its batch (ms).", COUNT)
    db_slow_query_ms: float = _setting(50.0, "Queries slower than this are logged (ms).",
                                       NON_NEGATIVE)
    # --- Retention (history is pruned by the writer, a bounded batch at a time) ---
    command_log_retention_days: float = _setting(
        30.0, "Days of command log (behind /stats) and of the alert firing log (behind the "
        "digest and /export) kept.", POSITIVE)
    fired_alerts_kept_per_user: int = _setting(
        20, "Fired (and notified) alerts kept per user, the newest; older ones are deleted.",
        NON_NEGATIVE_INT)
    candles_kept_per_series: int = _setting(
        5000, "Stored candles kept per symbol and interval, the newest.", COUNT)
    db_prune_interval_s: float = _setting(
        300.0, "Interval of the writer's prune runs (s); 0 disables pruning.", NON_NEGATIVE)
    db_prune_batch_rows: int = _setting(
        5000, "Most rows one prune run deletes (a full run is followed by another).", COUNT)
    # --- Cache freshness (market/cache.py CacheTtls; stale data is still served when the
    # exchange fails, see docs/market.md) ---
    cache_ticker_ttl_s: float = _setting(
        5.0, "Prices and 24h stats stay fresh this long (s).", TTL)
    cache_analysis_ttl_s: float = _setting(
        5.0, "An analysis stays fresh this long (s); it shows the live price, so at most "
        "cache_ticker_ttl_s.", TTL)
    cache_klines_ttl_divisor: int = _setting(
        60, "Candles stay fresh for their interval divided by this (1h / 60 = 60 s), within "
        "the floor and cap below.", COUNT)
    cache_klines_ttl_min_s: float = _setting(
        5.0, "Shortest freshness of candles (s), e.g. for 1m.", TTL)
    cache_klines_ttl_max_s: float = _setting(
        120.0, "Longest freshness of candles (s), e.g. for 1d.", TTL)
    # --- Memory ---
    cache_size_mb: int = _setting(64, "In-memory market-data cache budget (MB).", COUNT)
    max_memory_mb: int = _setting(512, "Process memory budget (MB).", COUNT)
    memory_warning_percent: int = _setting(80, "Warn above this % of max_memory_mb.", PERCENT)
    memory_sample_interval_s: float = _setting(5.0, "Memory sampling interval (s).", POSITIVE)
    # --- Loading ---
    lazy_indicator: bool = _setting(
        True, "Start the indicator actor at the first analysis rather than with the bot (market "
        "data is always fetched on first use; preload_on_start fetches some at start).")
    preload_on_start: bool = _setting(False, "Fetch preload_symbols when the bot starts.")
    preload_symbols: tuple[str, ...] = _setting(
        ("BTC", "ETH"), "Base symbols fetched at start when preload_on_start is true.",
        SYMBOL_LIST)
    performance_monitoring: bool = _setting(
        True, "Log a metrics.snapshot line every metrics_interval_s (false: no metrics actor).")
    # --- Observability ---
    status_port: int = _setting(9108, "Status/metrics HTTP port on 127.0.0.1; 0 disables.",
                                PORT)
    log_file: str | None = _setting(None, "Append logs here; empty = stdout.", OPTIONAL_PATH)
    log_format: LogFormat = _setting("json", "One JSON object per line, or text for humans.")
    log_level: LogLevel = _setting("INFO", "Lowest level logged.")
    metrics_interval_s: float = _setting(60.0, "Interval of metrics log events (s).", POSITIVE)
    instance_name: str | None = _setting(
        None, "Names this instance in logs, /actors, /healthz and /metrics (unique per running "
        "instance); unset: host:pid:start time.", INSTANCE_NAME)
    # --- Alerts ---
    alert_sweep_interval_s: float = _setting(5.0, "Interval of price-alert checks (s).",
                                             POSITIVE)
    max_alerts_per_user: int = _setting(50, "Active price alerts one user may hold.", COUNT)
    # --- Pushed alerts to admins (ops/alerting.py) ---
    ops_alert_interval_s: float = _setting(
        10.0, "Interval of the health samples behind pushed admin alerts (s).", POSITIVE)
    ops_alert_cooldown_s: float = _setting(
        300.0, "Bad news about one problem is pushed at most once per this (s).",
        NON_NEGATIVE)
    ops_alert_max_per_minute: int = _setting(
        3, "Pushed admin alerts in any 60 s, all problems together.", COUNT)
    ops_alert_error_rate: float = _setting(
        0.2, "5-minute command error rate above which admins are alerted.", FRACTION)
    ops_alert_p95_ms: float = _setting(
        5000.0, "5-minute p95 command latency above which admins are alerted (ms).", POSITIVE)
    ops_alert_min_commands: int = _setting(
        10, "Commands in 5 minutes before error rate and latency are judged.", COUNT)
    # --- Supervision ---
    restart_intensity: int = _setting(
        5, "Restarts allowed within restart_period_s before a supervisor escalates.",
        NON_NEGATIVE_INT)
    restart_period_s: float = _setting(30.0, "Window restarts are counted in (s).", POSITIVE)
    restart_backoff_base_s: float = _setting(0.05, "First restart delay (s).", NON_NEGATIVE)
    restart_backoff_cap_s: float = _setting(5.0, "Longest restart delay (s).", NON_NEGATIVE)
    restart_backoff_reset_s: float = _setting(
        30.0, "Uptime after which the restart delay falls back to the base (s).", POSITIVE)
    heartbeat_interval_s: float = _setting(1.0, "Interval of actor heartbeats (s).", POSITIVE)
    hang_timeout_s: float = _setting(10.0, "Silence after which an actor is hung (s).",
                                     POSITIVE)
    shutdown_timeout_s: float = _setting(5.0, "Time each actor gets to stop (s).", POSITIVE)

    def __post_init__(self) -> None:
        for spec in SPECS:
            # object.__setattr__ because the dataclass is frozen; normalising (int -> float,
            # list -> tuple, "debug" -> "DEBUG") happens only here, during construction.
            object.__setattr__(self, spec.name, spec.validate(getattr(self, spec.name)))
        for name, check in _CROSS_FIELD_CHECKS:
            problem = check(self)
            if problem is not None:
                raise ConfigError(name, getattr(self, name), problem)

    def redacted(self) -> dict[str, object]:
        """All settings as plain data, safe to print: the token shows only as <set>/<unset>."""
        return {spec.name: spec.plain(getattr(self, spec.name)) for spec in SPECS}

    def with_overrides(self, **overrides: Any) -> BotConfig:
        """A copy with some settings changed, validated like any other config."""
        for name, value in overrides.items():
            spec_named(name, value)
        return dataclasses.replace(self, **overrides)


_CrossCheck = tuple[str, Callable[[BotConfig], str | None]]


def _not_below(name: str, floor: str, *, strictly: bool = False) -> _CrossCheck:
    """A check that setting ``name`` is >= (or >) setting ``floor``."""
    def check(config: BotConfig) -> str | None:
        value, floor_value = getattr(config, name), getattr(config, floor)
        if value > floor_value or (value == floor_value and not strictly):
            return None
        return f"must be {'>' if strictly else '>='} {floor} ({floor_value})"
    return name, check


_CROSS_FIELD_CHECKS: tuple[_CrossCheck, ...] = (
    _not_below("breaker_max_reset_timeout_s", "breaker_reset_timeout_s"),
    _not_below("restart_backoff_cap_s", "restart_backoff_base_s"),
    _not_below("hang_timeout_s", "heartbeat_interval_s", strictly=True),
    _not_below("max_memory_mb", "cache_size_mb"),
    _not_below("cache_klines_ttl_max_s", "cache_klines_ttl_min_s"),
    _not_below("cache_ticker_ttl_s", "cache_analysis_ttl_s"),
    # Telegram only delivers webhooks to https URLs, so fail here rather than at setWebhook.
    ("webhook_url", lambda c: None if c.telegram_mode != "webhook"
     or c.webhook_url.startswith("https://") else "an https:// URL is needed in webhook mode"),
)


@dataclass(frozen=True, slots=True)
class _Spec:
    """Everything known about one setting, derived once from the dataclass field."""

    name: str
    env_var: str
    kind: Kind
    rule: Rule | None
    doc: str
    secret: bool
    default: Any

    @property
    def allowed(self) -> str:
        return self.rule.allowed if self.rule is not None else self.kind.expected

    def validate(self, value: Any, key: str | None = None) -> Any:
        """The normalised value, or ConfigError naming ``key`` (default: the field name)."""
        try:
            result = self.kind.check(value)
            if self.rule is not None:
                result = self.rule.normalize(result)
                require(self.rule.accepts(result), value)
            return result
        except ValueError:
            raise ConfigError(key or self.name, self._shown(value), self.allowed) from None

    def _shown(self, value: Any) -> Any:
        """``value`` as an error may show it: a secret not at all, a URL without passwords."""
        if self.secret:
            return REDACTED_VALUE
        return mask_url_credentials(value) if isinstance(value, str) else value

    def from_env(self, raw: str) -> Any:
        try:
            parsed = self.kind.from_env(raw.strip())
        except ValueError:
            raise ConfigError(self.env_var, self._shown(raw), self.allowed) from None
        return self.validate(parsed, key=self.env_var)

    def plain(self, value: Any) -> object:
        if self.secret:
            return "<unset>" if value is None else "<set>"
        if isinstance(value, tuple):
            return [mask_url_credentials(v) if isinstance(v, str) else v for v in value]
        return mask_url_credentials(value) if isinstance(value, str) else value


def _build_specs() -> tuple[_Spec, ...]:
    hints = typing.get_type_hints(BotConfig)
    return tuple(
        _Spec(name=f.name, env_var=f.metadata["env_var"] or ENV_PREFIX + f.name.upper(),
              kind=kind_for(hints[f.name]), rule=f.metadata["rule"], doc=f.metadata["doc"],
              secret=f.metadata["secret"], default=f.default)
        for f in dataclasses.fields(BotConfig))


SPECS = _build_specs()
SPECS_BY_NAME = {spec.name: spec for spec in SPECS}


def spec_named(name: str, value: object) -> _Spec:
    spec = SPECS_BY_NAME.get(name)
    if spec is None:
        close = difflib.get_close_matches(name, SPECS_BY_NAME, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else "; see docs/configuration.md"
        raise ConfigError(name, value, f"unknown setting{hint}")
    return spec


def with_webhook_secret(config: BotConfig) -> BotConfig:
    """``config``, with a webhook secret in webhook mode when none is set: a fresh random one,
    or with ``redis_url`` (several instances behind one URL) one derived from the token.

    Why here, before logging starts: the secret must be known to the log redactor, and a
    webhook without one accepts updates forged by anyone who can reach its URL. Instances
    sharing a token must share the secret too, or each setWebhook would lock the others out;
    a one-way hash of the token is known to exactly those who may set the webhook anyway.
    """
    if config.telegram_mode != "webhook" or config.webhook_secret_token:
        return config
    if config.redis_url and config.telegram_token:
        derived = hashlib.sha256(b"cryptobot-webhook-secret:" + config.telegram_token.encode())
        return dataclasses.replace(config, webhook_secret_token=derived.hexdigest())
    return dataclasses.replace(config, webhook_secret_token=secrets.token_urlsafe(32))
