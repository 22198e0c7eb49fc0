"""Issue 12 item 6: exchange URLs with credentials and raw upstream bodies never reach users;
logs and `bot.py config` show the URL with its credentials masked."""

from __future__ import annotations

import logging

from bot import _secrets, render_config
from chat.cards import unavailable_text
from core.config import BotConfig
from core.logs import Redactor
from market.analysis import MarketAnalysis, MarketUnavailable

PASSWORD = "S3cretPass"


def with_credentials(base_url: str) -> str:
    return base_url.replace("http://", f"http://apiuser:{PASSWORD}@")


def test_an_upstream_html_error_reaches_the_user_as_a_short_reason_without_the_url(
        make_market, simulator, caplog):
    market = make_market(exchange_urls=(with_credentials(simulator.base_url),))
    assert isinstance(market.access.analysis("btc"), MarketAnalysis)  # credentials still work
    simulator.inject("5xx", endpoint="*", status=502)  # nginx's HTML page
    with caplog.at_level(logging.DEBUG):
        answer = market.access.analysis("sol")
    assert isinstance(answer, MarketUnavailable)
    text = unavailable_text(answer)
    assert "the exchange answered 502" in text
    for leak in (PASSWORD, "apiuser", "<html", "Bad Gateway", "127.0.0.1", "http"):
        assert leak not in text, (leak, text)
    logged = "\n".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)
    assert PASSWORD not in logged
    assert "***@127.0.0.1" in logged  # the log still says which URL failed


def test_mask_url_credentials_keeps_the_host_and_path():
    from core.config import mask_url_credentials
    assert (mask_url_credentials("https://u:p@ex.com:8443/api?x=1")
            == "https://***@ex.com:8443/api?x=1")
    assert mask_url_credentials("https://only-user@ex.com") == "https://***@ex.com"
    assert mask_url_credentials("https://ex.com/a@b") == "https://ex.com/a@b"


def test_bot_config_output_and_the_log_redactor_mask_url_credentials():
    config = BotConfig().with_overrides(
        exchange_urls=(f"http://apiuser:{PASSWORD}@127.0.0.1:18093", "https://api.binance.com"))
    rendered = render_config(config)
    assert PASSWORD not in rendered and "apiuser" not in rendered
    assert 'exchange_urls = ["http://***@127.0.0.1:18093", "https://api.binance.com"]' in rendered
    assert PASSWORD not in Redactor(_secrets(config)).redact(f"GET http://apiuser:{PASSWORD}@h/")
