"""What an alert's owner reads when it fires or expires, alone or gathered after quiet hours.

Every notice has a request id that is the same each time the same event is sent (the alert id
and the firing's moment, or "expired"), so a transport can drop a resend after a restart.
Times are shown in the owner's time zone (``users.clock``).

Why gathered: Telegram lets a chat have a burst of about three messages, then one a second, and
a notice is marked notified once handed to the transport, so a full per-chat queue must never
drop one (``keep``). More than :data:`NOTICES_APART_MAX` notices for one owner at once go in one
message, of at most :data:`NOTICES_PER_MESSAGE_MAX` lines (the rest wait in the outbox for the
next sweep), so a burst of firings costs an owner one message per sweep, never a flood.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from chat.cards_format import format_price
from chat.chunking import cap_messages
from chat.html import bold, escape
from chat.keyboards import Keyboard, alert_fired_keyboard
from messages.chat import ChatReply
from messages.storage import AlertRecord
from users.clock import local_datetime

__all__ = ["NOTICES_APART_MAX", "NOTICES_PER_MESSAGE_MAX", "alert_condition",
           "expired_notification", "fired_notification", "gathered_notices", "held_notices",
           "notice_for", "notice_request_id"]

NOTICES_APART_MAX = 3
"""The most notices one owner gets as messages of their own at once (Telegram's chat burst)."""
NOTICES_PER_MESSAGE_MAX = 25
"""The most notices one gathered message lists (it stays within one or two messages)."""


def alert_condition(alert: AlertRecord, *, reached: bool = False) -> str:
    """The condition in words, HTML-escaped: "BTCUSDT above 70,000.00", "SOLUSDT RSI(14) 4h
    below 30", "ETHUSDT -10% (below 2,700.0000 from 3,000.0000)"; ``reached``: as news
    ("BTCUSDT is above ...", "ETHUSDT moved -10% ...")."""
    symbol = bold(alert.symbol)
    direction = escape(alert.direction)
    verb = "is " if reached else ""
    if alert.kind == "rsi":
        return (f"{symbol} RSI(14) {escape(alert.interval or '')} {verb}{direction} "
                f"{alert.price:g}")
    level = escape(format_price(alert.price))
    if alert.kind == "percent" and alert.base_price:
        move = (alert.price / alert.base_price - 1) * 100
        return (f"{symbol} {'moved ' if reached else ''}{move:+.4g}% ({direction} {level} from "
                f"{escape(format_price(alert.base_price))})")
    return f"{symbol} {verb}{direction} {level}"


def _value(alert: AlertRecord) -> str:
    value = alert.fired_price if alert.fired_price is not None else alert.price
    if alert.kind == "rsi":
        return f"RSI: {value:.1f}"
    return f"Last price: {escape(format_price(value))}"


def _when(moment: float | None, zone: str) -> str:
    local = local_datetime(moment or 0.0, zone)
    return escape(f"{local:%H:%M} {local.tzname() or zone}")


def notice_request_id(alert: AlertRecord) -> str:
    """Stable per event: ``alert-<id>-<fired ms>`` for a firing, ``alert-<id>-expired``."""
    if alert.ended == "expired":
        return f"alert-{alert.alert_id}-expired"
    return f"alert-{alert.alert_id}-{int((alert.fired_at or 0.0) * 1000)}"


def _keyboard(alert: AlertRecord, interval: str) -> Keyboard:
    keyboard = alert_fired_keyboard(alert.symbol, alert.alert_id, alert.interval or interval,
                                    owner=alert.user_id)
    if alert.live:  # a recurring alert re-arms by itself: "Analysis" only
        return tuple(row[:1] for row in keyboard)
    return keyboard


def fired_notification(alert: AlertRecord, zone: str = "UTC",
                       interval: str = "1h") -> ChatReply:
    """The message an owner gets when ``alert`` fires (HTML, with its buttons; "Analysis"
    opens the RSI alert's interval, or ``interval``, the owner's default)."""
    after = "re-arms after it clears" if alert.recurring else "now off"
    text = (f"🔔 {alert_condition(alert, reached=True)}\n"
            f"{_value(alert)} at {_when(alert.fired_at, zone)} · alert #{alert.alert_id} "
            f"({after})")
    return ChatReply(request_id=notice_request_id(alert), chat_id=alert.chat_id, text=text,
                     buttons=_keyboard(alert, interval), keep=True)


def expired_notification(alert: AlertRecord, zone: str = "UTC",
                         interval: str = "1h") -> ChatReply:
    """The one message an owner gets when ``alert`` reaches its expiry."""
    how = "has expired" if alert.recurring else "ended without firing"
    text = (f"⌛ Alert #{alert.alert_id} {how}: {alert_condition(alert)}\n"
            f"Expired at {_when(alert.expires_at, zone)}. Re-arm it to watch again.")
    return ChatReply(request_id=notice_request_id(alert), chat_id=alert.chat_id, text=text,
                     buttons=alert_fired_keyboard(alert.symbol, alert.alert_id,
                                                  alert.interval or interval, owner=alert.user_id),
                     keep=True)


def notice_for(alert: AlertRecord, zone: str = "UTC", interval: str = "1h") -> ChatReply:
    """The notice an outbox entry stands for: its firing, or its expiry."""
    if alert.ended == "expired":
        return expired_notification(alert, zone, interval)
    return fired_notification(alert, zone, interval)


def held_notices(alerts: Sequence[AlertRecord], zone: str = "UTC") -> ChatReply:
    """Everything that waited for one owner's quiet hours to end, in one message."""
    return gathered_notices(alerts, zone, held=True)


def gathered_notices(alerts: Sequence[AlertRecord], zone: str = "UTC", *,
                     held: bool = False) -> ChatReply:
    """Several notices of one owner in one message: held by quiet hours, or a burst."""
    count = f"{len(alerts)} alert" + ("" if len(alerts) == 1 else "s")
    lines = [f"🌙 While your quiet hours were on ({count}):" if held
             else f"🔔 {count} at once:"]
    for alert in alerts:
        if alert.ended == "expired":
            lines.append(f"⌛ {_when(alert.expires_at, zone)} · #{alert.alert_id} "
                         f"{alert_condition(alert)} expired")
        else:
            lines.append(f"🔔 {_when(alert.fired_at, zone)} · #{alert.alert_id} "
                         f"{alert_condition(alert)} · {_value(alert)}")
    events = ",".join(notice_request_id(alert) for alert in alerts)
    digest = hashlib.sha256(events.encode()).hexdigest()[:16]
    kind = "held" if held else "gathered"
    return ChatReply(request_id=f"alerts-{kind}-{alerts[0].user_id}-{digest}",
                     chat_id=alerts[0].chat_id, text=cap_messages("\n".join(lines)), keep=True)
