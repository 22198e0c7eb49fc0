"""/export and /forget through the whole bot: the real PTB stack against the fake Bot API, the
exchange simulator, a real SQLite file checked row by row, real threads."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
from telegram import CallbackQuery, Chat, Message, Update, User

from actors.telegram_io import TelegramIO, convert_update
from actors.user_data import UserDataCommands
from bot import CryptoBot
from chat.callbacks import ForgetButton, encode
from chat.cards_user_data import FORGET_CONFIRM_WINDOW_S, FORGET_EXPIRED, export_too_soon_text
from chat.parsing import read_text
from core.config import BotConfig
from fakes.exchange.simulator import ExchangeSimulator
from fakes.telegram.bot_api import FakeBotApi, SentRecord
from messages.chat import ButtonPressed, ChatCommand, CommandDone
from messages.user_data import ForgetUser, Forgotten, UserData, UserDataCounts
from storage.errors import StorageUnavailable
from storage.read_pool import ReadPool
from storage.user_data import USER_TABLES
from supervision.address import Address
from tests.storage.user_rows import fill_user, rows_of
from tests.users.test_export import user_data as stored_user
from users.export import EXPORT_INTERVAL_S

TOKEN = "123456789:AAEhBP0av28ntIfnmYsaRgCc3dS5Xl0XvYs"
ANN, BOB = 7, 8
WAIT_S = 30.0


@dataclass
class World:
    fake: FakeBotApi
    db_path: Path

    def say(self, text: str, marker: str, *, chat: int = ANN, user: int = ANN,
            method: str | None = None) -> SentRecord:
        """``user`` writes ``text`` in ``chat``; the first new record there showing ``marker``."""
        before = len(self.fake.sent(chat_id=chat))
        self.fake.push_message(chat, user, text,
                               chat_type="private" if chat > 0 else "supergroup")
        return self.wait(chat, marker, before, method)

    def press(self, record: SentRecord, label: str, marker: str, *,
              user: int = ANN) -> SentRecord:
        chat = record.chat_id
        assert chat is not None
        data = next(d for row in record.buttons for (text, d) in row if label in text)
        before = len(self.fake.sent(chat_id=chat))
        self.fake.push_callback(chat, user, record.message_id or 0, data)
        return self.wait(chat, marker, before)

    def wait(self, chat: int, marker: str, before: int,
             method: str | None = None) -> SentRecord:
        def found() -> SentRecord | None:
            return next((r for r in self.fake.sent(chat_id=chat)[before:]
                         if marker in (r.text or "") and (method is None or r.method == method)),
                        None)
        assert self.fake.wait_for(lambda: found() is not None, WAIT_S), (
            marker, [(r.method, r.text) for r in self.fake.sent(chat_id=chat)[before:]])
        record = found()
        assert record is not None
        return record

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.db_path, timeout=5.0)

    def rows(self, user_id: int) -> dict[str, list[tuple[Any, ...]]]:
        conn = self.db()
        try:
            return rows_of(conn, user_id)
        finally:
            conn.close()

    def fill(self, user_id: int) -> None:
        conn = self.db()
        conn.isolation_level = None
        try:
            fill_user(conn, user_id)
        finally:
            conn.close()


@pytest.fixture
def make_world(tmp_path: Path) -> Iterator[Callable[[float], World]]:
    """``make_world(sweep_s)``: the bot, its alert sweep every ``sweep_s``."""
    stops: list[Callable[[], object]] = []

    def make(sweep_s: float) -> World:
        simulator = ExchangeSimulator().start()
        stops.append(simulator.stop)
        fake = FakeBotApi(token=TOKEN).start()
        stops.append(fake.stop)
        db_path = tmp_path / "bot.sqlite3"
        config = BotConfig().with_overrides(
            exchange_urls=(simulator.base_url,), telegram_token=TOKEN,
            telegram_api_url=fake.base_url, db_path=str(db_path),
            alert_sweep_interval_s=sweep_s)
        bot = CryptoBot(config,
                        transport_factory=lambda ctx: TelegramIO.start(ctx, config=config))
        bot.start()
        stops.append(bot.stop)
        world = World(fake, db_path)
        world.say("/watchlist", "watchlist")  # answered: the file exists and is migrated
        return world

    yield make
    for stop in reversed(stops):
        stop()


@pytest.fixture
def world(make_world: Callable[[float], World]) -> World:
    """The bot with an hourly sweep: after the one at start, no alert fires behind a test."""
    return make_world(3600.0)


def test_export_sends_every_kind_of_the_users_data_as_one_json_document(world: World) -> None:
    world.fill(ANN)
    world.fill(BOB)
    world.say("/alert btc above 10000000", "saved")
    world.say("/watch sol", "added")  # its commit also commits the logged /alert

    sent = world.say("/export", "Your data", method="sendDocument")

    assert sent.filename is not None and sent.filename.startswith("cryptobot-export-7-")
    assert "upload_document" in [r.action for r in world.fake.sent(ANN, "sendChatAction")]
    assert sent.document is not None
    document = json.loads(sent.document)
    assert (document["format"], document["schema_version"], document["user_id"]) == (
        "cryptobot.user-data", 1, ANN)
    assert document["time_zone"] == "Europe/Berlin"
    assert sorted((a["kind"], a["symbol"]) for a in document["alerts"]) == [
        ("percent", "ETHUSDT"), ("price", "ADAUSDT"), ("price", "BTCUSDT"),
        ("price", "BTCUSDT"), ("rsi", "SOLUSDT")]
    assert [w["symbol"] for w in document["watchlist"]] == ["BTCUSDT", "DOGEUSDT", "SOLUSDT"]
    assert document["digest"]["local_time"] == "08:30"
    assert document["settings"]["effective"]["quiet"] == "23:00-07:00"
    assert document["alerts"][0]["created_at"]["local"].endswith("+02:00")
    # The filled rows plus /alert, whose log row the /watch commit carried.
    assert document["command_log"]["rows"] >= 4
    assert "4 alerts" not in (sent.text or "") and "5 alerts" in (sent.text or "")


def test_forget_asks_first_and_deletes_only_on_the_owners_confirm(world: World) -> None:
    world.fill(ANN)
    world.fill(BOB)
    world.say("/alert btc above 10000000", "saved")
    bob_before = world.rows(BOB)

    in_a_group = world.say("/forget", "private chat", chat=-1001)
    preview = world.say("/forget", "Delete all your data?")
    assert "5 alerts" in (preview.text or "") and in_a_group.buttons == ()
    assert world.press(preview, "Cancel", "nothing was deleted").message_id == preview.message_id
    assert all(world.rows(ANN)[table] for table in ("users", "alerts", "watchlist"))

    preview = world.say("/forget", "Delete all your data?")
    before = len(world.fake.sent(chat_id=ANN))
    world.fake.push_callback(ANN, BOB, preview.message_id or 0, preview.buttons[0][0][1])
    refused = world.wait(ANN, "isn't yours", before)
    assert refused.method == "answerCallbackQuery"
    assert world.rows(ANN)["alerts"]

    done = world.press(preview, "Delete all my data", "Deleted")
    assert "5 alerts" in (done.text or "") and "2 alert firings" in (done.text or "")
    assert world.rows(ANN) == {table: [] for table in USER_TABLES}
    bob_after = world.rows(BOB)
    assert {t: r for t, r in bob_after.items() if t != "command_log"} == {
        t: r for t, r in bob_before.items() if t != "command_log"}
    # Bob's own rows plus the log row of his refused press.
    assert set(bob_before["command_log"]) <= set(bob_after["command_log"])

    again = world.press(preview, "Delete all my data", "already gone")
    assert again.message_id == preview.message_id
    assert world.say("/forget", "nothing to delete").buttons == ()
    world.say("/watch sol", "added")  # a write: its commit carries the presses' log rows
    # The presses that deleted are logged without the user; later commands are new uses.
    assert {row[3] for row in world.rows(ANN)["command_log"]} <= {"forget", "watch"}
    conn = world.db()
    anonymous = conn.execute("SELECT COUNT(*) FROM command_log WHERE user_id IS NULL"
                             " AND command = 'button'").fetchone()[0]
    conn.close()
    assert anonymous == 2


def test_after_blocking_and_unblocking_the_bot_export_and_forget_still_work(
    make_world: Callable[[float], World],
) -> None:
    world = make_world(0.5)  # the sweep pushes notifications at once
    world.say("/watch sol", "added")
    world.say("/alert btc above 10000000", "saved")
    world.fake.block(ANN)
    conn = world.db()
    with conn:  # an alert that has crossed already: the next sweep pushes its notification
        conn.execute("INSERT INTO alerts (user_id, chat_id, symbol, direction, price,"
                     " created_at) VALUES (?, ?, 'BTCUSDT', 'below', 10000000, 0)", (ANN, ANN))
    conn.close()

    def refused() -> list[Any]:
        return [call for call in world.fake.calls("sendMessage")
                if call.chat_id == ANN and call.status == 403]
    assert world.fake.wait_for(lambda: bool(refused()), WAIT_S), "no notification was pushed"
    assert refused()[0].description == "Forbidden: bot was blocked by the user"

    world.fake.unblock(ANN)
    sent = world.say("/export", "Your data", method="sendDocument")
    assert sent.document is not None
    exported = json.loads(sent.document)
    assert "SOLUSDT" in [w["symbol"] for w in exported["watchlist"]]
    assert any(a["direction"] == "below" for a in exported["alerts"])  # nothing was dropped
    done = world.press(world.say("/forget", "Delete all your data?"), "Delete all my data",
                       "Deleted")
    assert "1 watched coin" in (done.text or "") and "2 alerts" in (done.text or "")
    assert world.rows(ANN) == {table: [] for table in USER_TABLES}
    # The failed notification was reported once, never resent after the unblock.
    assert len(refused()) == 1
    assert not [r for r in world.fake.sent(chat_id=ANN) if "🔔" in (r.text or "")]


class StubWriter:
    """The db_writer's address, answering every ForgetUser with what it would delete."""

    name = "db_writer"

    def __init__(self) -> None:
        self.offered: list[object] = []

    def offer(self, message: object) -> bool:
        self.offered.append(message)
        assert isinstance(message, ForgetUser) and message.reply_to is not None
        message.reply_to.set(Forgotten(deleted=UserDataCounts(alerts=3)))
        return True


def confirm_press(*, message_date: float | None) -> ButtonPressed:
    return ButtonPressed(request_id="r1", chat_id=ANN, user_id=ANN, message_id=5,
                         callback_id="c1", data=encode(ForgetButton(True), ANN),
                         message_date=message_date)


def test_a_confirm_press_under_an_old_forget_preview_deletes_nothing_and_asks_again() -> None:
    """The preview listed what the button deletes *then*: pressed days later (on a message
    scrolled up to), it deleted everything stored since, which the user was never shown."""
    now = 1_800_000_000.0
    writer = StubWriter()
    commands = UserDataCommands(writer=cast(Address, writer), reads=cast(ReadPool, None),
                                clock=lambda: now)

    old = commands.forget_button(confirm_press(message_date=now - FORGET_CONFIRM_WINDOW_S - 1),
                                 ForgetButton(True))
    assert writer.offered == [] and old.outcome == "usage"
    (answer,) = old.replies
    assert answer.text == FORGET_EXPIRED and answer.buttons == () and answer.edit_message_id == 5

    fresh = commands.forget_button(confirm_press(message_date=now - 60), ForgetButton(True))
    assert len(writer.offered) == 1 and fresh.outcome == "ok"


def test_the_date_of_the_message_under_a_button_comes_from_telegrams_copy() -> None:
    """Telegram sends the message's own (send) date with a press, not the press's time."""
    sent_at = datetime(2026, 1, 2, tzinfo=UTC)
    update = Update(1, callback_query=CallbackQuery(
        "c1", User(ANN, "ann", False), "ci", data="x",
        message=Message(5, sent_at, Chat(ANN, "private"))))
    pressed = convert_update(update, 0.0)
    assert isinstance(pressed, ButtonPressed) and pressed.message_date == sent_at.timestamp()



class StubReads:
    """The read pool, serving a small stored user for any id (or failing when told)."""

    def __init__(self) -> None:
        self.reads = 0
        self.fail = False

    def user_data(self, user_id: int) -> UserData:
        self.reads += 1
        if self.fail:
            raise StorageUnavailable("busy")
        return stored_user(user_id=user_id)


def export_command(user: int = ANN) -> ChatCommand:
    return ChatCommand(request_id=f"r{user}", chat_id=user, user_id=user, text="/export",
                       parsed=read_text("/export"), chat_type="private")


def test_export_sends_at_most_one_document_a_minute_per_user() -> None:
    """Each export is up to ~2 MB read, built, held and uploaded for one short command: the
    command budget alone (20 a minute) let one user make the bot upload ~40 MB a minute."""
    now = [1_800_000_000.0]
    reads = StubReads()
    commands = UserDataCommands(writer=cast(Address, StubWriter()),
                                reads=cast(ReadPool, reads), clock=lambda: now[0])

    first = commands.export(export_command())
    now[0] += 20
    again = commands.export(export_command())
    other = commands.export(export_command(BOB))
    assert first.replies[0].document is not None and other.replies[0].document is not None
    assert again.replies[0].document is None and again.outcome == "usage"
    assert again.replies[0].text == export_too_soon_text(EXPORT_INTERVAL_S - 20)
    assert reads.reads == 2  # the refused one read nothing

    reads.fail = True
    now[0] += EXPORT_INTERVAL_S
    assert commands.export(export_command()).outcome == "unavailable"
    reads.fail = False  # a failed read spends nothing: the next try is served
    assert commands.export(export_command()).replies[0].document is not None


def finished(user: int, request_id: str) -> CommandDone:
    return CommandDone(request_id=request_id, replies=(), command="price", outcome="ok",
                       user_id=user)


def test_a_command_still_running_when_its_users_data_is_forgotten_is_logged_without_them(
) -> None:
    """/forget deletes the user's command-log rows, but a command of theirs still running
    (a slow /chart) was logged with their id right after: a row naming them again."""
    mono = [100.0]
    commands = UserDataCommands(writer=cast(Address, StubWriter()),
                                reads=cast(ReadPool, StubReads()), monotonic=lambda: mono[0])
    mono[0] = 105.0
    commands.forget_button(confirm_press(message_date=None), ForgetButton(True))

    mono[0] = 108.0  # received at 101 (7 s ago), before the forget: anonymous
    assert commands.is_anonymous(finished(ANN, "slow-chart"), latency_ms=7000.0)
    # Received after it (a new use), or someone else's: logged as usual.
    assert not commands.is_anonymous(finished(ANN, "new-watch"), latency_ms=1000.0)
    assert not commands.is_anonymous(finished(BOB, "bobs"), latency_ms=7000.0)
    # The press that deleted is anonymous too (once).
    assert commands.is_anonymous(finished(ANN, "r1"), latency_ms=0.0)
    mono[0] = 105.0 + 3600
    assert not commands.is_anonymous(finished(ANN, "hour-late"), latency_ms=7000.0)
