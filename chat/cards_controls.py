"""Answers to the admin controls: /restart, /cache, /breaker and /loglevel.

Why a module of their own: each control changes a running bot, so each answer says what
changed (before → after) in a line an operator can read on a phone and paste into an
incident note; and a refusal names what would have been accepted (the valid actors, the
levels), so the next try works. The texts read typed figures (``CacheStats``,
``BreakerSnapshot``, ``CacheCleared``, ``LevelChange``) and never ask an actor.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from chat.arguments import shown
from chat.html import bold, code, escape

if TYPE_CHECKING:
    from market.cache import CacheStats
    from market.cache_clear import CacheCleared
    from ops.log_levels import LevelChange
    from resilience.breaker import BreakerSnapshot

__all__ = [
    "breaker_reset_text",
    "breakers_text",
    "cache_cleared_text",
    "cache_text",
    "control_unavailable_text",
    "log_level_text",
    "restart_cancelled_text",
    "restart_confirm_text",
    "restart_done_text",
    "restart_refused_text",
    "unknown_logger_text",
]


def _size(nbytes: int) -> str:
    if nbytes >= 1024 * 1024:
        return f"{nbytes / (1024 * 1024):.1f} MB"
    if nbytes >= 1024:
        return f"{nbytes / 1024:.1f} KB"
    return f"{nbytes} B"


def control_unavailable_text(actor: str, look: str) -> str:
    """The actor that does the change did not answer (restarting, or busy past the timeout)."""
    return (f"⚠️ {bold(actor)} did not answer in time (restarting or busy), so this may not "
            f"have happened. {escape(look)} shows where things stand; try again shortly.")


# -- /restart ------------------------------------------------------------------------------------

def restart_refused_text(name: str, problem: str, valid: Sequence[str]) -> str:
    """Why ``name`` cannot be restarted, and the names that can."""
    names = ", ".join(valid) if valid else "none"
    return (f"⚠️ {escape(problem)}\n"
            f"Actors you can restart: {escape(names)}\n"
            f"Example: {code('/restart fetch_worker_0')}")


def restart_confirm_text(name: str, children: Sequence[str]) -> str:
    """A supervisor restarts its whole subtree: ask first."""
    below = ", ".join(children) if children else "no children"
    return (f"♻️ {bold(name)} is a supervisor: restarting it stops and restarts every actor "
            f"under it ({escape(below)}). Messages to them wait and are delivered after.\n"
            "Restart it?")


def restart_done_text(name: str, supervisor: str, restarts_before: int, outcome: str) -> str:
    """What happened to ``name`` (``outcome``: crashed, busy, self or asked)."""
    how = {
        "crashed": f"crashed on request; {supervisor} is restarting it as after any crash",
        "busy": ("is busy: it crashes once it has handled the messages queued ahead of "
                 f"the order, then {supervisor} restarts it"),
        "self": f"answered you and then crashes; {supervisor} restarts it",
        "asked": f"was told to crash; {supervisor} restarts it",
    }[outcome]
    return (f"♻️ {bold(name)} {escape(how)}.\n"
            f"restarts: {restarts_before} → {restarts_before + 1} · its address stays, "
            "queued messages are kept\n"
            "/actors shows it back.")


def restart_cancelled_text(name: str) -> str:
    return f"Restart of {bold(name)} cancelled; nothing changed."


# -- /cache --------------------------------------------------------------------------------------

def cache_text(stats: CacheStats | None) -> str:
    """Each layer's bytes, entries and hit rates (fresh and stale apart), then the total."""
    if stats is None:
        return "⚠️ The cache did not answer in time; try again."
    lines = [f"{bold('Cache')} · {_size(stats.bytes)} of {_size(stats.max_bytes)}"]
    for layer, figures in stats.layers:
        lookups = figures.hits + figures.stale_hits + figures.misses
        rate = "n/a" if not lookups else f"{(figures.hits + figures.stale_hits) / lookups:.0%}"
        stale = f" ({figures.stale_hits} stale)" if figures.stale_hits else ""
        lines.append(f"{escape(layer)}: {_size(figures.bytes)} · {figures.entries} entries · "
                     f"hit {rate} of {lookups}{stale} · {figures.evictions} evicted")
    lines.append(f"background refreshes: {stats.background_refreshes}")
    lines.append(f"{code('/cache clear btc')} empties one coin, {code('/cache clear')} all.")
    return "\n".join(lines)


def cache_cleared_text(cleared: CacheCleared, now_bytes: int | None) -> str:
    """What one clear removed, per layer."""
    what = "everything" if cleared.symbol is None else cleared.symbol
    lines = [f"🧹 Cleared {bold(what)}: {cleared.entries} entries, {_size(cleared.bytes)}"]
    lines += [f"{escape(layer)}: {entries} entries, {_size(freed)}"
              for layer, entries, freed in cleared.layers]
    if now_bytes is not None:
        lines.append(f"the cache now holds {_size(now_bytes)}; the next request refetches")
    return "\n".join(lines)


# -- /breaker ------------------------------------------------------------------------------------

def _breaker_line(owner: str, breaker: BreakerSnapshot) -> str:
    rate = "n/a" if breaker.failure_rate is None else f"{breaker.failure_rate:.0%}"
    line = (f"{bold(breaker.name)} ({escape(owner)}): {bold(breaker.state)} · "
            f"{breaker.consecutive_failures} failures in a row · failure rate {rate} of "
            f"{breaker.calls_in_window} calls · {breaker.trips} trips")
    if breaker.state == "open":
        line += f"\nnext trial in {breaker.retry_after_s:.0f} s (reset timeout " \
                f"{breaker.reset_timeout_s:g} s)"
    elif breaker.state == "half_open":
        line += "\na trial call is out"
    return line


def breakers_text(breakers: Sequence[tuple[str, BreakerSnapshot]]) -> str:
    """Every breaker in the tree with its owner, state, failures and next trial."""
    if not breakers:
        return "No circuit breaker reported (is the fetcher running? /actors shows it)."
    lines = [bold("Circuit breakers")]
    lines += [_breaker_line(owner, breaker) for owner, breaker in breakers]
    if any(breaker.state != "closed" for _, breaker in breakers):
        lines.append(f"After a fix, {code('/breaker reset')} closes the exchange's at once.")
    return "\n".join(lines)


def breaker_reset_text(before: BreakerSnapshot, after: BreakerSnapshot) -> str:
    """The breaker's state before and after the reset."""
    if before.state == "closed":
        return (f"{bold(before.name)} was already closed; its failure counters "
                f"({before.consecutive_failures} in a row) are cleared.")
    return (f"✅ {bold(before.name)}: {escape(before.state)} → {escape(after.state)}. Calls go "
            f"to the exchange again; if it still fails, the breaker opens again after "
            "the usual failures.")


# -- /loglevel -----------------------------------------------------------------------------------

def log_level_text(change: LevelChange) -> str:
    """The logger, its level before (and what it inherited) and now."""
    before = change.old
    if change.old == "NOTSET":
        before = f"NOTSET (inherited {change.effective_before})"
    return f"📝 Logger {bold(change.logger)}: {escape(before)} → {bold(change.new)}."


def unknown_logger_text(name: str, known: Sequence[str] = ()) -> str:
    """A refused logger name, with existing names near it (``ops.log_levels.known_loggers``)."""
    text = (f"⚠️ No logger is called “{escape(shown(name))}”. Use root or a module's dotted "
            f"name, e.g. {code('/loglevel DEBUG actors.fetcher')}.")
    if known:
        text += f"\nLoggers: {escape(', '.join(known))}"
    return text
