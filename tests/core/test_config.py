"""BotConfig: defaults < TOML < env precedence, typed parsing, one-line errors, no token leaks."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from core.config import CONFIG_FILE_KEY, TOKEN_ENV_VAR, BotConfig
from core.config_catalogue import describe_settings
from core.config_loader import Deprecation, load_config
from core.errors import ConfigError

__all__: list[str] = []

TOKEN = "123456789:AAEhBOweik6ad9r_QXMENQjcrGbqCr4K-ms"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def write_toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cryptobot.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_need_no_file_and_no_environment() -> None:
    config = load_config(environ={})
    assert config == BotConfig()
    assert config.telegram_token is None
    assert config.exchange_urls == ("https://data-api.binance.vision", "https://api.binance.com")
    assert config.log_level == "INFO"


def test_toml_file_overrides_defaults(tmp_path: Path) -> None:
    path = write_toml(tmp_path, 'db_path = "bot.db"\nadmin_ids = [7, 8]\nlazy_indicator = false\n')
    config = load_config(toml_path=path, environ={})
    assert (config.db_path, config.admin_ids, config.lazy_indicator) == ("bot.db", (7, 8), False)


def test_env_overrides_toml_file(tmp_path: Path) -> None:
    path = write_toml(tmp_path, 'db_path = "from-file.db"\nwebhook_port = 8000\n')
    config = load_config(toml_path=path, environ={"CRYPTOBOT_DB_PATH": "from-env.db"})
    assert config.db_path == "from-env.db"
    assert config.webhook_port == 8000


def test_environ_defaults_to_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRYPTOBOT_FETCHER_POOL_SIZE", "9")
    assert load_config().fetcher_pool_size == 9


def test_env_strings_are_parsed_by_field_type() -> None:
    config = load_config(environ={
        "CRYPTOBOT_WEBHOOK_PORT": " 9000 ",
        "CRYPTOBOT_BREAKER_FAILURE_RATE": "0.25",
        "CRYPTOBOT_ADMIN_IDS": " 1, 2,,3 ,",
        "CRYPTOBOT_EXCHANGE_URLS": "https://a.example, http://b.example",
        "CRYPTOBOT_PRELOAD_ON_START": "yes",
    })
    assert config.webhook_port == 9000
    assert config.breaker_failure_rate == 0.25
    assert config.admin_ids == (1, 2, 3)
    assert config.exchange_urls == ("https://a.example", "http://b.example")
    assert config.preload_on_start is True


@pytest.mark.parametrize(("word", "expected"), [
    ("1", True), ("true", True), ("YES", True), ("On", True),
    ("0", False), ("False", False), ("no", False), ("OFF", False),
])
def test_env_booleans_accept_common_words_in_any_case(word: str, expected: bool) -> None:
    assert load_config(environ={"CRYPTOBOT_LAZY_INDICATOR": word}).lazy_indicator is expected


def test_env_boolean_rejects_other_words_naming_the_env_var() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(environ={"CRYPTOBOT_LAZY_LOADING": "maybe"})
    assert caught.value.key == "CRYPTOBOT_LAZY_LOADING"
    assert caught.value.value == "maybe"


def test_empty_env_string_unsets_an_optional_string(tmp_path: Path) -> None:
    path = write_toml(tmp_path, 'log_file = "bot.log"\n')
    assert load_config(toml_path=path, environ={"CRYPTOBOT_LOG_FILE": ""}).log_file is None


def test_empty_env_list_means_an_empty_tuple() -> None:
    config = load_config(environ={"CRYPTOBOT_PRELOAD_SYMBOLS": ""})
    assert config.preload_symbols == ()


def test_unknown_cryptobot_env_vars_are_ignored() -> None:
    assert load_config(environ={"CRYPTOBOT_SOMETHING_ELSE": "x"}) == BotConfig()


def test_telegram_token_comes_from_its_own_env_var() -> None:
    assert load_config(environ={TOKEN_ENV_VAR: f"{TOKEN}\n"}).telegram_token == TOKEN


def test_token_in_toml_file_is_rejected_without_showing_it(tmp_path: Path) -> None:
    path = write_toml(tmp_path, f'telegram_token = "{TOKEN}"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(toml_path=path, environ={})
    assert caught.value.key == "telegram_token"
    assert TOKEN_ENV_VAR in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_token_under_a_cryptobot_env_var_is_rejected_without_showing_it() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(environ={"CRYPTOBOT_TELEGRAM_TOKEN": TOKEN})
    assert caught.value.key == "CRYPTOBOT_TELEGRAM_TOKEN"
    assert TOKEN not in str(caught.value)


def test_malformed_token_is_rejected_without_showing_it() -> None:
    malformed = "not a token but still secret"
    with pytest.raises(ConfigError) as caught:
        load_config(environ={TOKEN_ENV_VAR: malformed})
    assert caught.value.key == TOKEN_ENV_VAR
    assert malformed not in str(caught.value)


def test_unknown_toml_key_is_named_with_close_matches(tmp_path: Path) -> None:
    path = write_toml(tmp_path, 'db_pth = "x.db"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(toml_path=path, environ={})
    assert caught.value.key == "db_pth"
    assert "did you mean db_path" in str(caught.value)


@pytest.mark.parametrize("toml_line", [
    'webhook_port = "8443"', "webhook_port = true", "lazy_indicator = 1", "lazy_loading = 1",
    'admin_ids = "1,2"', "admin_ids = [1, true]", 'breaker_window_s = "60"',
    "log_file = 3", "db_path = [\"a\"]",
])
def test_toml_values_must_already_have_the_right_type(tmp_path: Path, toml_line: str) -> None:
    key = toml_line.split(" = ")[0]
    with pytest.raises(ConfigError) as caught:
        load_config(toml_path=write_toml(tmp_path, toml_line + "\n"), environ={})
    assert caught.value.key == key


def test_toml_accepts_integers_for_number_settings(tmp_path: Path) -> None:
    config = load_config(toml_path=write_toml(tmp_path, "breaker_window_s = 90\n"), environ={})
    assert config.breaker_window_s == 90.0
    assert isinstance(config.breaker_window_s, float)


def test_missing_toml_file_is_a_config_error_keyed_by_the_option(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(toml_path=tmp_path / "absent.toml", environ={})
    assert caught.value.key == CONFIG_FILE_KEY


def test_toml_syntax_error_is_a_one_line_config_error(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "db_path = \n[[[\n")
    with pytest.raises(ConfigError) as caught:
        load_config(toml_path=path, environ={})
    assert caught.value.key == CONFIG_FILE_KEY
    assert "\n" not in str(caught.value)
    assert "valid TOML" in str(caught.value)


@pytest.mark.parametrize(("name", "bad_value"), [
    ("webhook_port", 0), ("webhook_port", 70000), ("status_port", -1),
    ("user_rate_limit_count", 0), ("http_read_timeout_s", 0.0),
    ("breaker_failure_rate", 0.0), ("breaker_failure_rate", 1.5),
    ("memory_warning_percent", 100), ("db_batch_size", 0), ("restart_intensity", -1),
    ("db_path", " "), ("admin_ids", (0,)), ("exchange_urls", ()),
    ("exchange_urls", ("ftp://example.com",)), ("telegram_api_url", "api.telegram.org"),
    ("webhook_url", "example.com/hook"), ("default_quote", "US-DT"),
    ("preload_symbols", ("BTC", "")), ("log_level", "VERBOSE"), ("log_format", "xml"),
    ("telegram_mode", "push"), ("rate_limit_strategy", "leaky"),
    ("heartbeat_interval_s", float("nan")), ("shutdown_timeout_s", float("inf")),
])
def test_out_of_range_values_are_rejected_naming_the_field(name: str, bad_value: object) -> None:
    with pytest.raises(ConfigError) as caught:
        BotConfig().with_overrides(**{name: bad_value})
    assert caught.value.key == name


def test_bad_env_value_is_reported_under_its_env_var_with_the_raw_text() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(environ={"CRYPTOBOT_WEBHOOK_PORT": "eighty"})
    assert (caught.value.key, caught.value.value) == ("CRYPTOBOT_WEBHOOK_PORT", "eighty")
    assert str(caught.value).startswith("invalid setting CRYPTOBOT_WEBHOOK_PORT='eighty': ")


def test_error_messages_are_a_single_line() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(environ={"CRYPTOBOT_DB_PATH": "\n"})
    assert "\n" not in str(caught.value)


def test_choices_are_matched_case_insensitively_and_stored_canonically() -> None:
    config = load_config(environ={"CRYPTOBOT_LOG_LEVEL": "debug", "CRYPTOBOT_LOG_FORMAT": "TEXT"})
    assert (config.log_level, config.log_format) == ("DEBUG", "text")


def test_symbols_are_upper_cased() -> None:
    config = load_config(environ={"CRYPTOBOT_PRELOAD_SYMBOLS": "btc,sol",
                                  "CRYPTOBOT_DEFAULT_QUOTE": "usdc"})
    assert (config.preload_symbols, config.default_quote) == (("BTC", "SOL"), "USDC")


@pytest.mark.parametrize(("name", "bad_value"), [
    ("cache_ticker_ttl_s", 0.0), ("cache_ticker_ttl_s", -1.0), ("cache_klines_ttl_max_s", 86401.0),
    ("cache_klines_ttl_divisor", 0), ("cache_klines_ttl_min_s", 0.0),
])
def test_cache_ttls_must_be_positive_and_at_most_a_day(name: str, bad_value: float) -> None:
    with pytest.raises(ConfigError) as caught:
        BotConfig().with_overrides(**{name: bad_value})
    assert caught.value.key == name


def test_the_candle_ttl_cap_may_not_be_below_its_floor() -> None:
    with pytest.raises(ConfigError) as caught:
        BotConfig(cache_klines_ttl_min_s=60.0, cache_klines_ttl_max_s=30.0)
    assert caught.value.key == "cache_klines_ttl_max_s"


def test_an_analysis_may_not_stay_fresh_longer_than_the_price_it_shows() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(environ={"CRYPTOBOT_CACHE_ANALYSIS_TTL_S": "10"})
    assert "cache_analysis_ttl_s" in caught.value.allowed


def test_breaker_max_reset_timeout_may_not_be_below_the_reset_timeout() -> None:
    with pytest.raises(ConfigError) as caught:
        BotConfig(breaker_reset_timeout_s=60.0, breaker_max_reset_timeout_s=30.0)
    assert caught.value.key == "breaker_max_reset_timeout_s"
    assert "breaker_reset_timeout_s" in caught.value.allowed


def test_restart_backoff_cap_may_not_be_below_the_base() -> None:
    with pytest.raises(ConfigError) as caught:
        BotConfig(restart_backoff_base_s=2.0, restart_backoff_cap_s=1.0)
    assert caught.value.key == "restart_backoff_cap_s"


def test_cross_field_error_names_the_env_var_that_was_set() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(environ={"CRYPTOBOT_RESTART_BACKOFF_CAP_S": "0.01"})
    assert caught.value.key == "CRYPTOBOT_RESTART_BACKOFF_CAP_S"
    assert caught.value.value == "0.01"


def test_webhook_mode_requires_an_https_webhook_url() -> None:
    with pytest.raises(ConfigError) as caught:
        BotConfig(telegram_mode="webhook")
    assert caught.value.key == "webhook_url"
    config = BotConfig(telegram_mode="webhook", webhook_url="https://bot.example/hook")
    assert config.telegram_mode == "webhook"


def test_config_is_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        BotConfig().db_path = "other.db"  # type: ignore[misc]


def test_with_overrides_returns_a_validated_copy() -> None:
    original = BotConfig()
    changed = original.with_overrides(fetcher_pool_size=2, preload_symbols=["ada"])
    assert (changed.fetcher_pool_size, changed.preload_symbols) == (2, ("ADA",))
    assert original.fetcher_pool_size == 8


def test_with_overrides_rejects_unknown_names() -> None:
    with pytest.raises(ConfigError) as caught:
        BotConfig().with_overrides(fetcher_pool=2)
    assert caught.value.key == "fetcher_pool"
    assert "fetcher_pool_size" in str(caught.value)


def test_redacted_shows_only_whether_the_token_is_set() -> None:
    with_token = load_config(environ={TOKEN_ENV_VAR: TOKEN}).redacted()
    assert with_token["telegram_token"] == "<set>"
    assert BotConfig().redacted()["telegram_token"] == "<unset>"
    assert TOKEN not in json.dumps(with_token)


def test_repr_of_a_config_never_shows_the_token() -> None:
    config = load_config(environ={TOKEN_ENV_VAR: TOKEN})
    assert TOKEN not in repr(config)
    assert "db_path='cryptobot.sqlite3'" in repr(config)


def test_redacted_holds_every_setting_as_plain_json_data() -> None:
    items = BotConfig().redacted()
    assert list(items) == [field.name for field in dataclasses.fields(BotConfig)]
    assert json.loads(json.dumps(items))["exchange_urls"] == list(BotConfig().exchange_urls)


def test_every_field_carries_a_doc_in_its_metadata() -> None:
    assert all(field.metadata["doc"] for field in dataclasses.fields(BotConfig))


def test_describe_settings_lists_every_field_with_env_var_default_and_doc() -> None:
    infos = {info.name: info for info in describe_settings()}
    assert list(infos) == [field.name for field in dataclasses.fields(BotConfig)]
    assert infos["db_path"].env_var == "CRYPTOBOT_DB_PATH"
    assert infos["telegram_token"].env_var == TOKEN_ENV_VAR
    assert infos["preload_symbols"].default == "BTC,ETH"
    assert infos["lazy_indicator"].default == "true"
    assert all(info.doc and info.allowed for info in infos.values())


def test_every_setting_is_documented_in_configuration_md_with_its_default() -> None:
    rows = {line.split("|")[1].strip(" `"): line
            for line in DOCS.read_text(encoding="utf-8").splitlines() if line.startswith("| `")}
    stale = [info.name for info in describe_settings()
             if info.name not in rows or f"`{info.env_var}`" not in rows[info.name]
             or info.default not in rows[info.name]]
    assert stale == []


def test_webhook_mode_always_gets_a_secret_token_that_is_never_shown() -> None:
    from core.config import with_webhook_secret

    webhook = BotConfig(telegram_mode="webhook", webhook_url="https://bot.example.org/hook")
    first, second = with_webhook_secret(webhook), with_webhook_secret(webhook)
    assert first.webhook_secret_token and second.webhook_secret_token
    assert first.webhook_secret_token != second.webhook_secret_token
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,256}", first.webhook_secret_token)
    assert first.webhook_secret_token not in repr(first)
    assert first.redacted()["webhook_secret_token"] == "<set>"
    chosen = webhook.with_overrides(webhook_secret_token="mine_1")
    assert with_webhook_secret(chosen).webhook_secret_token == "mine_1"
    assert with_webhook_secret(BotConfig()).webhook_secret_token is None  # polling: none needed
    with pytest.raises(ConfigError) as refused:
        webhook.with_overrides(webhook_secret_token="has spaces and secrets")
    assert "secrets" not in str(refused.value)


def test_instances_sharing_redis_derive_the_same_webhook_secret_from_the_token() -> None:
    from core.config import with_webhook_secret

    token = TOKEN
    shared = BotConfig(telegram_mode="webhook", webhook_url="https://bot.example.org/hook",
                       telegram_token=token, redis_url="redis://localhost:6379/0")
    first, second = with_webhook_secret(shared), with_webhook_secret(shared)
    assert first.webhook_secret_token == second.webhook_secret_token
    assert first.webhook_secret_token and token not in first.webhook_secret_token
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,256}", first.webhook_secret_token)


# -- deprecated settings (accepted for one release) ---------------------------------------------

def test_the_old_lazy_loading_name_still_works_from_toml_and_env_and_is_noted_once(
        tmp_path: Path) -> None:
    notes: list[Deprecation] = []
    path = write_toml(tmp_path, "lazy_loading = false\n")
    config = load_config(toml_path=path, environ={"CRYPTOBOT_LAZY_LOADING": "no"},
                         deprecations=notes)
    assert config.lazy_indicator is False
    assert [(n.name, n.key, n.replacement) for n in notes] == [
        ("lazy_loading", "CRYPTOBOT_LAZY_LOADING", "lazy_indicator")]
    assert notes[0].note.startswith("renamed to lazy_indicator")


def test_the_new_name_wins_over_the_old_one() -> None:
    config = load_config(environ={"CRYPTOBOT_LAZY_LOADING": "false",
                                  "CRYPTOBOT_LAZY_INDICATOR": "true"})
    assert config.lazy_indicator is True


def test_a_bad_value_under_the_old_name_names_the_old_name() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(environ={"CRYPTOBOT_LAZY_LOADING": "maybe"})
    assert caught.value.key == "CRYPTOBOT_LAZY_LOADING"


def test_http_max_connections_is_accepted_ignored_and_noted(tmp_path: Path) -> None:
    notes: list[Deprecation] = []
    config = load_config(toml_path=write_toml(tmp_path, "http_max_connections = 32\n"),
                         environ={}, deprecations=notes)
    assert config == BotConfig()
    assert [(n.key, n.replacement) for n in notes] == [("http_max_connections", None)]
    assert "fetcher_pool_size" in notes[0].note


def test_a_database_url_with_a_mistyped_scheme_is_rejected_without_its_password() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(environ={"CRYPTOBOT_DATABASE_URL": "postgresq://bot:hunter2@db/cryptobot"})
    assert caught.value.key == "CRYPTOBOT_DATABASE_URL"
    assert "hunter2" not in str(caught.value)
    assert "***@db/cryptobot" in str(caught.value)  # still says which URL


def test_a_password_given_as_a_url_parameter_is_masked_and_redacted() -> None:
    from bot import _secrets, render_config
    from core.logs import Redactor

    url = "postgresql://bot@db/cryptobot?sslmode=require&password=hunter2"
    config = BotConfig().with_overrides(database_url=url)
    rendered = render_config(config)
    assert "hunter2" not in rendered
    assert "password=***" in rendered
    assert "hunter2" not in Redactor(_secrets(config)).redact(f"connecting to {url}")
