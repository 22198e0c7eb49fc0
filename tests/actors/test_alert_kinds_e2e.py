"""Alerts of the new kinds through the whole bot and the real python-telegram-bot stack (fake
Bot API, exchange simulator, SQLite file): what the owner's Telegram chat receives."""

from __future__ import annotations

import time
from typing import Any

import pykka

from messages.storage import AddAlert
from tests.actors import test_telegram_e2e
from tests.actors.test_telegram_e2e import WAIT_S, Telegram

make_telegram = test_telegram_e2e.make_telegram  # the fixture, found by pytest by name


def add_alert(tg: Telegram, chat: int, key: str, **fields: Any) -> int:
    """Store an alert the way the /alert handler does: an AddAlert to the db_writer."""
    saved: pykka.ThreadingFuture[Any] = pykka.ThreadingFuture()
    writer = tg.bot._tree.address("db_writer")  # the test reaches the writer
    writer.tell(AddAlert(request_id=key, user_id=chat, chat_id=chat, symbol="BTCUSDT",
                         reply_to=saved, **fields))
    alert_id = saved.get(timeout=WAIT_S).alert_id
    assert isinstance(alert_id, int)
    return alert_id


def labels(record: Any) -> list[str]:
    return [text for row in record.buttons for (text, _) in row]


def test_a_recurring_percent_alert_notifies_once_with_only_an_analysis_button(make_telegram):
    tg = make_telegram()
    tg.say(31, "/start", "Hi!")
    alert_id = add_alert(tg, 31, "p", direction="above", price=1.05, kind="percent",
                         base_price=1.0, recurring=True, cooldown_s=3600.0)
    note = tg.wait(31, "re-arms after it clears", 0)
    assert f"#{alert_id}" in note.text and "+5%" in note.text
    assert labels(note) == ["Analysis"]
    assert tg.press(31, note, "Analysis", "BTCUSDT")
    tg.say(31, "/help", "/price")  # a few sweeps later: the price still above, no second one
    assert len([r for r in tg.fake.sent(chat_id=31)
                if f"#{alert_id}" in (r.text or "") and "🔔" in (r.text or "")]) == 1


def test_an_rsi_alert_fires_through_the_indicator_actor(make_telegram):
    tg = make_telegram()
    tg.say(32, "/start", "Hi!")
    alert_id = add_alert(tg, 32, "r", direction="below", price=99.5, kind="rsi",
                         interval="1h")
    note = tg.wait(32, "RSI(14) 1h is below 99.5", 0)
    assert f"#{alert_id}" in note.text and "now off" in note.text
    assert "Re-arm" in "".join(labels(note))


def test_an_expired_alert_says_so_once_and_can_be_re_armed(make_telegram):
    tg = make_telegram()
    tg.say(33, "/start", "Hi!")
    alert_id = add_alert(tg, 33, "e", direction="above", price=10_000_000.0,
                         expires_at=time.time() + 1.0)
    note = tg.wait(33, "ended without firing", 0)
    assert f"#{alert_id}" in note.text
    tg.say(33, "/help", "/price")  # a few sweeps later: still told once
    assert len([r for r in tg.fake.sent(chat_id=33)
                if "ended without firing" in (r.text or "")]) == 1
    # Re-armed, it lives as long again (about a second here, so it may expire once more).
    assert tg.press(33, note, "Re-arm", "re-armed")
