"""The analysis card reads as a dozen labelled lines, with details and warnings where due."""

from __future__ import annotations

from dataclasses import replace

from chat.cards import analysis_card
from chat.html import is_balanced, visible_text
from market.indicator_set import IndicatorSet
from tests.chat.builders import analysis, indicators


def card_lines(text: str) -> list[str]:
    assert is_balanced(text), text
    return visible_text(text).split("\n")


def test_the_compact_card_has_every_headline_figure_in_about_a_dozen_lines() -> None:
    lines = card_lines(analysis_card(analysis(), expanded=False))
    assert lines == [
        "BTCUSDT · 1h",
        "Price 65,000.00  ▲ +2.35% (24h)",
        "24h range 63,000.00 – 66,000.00",
        "Trend: strong uptrend (score +5 of ±5)",
        "RSI(14) 72.4 — overbought",
        "MACD hist +30.0000 — above signal, bullish",
        "EMA50 64,000.00 — price above",
        "EMA200 60,000.00 — price above",
        "Bollinger %B 0.75 — mid-band",
        "as of 14:00 UTC",
    ]


def test_the_card_uses_html_emphasis_for_symbol_price_and_verdict() -> None:
    text = analysis_card(analysis(), expanded=False)
    assert "<b>BTCUSDT</b>" in text
    assert "<b>65,000.00</b>" in text
    assert "<b>strong uptrend</b>" in text
    assert "<i>as of 14:00 UTC</i>" in text


def test_a_fall_gets_a_down_arrow() -> None:
    lines = card_lines(analysis_card(analysis(change_24h_pct=-1.2), expanded=False))
    assert "Price 65,000.00  ▼ -1.20% (24h)" in lines


def test_zones_and_positions_are_put_in_words() -> None:
    bearish = indicators(close=59_000.0, rsi_14=25.0, macd_histogram=-4.5,
                         bollinger_upper=60_000.0, bollinger_lower=59_100.0)
    text = visible_text(analysis_card(analysis(bearish), expanded=False))
    assert "RSI(14) 25.0 — oversold" in text
    assert "MACD hist -4.5000 — below signal, bearish" in text
    assert "EMA50 64,000.00 — price below" in text
    assert "Bollinger %B -0.11 — below the lower band" in text
    neutral = indicators(rsi_14=50.0, macd_histogram=0.0, close=65_400.0)
    text = visible_text(analysis_card(analysis(neutral), expanded=False))
    assert "RSI(14) 50.0 — neutral" in text
    assert "MACD hist 0 — crossing its signal" in text
    assert "Bollinger %B 0.95 — near the upper band" in text


def test_stale_data_is_labelled_on_the_first_line_with_age_and_reason() -> None:
    stale = analysis().served_stale(720.0, "the exchange is not answering")
    lines = card_lines(analysis_card(stale, expanded=False))
    assert lines[0] == "⚠️ Stale: data is 12 min old — the exchange is not answering"
    assert lines[1] == "BTCUSDT · 1h"


def test_degraded_but_fresh_data_says_why() -> None:
    degraded = analysis(degraded_reason="indicators from the last good run")
    assert card_lines(analysis_card(degraded, expanded=False))[0] == (
        "⚠️ Degraded: indicators from the last good run"
    )


def test_cached_data_says_how_old_it_is_in_the_footer() -> None:
    cached = analysis().served_from_cache(40.0)
    assert card_lines(analysis_card(cached, expanded=False))[-1] == (
        "as of 14:00 UTC · cached 40 s ago"
    )


def test_missing_indicators_are_explained_with_the_note() -> None:
    bare = analysis(None, indicators_note="the indicator actor is restarting")
    bare = replace(bare, indicators=None, summary=None, as_of_ms=None, computed_at=1_714_575_600)
    lines = card_lines(analysis_card(bare, expanded=False))
    assert "Indicators: n/a — the indicator actor is restarting" in lines
    assert not any(line.startswith("RSI") for line in lines)
    assert lines[-1] == "as of 15:00 UTC"  # from computed_at when there is no candle


def test_a_single_missing_indicator_is_na_with_its_reason() -> None:
    short = indicators(ema_200=None, unavailable=(("ema_200", "needs 200 candles, have 150"),))
    text = visible_text(analysis_card(analysis(short), expanded=False))
    assert "EMA200 n/a (needs 200 candles, have 150)" in text


def test_daily_candles_show_the_date() -> None:
    daily = analysis(interval="1d")
    assert card_lines(analysis_card(daily, expanded=False))[-1] == "as of 2024-05-02 UTC"


def test_a_monthly_card_is_as_of_the_calendar_month_end_not_thirty_days_on() -> None:
    # January's candle closes at February 1; open + 30 days said "as of 2027-01-31".
    january_ms = 1_798_761_600_000  # 2027-01-01 00:00 UTC
    monthly = analysis(interval="1M", as_of_ms=january_ms)
    assert card_lines(analysis_card(monthly, expanded=False))[-1] == "as of 2027-02-01 UTC"


def test_the_expanded_card_adds_the_details() -> None:
    lines = card_lines(analysis_card(analysis(), expanded=True))
    compact = card_lines(analysis_card(analysis(), expanded=False))
    assert lines[: len(compact) - 1] == compact[:-1]
    details = lines[len(compact) - 1:]
    assert details[:12] == [
        "",
        "Details",
        "Support 63,800.00 · 62,000.00",
        "Resistance 66,200.00",
        "ATR(14) 650.0000 (1.00% of price)",
        "Stochastic %K 85.0 / %D 80.5 — overbought",
        "ADX(14) 28.0 (+DI 25.0 / -DI 15.0)",
        "OBV 1.23M",
        "VWAP 64,800.00 — price above",
        "Bollinger bands 63,500.00 – 65,500.00",
        "Volume 24h 12.35K (quote 800.50M)",
        "Why: close above EMA50 (+1); EMA50 above EMA200 (+1); MACD histogram > 0 (+1); "
        "RSI above 50 (+1); +DI above -DI (+1); RSI > 70: overbought (warn); "
        "ADX > 25 confirms trend strength",
    ]
    assert lines[-1] == "as of 14:00 UTC"


def test_details_say_why_vwap_and_levels_are_missing() -> None:
    partial = indicators(
        vwap=None, support=(), resistance=None,
        unavailable=(("vwap", "the series starts after the current session opened"),
                     ("resistance", "needs 11 candles, have 8")),
    )
    text = visible_text(analysis_card(analysis(partial), expanded=True))
    assert "VWAP n/a (the series starts after the current session opened)" in text
    assert "Support: none found nearby" in text
    assert "Resistance n/a (needs 11 candles, have 8)" in text


def test_the_expanded_card_without_indicators_still_shows_volume() -> None:
    bare = replace(analysis(), indicators=None, summary=None, indicators_note="warming up")
    text = visible_text(analysis_card(bare, expanded=True))
    assert "Indicators: n/a — warming up" in text
    assert "Volume 24h 12.35K (quote 800.50M)" in text


def test_everything_dynamic_is_escaped() -> None:
    hostile = replace(
        analysis(), symbol="<b>X&Y", interval="<1h>",
        stale=True, age_s=5.0, degraded_reason="upstream said <error & co>",
        indicators=IndicatorSet(candle_count=3, open_time=None, close=None,
                                unavailable=(("rsi_14", "needs <15> candles"),)),
        summary=None,
    )
    for expanded in (False, True):
        text = analysis_card(hostile, expanded=expanded)
        assert is_balanced(text), text
        assert "&lt;b&gt;X&amp;Y" in text
        assert "upstream said &lt;error &amp; co&gt;" in text
        assert "needs &lt;15&gt; candles" in text
