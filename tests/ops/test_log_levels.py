"""/loglevel changes an existing logger's level and says what it was; it creates none."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from ops.log_levels import UnknownLogger, set_log_level


@pytest.fixture
def restored() -> Iterator[None]:
    root = logging.getLogger()
    named = logging.getLogger("tests.ops.loglevel_subject")
    levels = (root.level, named.level)
    yield
    root.setLevel(levels[0])
    named.setLevel(levels[1])


def test_the_root_level_changes_and_the_old_one_is_reported(restored: None) -> None:
    logging.getLogger().setLevel(logging.INFO)
    change = set_log_level("DEBUG")
    assert (change.logger, change.old, change.new) == ("root", "INFO", "DEBUG")
    assert logging.getLogger().level == logging.DEBUG


def test_a_named_logger_reports_what_it_inherited_before(restored: None) -> None:
    logging.getLogger().setLevel(logging.WARNING)
    logging.getLogger("tests.ops.loglevel_subject").setLevel(logging.NOTSET)
    change = set_log_level("ERROR", "tests.ops.loglevel_subject")
    assert change.old == "NOTSET" and change.effective_before == "WARNING"
    assert logging.getLogger("tests.ops.loglevel_subject").level == logging.ERROR


def test_an_unknown_logger_is_refused_and_not_created() -> None:
    with pytest.raises(UnknownLogger):
        set_log_level("DEBUG", "no.such.logger.anywhere")
    assert "no.such.logger.anywhere" not in logging.Logger.manager.loggerDict


def test_a_placeholder_parent_is_not_a_logger(restored: None) -> None:
    logging.getLogger("tests.ops.placeholder_parent.child")
    with pytest.raises(UnknownLogger):
        set_log_level("DEBUG", "tests.ops.placeholder_parent")


def test_levels_outside_the_four_are_refused() -> None:
    with pytest.raises(ValueError):
        set_log_level("CRITICAL")


def test_a_refused_name_is_answered_with_existing_names_near_it(restored: None) -> None:
    from ops.log_levels import known_loggers

    logging.getLogger("zzadmin.sub.one")
    assert known_loggers("zzadmin.other") == ("zzadmin.sub.one",)
    assert "zzadmin" in known_loggers("qqq", limit=1000)


def test_a_misspelt_name_is_answered_with_its_closest_spelling(restored: None) -> None:
    from ops.log_levels import known_loggers

    logging.getLogger("tests.ops.loglevel_subject")
    assert known_loggers("tests.ops.loglevel_subjct")[0] == "tests.ops.loglevel_subject"
