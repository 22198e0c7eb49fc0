"""Issue 12 item 4: long arguments are never echoed in full, and one command never becomes more
than a bounded number of messages (ten 400-character /price arguments once gave 10 messages,
32,960 characters; 3,000 characters as one symbol came back twice)."""

from __future__ import annotations

from tests.actors.test_malformed_input import LOADING, WAIT_S, Bot, telegram  # noqa: F401


def replies_to(bot: Bot, chat: int) -> list[str]:
    return [text for text in bot.texts(chat) if text and text != LOADING]


def test_ten_long_price_arguments_get_one_short_reply_with_one_excerpt(telegram: Bot) -> None:
    fake = telegram.fake
    arguments = [chr(ord("a") + n) * 400 for n in range(10)]
    fake.push_message(501, 501, "/price " + " ".join(arguments))
    fake.push_message(502, 502, "/price " + "q" * 3000)
    fake.push_message(503, 503, "/price btc " + "z" * 400)  # a known coin next to junk
    assert fake.wait_for(lambda: all(replies_to(telegram, c) for c in (501, 502, 503)), WAIT_S)
    many, one, mixed = (replies_to(telegram, c) for c in (501, 502, 503))
    assert len(many) == 1 and len(many[0]) < 300, many
    assert "10 of your coins were not recognised" in many[0] and "and 9 more" in many[0]
    assert many[0].count("a" * 20) == 1 and "b" * 20 not in many[0]
    assert len(one) == 1 and len(one[0]) < 300 and one[0].count("q" * 20) == 1, one
    assert len(mixed) == 1 and "BTCUSDT" in mixed[0] and mixed[0].count("z" * 20) == 1, mixed

