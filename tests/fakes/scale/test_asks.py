"""Asks and their answers: each answer is counted for the one command it answers."""

from __future__ import annotations

from fakes.scale import asks as ask
from fakes.telegram.records import SentRecord


def sent(chat_id: int, text: str, at: float = 0.0, method: str = "sendMessage") -> SentRecord:
    return SentRecord(method=method, chat_id=chat_id, text=text, buttons=(), message_id=1,
                      photo_bytes=0, parse_mode="HTML", callback_query_id=None, action=None,
                      at=at)


HELP = "<b>Commands</b>\n/price SYM\nCoins: btc, BTCUSDT and BTC/USDT all work."
PRICE = "<b>BTCUSDT</b> 80,251.69  ▲ +1.83%"
WATCH = "👀 <b>SOLUSDT</b> added to your watchlist."


def test_each_answer_counts_for_its_own_ask_even_when_another_mentions_the_symbol() -> None:
    asks = [ask.price(7), ask.help_card(7), ask.watch(7, "SOL"), ask.price(8)]
    records = [sent(7, HELP), sent(7, PRICE), sent(7, WATCH), sent(8, "⏳ slow down")]

    assert ask.answer_counts(records, asks) == {asks[0]: 1, asks[1]: 1, asks[2]: 1, asks[3]: 0}


def test_a_duplicate_answer_counts_twice_and_other_chats_do_not_count() -> None:
    price = ask.price(7)
    records = [sent(7, PRICE), sent(9, PRICE), sent(7, PRICE), sent(7, PRICE, method="getMe")]

    assert ask.answer_counts(records, [price]) == {price: 2}


def test_the_first_answer_time_is_taken_and_unanswered_asks_are_left_out() -> None:
    price, watch = ask.price(7), ask.watch(7, "ETH")
    records = [sent(7, PRICE, at=1.5), sent(7, PRICE, at=2.5)]

    assert ask.first_answers(records, [price, watch]) == {price: 1.5}


def test_an_alert_and_its_notice_are_told_apart() -> None:
    saved, notice = ask.alert_above(5, 105, "PIN"), ask.alert_notice(5, "PIN")
    records = [sent(5, "✅ Alert #1 saved: <b>PINUSDT</b> above 105.0000 (now 100.0000)."),
               sent(5, "🔔 <b>PINUSDT</b> is above 105.0000\nLast price: 110.0000")]

    assert saved.text == "/alert pin above 105"
    assert ask.answer_counts(records, [saved, notice]) == {saved: 1, notice: 1}
