"""Garbage from outside, over real loopback HTTP: no crash, no restart, no unlabelled number.

1. The exchange: a loopback host answers whatever a test hands it (wrong types, missing
   fields, NaN, negative or huge numbers, truncated JSON, HTML error pages, odd headers). The
   Binance client returns models holding exactly the numbers sent or raises a
   ``market.errors`` type; the market actors on the same host answer "unavailable" and never
   restart.
2. Telegram: the whole bot on the fake Bot API gets malformed and unusual updates, garbage
   commands and forged buttons interleaved with real commands. Every real command is answered,
   every garbage command gets a clear reply, nothing restarts, and no reply shows a price for a
   coin the exchange does not list.
"""

from __future__ import annotations

import json
import random
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from market.fetch_stats import FetcherStats
from actors.telegram_io import TelegramIO
from bot import CryptoBot
from fakes.telegram.bot_api import FakeBotApi
from core.config import BotConfig, RateLimitStrategy
from market.analysis import MarketAnalysis, MarketUnavailable
from market.binance import BinanceClient
from market.errors import MarketError
from fakes.loopback import LoopbackHandler, LoopbackServer
from fakes.exchange.simulator import ExchangeSimulator
from market.weights import WeightBudget
from supervision.snapshot import ActorSnapshot
from tests.actors.conftest import Market
from tests.market.test_binance_fuzz import (
    AVG,
    DAY,
    INFO,
    INTEGER_DAY_FIELDS,
    KLINES,
    PRICE,
    SIGNED_DAY_FIELDS,
    UNSIGNED_DAY_FIELDS,
    damaged,
    sent_integer,
    sent_number,
)

HOUR_MS = 3_600_000
Answer = tuple[int, dict[str, str], bytes]


# --- a loopback exchange that says whatever it is told ------------------------------------------

@dataclass
class Host:
    """Answers each path from ``faults`` if present, else with a valid body for the request."""

    faults: dict[str, Answer] = field(default_factory=dict)
    default: Answer | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def dispatch(self, handler: LoopbackHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        with self.lock:
            answer = self.faults.get(parts.path, self.default)
        if answer is None:
            answer = 200, {}, json.dumps(valid_body(parts.path, parse_qs(parts.query))).encode()
        status, headers, body = answer
        kind = "text/html" if body.lstrip().startswith(b"<") else "application/json"
        handler.send_bytes(status, body, content_type=kind, headers=headers)

    def answer(self, faults: dict[str, Answer], default: Answer | None = None) -> None:
        with self.lock:
            self.faults, self.default = faults, default


SYMBOLS = [f"C{n}USDT" for n in range(40)] + ["BTCUSDT", "ETHUSDT"]


def valid_body(path: str, query: dict[str, list[str]]) -> object:
    symbol = query.get("symbol", ["BTCUSDT"])[0]
    if path.endswith("/exchangeInfo"):
        entry = INFO["symbols"][0]  # type: ignore[index]
        return {**INFO, "symbols": [{**entry, "symbol": name, "baseAsset": name[:-4]}
                                    for name in SYMBOLS]}
    if path.endswith("/ticker/24hr"):
        if "symbols" in query:
            return [{**DAY, "symbol": name} for name in json.loads(query["symbols"][0])]
        return {**DAY, "symbol": symbol}
    if path.endswith("/ticker/price"):
        return {**PRICE, "symbol": symbol}
    if path.endswith("/klines"):
        return KLINES
    return AVG


@pytest.fixture(scope="module")
def host() -> Iterator[Host]:
    host = Host()
    server = LoopbackServer(("127.0.0.1", 0), host.dispatch)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    host.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield host
    server.shutdown()
    server.close_live_connections(2.0)
    server.server_close()
    thread.join(5)


# --- 1a. the client: typed errors or exactly the numbers sent -----------------------------------

CALLS: dict[str, tuple[object, Callable[[BinanceClient], Any]]] = {
    "price": (PRICE, lambda client: client.ticker_price("BTCUSDT")),
    "prices": ([PRICE, {**PRICE, "symbol": "ETHUSDT"}],
               lambda client: client.ticker_prices(["BTCUSDT", "ETHUSDT"])),
    "day": (DAY, lambda client: client.ticker_24h("ETHUSDT")),
    "klines": (KLINES, lambda client: client.klines("BTCUSDT", "1h", limit=2)),
    "avg": (AVG, lambda client: client.avg_price("BTCUSDT")),
    "info": (INFO, lambda client: client.exchange_info()),
}
STATUSES = [200] * 8 + [302, 400, 403, 404, 418, 429, 451, 500, 502, 503]
# HTTP carries header values as Latin-1 text on one line.
header_texts = st.one_of(st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF,
                                               exclude_characters="\x7f"), max_size=12),
                         st.sampled_from(["1", "0.01", "nan", "-5", "9" * 400, "9" * 5000,
                                          "Wed, 21 Oct 2015 07:28:00 GMT"]))


@st.composite
def answers(draw: st.DrawFn, template: object) -> Answer:
    whole = json.dumps(template).encode()
    body = draw(st.one_of(
        damaged(template).map(lambda value: json.dumps(value).encode()),
        st.integers(min_value=0, max_value=len(whole) - 1).map(lambda cut: whole[:cut]),
        st.sampled_from([b"", b"<html><body>502 Bad Gateway</body></html>", b"null",
                         b"[" * 5000, b'{"code":-1121,"msg":"Invalid symbol."}',
                         b'{"code":-1003,"msg":"IP banned until ' + b"9" * 5000 + b'"}']),
        st.binary(max_size=40),
    ))
    headers = draw(st.dictionaries(st.sampled_from(["Retry-After", "X-MBX-USED-WEIGHT-1M"]),
                                   header_texts))
    return draw(st.sampled_from(STATUSES)), headers, body


def check_numbers(call: str, value: Any, sent: Any) -> None:
    """``value`` holds the numbers in ``sent``, under the keys Binance documents."""
    if call == "price":
        assert value.price == sent_number(sent, "price")
    elif call == "prices":
        by_symbol = {item["symbol"]: item for item in sent}
        assert [one.symbol for one in value] == ["BTCUSDT", "ETHUSDT"]
        for one in value:
            assert one.price == sent_number(by_symbol[one.symbol], "price")
    elif call == "day":
        for key, name in UNSIGNED_DAY_FIELDS.items():
            assert getattr(value, name) == sent_number(sent, key)
        for key, name in SIGNED_DAY_FIELDS.items():
            assert getattr(value, name) == sent_number(sent, key, signed=True)
        for key, name in INTEGER_DAY_FIELDS.items():
            assert getattr(value, name) == sent_integer(sent, key)
    elif call == "klines":
        assert [float(close) for close in value.candles.close] == [float(r[4]) for r in sent]
        assert [int(time) for time in value.candles.open_time] == [r[0] for r in sent]
    elif call == "avg":
        assert value == sent_number(sent, "price")
    else:
        assert value.server_time_ms == sent_integer(sent, "serverTime")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), call=st.sampled_from(sorted(CALLS)),
       strategy=st.sampled_from(["sliding_window", "token_bucket"]))
def test_any_exchange_answer_is_a_model_of_the_numbers_sent_or_a_market_error(
    host: Host, data: st.DataObject, call: str, strategy: str
) -> None:
    template, request = CALLS[call]
    status, headers, body = data.draw(answers(template))
    host.answer({}, (status, headers, body))
    budget = WeightBudget(6000, cast(RateLimitStrategy, strategy))
    client = BinanceClient([host.url], max_connections=2, connect_timeout_s=1.0,
                           read_timeout_s=2.0, budget=budget, retry_total=1,
                           backoff_factor=0.0, backoff_max_s=0.05)
    try:
        value = request(client)
    except MarketError:
        return
    finally:
        client.budget.snapshot()  # whatever the headers said, the budget still reads
        client.close()
    assert status == 200
    check_numbers(call, value, json.loads(body))


# --- 1b. the market actors on the same host: unavailable, never restarted -----------------------

HTML = b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>"
DAY_PATH, KLINES_PATH, BOTH = "/api/v3/ticker/24hr", "/api/v3/klines", "both"


def day_with(**fields: object) -> bytes:
    return json.dumps({**DAY, **fields}).encode()


def one_kline(open_time: int, close_time: int) -> bytes:
    return json.dumps([[open_time, "1", "1", "1", "1", "1", close_time]]).encode()


BAD_ANSWERS: list[tuple[str, str, Answer]] = [
    ("html error page", BOTH, (200, {}, HTML)),
    ("truncated json", BOTH, (200, {}, json.dumps(DAY).encode()[:40])),
    ("empty body", BOTH, (200, {}, b"")),
    ("object for a list", KLINES_PATH, (200, {}, json.dumps({"rows": KLINES}).encode())),
    ("nan price", DAY_PATH, (200, {}, day_with(lastPrice="NaN"))),
    ("negative price", DAY_PATH, (200, {}, day_with(lastPrice="-5"))),
    ("price past float range", DAY_PATH, (200, {}, day_with(lastPrice=10**400))),
    ("price as 1e400", DAY_PATH, (200, {}, day_with(highPrice="1e400"))),
    ("missing field", DAY_PATH, (200, {}, json.dumps(
        {key: value for key, value in DAY.items() if key != "lastPrice"}).encode())),
    ("boolean number", DAY_PATH, (200, {}, day_with(volume=True))),
    ("kline time past int64", KLINES_PATH, (200, {}, one_kline(2**70, 2**70 + 5))),
    ("kline time in year 300000", KLINES_PATH,
     (200, {}, one_kline(10**16, 10**16 + HOUR_MS - 1))),
    ("kline time before 1970", KLINES_PATH, (200, {}, one_kline(-(10**15), -(10**15) + 5))),
    ("arrays nested past the recursion limit", BOTH, (200, {}, b"[" * 100_000)),
    ("garbage Retry-After on a 503", BOTH, (503, {"Retry-After": "9" * 5000}, b"busy")),
    ("used-weight header past float range", BOTH,
     (200, {"X-MBX-USED-WEIGHT-1M": "9" * 400}, b"[1, 2]")),
]
BAN = (418, {"Retry-After": "60"}, json.dumps(
    {"code": -1003, "msg": "IP banned until " + "9" * 5000}).encode())


def restarts(snapshot: ActorSnapshot) -> dict[str, int]:
    return {node.name: node.restarts for node in snapshot.walk() if node.restarts}


def test_the_market_actors_answer_unavailable_to_malformed_answers_and_never_restart(
    host: Host, make_market: Callable[..., Market]
) -> None:
    host.answer({})
    # The breaker stays closed (one success in its window) so every answer reaches the parser.
    market = make_market(exchange_urls=(host.url,), breaker_failure_threshold=10_000,
                         breaker_failure_rate=1.0, rate_limit_strategy="token_bucket")
    assert len(market.access.symbol_directory() or ()) == len(SYMBOLS)
    for index, (name, path, answer) in enumerate(BAD_ANSWERS):
        paths = [DAY_PATH, KLINES_PATH] if path == BOTH else [path]
        host.answer(dict.fromkeys(paths, answer))
        if DAY_PATH in paths:
            quotes = market.access.quotes([f"c{2 * index}"])
            assert quotes.unavailable is not None and quotes.tickers == (), name
        analysis = market.access.analysis(f"c{2 * index + 1}", "1h")
        assert isinstance(analysis, MarketUnavailable), (name, analysis)
    host.answer({}, BAN)  # last: the shared budget then holds every request back
    assert market.access.quotes(["btc"]).unavailable is not None
    snapshot = market.tree.snapshot(timeout_s=5)
    assert restarts(snapshot) == {}
    assert {node.state for node in snapshot.walk()} == {"running"}
    fetcher = snapshot.find_stats(FetcherStats)
    assert fetcher is not None and fetcher.weight is not None
    assert fetcher.weight.blocked_reason == "banned"


def test_once_the_exchange_answers_well_again_its_numbers_are_shown(
    host: Host, make_market: Callable[..., Market]
) -> None:
    host.answer({DAY_PATH: BAD_ANSWERS[0][2]})
    market = make_market(exchange_urls=(host.url,), breaker_failure_rate=1.0)
    assert market.access.quotes(["eth"]).unavailable is not None
    host.answer({})
    quotes = market.access.quotes(["eth"])
    assert [(one.symbol, one.last_price) for one in quotes.tickers] == [
        ("ETHUSDT", float(DAY["lastPrice"]))]  # type: ignore[arg-type]
    assert isinstance(market.access.analysis("btc"), MarketAnalysis)
    assert restarts(market.tree.snapshot(timeout_s=5)) == {}


# --- 2. Telegram: the whole bot on the fake Bot API ---------------------------------------------

TOKEN = "123456789:AAEhBP0av28ntIfnmYsaRgCc3dS5Xl0XvYs"
WAIT_S = 30.0
LOADING = "⏳ Working on it…"
USER = {"id": 500, "is_bot": False, "first_name": "Mallory"}


def message(chat_id: int, text: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"message_id": 1, "date": 1_700_000_000,
                            "chat": {"id": chat_id, "type": "private", "first_name": "M"},
                            "from": {**USER, "id": chat_id}, **extra}
    if text is not None:
        body["text"] = text
    return body


MALFORMED_UPDATES: list[dict[str, Any]] = [
    {},
    {"future_update_kind": {"anything": [1, 2, 3]}},
    {"message": "not an object"},
    {"message": {"text": "/help", "chat": {"id": 900}}},  # no date, no message_id
    {"message": {**message(901, "/help"), "chat": "not a chat"}},
    {"message": {**message(902, "/help"), "date": "yesterday"}},
    {"message": {**message(903, "/help"), "entities": [{"type": "bot_command"}]}},
    {"callback_query": {"id": "cq-1", "chat_instance": "1"}},  # no from, no data
    {"callback_query": {"id": "cq-2", "from": USER, "chat_instance": "1", "data": "1|w"}},
    {"callback_query": {"id": "cq-3", "from": USER, "chat_instance": "1",
                        "message": message(904, "card"), "data": None}},
    {"edited_message": message(905, "/price btc")},
    {"channel_post": {**message(906, "/price btc"), "chat": {"id": -100906, "type": "channel"}}},
    {"message": message(907, photo=[{"file_id": "x", "file_unique_id": "y", "width": 1,
                                     "height": 1}])},
    {"message": message(908, sticker={"file_id": "x"})},
    {"message": {**message(909, "/price btc"), "from": None}},
    {"message": {**message(-910, "hello group"),
                 "chat": {"id": -910, "type": "supergroup", "title": "g"}}},
    {"my_chat_member": {"chat": {"id": 911}, "garbage": True}},
    {"inline_query": {"id": "iq", "from": USER, "query": "btc", "offset": ""}},
]

GARBAGE_COMMANDS = [
    "/alert btc above lots", "/alert btc sideways 5", "/alert", "/delalert abc",
    "/delalert 99999999999999999999", "/chart btc 7x", "/analysis", "/analysis btc 4h extra",
    "/price " + " ".join(["btc"] * 11), "/price $$$", "/price ₿", "/price nosuchcoinatall",
    "/price zzzq", "/watch", "/top 10", "/prcie btc", "/xyzzy", "/",
    "/price " + "x" * 5000, "/p \u202egnp.exe\u200b\u200d", "/price 💰🚀", "/alert btc > -5",
    "/alert btc above 1e999", "/delalert #0", "/analysis ٣ 4h",
    "/price <b>btc</b>", "/price &amp;", "/price@fake_bot zzzq",
]
CLEAR = ("⚠️", "I don't know", "Send /help")
"""What a reply to a garbage command says: a warning with usage, or a pointer to /help."""
ODD_BUT_VALID = {"/price\tbtc\u00a0eth": "ETHUSDT", "/price btc,,,eth,": "ETHUSDT",
                 "/help nosuchtopic": "<b>Commands</b>"}
FORGED_BUTTONS = ["", "1", "1|a", "1|a|ZZZQQQ|1h|0", "1|c|NOSUCHCOINXX|4h", "9|forged|<b>",
                  "1|d|0", "1|m|" + "9" * 20, "x" * 200, "1|a|BTCUSDT|1h|0\u0000",
                  "héllo|w", "1|r|BTCUSDT|7h|1"]


def random_commands(count: int, seed: int) -> list[str]:
    """Commands with random arguments drawn from nasty alphabets (fixed seed: reproducible)."""
    rng = random.Random(seed)
    alphabet = "abcXYZ019$#@<>&;|,./\\_-+=:%'\"`~^ é٣𝟘💥\u200b\u202e\u0301"
    names = ["price", "p", "analysis", "a", "chart", "alert", "delalert", "watch", "unwatch",
             "help", "start", "prcie", "zz"]
    commands = []
    for _ in range(count):
        args = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 9)))
                for _ in range(rng.randint(0, 4))]
        commands.append(f"/{rng.choice(names)} " + " ".join(args))
    return commands


@dataclass
class Bot:
    fake: FakeBotApi
    simulator: ExchangeSimulator
    bot: CryptoBot

    def texts(self, chat: int) -> list[str]:
        return [r.text or "" for r in self.fake.sent(chat_id=chat)
                if r.method in ("sendMessage", "editMessageText", "sendPhoto")]

    def answered(self, chat: int) -> bool:
        return any(text and text != LOADING for text in self.texts(chat))


@pytest.fixture
def telegram(tmp_path: Path) -> Iterator[Bot]:
    simulator = ExchangeSimulator().start()
    fake = FakeBotApi(token=TOKEN).start()
    config = BotConfig().with_overrides(
        exchange_urls=(simulator.base_url,), telegram_token=TOKEN,
        telegram_api_url=fake.base_url, db_path=str(tmp_path / "bot.sqlite3"))
    bot = CryptoBot(config, transport_factory=lambda ctx: TelegramIO.start(ctx, config=config))
    bot.start()
    try:
        yield Bot(fake, simulator, bot)
    finally:
        bot.stop()
        fake.stop()
        simulator.stop()


def live_symbols(simulator: ExchangeSimulator) -> set[str]:
    info = requests.get(simulator.base_url + "/api/v3/exchangeInfo", timeout=5).json()
    return {one["symbol"] for one in info["symbols"] if one["status"] == "TRADING"}


def test_garbage_updates_and_commands_never_silence_or_restart_the_bot(telegram: Bot) -> None:
    fake = telegram.fake
    valid: dict[int, str] = {}  # chat -> what its reply must contain
    # (text, what its reply must show): CLEAR for garbage, None for random (any answer).
    garbage: list[tuple[str, str | tuple[str, ...] | None]] = [
        *((text, CLEAR) for text in GARBAGE_COMMANDS), *ODD_BUT_VALID.items(),
        *((text, None) for text in random_commands(15, seed=20240615))]
    for index, (text, _) in enumerate(garbage):
        if index < len(MALFORMED_UPDATES):
            fake.push_raw_update(MALFORMED_UPDATES[index])
        fake.push_message(2000 + index, 2000 + index, text)
        if index % 2 == 0:
            chat = 3000 + index
            command, marker = [("/price btc", "BTCUSDT"), ("/help", "/price SYM"),
                               ("/start", "Hi!"), ("/price eth sol", "SOLUSDT")][index // 2 % 4]
            fake.push_message(chat, chat, command)
            valid[chat] = marker
    card_chat = 4000
    fake.push_message(card_chat, card_chat, "/price btc")
    assert fake.wait_for(lambda: telegram.answered(card_chat), WAIT_S)
    card = fake.sent(chat_id=card_chat)[-1].message_id
    assert card is not None
    for data in FORGED_BUTTONS:
        fake.push_callback(card_chat, card_chat, card, data)
    # Both would be answered at once, in order: a reply to the first would come before /start's.
    fake.push_message(4001, 4001, "/help@someotherbot")
    fake.push_message(4001, 4001, "/start")

    def all_answered() -> bool:
        return (all(any(marker in text for text in telegram.texts(chat))
                    for chat, marker in valid.items())
                and all(telegram.answered(2000 + n) for n in range(len(garbage)))
                and telegram.answered(4001)
                and len(fake.sent(chat_id=card_chat, method="answerCallbackQuery"))
                >= len(FORGED_BUTTONS))

    assert fake.wait_for(all_answered, WAIT_S), {
        chat: telegram.texts(chat) for chat in [*valid, *range(2000, 2000 + len(garbage))]
        if not telegram.answered(chat)}
    for index, (text, expected) in enumerate(garbage):
        shown = "\n".join(telegram.texts(2000 + index))
        if isinstance(expected, tuple):
            assert any(marker in shown for marker in expected), (text, shown)
        elif expected is not None:
            assert expected in shown, (text, shown)
    # The command for another bot got nothing: the one reply in its chat is /start's.
    other_bot = telegram.texts(4001)
    assert len(other_bot) == 1 and "Hi!" in other_bot[0]
    # No price ever shown for a coin the exchange does not list.
    live = live_symbols(telegram.simulator)
    for record in fake.sent():
        for symbol in re.findall(r"<b>([A-Z0-9]{2,20})</b>", record.text or ""):
            assert symbol in live or not any(c.isalpha() for c in symbol), record.text
    # Every update, malformed ones too, was confirmed: polling never stuck on one.
    assert fake.wait_for(lambda: fake.pending_updates() == 0, WAIT_S)
    snapshot = telegram.bot.status(timeout_s=5)
    assert restarts(snapshot) == {}
    assert {node.state for node in snapshot.walk()} <= {"running", "lazy"}  # lazy: chart
