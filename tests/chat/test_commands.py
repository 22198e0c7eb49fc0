"""One command table drives lookup, /help, /start and the Telegram menu, and they agree."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chat.commands import (
    COMMANDS,
    CommandSpec,
    command_help,
    help_text,
    lookup,
    menu_commands,
    names_and_aliases,
    welcome_text,
)
from chat.html import is_balanced, visible_text

DOCS = Path(__file__).resolve().parents[2] / "docs" / "commands.md"
ISSUE_COMMANDS = {
    "start", "help", "price", "analysis", "chart", "alert", "alerts", "delalert", "watch",
    "unwatch", "watchlist", "top", "actors", "health", "stats",
    # issue 14, admin controls
    "restart", "cache", "breaker", "loglevel", "mute",
    # issue 15
    "digest", "settings", "export", "forget",
}
ADMIN_COMMANDS = {"actors", "health", "stats", "restart", "cache", "breaker", "loglevel", "mute"}


def test_the_table_has_every_command_the_issue_asks_for() -> None:
    assert {spec.name for spec in COMMANDS} == ISSUE_COMMANDS
    assert {spec.name for spec in COMMANDS if spec.admin} == ADMIN_COMMANDS


def test_short_aliases_point_to_their_commands() -> None:
    assert lookup("p") is lookup("price")
    assert lookup("a") is lookup("analysis")
    assert lookup("c") is lookup("chart")


@pytest.mark.parametrize("typed", ["price", "/price", "/Price", "PRICE", "/price@MyCryptoBot",
                                   "/p@MyCryptoBot", "  /p  "])
def test_lookup_ignores_case_slash_and_bot_suffix(typed: str) -> None:
    spec = lookup(typed)
    assert spec is not None and spec.name == "price"


def test_lookup_of_an_unknown_name_is_none() -> None:
    assert lookup("prise") is None
    assert lookup("") is None


def test_every_alias_and_name_is_unique() -> None:
    names = [name for spec in COMMANDS for name in (spec.name, *spec.aliases)]
    assert len(names) == len(set(names)) == len(names_and_aliases())


@pytest.mark.parametrize("admin", [False, True])
def test_menu_commands_follow_telegram_rules(admin: bool) -> None:
    menu = menu_commands(admin)
    assert 1 <= len(menu) <= 100
    for command, description in menu:
        assert re.fullmatch(r"[a-z0-9_]{1,32}", command)
        assert 1 <= len(description) <= 256


def test_only_admins_see_admin_commands_in_the_menu() -> None:
    public = {name for name, _ in menu_commands(False)}
    everything = {name for name, _ in menu_commands(True)}
    assert public == ISSUE_COMMANDS - ADMIN_COMMANDS
    assert everything == ISSUE_COMMANDS


def test_help_lists_every_public_command_with_its_example_and_no_admin_one() -> None:
    text = help_text(is_admin=False)
    assert is_balanced(text)
    shown = visible_text(text)
    for spec in COMMANDS:
        if spec.admin:
            assert f"/{spec.name}" not in shown
        else:
            assert spec.usage in shown and spec.example in shown


def test_help_for_admins_adds_an_admin_section() -> None:
    shown = visible_text(help_text(is_admin=True))
    assert "Admin" in shown
    for spec in COMMANDS:
        assert spec.usage in shown


def test_help_tells_how_to_use_inline_mode() -> None:
    shown = visible_text(help_text(is_admin=False))
    assert "In any chat: type my @username and a coin (btc, btc 4h)" in shown


def test_help_mentions_aliases_and_escapes_the_usage() -> None:
    text = help_text(is_admin=False)
    assert "(or /p)" in text
    assert "/alert SYM CONDITION [every] [for DURATION]" in text
    assert "/chart SYM [interval]" in text


def test_help_for_one_command_shows_usage_example_and_intervals() -> None:
    analysis = lookup("analysis")
    assert analysis is not None
    shown = visible_text(command_help(analysis))
    assert "/analysis SYM [interval]" in shown
    assert "/analysis btc 4h" in shown
    assert "/a" in shown and "Intervals" in shown


def test_welcome_points_to_help_and_admin_commands_only_for_admins() -> None:
    assert is_balanced(welcome_text(False)) and is_balanced(welcome_text(True))
    assert "/help" in welcome_text(False)
    assert "/actors" not in welcome_text(False)
    assert "/actors" in welcome_text(True)


def test_every_table_command_is_documented_with_its_example() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    for spec in COMMANDS:
        assert f"/{spec.name}" in docs, f"/{spec.name} is missing from docs/commands.md"
        assert spec.example in docs, f"{spec.example!r} is missing from docs/commands.md"


def test_examples_use_their_own_command() -> None:
    for spec in COMMANDS:
        example_command = spec.example.split()[0]
        assert lookup(example_command) is spec


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "Price"},
        {"name": "a" * 33},
        {"name": "price-now"},
        {"aliases": ("P",)},
        {"summary": ""},
        {"summary": "x" * 257},
        {"min_args": 2, "max_args": 1},
    ],
)
def test_a_spec_breaking_telegram_rules_is_refused(fields: dict[str, object]) -> None:
    valid: dict[str, object] = {"name": "ok", "summary": "fine", "example": "/ok"}
    with pytest.raises(ValueError):
        CommandSpec(**(valid | fields))  # type: ignore[arg-type]


def test_usage_joins_name_and_arguments() -> None:
    alert = lookup("alert")
    alerts = lookup("alerts")
    assert alert is not None and alerts is not None
    assert alert.usage == "/alert SYM CONDITION [every] [for DURATION]"
    assert alerts.usage == "/alerts [ID]"


def test_help_for_alert_shows_every_form_with_its_usage_and_example() -> None:
    alert = lookup("alert")
    assert alert is not None and len(alert.forms) == 5
    text = command_help(alert)
    assert is_balanced(text)
    shown = visible_text(text)
    for form in alert.forms:
        assert f"{form.usage} — {form.meaning}" in shown
        assert f"e.g. {form.example}" in shown
    for example in ("/alert btc above 70k", "/alert eth -10%", "/alert sol rsi below 30 4h",
                    "every", "for 7d"):
        assert example in shown


def test_the_general_help_says_where_the_alert_forms_are() -> None:
    shown = visible_text(help_text(is_admin=False))
    assert "Alert conditions: above 70k, +5%, rsi below 30 4h; /help alert shows every form." \
        in shown


def test_a_command_with_one_form_shows_its_example() -> None:
    watch = lookup("watch")
    assert watch is not None and watch.forms == ()
    assert "Example: /watch sol" in visible_text(command_help(watch))


def test_every_form_of_every_command_is_documented_with_its_example() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    for spec in COMMANDS:
        for form in spec.forms:
            assert form.example in docs, f"{form.example!r} is missing from docs/commands.md"
