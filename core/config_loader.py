"""Where a ``BotConfig`` comes from: defaults < a flat TOML file < ``CRYPTOBOT_*`` env vars.

Why a module of its own: :mod:`core.config` says what each setting is and how it is checked;
this reads the operator's sources in order of precedence, refuses secrets in files, keeps
the token to its own env var, and accepts deprecated names for one release. It is run once,
at start-up, by ``bot.py``.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.config import (
    CONFIG_FILE_KEY,
    ENV_PREFIX,
    REDACTED_VALUE,
    SPECS,
    SPECS_BY_NAME,
    TOKEN_ENV_VAR,
    BotConfig,
    spec_named,
)
from core.errors import ConfigError

__all__ = ["DEPRECATED_SETTINGS", "Deprecation", "load_config"]


def _read_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    try:
        with open(path, "rb") as file:
            return tomllib.load(file)
    except OSError as error:
        raise ConfigError(CONFIG_FILE_KEY, os.fspath(path),
                          f"a readable TOML file ({error.strerror or error})") from error
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as error:
        detail = " ".join(str(error).split())  # keep the error to one line
        raise ConfigError(CONFIG_FILE_KEY, os.fspath(path), f"valid TOML ({detail})") from error


@dataclass(frozen=True, slots=True)
class Deprecation:
    """An old setting still accepted for one release: renamed to ``replacement``, or (None)
    removed and ignored. ``key`` is the TOML key or env var the operator wrote."""

    name: str
    key: str
    replacement: str | None
    note: str


DEPRECATED_SETTINGS: Mapping[str, tuple[str | None, str]] = {
    # It only ever delayed the indicator actor: market data was always fetched on first use.
    "lazy_loading": ("lazy_indicator", "it only ever delayed the indicator actor"),
    # Each fetch worker does one request at a time on its own connection per exchange URL,
    # so a bigger pool was never used; fetcher_pool_size is the number of connections.
    "http_max_connections": (None, "ignored: each fetch worker keeps one connection per "
                             "exchange URL, so fetcher_pool_size sets how many there are"),
}
"""Old name -> (new name or None if removed, why); accepted until the next release."""


def _deprecated(name: str, key: str, raw: Any, values: dict[str, Any],
                found: list[Deprecation] | None) -> None:
    """Move a deprecated setting's value to its new name (validated there) and note it."""
    replacement, why = DEPRECATED_SETTINGS[name]
    if replacement is not None:
        spec = SPECS_BY_NAME[replacement]
        if key.startswith(ENV_PREFIX):
            try:
                raw = spec.kind.from_env(str(raw).strip())
            except ValueError:
                raise ConfigError(key, raw, spec.allowed) from None
        values.setdefault(replacement, spec.validate(raw, key=key))
    if found is not None and all(known.name != name for known in found):
        renamed = f"renamed to {replacement} ({why})" if replacement else why
        found.append(Deprecation(name, key, replacement, renamed))


def load_config(*, toml_path: str | os.PathLike[str] | None = None,
                environ: Mapping[str, str] | None = None,
                deprecations: list[Deprecation] | None = None) -> BotConfig:
    """Defaults, then the TOML file's flat keys, then CRYPTOBOT_* env vars; validated.

    A deprecated setting (``DEPRECATED_SETTINGS``) is accepted and noted in ``deprecations``,
    which the caller logs once logging is set up; the new name wins when both are given.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    old_values: list[tuple[str, str, Any]] = []  # applied last, so a new name always wins
    if toml_path is not None:
        for name, value in _read_toml(toml_path).items():
            if name in DEPRECATED_SETTINGS:
                old_values.append((name, name, value))
                continue
            spec = spec_named(name, value)
            if spec.secret:
                raise ConfigError(name, REDACTED_VALUE,
                                  f"secrets are not read from files; set {spec.env_var}")
            values[name] = spec.validate(value)
    misplaced_token = ENV_PREFIX + "TELEGRAM_TOKEN"
    if misplaced_token in environ:
        raise ConfigError(misplaced_token, REDACTED_VALUE, f"the token is read only from "
                          f"{TOKEN_ENV_VAR}")
    env_sourced: dict[str, str] = {}
    for spec in SPECS:
        raw = environ.get(spec.env_var)
        if raw is not None:
            values[spec.name] = spec.from_env(raw)
            env_sourced[spec.name] = raw
    for name in DEPRECATED_SETTINGS:
        raw = environ.get(ENV_PREFIX + name.upper())
        if raw is not None:
            old_values.insert(0, (name, ENV_PREFIX + name.upper(), raw))  # env before TOML
    for name, key, raw in old_values:
        _deprecated(name, key, raw, values, deprecations)
    try:
        return BotConfig(**values)
    except ConfigError as error:
        # Only cross-field checks can fail here; name the env var the operator actually set.
        if error.key not in env_sourced:
            raise
        spec = SPECS_BY_NAME[error.key]
        raise ConfigError(spec.env_var, env_sourced[error.key], error.allowed) from None
