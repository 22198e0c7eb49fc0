"""Every metric the shipped Grafana dashboard queries is in a real scrape of a running bot.

A dashboard panel over a renamed or never-exported metric shows "No data" forever and nobody
notices until the night it was needed; so the PromQL of every panel (and of the template
variables) is read, each metric name it names is extracted, and each must be a sample name in
``/metrics`` of a bot started in-process against the exchange simulator and the fake Bot API,
after a few commands gave the histograms samples.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from actors.telegram_io import TelegramIO
from bot import CryptoBot
from core.config import BotConfig
from fakes.exchange.simulator import ExchangeSimulator
from fakes.telegram.bot_api import FakeBotApi
from ops.status_http import StatusServer
from tests.actors.telegram_fixtures import TOKEN, WAIT_S

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json"
USER = 7

# Words of PromQL that look like metric names but are not.
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
             "unless", "offset", "inf", "nan"}
_IDENTIFIER = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression (or a Grafana ``label_values(...)``) reads."""
    names = set(re.findall(r"label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,", expr))
    expr = re.sub(r"label_values\([^)]*\)", " ", expr)
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', " ", expr)  # strings (label values, regexes)
    expr = re.sub(r"\{[^}]*\}", " ", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", " ", expr)  # range durations
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    expr = re.sub(r"\$\{?\w+\}?", " ", expr)  # dashboard variables
    for match in _IDENTIFIER.finditer(expr):
        word = match.group()
        is_call = expr[match.end():].lstrip().startswith("(")
        is_number_part = match.start() > 0 and expr[match.start() - 1].isdigit()
        if not is_call and not is_number_part and word.lower() not in _KEYWORDS:
            names.add(word)
    return names


def dashboard_queries(dashboard: dict[str, Any]) -> list[str]:
    """Every PromQL expression in the panels' targets and the template variables."""
    queries = [target["expr"] for panel in dashboard["panels"]
               for target in panel.get("targets", ())]
    for variable in dashboard.get("templating", {}).get("list", ()):
        if variable.get("type") == "query":
            query = variable["query"]
            queries.append(query["query"] if isinstance(query, dict) else query)
    return queries


def test_metric_names_are_read_out_of_promql_and_nothing_else() -> None:
    expr = ('histogram_quantile(0.95, sum by (le, command) (rate('
            'cryptobot_command_latency_seconds_bucket{job=~"$job",stat=~"a.b"}[5m]))) '
            '+ 2 * max(cryptobot_health{level="failing"}) or vector(0) > 1e3')
    assert metric_names(expr) == {"cryptobot_command_latency_seconds_bucket", "cryptobot_health"}
    assert metric_names("label_values(cryptobot_up, job)") == {"cryptobot_up"}


def test_the_dashboard_shows_what_the_issue_asks_for() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    queried = set().union(*map(metric_names, dashboard_queries(dashboard)))
    assert {"cryptobot_health", "cryptobot_commands_total",
            "cryptobot_command_latency_seconds_bucket", "cryptobot_actor_stat",
            "cryptobot_breaker_open", "cryptobot_actor_restarts_total",
            "process_resident_memory_bytes"} <= queried
    assert any("histogram_quantile" in query for query in dashboard_queries(dashboard))


@pytest.fixture
def running_bot(tmp_path: Path) -> Iterator[tuple[CryptoBot, FakeBotApi, StatusServer]]:
    with ExchangeSimulator() as simulator, FakeBotApi(token=TOKEN) as telegram:
        config = BotConfig().with_overrides(
            exchange_urls=(simulator.base_url,), telegram_token=TOKEN,
            telegram_api_url=telegram.base_url, db_path=str(tmp_path / "bot.sqlite3"))
        bot = CryptoBot(config,
                        transport_factory=lambda ctx: TelegramIO.start(ctx, config=config))
        bot.start()
        try:
            with StatusServer(bot.status, port=0, metrics=bot.metrics) as status:
                yield bot, telegram, status
        finally:
            bot.stop()


def _say(telegram: FakeBotApi, text: str, marker: str) -> None:
    before = len(telegram.sent(chat_id=USER))
    telegram.push_message(USER, USER, text)
    assert telegram.wait_for(lambda: any(marker in (record.text or "")
                                         for record in telegram.sent(chat_id=USER)[before:]),
                             WAIT_S), (text, marker)


def test_every_metric_the_dashboard_queries_is_in_a_real_scrape(
    running_bot: tuple[CryptoBot, FakeBotApi, StatusServer]
) -> None:
    _bot, telegram, status = running_bot
    _say(telegram, "/start", "Hi!")
    _say(telegram, "/price btc", "BTCUSDT")
    _say(telegram, "/analysis eth", "RSI")
    response = requests.get(f"{status.url}/metrics", timeout=WAIT_S)
    assert response.status_code == 200
    scraped = {sample.name for family in text_string_to_metric_families(response.text)
               for sample in family.samples}
    queried = set().union(*map(metric_names,
                               dashboard_queries(json.loads(DASHBOARD.read_text()))))
    assert queried - scraped == set()
    assert "cryptobot_exchange_request_seconds_bucket" in scraped
