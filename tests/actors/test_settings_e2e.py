"""/settings through the whole bot: python-telegram-bot against the fake Bot API, the exchange
simulator, a real SQLite file. Showing, explaining, setting and refusing; the buttons edit the
card in place after the commit; and /analysis, /chart and /mute follow what the user set."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from chat.html import visible_text
from tests.actors.test_telegram_e2e import (  # noqa: F401  (make_telegram is a fixture)
    ADMIN,
    GROUP,
    WAIT_S,
    Telegram,
    group_say,
    make_telegram,
)


def stored_settings(tmp_path: Path, user_id: int) -> dict[str, str]:
    with sqlite3.connect(tmp_path / "bot.sqlite3", timeout=5.0) as db:
        row = db.execute("SELECT settings FROM users WHERE user_id = ?", (user_id,)).fetchone()
    return dict(json.loads(row[0])) if row else {}


def shown(record: Any) -> str:
    return visible_text(record.text or "")


def labels(record: Any) -> list[str]:
    return [text for row in record.buttons for (text, _) in row]


def test_settings_are_shown_explained_set_and_refused(make_telegram, tmp_path):
    tg: Telegram = make_telegram()
    card = tg.say(31, "/settings", "Your settings")
    text = shown(card)
    for line in ("Interval: 1h", "Time zone: UTC", "Quiet hours: off", "Card style: compact",
                 "Cool-down: 1h", "/settings timezone Europe/Berlin"):
        assert line in text, text
    assert "⏱ • 1h" in labels(card) and "🃏 • compact" in labels(card)
    assert len(card.buttons) == 4  # interval, style, quiet, cool-down; the zone is typed

    saved = tg.say(31, "/settings tz europe/berlin", "Saved")
    assert "time zone is now Europe/Berlin" in shown(saved)
    assert stored_settings(tmp_path, 31) == {"timezone": "Europe/Berlin"}
    assert "Time zone: Europe/Berlin" in shown(tg.say(31, "/settings", "Your settings"))

    explained = shown(tg.say(31, "/settings quiet", "Quiet hours"))
    assert "Quiet hours (quiet): off" in explained and "/settings quiet 23:00-07:00" in explained
    assert "already" in shown(tg.say(31, "/settings timezone Europe/Berlin", "already"))

    unknown = shown(tg.say(31, "/settings language de", "no setting"))
    assert "interval, timezone, quiet, style, cooldown" in unknown and "Example:" in unknown
    bad = shown(tg.say(31, "/settings quiet 25:00-07:00", "not a time range"))
    assert "Usage: /settings quiet HH:MM-HH:MM|off" in bad
    assert "Example: /settings quiet 23:00-07:00" in bad
    bad_zone = shown(tg.say(31, "/settings timezone ../../etc/passwd", "not a time zone"))
    assert "Europe/Berlin" in bad_zone
    assert stored_settings(tmp_path, 31) == {"timezone": "Europe/Berlin"}  # nothing else stored


def test_a_button_saves_and_edits_the_card_and_analysis_follows_the_settings(make_telegram,
                                                                             tmp_path):
    tg: Telegram = make_telegram()
    default = tg.say(32, "/analysis btc", "BTCUSDT")
    assert "BTCUSDT · 1h" in shown(default) and "Support" not in shown(default)
    assert "UTC" in shown(default)

    card = tg.say(32, "/settings", "Your settings")
    edited = tg.press(32, card, "⏱ 4h", "Saved", method="editMessageText")
    assert edited.message_id == card.message_id
    assert "interval is now 4h" in shown(edited) and "Interval: 4h" in shown(edited)
    assert "⏱ • 4h" in labels(edited)
    edited = tg.press(32, edited, "🃏 detailed", "Saved", method="editMessageText")
    assert edited.message_id == card.message_id and "🃏 • detailed" in labels(edited)
    assert stored_settings(tmp_path, 32) == {"interval": "4h", "style": "detailed"}
    tg.say(32, "/settings timezone America/New_York", "Saved")

    analysis = tg.say(32, "/analysis btc", "BTCUSDT")
    text = shown(analysis)
    assert "BTCUSDT · 4h" in text  # the user's default interval
    assert "Support" in text and "Less" in labels(analysis)  # opened detailed
    assert "America/New_York" in text and "UTC" not in text  # "as of" in their zone
    assert "BTCUSDT · 1d" in shown(tg.say(32, "/analysis btc 1d", "BTCUSDT"))  # typed wins
    # The card's buttons keep their own interval.
    less = tg.press(32, analysis, "Less", "BTCUSDT", method="editMessageText")
    assert "BTCUSDT · 4h" in shown(less) and "Support" not in shown(less)

    photo = tg.say(32, "/chart eth", "ETHUSDT", method="sendPhoto")
    assert "ETHUSDT · 4h" in shown(photo) and "America/New_York" in shown(photo)


def test_a_new_cooldown_reaches_the_users_live_recurring_alerts(make_telegram, tmp_path):
    tg: Telegram = make_telegram()
    saved = tg.say(33, "/alert btc above 10000000", "saved")
    alert_id = int(saved.text.split("#")[1].split(" ")[0])
    with sqlite3.connect(tmp_path / "bot.sqlite3", timeout=5.0) as db:
        db.execute("UPDATE alerts SET recurring = 1, cooldown_s = 3600 WHERE id = ?", (alert_id,))
    answer = shown(tg.say(33, "/settings cooldown 30m", "Saved"))
    assert "cool-down is now 30m" in answer and "Your 1 live recurring alert uses it" in answer
    with sqlite3.connect(tmp_path / "bot.sqlite3", timeout=5.0) as db:
        cooldown = db.execute("SELECT cooldown_s FROM alerts WHERE id = ?", (alert_id,)).fetchone()
    assert cooldown == (1800.0,)


def test_in_a_group_each_members_settings_are_their_own(make_telegram, tmp_path):
    tg: Telegram = make_telegram()
    card = group_say(tg, 41, "/settings", "Your settings")
    assert "Saved" in shown(group_say(tg, 41, "/settings interval 1d", "Saved"))
    assert stored_settings(tmp_path, 41) == {"interval": "1d"}
    assert "BTCUSDT · 1d" in shown(group_say(tg, 41, "/analysis btc", "BTCUSDT"))
    assert "BTCUSDT · 1h" in shown(group_say(tg, 42, "/analysis btc", "BTCUSDT"))
    # Another member's press on 41's card changes nothing.
    data = next(d for row in card.buttons for (text, d) in row if "15m" in text)
    answers = len(tg.fake.sent(method="answerCallbackQuery"))
    tg.fake.push_callback(GROUP, 42, card.message_id, data)
    assert tg.fake.wait_for(
        lambda: len(tg.fake.sent(method="answerCallbackQuery")) > answers, WAIT_S)
    assert "isn't yours" in (tg.fake.sent(method="answerCallbackQuery")[-1].text or "")
    assert stored_settings(tmp_path, 41) == {"interval": "1d"}
    assert stored_settings(tmp_path, 42) == {}


def test_mute_says_until_when_in_the_admins_zone(make_telegram):
    tg: Telegram = make_telegram()
    tg.say(ADMIN, "/settings timezone Asia/Tokyo", "Saved")
    answer = shown(tg.say(ADMIN, "/mute 2h", "muted"))
    assert "Asia/Tokyo" in answer and "UTC" not in answer
