"""The texts of /alert and /alerts for every kind of alert, with times in the user's zone.

Why apart from ``chat.cards``: an alert is now a price level, a percentage move (with the
price it was measured from) or an RSI crossing (with its interval), once or every time, maybe
ending at a date; the confirmation, the list and the details view must describe all of them
the same way. Times are the user's local time (``users.clock``) with the zone named; the
details view adds UTC, so a user comparing with the exchange's times is never in doubt.
Everything dynamic is escaped here.
"""

from __future__ import annotations

from collections.abc import Sequence

from chat.alert_plan import AlertPlan
from chat.cards_format import format_age, format_price
from chat.html import bold, code, escape
from messages.storage import AlertRecord
from users.clock import local_datetime

__all__ = [
    "alert_details_text",
    "alert_not_yours_text",
    "alert_set_text",
    "alerts_list_text",
    "condition_text",
    "is_listed",
    "local_time",
    "local_and_utc",
    "no_base_price_text",
    "span",
]


def span(seconds: float) -> str:
    """A set duration (a cool-down): "1 h", "30 min", "7 d", "1 h 30 min", "45 s"."""
    if seconds >= 86_400 and seconds % 86_400 == 0:
        return f"{int(seconds // 86_400)} d"
    if seconds < 60:
        return f"{round(seconds)} s"
    hours, minutes = divmod(round(seconds / 60), 60)
    return " ".join(([f"{hours} h"] if hours else []) + ([f"{minutes} min"] if minutes else []))


def local_time(epoch_s: float, zone: str) -> str:
    """ "2026-12-13 08:30 Europe/Berlin" (or "... UTC")."""
    return f"{local_datetime(epoch_s, zone):%Y-%m-%d %H:%M} {zone}"


def local_and_utc(epoch_s: float, zone: str) -> str:
    """The local time and, unless the zone is UTC, the same moment in UTC."""
    if zone == "UTC":
        return local_time(epoch_s, zone)
    return f"{local_time(epoch_s, zone)} ({local_time(epoch_s, 'UTC')})"


def _percent_text(percent: float) -> str:
    return f"{round(percent, 2):+g}%"


def condition_text(symbol: str, kind: str, direction: str, level: float, *,
                   base_price: float | None = None, interval: str | None = None) -> str:
    """What fires it (HTML): "BTCUSDT above 70,000.00", "BTCUSDT +5% from 65,000.00 → above
    68,250.00", "SOLUSDT RSI(14) 4h below 30"."""
    coin = bold(symbol)
    if kind == "rsi":
        return (f"{coin} RSI(14) {escape(interval or '?')} {escape(direction)} "
                f"{escape(f'{level:g}')}")
    target = f"{escape(direction)} {escape(format_price(level))}"
    if kind == "percent" and base_price:
        move = _percent_text((level / base_price - 1) * 100)
        return f"{coin} {escape(move)} from {escape(format_price(base_price))} → {target}"
    return f"{coin} {target}"


def _repeats(recurring: bool, cooldown_s: float) -> str:
    return f"every time (cool-down {span(cooldown_s)})" if recurring else "once"


def alert_set_text(alert_id: int | None, plan: AlertPlan, *, zone: str,
                   now_price: float | None = None, now_age_s: float | None = None) -> str:
    """The confirmation of a committed /alert of any kind, in the user's time zone."""
    what = condition_text(plan.symbol, plan.kind, plan.direction, plan.level,
                          base_price=plan.base_price, interval=plan.interval)
    parts = [f"✅ Alert #{alert_id} saved: {what}"]
    if plan.kind == "percent" and now_age_s is not None:
        parts[0] += f" (price {escape(format_age(now_age_s))} old)"
    elif plan.kind == "price" and now_price is not None:  # a stale price says how old
        age = "" if now_age_s is None else f", {format_age(now_age_s)} old"
        parts[0] += escape(f" (now {format_price(now_price)}{age})")
    if plan.recurring:
        parts.append(_repeats(True, plan.cooldown_s))
    if plan.expires_at is not None:
        parts.append(f"ends {escape(local_time(plan.expires_at, zone))}")
    closing = ("I'll message you each time it crosses." if plan.recurring
               else "I'll message you once when it crosses.")
    if plan.kind == "price" and now_price is not None and _reached(plan, now_price):
        # An alert fires on its level, not on a crossing seen between two sweeps: say so.
        closing = (f"⚠️ The price is already {escape(plan.direction)} "
                   f"{escape(format_price(plan.level))}: it fires at the next check, in a few "
                   "seconds" + (", then each time it crosses again." if plan.recurring else "."))
    return " · ".join(parts) + f". {closing}"


def _reached(plan: AlertPlan, price: float) -> bool:
    """The sweep's rule (``storage.alert_rules.reached``): at or beyond the level."""
    return price >= plan.level if plan.direction == "above" else price <= plan.level


def no_base_price_text(symbol: str, percent: float) -> str:
    """Refusing a percentage alert without a price to measure from (nothing was saved)."""
    return (f"⚠️ I could not get {bold(symbol)}'s price to measure "
            f"{escape(_percent_text(percent))} from, so no alert was set; try again in a "
            "moment.")


def alert_not_yours_text(alert_id: int) -> str:
    """/alerts ID for an id the user does not own (or that does not exist: same answer)."""
    return f"⚠️ Alert #{alert_id} is not one of yours; /alerts lists them."


def is_listed(record: AlertRecord) -> bool:
    """Whether /alerts lists it: live (not ended), i.e. armed, or waiting to clear (a recurring
    alert after a firing, or a fired one re-armed from its notice) - what the cap counts."""
    return record.ended is None


def _record_condition(record: AlertRecord) -> str:
    return condition_text(record.symbol, record.kind, record.direction, record.price,
                          base_price=record.base_price, interval=record.interval)


def _state(record: AlertRecord, now: float, zone: str) -> str:
    """Where a recurring alert stands (one-shot alerts listed are simply armed)."""
    if record.ended is not None:
        return "expired" if record.ended == "expired" else "fired"
    if record.fired_at is not None:
        return "fired, waiting to clear"
    if record.armed_from is not None and record.armed_from > now:
        until = local_datetime(record.armed_from, zone)
        # A cool-down lasts up to 7 days: a bare "06:30" would read as today.
        same_day = until.date() == local_datetime(now, zone).date()
        return f"cooling down until {until:%H:%M}" if same_day else (
            f"cooling down until {until:%Y-%m-%d %H:%M}")
    return "armed"


def _list_line(record: AlertRecord, now: float, zone: str) -> str:
    parts = [f"#{record.alert_id} {_record_condition(record)}"]
    if record.recurring:
        parts.append(f"{_repeats(True, record.cooldown_s)}, {escape(_state(record, now, zone))}")
    elif record.fired_at is not None:  # re-armed from its notice: the next crossing only
        parts.append(f"once, {escape(_state(record, now, zone))}")
    if record.expires_at is not None:
        parts.append(f"ends {escape(local_time(record.expires_at, zone))}")
    parts.append(f"set {local_datetime(record.created_at, zone):%Y-%m-%d}")
    return " · ".join(parts)


def alerts_list_text(records: Sequence[AlertRecord], *, zone: str, now: float) -> str:
    """/alerts: one line per live alert, oldest first as given; details and delete hints."""
    if not records:
        return f"You have no alerts. Set one with {code('/alert btc above 70k')}."
    lines = [f"{bold('Your alerts')} ({len(records)})"]
    lines += [_list_line(record, now, zone) for record in records]
    lines.append(f"Details: {code('/alerts ID')} · delete: {code('/delalert ID')} or a button. "
                 f"Times: {escape(zone)}.")
    return "\n".join(lines)


def alert_details_text(record: AlertRecord, *, zone: str, now: float) -> str:
    """/alerts ID: everything about one alert, each time local and UTC."""
    lines = [f"{bold(f'Alert #{record.alert_id}')}: {_record_condition(record)}"]
    if record.kind == "rsi":
        lines.append("Fires when RSI(14) on closed candles crosses the level.")
    repeats = _repeats(record.recurring, record.cooldown_s)
    lines.append(f"Repeats: {escape(repeats)}")
    lines.append(f"State: {escape(_state(record, now, zone))}")
    lines.append(f"Set: {escape(local_and_utc(record.created_at, zone))}")
    expires = ("never" if record.expires_at is None
               else local_and_utc(record.expires_at, zone))
    lines.append(f"Expires: {escape(expires)}")
    if record.fired_at is None and record.armed_from is not None:
        lines.append(f"Last fired: before it re-armed; it may fire again from "
                     f"{escape(local_and_utc(record.armed_from, zone))}")
    elif record.fired_at is None:
        lines.append("Last fired: not yet")
    else:
        at = "" if record.fired_price is None else f" at {format_price(record.fired_price)}"
        lines.append(f"Last fired: {escape(local_and_utc(record.fired_at, zone) + at)}")
    return "\n".join(lines)
