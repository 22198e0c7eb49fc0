"""/alert's words → an :class:`~chat.arguments.AlertRequest`, and /alerts' optional id.

Why a module of its own: /alert has grown from one shape to five, and each malformed one
deserves an answer naming what was wrong and showing that form's usage and example, not the
first form's. The forms (also what ``/help alert`` and docs/commands.md show):

* ``/alert btc above 70k`` (or ``70k above``, ``>``, ``<``, ``over``, ``under``): a price level;
* ``/alert btc +5%``, ``/alert eth -10%`` (or ``above 5%``, ``down 10%``): a move from the
  price when the alert is set (the handler measures it; + is a rise, − a fall);
* ``/alert sol rsi below 30 [interval]``: RSI(14) on closed candles crossing a level strictly
  between 0 and 100 (no interval: the user's setting, which the handler reads);
* then, in any order, ``every`` (re-arm after the condition clears) and ``for 7d`` (end
  unfired after 10 minutes to 90 days).

Everything here is pure: words in, a frozen request or an :class:`AlertUsageError` out, whose
problem quotes at most a short excerpt of what was typed (``chat.arguments.shown``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from chat.arguments import (
    AlertId,
    AlertRequest,
    Direction,
    NoArgs,
    UsageError,
    parse_alert_id,
    parse_interval,
    parse_price,
    shown,
)
from chat.forms import ArgumentForm
from chat.html import code, escape

if TYPE_CHECKING:
    from chat.commands import CommandSpec

__all__ = [
    "ALERT_FORMS",
    "EXPIRY_MAX_S",
    "EXPIRY_MIN_S",
    "MAX_ALERT_WORDS",
    "PERCENT_MAX",
    "PERCENT_MIN",
    "AlertUsageError",
    "alert_args",
    "alerts_args",
]


PRICE_FORM = ArgumentForm(
    "/alert SYM above|below PRICE", "/alert btc above 70k",
    "when the price goes above (or below) a level; >, <, over, under and "
    "/alert btc 70k above work too.")
PERCENT_FORM = ArgumentForm(
    "/alert SYM +N%|-N%", "/alert eth -10%",
    "when the price moves N% up (+) or down (-) from the price when you set it.")
RSI_FORM = ArgumentForm(
    "/alert SYM rsi above|below LEVEL [interval]", "/alert sol rsi below 30 4h",
    "when RSI(14) on closed candles crosses a level between 0 and 100; the interval "
    "defaults to yours (/settings).")
EVERY_FORM = ArgumentForm(
    "/alert ... every", "/alert btc +5% every",
    "re-arms once the condition has cleared, at most once per cool-down (/settings).")
EXPIRY_FORM = ArgumentForm(
    "/alert ... for DURATION", "/alert btc rsi above 70 4h for 7d",
    "ends unfired after 10m to 90d (30m, 12h, 7d, 2w); you are told once.")
ALERT_FORMS: tuple[ArgumentForm, ...] = (PRICE_FORM, PERCENT_FORM, RSI_FORM, EVERY_FORM,
                                      EXPIRY_FORM)
"""Every form, in the order help shows them."""

MAX_ALERT_WORDS = 10
"""The longest form: SYM rsi above 70 4h every time for 7 days."""
PERCENT_MIN = 0.01
PERCENT_MAX = 1000.0
"""A move is 0.01% to 1000% up, and less than 100% down (a price stays above 0)."""
EXPIRY_MIN_S = 600.0
EXPIRY_MAX_S = 90 * 86_400.0
"""``for``: 10 minutes to 90 days."""

_DIRECTIONS: dict[str, Direction] = {
    "above": "above", "over": "above", ">": "above", ">=": "above", "up": "above",
    "rise": "above", "rises": "above",
    "below": "below", "under": "below", "<": "below", "<=": "below", "down": "below",
    "drop": "below", "drops": "below", "fall": "below", "falls": "below",
}
_NOT_COINS = {"above", "below", "over", "under", ">", "<", ">=", "<="}
_RSI_WORDS = {"rsi", "rsi14", "rsi(14)"}
_OTHER_RSI = re.compile(r"rsi\(?[0-9]+\)?")
_EVERY_WORDS = {"every", "each", "repeat", "repeating", "recurring", "always"}
_TIME_WORDS = {"time", "times"}
_FOR_WORDS = {"for", "within"}
_PERCENT = re.compile(r"([+\-−–]?)([0-9]{1,7}(?:[.,][0-9]{1,8})?)%")
_LEVEL = re.compile(r"[0-9]{1,3}(?:[.,][0-9]{1,8})?")
_DURATION = re.compile(r"([0-9]{1,5}(?:\.[0-9]{1,3})?)(m|min|mins|minute|minutes|h|hr|hrs|hour|"
                       r"hours|d|day|days|w|wk|wks|week|weeks)")
_DURATION_UNITS = {"m": 60, "h": 3600, "d": 86_400, "w": 604_800}
_SIGN_PREFIXES = (">=", "<=", ">", "<")


class AlertUsageError(UsageError):
    """A malformed /alert: what was wrong, then the usage and example of the form meant."""

    def __init__(self, problem: str, spec: CommandSpec | None,
                 form: ArgumentForm | None = None) -> None:
        super().__init__(problem, spec)
        self.form = form
        """The form the words looked like; None: unclear (the general usage is shown)."""

    @property
    def html(self) -> str:
        if self.form is None:
            return f"{super().html}\nEvery form: /help alert"
        return "\n".join([f"⚠️ {escape(self.problem)}", f"Usage: {code(self.form.usage)}",
                          f"Example: {code(self.form.example)}"])


# -- /alerts [ID] --------------------------------------------------------------------------------

def alerts_args(spec: CommandSpec, words: tuple[str, ...]) -> NoArgs | AlertId:
    """/alerts lists them all; /alerts 7 (or #7) shows one alert's details."""
    return AlertId(parse_alert_id(words[0], spec=spec)) if words else NoArgs()


# -- /alert ---------------------------------------------------------------------------------------

def alert_args(spec: CommandSpec, words: tuple[str, ...]) -> AlertRequest:
    """The checked /alert arguments of any form (module docstring), or an AlertUsageError."""
    symbol, rest = words[0], _split_signs(words[1:])
    if _looks_like_a_condition(symbol):
        raise AlertUsageError(f"Start with the coin, then the condition: “{shown(symbol)}” "
                              "is not a coin.", spec, PRICE_FORM)
    condition, recurring, expires_in_s = _modifiers(rest, spec)
    lowered = [word.lower() for word in condition]
    if not condition:
        raise AlertUsageError(f"Say when to alert you about {shown(symbol)}: for example "
                              "above 70k, +5% or rsi below 30.", spec)
    if any(word in _RSI_WORDS or _OTHER_RSI.fullmatch(word) for word in lowered):
        direction, level, interval = _rsi(condition, spec)
        return AlertRequest(symbol, direction, level, "rsi", interval, recurring, expires_in_s)
    if any(word.endswith("%") for word in condition):
        direction, percent = _percent(condition, spec)
        return AlertRequest(symbol, direction, percent, "percent", None, recurring,
                            expires_in_s)
    direction, price = _price(condition, spec)
    return AlertRequest(symbol, direction, price, "price", None, recurring, expires_in_s)


def _split_signs(words: tuple[str, ...]) -> list[str]:
    """">70k" → ">", "70k"; a lone "%" joins the number before it ("5 %" → "5%")."""
    out: list[str] = []
    for word in words:
        prefix = None if word in _SIGN_PREFIXES else next(
            (p for p in _SIGN_PREFIXES if word.startswith(p)), None)
        if prefix is not None:
            out += [prefix, word[len(prefix):]]
        elif word == "%" and out:
            out[-1] += "%"
        else:
            out.append(word)
    return out


def _looks_like_a_condition(word: str) -> bool:
    """A first word that cannot be a coin ("up" might be one; "above" and "70k" are not)."""
    lowered = word.lower()
    if lowered in _NOT_COINS or lowered in _RSI_WORDS or lowered.endswith("%"):
        return True
    try:
        parse_price(word)
    except UsageError:
        return False
    return True


def _modifiers(words: list[str], spec: CommandSpec) -> tuple[list[str], bool, float | None]:
    """(the condition's words, every?, for how long) — "every" and "for 7d" anywhere after it."""
    condition: list[str] = []
    recurring, expires_in_s = False, None
    index = 0
    while index < len(words):
        word = words[index].lower()
        if word in _EVERY_WORDS:
            if recurring:
                raise AlertUsageError("Say every once.", spec, EVERY_FORM)
            recurring = True
            index += 2 if index + 1 < len(words) and words[index + 1].lower() in _TIME_WORDS \
                else 1
        elif word in _FOR_WORDS:
            if expires_in_s is not None:
                raise AlertUsageError("Say for how long once.", spec, EXPIRY_FORM)
            expires_in_s, used = _expiry(words[index + 1:index + 3], spec)
            index += 1 + used
        else:
            condition.append(words[index])
            index += 1
    return condition, recurring, expires_in_s


def _expiry(following: list[str], spec: CommandSpec) -> tuple[float, int]:
    """(seconds, words used) from "7d" or "7 days" after "for"."""
    if not following:
        raise AlertUsageError("Say how long after for, like for 7d.", spec, EXPIRY_FORM)
    candidates = [(following[0], 1)]
    if len(following) > 1:
        candidates.append((following[0] + following[1], 2))
    for text, used in reversed(candidates):
        match = _DURATION.fullmatch(text.lower())
        if match is None:
            continue
        seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2)[0]]
        if not EXPIRY_MIN_S <= seconds <= EXPIRY_MAX_S:
            raise AlertUsageError("An alert can last from 10 minutes to 90 days "
                                  "(for 10m ... for 90d).", spec, EXPIRY_FORM)
        return seconds, used
    raise AlertUsageError(f"“{shown(following[0])}” is not a duration; write it like for 30m, "
                          "for 12h, for 7d or for 2w.", spec, EXPIRY_FORM)


def _directions(words: list[str]) -> tuple[list[Direction], list[str]]:
    """(the direction words' meanings, the other words)."""
    found: list[Direction] = []
    others: list[str] = []
    for word in words:
        direction = _DIRECTIONS.get(word.lower())
        if direction is None:
            others.append(word)
        else:
            found.append(direction)
    return found, others


def _price(words: list[str], spec: CommandSpec) -> tuple[Direction, float]:
    found, others = _directions(words)
    if len(found) > 1:
        raise AlertUsageError("Say above or below once.", spec, PRICE_FORM)
    if not others:
        raise AlertUsageError("Say the price too, like above 70k.", spec, PRICE_FORM)
    if len(others) > 1:
        raise AlertUsageError(f"I did not understand “{shown(others[1])}” in a price alert.",
                              spec, PRICE_FORM)
    price = _checked(lambda: parse_price(others[0]), spec, PRICE_FORM)
    if not found:
        raise AlertUsageError("Say above or below the price, like above 70k (or +5% for a "
                              "move).", spec, PRICE_FORM)
    return found[0], price


def _percent(words: list[str], spec: CommandSpec) -> tuple[Direction, float]:
    found, others = _directions(words)
    if len(found) > 1:
        raise AlertUsageError("Say the direction once: +5% is up, -5% down.", spec, PERCENT_FORM)
    strays = [word for word in others if not word.endswith("%")]
    if strays:
        raise AlertUsageError(f"I did not understand “{shown(strays[0])}” in a percentage "
                              "alert.", spec, PERCENT_FORM)
    if len(others) > 1:
        raise AlertUsageError("Give one percentage, like +5%.", spec, PERCENT_FORM)
    match = _PERCENT.fullmatch(others[0])
    if match is None:
        raise AlertUsageError(f"“{shown(others[0])}” is not a percentage; write it like +5% "
                              "or -10%.", spec, PERCENT_FORM)
    sign, number = match.group(1), float(match.group(2).replace(",", "."))
    signed: Direction | None = None if not sign else "above" if sign == "+" else "below"
    if found and signed is not None and found[0] != signed:
        raise AlertUsageError(f"{shown(others[0])} and {found[0]} disagree: +5% is a rise, "
                              "-5% a fall.", spec, PERCENT_FORM)
    direction = signed or (found[0] if found else None)
    if direction is None:
        raise AlertUsageError(f"Say +{match.group(2)}% for a rise or -{match.group(2)}% for a "
                              "fall.", spec, PERCENT_FORM)
    if not PERCENT_MIN <= number <= PERCENT_MAX:
        raise AlertUsageError("A move is from 0.01% to 1000%.", spec, PERCENT_FORM)
    if direction == "below" and number >= 100:
        raise AlertUsageError("A price cannot fall 100% or more; say less, like -50%.", spec,
                              PERCENT_FORM)
    return direction, number


def _rsi(words: list[str], spec: CommandSpec) -> tuple[Direction, float, str | None]:
    found, others = _directions(words)
    rsi_words = [w for w in others if w.lower() in _RSI_WORDS or _OTHER_RSI.fullmatch(w.lower())]
    if any(w.lower() not in _RSI_WORDS for w in rsi_words):
        raise AlertUsageError("Only RSI(14) is available: say rsi.", spec, RSI_FORM)
    if len(rsi_words) > 1:
        raise AlertUsageError("Say rsi once.", spec, RSI_FORM)
    if len(found) != 1:
        raise AlertUsageError("Say above or below once, like rsi below 30.", spec, RSI_FORM)
    levels: list[float] = []
    intervals: list[str] = []
    for word in others:
        if word in rsi_words:
            continue
        if _LEVEL.fullmatch(word):
            levels.append(float(word.replace(",", ".")))
        elif _is_interval(word):
            intervals.append(parse_interval(word))
        else:
            raise AlertUsageError(f"“{shown(word)}” is neither an RSI level (0 to 100) nor an "
                                  "interval like 4h.", spec, RSI_FORM)
    if len(levels) != 1:
        raise AlertUsageError("Give one RSI level, like rsi below 30.", spec, RSI_FORM)
    if len(intervals) > 1:
        raise AlertUsageError("Give at most one interval, like 4h.", spec, RSI_FORM)
    if not 0 < levels[0] < 100:
        raise AlertUsageError("An RSI level is between 0 and 100, like 30 or 70.", spec,
                              RSI_FORM)
    return found[0], levels[0], intervals[0] if intervals else None


def _is_interval(word: str) -> bool:
    try:
        parse_interval(word)
    except UsageError:
        return False
    return True


def _checked(parse: Callable[[], float], spec: CommandSpec, form: ArgumentForm) -> float:
    """``parse()``, its UsageError re-raised with the form's usage."""
    try:
        return parse()
    except UsageError as error:
        raise AlertUsageError(error.problem, spec, form) from error
