"""/digest against a real db_writer and read pool: it answers "set" or "stopped" only after
the commit, shows the schedule in the user's time zone, and says so honestly when the writer
does not confirm in time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from actors.digest_commands import digest_command
from chat.cards import UNCONFIRMED
from chat.digest_args import DigestAt
from chat.html import visible_text
from chat.parsing import Invocation, read_text
from chat.replies import CommandResult
from messages.chat import ChatCommand
from messages.storage import SaveSettings
from tests.actors import storage_fixtures
from tests.actors.storage_fixtures import StorageWorld
from tests.market.conftest import ManualClock

make_storage = storage_fixtures.make_storage  # the fixture, found by pytest by name

USER = 42


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


def run(world: StorageWorld, clock: ManualClock, text: str,
        timeout_s: float = 5.0) -> CommandResult:
    reading = read_text(text)
    assert isinstance(reading, Invocation) and isinstance(reading.args, DigestAt)
    command = ChatCommand(request_id=f"r-{text}-{clock()}", chat_id=USER, user_id=USER,
                          text=text, parsed=reading)
    return digest_command(writer=world.writer, reads=world.pool, command=command,
                          args=reading.args, wall_clock=clock, timeout_s=timeout_s)


def said(result: CommandResult) -> str:
    [reply] = result.replies
    return visible_text(reply.text)


def test_setting_a_digest_is_confirmed_after_the_commit_with_the_next_one(
        make_storage: Callable[..., StorageWorld]) -> None:
    clock = ManualClock(utc(2026, 3, 28, 22))
    world = make_storage(wall_clock=clock)
    world.write(SaveSettings, request_id="tz", user_id=USER, chat_id=USER,
                settings=(("timezone", "Europe/Berlin"),))
    result = run(world, clock, "/digest 2:30")
    assert "Daily digest set for 02:30 every day (Europe/Berlin)" in said(result)
    assert "Next one: Sun 29 Mar 03:30" in said(result)  # 02:30 does not exist that night
    assert result.replies[0].keep and result.outcome == "ok"
    assert world.query("SELECT user_id, chat_id, minute FROM digests") == [(USER, USER, 150)]
    assert "already goes out" in said(run(world, clock, "/digest 02:30"))


def test_digest_alone_shows_the_schedule_or_how_to_set_one(
        make_storage: Callable[..., StorageWorld]) -> None:
    clock = ManualClock(utc(2026, 6, 1, 9))
    world = make_storage(wall_clock=clock)
    assert "You have no daily digest" in said(run(world, clock, "/digest"))
    run(world, clock, "/digest 8:30pm")
    shown = said(run(world, clock, "/digest"))
    assert "every day at 20:30 (UTC)" in shown and "Next one: Mon 1 Jun 20:30" in shown
    assert not run(world, clock, "/digest").replies[0].keep


def test_stopping_says_whether_there_was_one(make_storage: Callable[..., StorageWorld]) -> None:
    clock = ManualClock(utc(2026, 6, 1, 9))
    world = make_storage(wall_clock=clock)
    run(world, clock, "/digest 07:00")
    assert "Daily digest stopped" in said(run(world, clock, "/digest off"))
    assert world.query("SELECT COUNT(*) FROM digests") == [(0,)]
    assert "no daily digest to stop" in said(run(world, clock, "/digest off"))


def test_a_writer_that_does_not_answer_in_time_gets_could_not_confirm(
        make_storage: Callable[..., StorageWorld]) -> None:
    clock = ManualClock(utc(2026, 6, 1, 9))
    world = make_storage(wall_clock=clock)
    release = world.probe.hold("begin")
    try:
        result = run(world, clock, "/digest 07:00", timeout_s=0.2)
    finally:
        release.set()
    assert result.replies[0].text == UNCONFIRMED and result.outcome == "unavailable"


def test_digest_alone_while_todays_is_due_and_not_sent_yet_names_today_not_tomorrow(
        make_storage: Callable[..., StorageWorld]) -> None:
    # Regression: asked between the digest's time and the round that sends it (every 30 s,
    # or up to half an hour while the exchange cannot price it), /digest said "Next one:"
    # tomorrow, and then today's came.
    clock = ManualClock(utc(2026, 6, 1, 7))
    world = make_storage(wall_clock=clock)
    run(world, clock, "/digest 08:00")
    clock.advance(3600 + 10)  # 08:00:10, nobody has sent it yet
    assert "Next one: Mon 1 Jun 08:00" in said(run(world, clock, "/digest"))
