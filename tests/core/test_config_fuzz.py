"""Property tests of configuration from outside: whatever an operator puts in an environment
variable or the TOML file, the result is a validated config or one ``ConfigError`` line naming
the key, never a traceback of another type, and the bot token is never printed back, even when
it was pasted into the wrong setting. tests/core/test_config.py has the worked examples."""

from __future__ import annotations

import json
import math
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from core.config import CONFIG_FILE_KEY, TOKEN_ENV_VAR, BotConfig
from core.config_catalogue import describe_settings
from core.config_loader import load_config
from core.errors import ConfigError

TOKEN = "123456789:AAEhBOweik6ad9r_QXMENQjcrGbqCr4K-ms"
SETTINGS = describe_settings()
NAMES = {info.name for info in SETTINGS}
ENV_VARS = [info.env_var for info in SETTINGS if info.env_var != TOKEN_ENV_VAR]
FILE_SETTINGS = [info.name for info in SETTINGS if info.env_var != TOKEN_ENV_VAR]

env_texts = st.one_of(
    st.text(max_size=40),
    st.text(alphabet="0123456789.,-+eE _xnaifINF٣", max_size=12),
    st.sampled_from(["", " ", "nan", "inf", "-1", "0", "1e999", "9" * 5000, "true", "yes",
                     "DEBUG", "webhook", "https://", "http://[::1", "1,,2", ",", "\n"]),
    st.tuples(st.text(max_size=5), st.text(max_size=5)).map(lambda t: t[0] + TOKEN + t[1]),
)
toml_scalars = st.one_of(
    st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1), st.floats(),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=20), st.just(TOKEN),
)
toml_values = st.recursive(
    toml_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.text(alphabet="abc_", min_size=1, max_size=4), inner, max_size=3),
    max_leaves=6,
)


def toml_literal(value: object) -> str:
    """``value`` written as TOML (tomllib has no writer)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list):
        return "[" + ", ".join(map(toml_literal, value)) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{key} = {toml_literal(item)}" for key, item in value.items()) + "}"


@pytest.fixture(scope="module")
def toml_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("config") / "cryptobot.toml"


def assert_one_clear_line(error: ConfigError, keys: set[str]) -> None:
    text = str(error)
    assert "\n" not in text and "\r" not in text
    assert text.startswith("invalid setting ")
    assert TOKEN not in text and TOKEN not in repr(error.value)
    assert error.key in keys


@given(st.sampled_from(ENV_VARS), env_texts)
def test_any_environment_value_gives_a_config_or_one_line_naming_the_variable(
    env_var: str, raw: str
) -> None:
    try:
        config = load_config(environ={TOKEN_ENV_VAR: TOKEN, env_var: raw})
    except ConfigError as error:
        # A cross-field rule may name the setting the value collided with instead.
        assert_one_clear_line(error, {env_var} | NAMES)
        return
    assert isinstance(config, BotConfig) and config.telegram_token == TOKEN


@given(env_texts)
def test_any_token_value_gives_a_config_or_an_error_that_never_shows_it(raw: str) -> None:
    try:
        config = load_config(environ={TOKEN_ENV_VAR: raw})
    except ConfigError as error:
        assert_one_clear_line(error, {TOKEN_ENV_VAR})
        assert error.value == "<redacted>"
        return
    assert config.telegram_token == (raw.strip() or None)


@given(st.sampled_from(FILE_SETTINGS), toml_values)
def test_any_toml_value_gives_a_config_or_one_line_naming_the_setting(
    toml_file: Path, name: str, value: object
) -> None:
    toml_file.write_text(f"{name} = {toml_literal(value)}\n", encoding="utf-8")
    try:
        config = load_config(toml_path=toml_file, environ={})
    except ConfigError as error:
        assert_one_clear_line(error, NAMES | {CONFIG_FILE_KEY})
        return
    assert isinstance(config, BotConfig)


@given(st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=30), toml_scalars)
@example(key="db_path\n", value=1).via("a key with a newline")
@example(key=TOKEN, value=1).via("the token as a key")
def test_an_unknown_toml_key_gives_one_line_whatever_its_characters(
    toml_file: Path, key: str, value: object
) -> None:
    toml_file.write_text(f"{toml_literal(key)} = {toml_literal(value)}\n", encoding="utf-8")
    try:
        load_config(toml_path=toml_file, environ={})
    except ConfigError as error:
        assert_one_clear_line(error, {key, CONFIG_FILE_KEY} | NAMES)


@given(st.one_of(st.binary(max_size=200),
                 st.text(alphabet="[]{}=\"'.,#\n abc123_", max_size=80).map(str.encode)))
@example(b"a = " + b"[" * 5000 + b"]" * 5000).via("arrays nested past the recursion limit")
@example(b"a = " + b"{b=" * 3000 + b"1" + b"}" * 3000).via("tables nested too deep")
def test_any_file_content_gives_a_config_or_one_line_about_the_file(
    toml_file: Path, content: bytes
) -> None:
    toml_file.write_bytes(content)
    try:
        load_config(toml_path=toml_file, environ={})
    except ConfigError as error:
        assert_one_clear_line(error, NAMES | {CONFIG_FILE_KEY} | _keys_in(content))


def _keys_in(content: bytes) -> set[str]:
    """Top-level keys of ``content`` if it is TOML (an unknown one is named in the error)."""
    try:
        return set(tomllib.loads(content.decode("utf-8")))
    except (ValueError, RecursionError):
        return set()


@pytest.mark.parametrize("env_var", ENV_VARS)
def test_the_token_pasted_into_any_variable_is_never_printed_back(env_var: str) -> None:
    for raw in (TOKEN, f"https://api.telegram.org/bot{TOKEN}/", f"{TOKEN},1"):
        try:
            load_config(environ={TOKEN_ENV_VAR: TOKEN, env_var: raw})
        except ConfigError as error:
            assert_one_clear_line(error, {env_var} | NAMES)


@pytest.mark.parametrize("name", FILE_SETTINGS)
def test_the_token_pasted_into_any_file_setting_is_never_printed_back(
    toml_file: Path, name: str
) -> None:
    for value in (TOKEN, [TOKEN], {"token": TOKEN}):
        toml_file.write_text(f"{name} = {toml_literal(value)}\n", encoding="utf-8")
        try:
            load_config(toml_path=toml_file, environ={})
        except ConfigError as error:
            assert_one_clear_line(error, NAMES)


def test_an_error_about_a_huge_value_is_built_at_once() -> None:
    # The token search must not restart at every digit: 50,000 of them took seconds.
    started = time.perf_counter()
    with pytest.raises(ConfigError) as caught:
        load_config(environ={"CRYPTOBOT_WEBHOOK_PORT": "9" * 50_000})
    assert time.perf_counter() - started < 1.0
    assert caught.value.key == "CRYPTOBOT_WEBHOOK_PORT"
