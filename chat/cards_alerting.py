"""Texts of operations: the pushed admin alerts, /mute's answers, and the SLO figures shown
in /health and /stats.

Why a module of its own: every text a user sees lives in ``chat/``; these belong together
(an alert names the figures /stats shows and the commands to try), and keeping them out of
``cards_admin`` keeps the admin cards' module small. Each alert says what to try next.
"""

from __future__ import annotations

import time

from chat.cards_format import format_age, format_moment
from chat.html import bold, code, escape
from ops.alerting import Change, Notification
from ops.slo import SloStats, WindowFigures

__all__ = ["alert_text", "mute_text", "mute_unavailable_text", "slo_health_line", "slo_table"]

_LEVEL_ICONS = {"ok": "✅", "degraded": "⚠️", "failing": "🛑"}
_DOCS = "the README (Operations, Alerts)"


def alert_text(notification: Notification) -> str:
    """One pushed alert (HTML): the health headline, one line per change, what to try."""
    bad = any(change.bad for change in notification.changes)
    icon = _LEVEL_ICONS[notification.level]
    if notification.level == "ok" and not bad:
        head = f"{icon} {bold('cryptobot recovered')}: all well again"
    else:
        head = f"{icon} {bold('cryptobot is ' + notification.level)}"
    lines = [head]
    lines += [f"• {escape(_describe(change))}" for change in notification.changes]
    if notification.level != "ok":
        # Reasons the lines above already say (a breaker named there) are not repeated.
        told = tuple(f"breaker {_breaker_name(change)} " for change in notification.changes
                     if change.kind == "breaker")
        lines += [f"  – {escape(reason)}" for reason in notification.reasons[:6]
                  if not reason.startswith(told or ("\0",))]
    hints = _hints(notification.changes) if bad or notification.level != "ok" else []
    if hints:
        lines.append("Try: " + "; ".join(hints))
    if bad:
        lines.append(f"{code('/mute 1h')} silences these alerts.")
    return "\n".join(lines)


def _describe(change: Change) -> str:
    flapped = (f" (changed {change.changes} times since the last alert)"
               if change.changes > 1 else "")
    subject = change.subject
    match change.kind, change.bad:
        case "health", True:
            text = f"health went {change.detail}"
        case "health", False:
            text = "health is ok"
        case "breaker", True:
            detail = change.detail.removeprefix("open, ")
            text = (f"breaker {_breaker_name(change)} opened ({detail}): answers are stale "
                    "or missing")
        case "breaker", False:
            text = f"breaker {_breaker_name(change)} closed: the upstream answers again"
        case "memory", True:
            text = f"memory is {change.detail}"
        case "memory", False:
            text = "memory is back below critical"
        case "gave_up", True:
            text = f"supervisor gave up: {change.detail}"
        case "gave_up", False:
            text = f"{subject} runs again"
        case "error_rate", True:
            text = f"error rate high: {change.detail}"
        case "error_rate", False:
            text = "error rate back under its threshold"
        case "latency", True:
            text = f"slow answers: {change.detail}"
        case "latency", False:
            text = "latency back under its threshold"
        case _:
            text = f"{change.topic}: {change.detail or 'well again'}"
    return text + flapped


def _breaker_name(change: Change) -> str:
    return change.subject.rsplit(":", 1)[-1]


def _hints(changes: tuple[Change, ...]) -> list[str]:
    hints: list[str] = []
    kinds = {change.kind for change in changes if change.bad}
    if "breaker" in kinds:
        hints.append("/breaker to see it, /breaker reset once the exchange is fixed")
    if "gave_up" in kinds:
        names = sorted({change.subject.rsplit("/", 1)[-1] for change in changes
                        if change.kind == "gave_up"})
        hints.append(f"/restart {names[0]} (or another actor) if it keeps failing; /actors")
    if "memory" in kinds:
        hints.append("/cache clear to free the cache; /stats for the figures")
    if kinds & {"error_rate", "latency"}:
        hints.append("/stats for the per-command figures")
    hints.append(f"/health; {_DOCS}")
    return [escape(hint) for hint in hints]


def mute_text(muted_for_s: float, *, now: float | None = None, zone_name: str = "UTC") -> str:
    """/mute's answer: until when alerts are silent (the admin's zone, named), or that they
    are on again."""
    if muted_for_s <= 0:
        return "🔔 Pushed alerts are on again."
    until = format_moment((time.time() if now is None else now) + muted_for_s, zone_name)
    return (f"🔕 Pushed alerts muted for {escape(format_age(muted_for_s))}, until "
            f"{escape(until)}. {code('/mute off')} ends it.")


def mute_unavailable_text() -> str:
    """/mute when the alerting actor did not answer (restarting, or absent in this bot)."""
    return "😕 Pushed alerts did not answer in time; nothing changed. Try /mute again shortly."


def slo_health_line(slo: SloStats | None) -> str | None:
    """/health's line: the 5-minute success rate and p95, or None before any command."""
    if slo is None or slo.last_5m.count == 0:
        return None
    figures = slo.last_5m
    return escape(f"commands, 5 min: {_rate(figures.success_rate)} ok of {figures.count} · "
                  f"p95 {_ms(figures.p95_ms)}")


def slo_table(slo: SloStats | None) -> str:
    """/stats' SLO part: overall then per command, 5 minutes and 1 hour side by side."""
    if slo is None:
        return "SLO: n/a (the slo actor did not answer)"
    if slo.last_1h.count == 0:
        return "SLO (5 min · 1 h): no commands counted yet"
    lines = [f"{bold('SLO')} (ok % · errors % · p50/p95/p99 ms; 5 min │ 1 h)",
             f"all {escape(_cell(slo.last_5m))} │ {escape(_cell(slo.last_1h))}"]
    lines += [f"/{escape(name)} {escape(_cell(figures.last_5m))} │ "
              f"{escape(_cell(figures.last_1h))}" for name, figures in slo.commands[:10]]
    return "\n".join(lines)


def _cell(figures: WindowFigures) -> str:
    if figures.count == 0:
        return "–"
    return (f"{figures.count} · {_rate(figures.success_rate)} · {_rate(figures.error_rate)} · "
            f"{_ms(figures.p50_ms, unit=False)}/{_ms(figures.p95_ms, unit=False)}/"
            f"{_ms(figures.p99_ms)}")


def _rate(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate:.1%}"


def _ms(value: float | None, *, unit: bool = True) -> str:
    return "n/a" if value is None else f"{value:.0f}{' ms' if unit else ''}"
