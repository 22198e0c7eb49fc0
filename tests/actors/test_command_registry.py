"""Every command is declared once and answered by exactly one handler, and users can find it."""

from __future__ import annotations

import pytest

from actors.command_handlers import HANDLERS, check_registry, handles
from chat.commands import COMMANDS, help_text, menu_commands, worker_commands
from chat.html import visible_text
from chat.parsing import Invocation, read_text


def test_every_worker_command_has_exactly_one_handler_and_every_handler_a_command() -> None:
    assert set(HANDLERS) == set(worker_commands())
    check_registry()


def test_commands_the_conversation_answers_itself_have_no_worker_handler() -> None:
    inline = {spec.name for spec in COMMANDS if spec.inline}
    assert inline == {"start", "help"}
    assert not inline & set(HANDLERS)


def test_a_missing_or_unknown_handler_is_caught() -> None:
    with pytest.raises(RuntimeError, match="missing"):
        check_registry({name: HANDLERS[name] for name in list(HANDLERS)[1:]})
    with pytest.raises(RuntimeError, match="unknown"):
        check_registry({**HANDLERS, "nonsense": HANDLERS["price"]})


@pytest.mark.parametrize("name", ["nonsense", "p", "help", "price"])
def test_handles_refuses_unknown_aliased_inline_and_second_handlers(name: str) -> None:
    with pytest.raises(ValueError):
        handles(name)(HANDLERS["price"])


@pytest.mark.parametrize("spec", COMMANDS, ids=lambda spec: spec.name)
def test_every_command_is_in_help_and_the_menu_for_those_who_may_run_it(spec) -> None:
    admin_menu = dict(menu_commands(admin=True))
    user_menu = dict(menu_commands(admin=False))
    assert admin_menu[spec.name] == spec.summary
    assert (spec.name in user_menu) is not spec.admin
    assert spec.usage in visible_text(help_text(is_admin=True))
    assert (spec.usage in visible_text(help_text(is_admin=False))) is not spec.admin


@pytest.mark.parametrize("spec", COMMANDS, ids=lambda spec: spec.name)
def test_every_example_reads_as_its_command_with_typed_arguments(spec) -> None:
    reading = read_text(spec.example)
    assert isinstance(reading, Invocation) and reading.spec is spec
    assert type(reading.args) is type(spec.parse_args(spec, tuple(spec.example.split()[1:])))


@pytest.mark.parametrize("form", [(spec, form) for spec in COMMANDS for form in spec.forms],
                         ids=lambda pair: pair[1].example)
def test_every_form_example_reads_as_its_command_with_typed_arguments(form) -> None:
    spec, shape = form
    reading = read_text(shape.example)
    assert isinstance(reading, Invocation) and reading.spec is spec, reading
    assert shape.usage.startswith(f"/{spec.name}")
