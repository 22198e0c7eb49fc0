"""The daily digest's texts: the digest card, and /digest's answers (set, stopped, schedule).

Pure renderers like ``chat.cards``: every time is shown in the user's time zone (the zone's
name said once), every dynamic value is escaped. The card reuses the /watchlist table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from chat.cards import WatchRow, watchlist
from chat.cards_format import arrow, format_percent, format_price
from chat.html import bold, code, escape
from messages.chat import ChatReply
from messages.digest import DigestRecord, FiringRecord
from users.clock import local_datetime
from users.digest import digest_moment

__all__ = ["DigestCard", "biggest_mover", "digest_card", "digest_message", "digest_off_text",
           "digest_set_text", "digest_status_text"]

_EXAMPLE = "/digest 08:30"


@dataclass(frozen=True, slots=True, kw_only=True)
class DigestCard:
    """Everything one digest shows."""

    day: date
    """The local day it is the digest of."""
    minute: int
    """Its local time of day."""
    zone: str
    """The user's time zone (IANA name)."""
    rows: tuple[WatchRow, ...]
    """The watchlist with 24h change (``price`` None when it could not be priced)."""
    firings: tuple[FiringRecord, ...]
    """The user's alerts that fired in the last 24 h, oldest first."""
    missed_day: date | None = None
    """An earlier day whose digest was skipped after downtime, to mention once."""
    prices_note: str | None = None
    """Why the prices are missing, when the exchange could not be asked."""


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _day_text(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


def _moment_text(epoch_s: float, zone: str) -> str:
    moment = local_datetime(epoch_s, zone)
    return f"{_day_text(moment.date())} {moment:%H:%M}"


def biggest_mover(rows: Sequence[WatchRow]) -> WatchRow | None:
    """The row with the largest 24h move either way (the first of equals), None if unpriced."""
    priced = [row for row in rows if row.change_pct is not None]
    return max(priced, key=lambda row: abs(row.change_pct or 0.0), default=None)


def _firing_line(firing: FiringRecord, zone: str) -> str:
    when = escape(_moment_text(firing.fired_at, zone))
    seen = "n/a" if firing.value is None else (
        f"{firing.value:.1f}" if firing.kind == "rsi" else format_price(firing.value))
    if firing.direction is None or firing.level is None:
        what = f"alert #{firing.alert_id}"
    elif firing.kind == "rsi":
        interval = f", {firing.interval}" if firing.interval else ""
        what = f"RSI(14{interval}) {firing.direction} {firing.level:g}"
    else:
        what = f"{firing.direction} {format_price(firing.level)}"
    value_name = "RSI" if firing.kind == "rsi" else "price"
    return f"• {when} {bold(firing.symbol)} {escape(what)} ({value_name} {escape(seen)})"


def digest_card(card: DigestCard) -> str:
    """The digest: watchlist with 24h change, the biggest mover, the alerts that fired."""
    # The moment's own wall time: a minute skipped by a spring-forward change goes out later.
    sent_at = local_datetime(digest_moment(card.day, card.minute, card.zone), card.zone)
    head = (f"☀️ {bold('Your daily digest')} · "
            f"{escape(_day_text(card.day))}, {sent_at:%H:%M} {escape(card.zone)}")
    lines = [head]
    if card.rows:
        lines.append(watchlist(card.rows))
        if card.prices_note:
            lines.append(f"⚠️ {escape(card.prices_note)}")
        mover = biggest_mover(card.rows)
        if mover is not None and mover.change_pct is not None:
            lines.append(f"Biggest mover: {bold(mover.symbol)} {arrow(mover.change_pct)} "
                         f"{escape(format_percent(mover.change_pct))} in 24 h")
    else:
        lines.append(f"Your watchlist is empty: add coins with {code('/watch btc')} and they "
                     "will be here tomorrow with their 24h change.")
    if card.firings:
        lines.append(f"🔔 {bold('Alerts that fired in the last 24 h')}")
        lines += [_firing_line(firing, card.zone) for firing in card.firings]
    else:
        lines.append("🔕 No alerts fired in the last 24 h.")
    if card.missed_day is not None:
        lines.append(f"ℹ️ The digest of {escape(_day_text(card.missed_day))} was skipped: the "
                     "bot was offline at its time and for the hour after.")
    lines.append(f"Change the time with {code(_EXAMPLE)}, stop it with {code('/digest off')}.")
    return "\n".join(lines)


def digest_message(user_id: int, chat_id: int, day: date, text: str) -> ChatReply:
    """The digest as a message; one request id per user and day, so a resend is recognisable."""
    return ChatReply(request_id=f"digest-{user_id}-{day.isoformat()}", chat_id=chat_id,
                     text=text, keep=True)


def _zone_hint(zone: str) -> str:
    if zone != "UTC":
        return ""
    return (f"\nTimes are UTC; set your own time zone with "
            f"{code('/settings timezone Europe/Berlin')}.")


def digest_set_text(minute: int, zone: str, next_due_at: float | None, *,
                    changed: bool) -> str:
    """/digest HH:MM after the commit: when it goes out, and the first one."""
    head = "✅ Daily digest set" if changed else "Your daily digest already goes out"
    text = f"{head} for {bold(_hhmm(minute))} every day ({escape(zone)})."
    if next_due_at is not None:
        text += f" Next one: {escape(_moment_text(next_due_at, zone))}."
    return text + _zone_hint(zone)


def digest_off_text(changed: bool) -> str:
    """/digest off after the commit."""
    if changed:
        return "✅ Daily digest stopped. Start it again with " + code(_EXAMPLE) + "."
    return "You have no daily digest to stop. Start one with " + code(_EXAMPLE) + "."


def digest_status_text(record: DigestRecord | None, zone: str, next_due_at: float) -> str:
    """/digest alone: the schedule and the next one, or how to set one."""
    if record is None:
        return (f"You have no daily digest. With {code(_EXAMPLE)} you get your watchlist with "
                f"its 24h change, the biggest mover and the alerts that fired, every day at "
                f"08:30 your time ({escape(zone)})." + _zone_hint(zone))
    return (f"Your daily digest goes out every day at {bold(_hhmm(record.minute))} "
            f"({escape(zone)}). Next one: {escape(_moment_text(next_due_at, zone))}.\n"
            f"Change it with {code('/digest 07:00')}, stop it with {code('/digest off')}.")
