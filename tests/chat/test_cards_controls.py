"""The admin controls' answers say what changed, and refusals say what would be accepted."""

from __future__ import annotations

from chat.cards_controls import (
    breaker_reset_text,
    breakers_text,
    cache_cleared_text,
    cache_text,
    log_level_text,
    restart_done_text,
    restart_refused_text,
    unknown_logger_text,
)
from chat.html import is_balanced, visible_text
from market.cache import CacheStats, LayerStats
from market.cache_clear import CacheCleared
from ops.log_levels import LevelChange
from resilience.breaker import BreakerSnapshot


def breaker(state: str, **fields: object) -> BreakerSnapshot:
    values: dict[str, object] = dict(name="exchange", state=state, consecutive_failures=0,
                                     failure_rate=None, calls_in_window=0, trips=0,
                                     reset_timeout_s=30.0, retry_after_s=0.0)
    values.update(fields)
    return BreakerSnapshot(**values)  # type: ignore[arg-type]


def test_a_refused_restart_lists_the_actors_that_can_be_restarted() -> None:
    text = restart_refused_text("root", "root is the root", ["market", "fetch_worker_0"])
    assert is_balanced(text) and "market, fetch_worker_0" in visible_text(text)


def test_a_done_restart_counts_the_restart_and_names_the_supervisor() -> None:
    text = visible_text(restart_done_text("cache", "market", 2, "crashed"))
    assert "market is restarting it" in text and "restarts: 2 → 3" in text


def test_cache_text_shows_bytes_entries_and_hit_rate_per_layer() -> None:
    raw = LayerStats(hits=3, misses=1, stale_hits=0, evictions=0, bytes=2048, hit_rate=0.75,
                     entries=4)
    stats = CacheStats(bytes=2048, max_bytes=1 << 20, layers=(("raw", raw),),
                       background_refreshes=1)
    text = visible_text(cache_text(stats))
    assert "raw: 2.0 KB · 4 entries · hit 75% of 4" in text
    assert "did not answer" in cache_text(None)


def test_a_clear_says_what_went_from_each_layer() -> None:
    cleared = CacheCleared("BTCUSDT", (("raw", 3, 3000), ("computed", 1, 100), ("charts", 0, 0)))
    text = visible_text(cache_cleared_text(cleared, 0))
    assert "Cleared BTCUSDT: 4 entries" in text and "raw: 3 entries" in text


def test_an_open_breaker_shows_its_next_trial_and_how_to_reset_it() -> None:
    text = visible_text(breakers_text([("fetcher", breaker("open", consecutive_failures=5,
                                                           retry_after_s=12.0, trips=1))]))
    assert "exchange (fetcher): open" in text and "next trial in 12 s" in text
    assert "/breaker reset" in text
    assert "No circuit breaker" in breakers_text([])


def test_a_reset_says_before_and_after() -> None:
    assert "open → closed" in visible_text(breaker_reset_text(breaker("open"), breaker("closed")))
    assert "already closed" in breaker_reset_text(breaker("closed"), breaker("closed"))


def test_a_level_change_says_what_it_was_and_what_it_inherited() -> None:
    text = visible_text(log_level_text(LevelChange("market", "NOTSET", "WARNING", "DEBUG")))
    assert "market: NOTSET (inherited WARNING) → DEBUG" in text
    assert is_balanced(unknown_logger_text("<b>x"))
