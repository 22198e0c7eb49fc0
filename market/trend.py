"""A one-word trend verdict from the indicator set, by rules a user can check by hand.

Each directional rule adds +1 or -1 to the score; ties and n/a inputs add nothing, and a rule
whose input is n/a is skipped (listed in ``skipped``). Warnings, notes and the ADX gate do
not change the score; the gate only allows a "strong" verdict.

======================================  ======  ============================================
rule                                    points  text in ``rules``
======================================  ======  ============================================
close above / below EMA50               +1/-1   "close above EMA50 (+1)"
EMA50 above / below EMA200              +1/-1   "EMA50 above EMA200 (+1)"
MACD histogram > 0 / < 0                +1/-1   "MACD histogram > 0 (+1)"
RSI above / below 50                    +1/-1   "RSI above 50 (+1)"
+DI above / below -DI                   +1/-1   "+DI above -DI (+1)"
RSI > 70 / RSI < 30                     0       "RSI > 70: overbought (warn)"
close above upper / below lower band    0       "close above upper Bollinger band (warn)"
ADX > 25                                gate    "ADX > 25 confirms trend strength"
ADX < 20                                0       "ADX < 20: weak trend (info)"
======================================  ======  ============================================

Verdict, from the score (-5..+5) and ADX:

* score >= 4 and ADX > 25: "strong uptrend"; score <= -4 and ADX > 25: "strong downtrend";
* otherwise score >= 2: "uptrend"; score <= -2: "downtrend";
* otherwise "sideways" (also when no directional rule could be evaluated).

The rules fire in the table's order, so the same indicator set always gives the same summary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from market.indicator_set import IndicatorSet

__all__ = [
    "ADX_STRONG",
    "ADX_WEAK",
    "RSI_OVERBOUGHT",
    "RSI_OVERSOLD",
    "STRONG_SCORE",
    "TREND_SCORE",
    "TrendSummary",
    "Verdict",
    "summarize_trend",
]

Verdict = Literal["strong uptrend", "uptrend", "sideways", "downtrend", "strong downtrend"]

TREND_SCORE = 2
STRONG_SCORE = 4
ADX_STRONG = 25.0
ADX_WEAK = 20.0
RSI_OVERBOUGHT = 70.0
RSI_OVERSOLD = 30.0


@dataclass(frozen=True, slots=True, kw_only=True)
class TrendSummary:
    """The verdict, its score and the rules behind it (see the module docstring)."""

    verdict: Verdict
    score: int
    """Sum of the directional rules' points, from -5 to +5."""
    rules: tuple[str, ...]
    """Every rule that fired, in the table's order."""
    skipped: tuple[str, ...] = ()
    """Directional rules not evaluated because an input was n/a."""


def _compare(
    left: float | None, right: float | None, above: str, below: str, name: str
) -> tuple[int, str | None, str | None]:
    """Points and rule text for ``left`` vs ``right``; the last item names a skipped rule."""
    if left is None or right is None:
        return 0, None, name
    if left > right:
        return 1, f"{above} (+1)", None
    if left < right:
        return -1, f"{below} (-1)", None
    return 0, None, None


def summarize_trend(indicators: IndicatorSet) -> TrendSummary:
    """Apply the module's rule table to ``indicators``."""
    close, rsi, adx = indicators.close, indicators.rsi_14, indicators.adx_14
    directional = (
        _compare(
            close, indicators.ema_50, "close above EMA50", "close below EMA50", "close vs EMA50"
        ),
        _compare(
            indicators.ema_50, indicators.ema_200, "EMA50 above EMA200", "EMA50 below EMA200",
            "EMA50 vs EMA200",
        ),
        _compare(
            indicators.macd_histogram, 0.0, "MACD histogram > 0", "MACD histogram < 0",
            "MACD histogram",
        ),
        _compare(rsi, 50.0, "RSI above 50", "RSI below 50", "RSI vs 50"),
        _compare(
            indicators.plus_di_14, indicators.minus_di_14, "+DI above -DI", "+DI below -DI",
            "+DI vs -DI",
        ),
    )
    score = sum(points for points, _, _ in directional)
    rules = [text for _, text, _ in directional if text is not None]
    skipped = tuple(name for _, _, name in directional if name is not None)
    if rsi is not None and rsi > RSI_OVERBOUGHT:
        rules.append("RSI > 70: overbought (warn)")
    elif rsi is not None and rsi < RSI_OVERSOLD:
        rules.append("RSI < 30: oversold (warn)")
    upper, lower = indicators.bollinger_upper, indicators.bollinger_lower
    if close is not None and upper is not None and close > upper:
        rules.append("close above upper Bollinger band (warn)")
    elif close is not None and lower is not None and close < lower:
        rules.append("close below lower Bollinger band (warn)")
    strong = adx is not None and adx > ADX_STRONG
    if strong:
        rules.append("ADX > 25 confirms trend strength")
    elif adx is not None and adx < ADX_WEAK:
        rules.append("ADX < 20: weak trend (info)")
    return TrendSummary(
        verdict=_verdict(score, strong), score=score, rules=tuple(rules), skipped=skipped
    )


def _verdict(score: int, strong: bool) -> Verdict:
    if score >= STRONG_SCORE and strong:
        return "strong uptrend"
    if score <= -STRONG_SCORE and strong:
        return "strong downtrend"
    if score >= TREND_SCORE:
        return "uptrend"
    if score <= -TREND_SCORE:
        return "downtrend"
    return "sideways"
