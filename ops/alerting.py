"""Which pushed alerts to send admins, decided from samples of the tree and a clock.

Why pure: an operator must be woken once per problem, not once per sample, and the rules that
ensure it (merging, de-duplication, cool-down, a global cap, mute) are easy to get wrong and
must be tested with an injected clock, without threads. The ``ops_alerts`` actor samples the tree,
calls :func:`observe` and :func:`decide`, and sends what comes out; the text is
``chat.cards_alerting``.

**Topics.** A sample is reduced to *topics*, each with a value, "" meaning all is well:

* ``health``: the verdict of ``ops.health.assess`` (its value ``ok`` counts as well);
* ``breaker:<path>:<name>``: a circuit breaker that is not closed (open or half-open: in both
  it refuses all but one trial call);
* ``memory``: the memory monitor says ``critical``;
* ``gave_up:<path>``: a supervisor gave up on a child (escalated), seen as its restart count
  going up or as an actor left stopped or failed;
* ``error_rate`` / ``latency``: the 5-minute error rate or p95 latency above its threshold
  (``ops.slo``), once at least ``min_commands`` commands were counted.

**Rules.**

* *Merged*: every topic that changed in one sample goes into **one** message. The breaker
  opening is what degrades health, so both arrive in the same sample and make one message:
  the health level is its headline, each changed topic one line.
* *Confirmed*: a topic must be bad in ``confirm_samples`` consecutive samples before it is
  told (an actor restarting in 50 ms is not news); a recovery is told at once, and only for
  a problem that was told.
* *Cool-down*: bad news about one topic is told at most once per ``cooldown_s``. A flapping
  breaker gives its first message, its recovery, then nothing until the cool-down has passed;
  if it is still bad then, one message saying how many changes were seen meanwhile.
* *Cap*: at most ``max_per_minute`` messages in any 60 s; what the cap (or a mute) holds back
  is not lost: the state last told is kept, so the next message allowed says what differs.
* *Mute*: while muted nothing is sent (``/mute``); the first sample after it ends tells what
  is different from what admins were last told.
* *Unknown is not well*: a topic whose source did not answer this sample (a busy actor) keeps
  its last value, so a slow snapshot never sends a false recovery.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace

from ops.health import DEAD_STATES, HealthLevel, assess
from ops.memory import MemoryStats
from ops.slo import SloStats
from supervision.snapshot import ActorSnapshot

__all__ = ["AlertSettings", "AlertState", "Change", "Decision", "Notification", "Observation",
           "decide", "mute", "observe"]

HEALTH = "health"
_WINDOW_S = 60.0


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """Thresholds and limits (from the ``ops_alert_*`` settings)."""

    cooldown_s: float = 300.0
    """Bad news about one topic at most once per this many seconds."""
    max_per_minute: int = 3
    """Messages in any 60 s, all topics together."""
    error_rate: float = 0.2
    """5-minute error rate above which admins are told."""
    p95_ms: float = 5000.0
    """5-minute p95 latency above which admins are told."""
    min_commands: int = 10
    """Commands counted in 5 minutes before the rate and latency are judged."""
    confirm_samples: int = 2
    """Consecutive bad samples before bad news is told."""


@dataclass(frozen=True, slots=True)
class Observation:
    """One sample reduced to topics."""

    health: HealthLevel
    """The verdict."""
    reasons: tuple[str, ...]
    """Its reasons."""
    topics: tuple[tuple[str, str], ...]
    """(topic, description) for every bad topic but health."""
    unknown: tuple[str, ...] = ()
    """Topic prefixes whose source did not answer: they keep their last value."""
    restarts: tuple[tuple[str, int], ...] = ()
    """(supervisor path, restarts): a rise means it gave up and was restarted."""


@dataclass(frozen=True, slots=True)
class Change:
    """One line of a notification: a topic that went bad or became well again."""

    topic: str
    """``health``, ``breaker:market/fetcher:exchange``, ``memory``, ``gave_up:market``, ..."""
    bad: bool
    """True for bad news, False for a recovery."""
    detail: str
    """What it is now (the level, "open, retry in 3 s", "error rate 40 % > 20 %", ...)."""
    changes: int = 1
    """State changes seen since admins last heard of it (above 1: it flapped)."""

    @property
    def kind(self) -> str:
        return self.topic.split(":", 1)[0]

    @property
    def subject(self) -> str:
        return self.topic.split(":", 1)[1] if ":" in self.topic else ""


@dataclass(frozen=True, slots=True)
class Notification:
    """One message to every admin."""

    level: HealthLevel
    """Health now (the headline)."""
    reasons: tuple[str, ...]
    """Health's reasons now."""
    changes: tuple[Change, ...]
    """What changed since the last message, bad news first."""


@dataclass(frozen=True, slots=True)
class _Topic:
    told: str = ""
    """The value admins were last told ("" or "ok": well)."""
    seen: str = ""
    """The value of the latest sample."""
    streak: int = 0
    """Consecutive samples with ``seen``."""
    told_bad_at: float = float("-inf")
    """When bad news about it was last sent."""
    changes: int = 0
    """Changes of ``seen`` since admins last heard of it."""


@dataclass(frozen=True, slots=True)
class AlertState:
    """Everything :func:`decide` remembers between samples."""

    topics: tuple[tuple[str, _Topic], ...] = ()
    sent_at: tuple[float, ...] = ()
    """When the messages of the last minute were sent."""
    muted_until: float = float("-inf")
    restarts: tuple[tuple[str, int], ...] = ()
    held: int = 0
    """Samples with news that a mute, the cap or no admin to tell held back."""
    sent: int = 0
    """Messages sent."""


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do after one sample."""

    state: AlertState
    """The state to keep."""
    notification: Notification | None = None
    """The message to send, if any."""
    held_by: str | None = None
    """"mute", "no_admin" or "cap" when news was held back."""
    muted_for_s: float = 0.0
    """Seconds of mute left."""

    changes: tuple[Change, ...] = field(default=())
    """The news of this sample (sent or held)."""


def _well(topic: str, value: str) -> bool:
    return value == "" or (topic == HEALTH and value == "ok")


def observe(snapshot: ActorSnapshot, settings: AlertSettings) -> Observation:
    """The topics of one snapshot (see the module docstring)."""
    health = assess(snapshot)
    topics: list[tuple[str, str]] = []
    unknown: list[str] = []
    restarts: list[tuple[str, int]] = []
    memory_known = slo_known = False
    for path, node in _walk(snapshot, None):
        if node.state == "busy":
            unknown.append(f"breaker:{path}:")
        for breaker in node.breakers:
            if breaker.state != "closed":
                # Open and half-open are one state here: both refuse all but a trial call.
                retry = (f"retry in {math.ceil(breaker.retry_after_s)} s" if breaker.retry_after_s
                         else "trial call due")
                topics.append((f"breaker:{path}:{breaker.name}",
                               f"open, {retry}, {breaker.trips} trips"))
        if node.kind == "supervisor":
            restarts.append((path, node.restarts))
        if node.state in DEAD_STATES and path != "root":
            topics.append((f"gave_up:{path}", f"{path} is {node.state}"))
        match node.stats:
            case MemoryStats() as memory:
                memory_known = True
                if memory.level == "critical":
                    topics.append(("memory", f"critical: {memory.rss_mb} MB of "
                                             f"{memory.limit_mb} MB"))
            case SloStats() as slo:
                slo_known = True
                topics.extend(_slo_topics(slo, settings))
    if not memory_known:
        unknown.append("memory")
    if not slo_known:
        unknown += ["error_rate", "latency"]
    return Observation(health=health.level, reasons=health.reasons, topics=tuple(topics),
                       unknown=tuple(unknown), restarts=tuple(restarts))


def _slo_topics(slo: SloStats, settings: AlertSettings) -> Iterator[tuple[str, str]]:
    figures = slo.last_5m
    if figures.count < settings.min_commands:
        return
    if figures.error_rate is not None and figures.error_rate > settings.error_rate:
        yield ("error_rate", f"{figures.error_rate:.0%} of {figures.count} commands failed "
                             f"in 5 min (threshold {settings.error_rate:.0%})")
    if figures.p95_ms is not None and figures.p95_ms > settings.p95_ms:
        yield ("latency", f"p95 {figures.p95_ms:.0f} ms over 5 min "
                          f"(threshold {settings.p95_ms:.0f} ms)")


def _walk(node: ActorSnapshot, parent: str | None) -> Iterator[tuple[str, ActorSnapshot]]:
    path = node.name if parent is None else f"{parent}/{node.name}"
    yield (path.split("/", 1)[1] if "/" in path else path), node
    for child in node.children:
        yield from _walk(child, path)


def mute(state: AlertState, now: float, for_s: float) -> AlertState:
    """Silence notifications for ``for_s`` seconds from ``now`` (0 or less: unmute)."""
    return replace(state, muted_until=now + for_s if for_s > 0 else float("-inf"))


def decide(state: AlertState, observation: Observation, now: float,
           settings: AlertSettings, *, reachable: bool = True) -> Decision:
    """The next state and at most one notification for one sample taken at ``now``.

    ``reachable`` False (no admin can be written to yet) holds news back like a mute, so an
    admin who turns up later still hears of a problem that is still there."""
    topics = dict(state.topics)
    values = _values(observation, topics)
    news: list[Change] = []
    for topic in sorted(set(topics) | set(values)):
        value = values.get(topic, "")
        fresh = _Topic(told="ok", seen="ok") if topic == HEALTH else _Topic()
        entry = _seen(topics.get(topic, fresh), value)
        topics[topic] = entry
        change = _news(topic, entry, now, settings)
        if change is not None:
            news.append(change)
    news += _gave_up(state.restarts, observation.restarts, topics, now, settings)
    muted_for_s = max(0.0, state.muted_until - now)
    recent = tuple(at for at in state.sent_at if now - at < _WINDOW_S)
    held_by = None if not news else "mute" if muted_for_s else "no_admin" if not reachable else (
        "cap" if len(recent) >= settings.max_per_minute else None)
    new_state = replace(state, topics=tuple(sorted(topics.items())), sent_at=recent,
                        restarts=observation.restarts)
    if not news or held_by is not None:
        return Decision(replace(new_state, held=state.held + (held_by is not None)),
                        held_by=held_by, muted_for_s=muted_for_s, changes=tuple(news))
    for change in news:
        entry = topics.get(change.topic, _Topic())
        topics[change.topic] = replace(
            entry, told=entry.seen, changes=0,
            told_bad_at=now if change.bad else entry.told_bad_at)
    news.sort(key=lambda change: (not change.bad, change.topic != HEALTH, change.topic))
    notification = Notification(level=observation.health, reasons=observation.reasons,
                                changes=tuple(news))
    return Decision(replace(new_state, topics=tuple(sorted(topics.items())),
                            sent_at=(*recent, now), sent=state.sent + 1),
                    notification=notification, changes=tuple(news))


def _values(observation: Observation, topics: Mapping[str, _Topic]) -> dict[str, str]:
    values = {HEALTH: observation.health, **dict(observation.topics)}
    for topic, entry in topics.items():  # unknown this time: as last seen
        if topic not in values and topic.startswith(observation.unknown or ("\0",)):
            values[topic] = entry.seen
    return values


def _seen(entry: _Topic, value: str) -> _Topic:
    if value == entry.seen:
        return replace(entry, streak=entry.streak + 1)
    # A change of detail within bad news (a retry delay counting down) is no state change.
    same_state = not _well("", value) and not _well("", entry.seen) and (
        value.split(",")[0] == entry.seen.split(",")[0])
    return replace(entry, seen=value, streak=entry.streak + 1 if same_state else 1,
                   changes=entry.changes + (not same_state))


def _news(topic: str, entry: _Topic, now: float, settings: AlertSettings) -> Change | None:
    if _well(topic, entry.seen):
        if _well(topic, entry.told):
            return None
        return Change(topic, bad=False, detail=entry.seen or "well again", changes=entry.changes)
    if entry.streak < settings.confirm_samples:
        return None
    if not _well(topic, entry.told) and _state_word(entry.told) == _state_word(entry.seen):
        return None  # already told
    escalation = topic == HEALTH and entry.seen == "failing"
    if now - entry.told_bad_at < settings.cooldown_s and not escalation:
        return None  # told recently: the cool-down holds repeats back (and counts them)
    return Change(topic, bad=True, detail=entry.seen, changes=max(1, entry.changes))


def _state_word(value: str) -> str:
    return value.split(",")[0]


def _gave_up(before: tuple[tuple[str, int], ...], now_restarts: tuple[tuple[str, int], ...],
             topics: dict[str, _Topic], now: float, settings: AlertSettings) -> list[Change]:
    """A supervisor whose restart count rose gave up on a child (it escalates by failing)."""
    previous = dict(before)
    news = []
    for path, restarts in now_restarts:
        rise = restarts - previous.get(path, restarts)
        if rise <= 0:
            continue
        topic = f"gave_up:{path}"
        entry = topics.get(topic, _Topic())
        if now - entry.told_bad_at < settings.cooldown_s:
            topics[topic] = replace(entry, changes=entry.changes + rise)
            continue
        changes = entry.changes + rise
        topics[topic] = replace(entry, changes=changes)
        news.append(Change(topic, bad=True, detail=f"{path} gave up and was restarted",
                           changes=changes))
    return news
