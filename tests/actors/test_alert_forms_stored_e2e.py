"""Every /alert form typed in Telegram becomes the row the sweep evaluates, and fires.

The grammar and handler tests check the ``AddAlert`` they build, the sweep tests store alerts
directly; this joins them through the whole bot (fake Bot API, python-telegram-bot, exchange
simulator, SQLite file): what a user types is what gets stored, and what is stored fires."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from tests.actors import test_telegram_e2e
from actors.alerts import AlertStats
from supervision.messages import Describe
from tests.actors.test_telegram_e2e import WAIT_S, Telegram

make_telegram = test_telegram_e2e.make_telegram  # the fixture, found by pytest by name


def stored_alert(tg: Telegram, alert_id: int) -> dict[str, Any]:
    path = Path(tg.bot.config.db_path)
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        conn.row_factory = sqlite3.Row
        row = conn.execute("SELECT * FROM alerts WHERE id = ?", (alert_id,)).fetchone()
    assert row is not None, alert_id
    return dict(row)


def sweep_count(tg: Telegram) -> int:
    report = tg.bot._tree.address("alerts").ask(Describe(), timeout=WAIT_S)
    assert isinstance(report.stats, AlertStats)
    return report.stats.sweeps


def alert_id_of(answer: Any) -> int:
    return int(answer.text.split("#", 1)[1].split(" ", 1)[0])


def test_each_typed_form_is_stored_as_the_sweep_reads_it(make_telegram):
    tg = make_telegram()
    user = 51
    tg.say(user, "/settings cooldown 30m", "30")
    tg.say(user, "/settings interval 4h", "4h")

    percent = stored_alert(tg, alert_id_of(tg.say(user, "/alert btc +50% every", "saved")))
    assert percent["kind"] == "percent" and percent["direction"] == "above"
    assert percent["base_price"] > 0 and abs(percent["price"] / percent["base_price"] - 1.5) < 1e-9
    assert percent["recurring"] == 1 and percent["cooldown_s"] == 1800.0
    assert percent["interval"] is None and percent["ended"] is None

    rsi = stored_alert(tg, alert_id_of(tg.say(user, "/alert eth rsi above 95", "saved")))
    assert (rsi["kind"], rsi["interval"], rsi["direction"], rsi["price"]) == ("rsi", "4h",
                                                                            "above", 95.0)
    assert rsi["recurring"] == 0 and rsi["base_price"] is None

    before = time.time()
    expiring = stored_alert(tg, alert_id_of(tg.say(user, "/alert sol below 0.0001 for 2d",
                                                   "saved")))
    assert expiring["kind"] == "price" and expiring["direction"] == "below"
    assert before + 2 * 86_400 - 60 <= expiring["expires_at"] <= time.time() + 2 * 86_400

    listing = tg.say(user, "/alerts", "Your alerts").text
    assert listing.count("#") >= 3 and "RSI(14) 4h" in listing


def test_alerts_typed_in_telegram_fire_by_kind(make_telegram):
    tg = make_telegram()
    user = 52
    level = tg.say(user, "/alert btc above 1 every", "saved")
    note = tg.wait(user, "re-arms after it clears", 0)
    assert f"#{alert_id_of(level)}" in note.text
    rsi = tg.say(user, "/alert btc rsi below 99.5 1h", "saved")
    rsi_note = tg.wait(user, "RSI(14) 1h is below 99.5", 0)
    assert f"#{alert_id_of(rsi)}" in rsi_note.text
    sweeps = sweep_count(tg)
    assert tg.fake.wait_for(lambda: sweep_count(tg) >= sweeps + 2, WAIT_S)
    # Two sweeps later the price is still above 1 and the RSI below 99.5: each fired once.
    sent = [r.text or "" for r in tg.fake.sent(chat_id=user)]
    assert sum("re-arms after it clears" in text for text in sent) == 1
    assert sum("RSI(14) 1h is below 99.5" in text for text in sent) == 1
