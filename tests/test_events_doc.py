"""docs/events.md against the code: every field the catalogue lists is one the event carries,
under that name in the JSON line.

How each event is checked:

- Against real log lines (``tests/actors/test_events_logged.py``, a market subtree against the
  exchange simulator): ``actor.started``, ``fetch.failed``, ``breaker.state_changed``,
  ``cache.shrunk``, ``indicator.state_dropped``.
- ``metrics.snapshot`` passes ``**figures``, so its keys are read from ``snapshot_figures``
  run over a snapshot holding every kind of stats it reads (below).
- Every other event by a static scan of its ``log_event`` call sites' keyword names: each site
  of an event must pass every documented field (producing them all for real would take a bot
  with Telegram, storage, signals and memory pressure per test). ``chat.rate_limited`` is
  logged under a name the chat policy hands to the conversation (``Ignore.event``); its one
  site is the conversation's. So are the ``chat.inline_*`` drops (``InlineDrop.event``, from
  ``chat.inline_policy``).
"""

from __future__ import annotations

from actors.conversation import ConversationStats
from actors.metrics_reporter import snapshot_figures
from market.cache import CacheStats, LayerStats
from market.fetch_stats import FetcherStats
from ops.memory import MemoryStats
from resilience.breaker import BreakerSnapshot
from supervision.snapshot import ActorSnapshot
from tests.events_doc import (REPO, Documented, documented_events, keys_by_event,
                              log_event_sites, missing_fields)

DYNAMIC_NAMES = {"chat.rate_limited": ("chat/policy.py", "actors/conversation.py"),
                 **{f"chat.inline_{why}": ("chat/inline_policy.py", "actors/conversation.py")
                    for why in ("superseded", "rate_limited", "shed", "expired")}}
"""Event -> (where the name is written, the file whose computed-name call site logs it)."""


def _sites_of(event: str) -> list[tuple[str, int, tuple[str, ...], bool]]:
    sites = log_event_sites()
    found = [(s.path, s.line, s.keys, s.spreads_fields) for s in keys_by_event(sites).get(event, [])]
    if event in DYNAMIC_NAMES:
        named_in, logged_in = DYNAMIC_NAMES[event]
        assert f'"{event}"' in (REPO / named_in).read_text(encoding="utf-8")
        found += [(s.path, s.line, s.keys, s.spreads_fields) for s in sites
                  if s.path == logged_in and not s.events]
    return found


def test_the_catalogue_is_read_with_its_per_event_field_lists() -> None:
    table = ("| event | level | fields | what |\n|---|---|---|---|\n"
             "| `a.one` / `a.two` | INFO | x, y (1, 2) / z | ... |\n"
             "| `b.one` / `b.two` | INFO | k, `breaker_*` | ... |\n"
             "| `c.*` | INFO | ... | ... |\n")
    assert documented_events(table) == (
        Documented("a.one", ("x", "y")), Documented("a.two", ("z",)),
        Documented("b.one", ("k", "breaker_*")), Documented("b.two", ("k", "breaker_*")))
    assert len(documented_events()) > 30


def test_every_documented_event_is_logged_somewhere() -> None:
    assert [d.event for d in documented_events() if not _sites_of(d.event)] == []


def test_every_call_site_passes_every_field_documented_for_its_event() -> None:
    wrong = [(d.event, path, line, missing)
             for d in documented_events() for path, line, keys, spreads in _sites_of(d.event)
             if not spreads and (missing := missing_fields(d, keys))]
    assert wrong == []


def test_no_event_field_is_renamed_in_the_json_line() -> None:
    """A keyword named like the line's own keys (level, ts, event...) comes out prefixed."""
    renamed = [(s.path, s.line, key) for s in log_event_sites() for key in s.keys
               if key.startswith("field_")]
    assert renamed == []


def test_no_event_field_is_named_like_a_key_of_the_line_itself() -> None:
    """``instance``, ``ts``, ``level``... belong to the line: a field so named is prefixed."""
    from core.logs import _RESERVED_KEYS

    clashing = [(s.path, s.line, key) for s in log_event_sites() for key in s.keys
                if key in _RESERVED_KEYS - {"request_id"}]  # request_id is log_event's own
    assert clashing == []


def test_the_metrics_snapshot_carries_every_documented_figure() -> None:
    layer = LayerStats(hits=3, misses=1, stale_hits=0, evictions=0, bytes=5, hit_rate=0.75)
    breaker = BreakerSnapshot(name="exchange", state="closed", consecutive_failures=0,
                              failure_rate=None, calls_in_window=0, trips=0, reset_timeout_s=3,
                              retry_after_s=0)
    tree = ActorSnapshot(name="root", state="running", kind="supervisor", children=(
        ActorSnapshot(name="cache", state="running", kind="worker",
                      stats=CacheStats(bytes=1, max_bytes=2, layers=(("computed", layer),),
                                       background_refreshes=0)),
        ActorSnapshot(name="fetcher", state="running", kind="worker", breakers=(breaker,),
                      stats=FetcherStats(upstream_calls=1, coalesced=0, refused_circuit_open=0,
                                         in_flight=0, busy_workers=0)),
        ActorSnapshot(name="conversation", state="running", kind="worker",
                      stats=ConversationStats(commands=1, buttons=0, rate_limited=0, denied=0,
                                              loading_shown=0, timed_out=0, reply_failed=0,
                                              pending=0)),
        ActorSnapshot(name="memory_monitor", state="running", kind="worker",
                      stats=MemoryStats(level="normal", rss_mb=10.0, threads=3, open_files=4,
                                        system_available_mb=100.0, peak_rss_mb=10.0,
                                        limit_mb=512.0, pressure_events=0,
                                        sampling_failures=0)),
    ))
    documented = next(d for d in documented_events() if d.event == "metrics.snapshot")
    assert missing_fields(documented, snapshot_figures(tree)) == []
