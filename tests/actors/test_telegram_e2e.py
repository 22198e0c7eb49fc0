"""The whole bot through the real python-telegram-bot stack: the fake Bot API server and the
exchange simulator on loopback, a real SQLite file, real threads. Every command and button."""

from __future__ import annotations

import logging
import sqlite3
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from actors.telegram_io import TelegramIO
from bot import CryptoBot
from fakes.telegram.bot_api import FakeBotApi
from core.config import BotConfig
from fakes.exchange.simulator import ExchangeSimulator

TOKEN = "123456789:AAEhBP0av28ntIfnmYsaRgCc3dS5Xl0XvYs"
ADMIN = 1
WAIT_S = 30.0


@dataclass
class Telegram:
    fake: FakeBotApi
    simulator: ExchangeSimulator
    bot: CryptoBot

    def say(self, chat: int, text: str, marker: str, *, method: str | None = None) -> Any:
        """Send ``text`` as user ``chat``; the first new record whose text has ``marker``."""
        before = len(self.fake.sent(chat_id=chat))
        self.fake.push_message(chat, chat, text)
        return self.wait(chat, marker, before, method)

    def wait(self, chat: int, marker: str, before: int, method: str | None = None) -> Any:
        def found() -> Any:
            return next((r for r in self.fake.sent(chat_id=chat)[before:]
                         if marker in (r.text or "") and (method is None or r.method == method)),
                        None)
        assert self.fake.wait_for(lambda: found() is not None, WAIT_S), (
            marker, [(r.method, r.text) for r in self.fake.sent(chat_id=chat)[before:]])
        return found()

    def press(self, chat: int, record: Any, label: str, marker: str,
              method: str | None = None) -> Any:
        data = next(d for row in record.buttons for (text, d) in row if label in text)
        before = len(self.fake.sent(chat_id=chat))
        self.fake.push_callback(chat, chat, record.message_id, data)
        return self.wait(chat, marker, before, method)


@pytest.fixture
def make_telegram(tmp_path: Path) -> Iterator[Any]:
    started: list[tuple[CryptoBot, FakeBotApi, ExchangeSimulator]] = []

    def make(**overrides: Any) -> Telegram:
        simulator = ExchangeSimulator().start()
        fake = FakeBotApi(token=TOKEN).start()
        config = BotConfig().with_overrides(**{
            "exchange_urls": (simulator.base_url,), "telegram_token": TOKEN,
            "telegram_api_url": fake.base_url, "db_path": str(tmp_path / "bot.sqlite3"),
            "admin_ids": (ADMIN,), "alert_sweep_interval_s": 0.5, **overrides})
        bot = CryptoBot(config, transport_factory=lambda ctx: TelegramIO.start(ctx, config=config))
        bot.start()
        started.append((bot, fake, simulator))
        return Telegram(fake, simulator, bot)

    yield make
    for bot, fake, simulator in started:
        bot.stop()
        fake.stop()
        simulator.stop()


def test_every_command_is_answered_through_telegram(make_telegram, caplog):
    tg = make_telegram()
    with caplog.at_level(logging.DEBUG):
        assert tg.say(7, "/start", "Hi!")
        assert tg.say(7, "/help", "/price SYM")
        assert tg.say(7, "/price btc eth", "ETHUSDT")
        assert tg.say(7, "/analysis btc", "RSI").buttons
        assert tg.say(7, "/chart eth 4h", "ETHUSDT", method="sendPhoto").photo_bytes > 10_000
        assert tg.say(7, "/top", "Gainers")
        saved = tg.say(7, "/alert btc above 10000000", "saved")
        alert_id = saved.text.split("#")[1].split(" ")[0]
        assert tg.say(7, "/alerts", f"#{alert_id}")
        assert tg.say(7, f"/delalert {alert_id}", "deleted")
        assert tg.say(7, "/watch sol", "added")
        assert tg.say(7, "/watchlist", "SOLUSDT")
        assert tg.say(7, "/unwatch sol", "removed")
        assert tg.say(7, "/actors", "not available")
        assert tg.say(ADMIN, "/actors", "root")
        assert tg.say(ADMIN, "/health", "ok")
        stats = tg.say(ADMIN, "/stats", "Runtime").text
        assert re.search(r"request weight: [1-9][\d,]* of [\d,]+ per minute", stats), stats
        assert tg.say(7, "/prcie btc", "Did you mean /price?")
        assert tg.say(7, "hello", "/help")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert TOKEN not in logged and TOKEN.split(":")[1] not in logged


def test_every_analysis_button_edits_the_card_in_place(make_telegram):
    tg = make_telegram()
    card = tg.say(8, "/analysis eth", "ETHUSDT")
    details = tg.press(8, card, "Details", "Support", method="editMessageText")
    assert details.message_id == card.message_id
    back = tg.press(8, details, "Less", "ETHUSDT", method="editMessageText")
    assert "Support" not in back.text
    four_hours = tg.press(8, back, "4h", "4h", method="editMessageText")
    calls_before = len(tg.fake.calls("editMessageText"))
    tg.fake.push_callback(8, 8, four_hours.message_id,
                          next(d for row in four_hours.buttons for (t, d) in row if "Refresh" in t))
    # Same data within the cache TTL: Telegram says "not modified", which counts as done.
    assert tg.fake.wait_for(lambda: len(tg.fake.calls("editMessageText")) > calls_before, WAIT_S)
    photo = tg.press(8, four_hours, "Chart", "ETHUSDT", method="sendPhoto")
    assert tg.press(8, photo, "1d", "1d", method="sendPhoto")
    # Every press is answered; the last answer may arrive just after its photo.
    assert tg.fake.wait_for(lambda: len(tg.fake.sent(method="answerCallbackQuery")) >= 6, WAIT_S)


def test_a_forged_button_is_answered_politely(make_telegram):
    tg = make_telegram()
    card = tg.say(9, "/price btc", "BTCUSDT")
    tg.fake.push_callback(9, 9, card.message_id, "9|forged|<b>")
    assert tg.fake.wait_for(lambda: any("out of date" in (r.text or "")
                                        for r in tg.fake.sent(method="answerCallbackQuery")),
                            WAIT_S)


def test_a_slow_answer_is_a_loading_message_edited_into_the_result(make_telegram):
    tg = make_telegram()
    tg.say(10, "/price btc", "BTCUSDT")  # symbols known: only the klines will be slow
    tg.simulator.inject("slow", endpoint="/api/v3/klines", delay_s=1.0)
    loading = tg.say(10, "/analysis sol", "Working on it", method="sendMessage")
    edited = tg.wait(10, "SOLUSDT", 0, method="editMessageText")
    assert edited.message_id == loading.message_id


def test_strangers_and_floods_get_one_answer_each_then_silence(make_telegram):
    tg = make_telegram(allowed_users=(ADMIN, 11), user_rate_limit_count=2,
                       user_rate_limit_window_s=600)
    assert tg.say(12, "/price btc", "private")
    tg.say(11, "/help", "/price")
    tg.say(11, "/help", "/price")
    assert tg.say(11, "/help", "faster than I can answer")
    before = len(tg.fake.sent(chat_id=11))
    tg.fake.push_message(11, 11, "/help")
    tg.say(ADMIN, "/help", "/price")  # the flood's next message was handled before this one
    assert len(tg.fake.sent(chat_id=11)) == before


def test_a_crossed_alert_notifies_its_owner_once_with_buttons(make_telegram):
    tg = make_telegram()
    tg.say(13, "/alert btc above 1", "saved")
    note = tg.wait(13, "now off", 0)
    labels = [text for row in note.buttons for (text, _) in row]
    assert any("Analysis" in label for label in labels)
    tg.say(13, "/help", "/price")  # a few sweeps later: still exactly one notification
    assert len([r for r in tg.fake.sent(chat_id=13) if "now off" in (r.text or "")]) == 1


def test_alert_and_watchlist_buttons_work(make_telegram):
    tg = make_telegram()
    tg.say(14, "/alert btc above 10000000", "saved")
    listing = tg.say(14, "/alerts", "Your alerts")
    assert tg.press(14, listing, "🗑", "deleted")
    tg.say(14, "/watch eth", "added")
    watchlist = tg.say(14, "/watchlist", "ETHUSDT")
    answers = len(tg.fake.sent(method="answerCallbackQuery"))
    tg.fake.push_callback(14, 14, watchlist.message_id,
                          next(d for row in watchlist.buttons for (t, d) in row if "Refresh" in t))
    assert tg.fake.wait_for(lambda: len(tg.fake.sent(method="answerCallbackQuery")) > answers,
                            WAIT_S)
    tg.say(14, "/alert eth above 1", "saved")
    fired = tg.wait(14, "now off", 0)
    assert tg.press(14, fired, "Re-arm", "re-armed")
    assert tg.press(14, fired, "Analysis", "ETHUSDT")


GROUP = -1001500


def group_say(tg: Telegram, user: int, text: str, marker: str) -> Any:
    before = len(tg.fake.sent(chat_id=GROUP))
    tg.fake.push_message(GROUP, user, text, chat_type="supergroup")
    return tg.wait(GROUP, marker, before)


def toasts(tg: Telegram) -> list[str]:
    return [r.text or "" for r in tg.fake.sent(method="answerCallbackQuery")]


def test_in_a_group_only_the_user_a_message_was_made_for_can_press_its_buttons(make_telegram):
    """Issue 12 item 10: B pressed a watchlist button on A's message and saw B's watchlist."""
    tg = make_telegram()
    group_say(tg, 22, "/watch sol", "SOLUSDT")  # B's own watchlist
    group_say(tg, 21, "/watch eth", "ETHUSDT")
    a_list = group_say(tg, 21, "/watchlist", "ETHUSDT")
    assert a_list.buttons, a_list
    refresh = next(d for row in a_list.buttons for (t, d) in row if "Refresh" in t)
    b_list_data = refresh.replace("|21|", "|22|")  # what B's own Refresh button carries
    edits = len(tg.fake.calls("editMessageText"))

    tg.fake.push_callback(GROUP, 22, a_list.message_id, refresh)
    assert tg.fake.wait_for(lambda: "This button isn't yours — send the command yourself."
                            in toasts(tg), WAIT_S)
    tg.fake.push_callback(GROUP, 22, a_list.message_id, b_list_data)
    assert tg.fake.wait_for(lambda: any("out of date" in t for t in toasts(tg)), WAIT_S)
    answered = len(toasts(tg))
    tg.fake.push_callback(GROUP, 21, a_list.message_id, refresh)  # A's own press still works
    assert tg.fake.wait_for(lambda: len(toasts(tg)) > answered, WAIT_S)
    group_say(tg, 21, "/help", "/price")  # everything before it has been handled

    assert all("SOLUSDT" not in (r.text or "") for r in tg.fake.sent(chat_id=GROUP)
               if r.message_id == a_list.message_id)
    assert len(tg.fake.calls("editMessageText")) <= edits + 1  # A's refresh only


def test_a_strangers_flood_is_rate_limited_never_logged_and_group_chatter_unanswered(
        make_telegram, tmp_path):
    """Issue 12 item 5: 50 commands got 50 "private" replies and 53 command_log rows, and a
    stranger's "hello everyone" in a group got that reply every time."""
    tg = make_telegram(allowed_users=(ADMIN,), user_rate_limit_count=3,
                       user_rate_limit_window_s=600)
    for _ in range(20):
        tg.fake.push_message(12, 12, "/price btc")
    for _ in range(5):
        tg.fake.push_message(GROUP, 12, "hello everyone", chat_type="supergroup")
    tg.fake.push_message(GROUP, 12, "/price btc", chat_type="supergroup")  # over budget: quiet
    tg.say(ADMIN, "/help", "/price")  # handled after every message above
    # A chat gets a message a second: wait for the four answers (and one more if there were).
    assert tg.fake.wait_for(lambda: len(tg.fake.sent(chat_id=12)) >= 4, WAIT_S)

    replies = [r.text or "" for r in tg.fake.sent(chat_id=12)]
    assert replies.count("Sorry, this bot is private.") == 3
    assert len([r for r in replies if "faster than I can answer" in r]) == 1
    assert len(replies) == 4
    assert tg.fake.sent(chat_id=GROUP) == []

    assert tg.bot.stop()  # the DB writer commits what it holds
    with sqlite3.connect(tmp_path / "bot.sqlite3") as db:
        logged = dict(db.execute("SELECT command, COUNT(*) FROM command_log GROUP BY command"))
    assert logged == {"help": 1}


def test_anonymous_admins_of_two_groups_do_not_share_alerts(make_telegram):
    """Issue 12 item 2: an alert an anonymous admin set in group A was listed by /alerts in
    group B and deleted there by /delalert (both came from.id 1087968824)."""
    tg = make_telegram()
    group_a = {"id": -1001601, "type": "supergroup", "title": "A"}
    group_b = {"id": -1001602, "type": "supergroup", "title": "B"}

    def anonymous(group: dict[str, Any], text: str, marker: str) -> Any:
        before = len(tg.fake.sent(chat_id=group["id"]))
        tg.fake.push_raw_update({"message": {
            "message_id": 1, "date": 1, "chat": group, "text": text, "sender_chat": group,
            "from": {"id": 1087968824, "is_bot": True, "first_name": "Group",
                     "username": "GroupAnonymousBot"},
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]}})
        return tg.wait(group["id"], marker, before)

    for group in (group_a, group_b):  # the fake learns the chats
        tg.fake.push_message(group["id"], 5, "hello", chat_type="supergroup")
    saved = anonymous(group_a, "/alert btc above 10000000", "saved")
    alert_id = saved.text.split("#")[1].split(" ")[0]

    listed_in_b = anonymous(group_b, "/alerts", "alert")
    assert f"#{alert_id}" not in listed_in_b.text
    refused = anonymous(group_b, f"/delalert {alert_id}", alert_id)
    assert "deleted" not in refused.text
    assert f"#{alert_id}" in anonymous(group_a, "/alerts", "alert").text
    assert "deleted" in anonymous(group_a, f"/delalert {alert_id}", "deleted").text


def test_every_alert_form_is_understood_through_telegram(make_telegram):
    """Issue 15: percent, RSI, every and for come through the real stack; a malformed form is
    answered with its own usage, and /alerts ID shows one alert's details with UTC."""
    tg = make_telegram()
    saved = tg.say(15, "/alert btc +50% every for 7d", "saved").text
    assert "BTCUSDT</b> +50% from " in saved and "every time (cool-down 1 h)" in saved
    assert " UTC. " in saved  # the end time, in the user's zone (UTC until they set one)
    alert_id = saved.split("#")[1].split(" ")[0]
    assert tg.say(15, "/alert sol rsi below 30", "saved").text.count("RSI(14) 1h below 30") == 1
    refusal = tg.say(15, "/alert btc 5%", "Say +5% for a rise").text
    assert "/alert eth -10%" in refusal
    details = tg.say(15, f"/alerts {alert_id}", f"Alert #{alert_id}").text
    assert "Set: " in details and " UTC" in details
    assert tg.say(15, "/help alert", "Every form:")
