"""The layered cache: freshness, staleness, LRU by bytes, refresh bookkeeping, shrinking."""

from __future__ import annotations

import numpy as np

from core.config import BotConfig
from market.cache import CacheTtls, Layer, LayeredCache, ttl_for


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def layer_by_prefix(key) -> Layer:
    return {"r": Layer.RAW, "c": Layer.COMPUTED, "g": Layer.CHARTS}[key[0]]


def make(max_bytes: int = 1_000_000, **options) -> tuple[LayeredCache, Clock]:
    clock = Clock()
    return LayeredCache(max_bytes, clock=clock, layer_of=layer_by_prefix, **options), clock


def test_a_value_is_fresh_within_its_ttl_and_stale_after():
    cache, clock = make()
    cache.put("r1", {"price": 1.0}, ttl_s=5)
    clock.now += 4
    hit = cache.get("r1")
    assert hit is not None and hit.fresh and hit.value == {"price": 1.0} and hit.age_s == 4
    clock.now += 2
    hit = cache.get("r1")
    assert hit is not None and not hit.fresh
    assert cache.get("r1", allow_stale=False) is None


def test_a_value_fetched_elsewhere_ages_from_its_fetch_not_from_its_store():
    cache, clock = make()
    cache.put("r1", {"price": 1.0}, ttl_s=5, age_s=3)  # read from the shared layer, 3 s old
    clock.now += 1
    hit = cache.get("r1")
    assert hit is not None and hit.fresh and hit.age_s == 4
    clock.now += 2
    hit = cache.get("r1")
    assert hit is not None and not hit.fresh


def test_stale_values_older_than_the_staleness_limit_are_not_served():
    cache, clock = make(max_stale_s=60)
    cache.put("r1", 1, ttl_s=5)
    clock.now += 66
    assert cache.get("r1") is None


def test_raw_values_are_stored_compressed_and_come_back_equal():
    cache, _ = make()
    array = np.zeros(10_000)
    cache.put("r-klines", array, ttl_s=5)
    assert cache.stats()[Layer.RAW].bytes < array.nbytes / 10
    hit = cache.get("r-klines")
    assert hit is not None and np.array_equal(hit.value, array)


def test_each_layer_evicts_its_least_recently_used_entries_to_stay_within_budget():
    cache, _ = make(max_bytes=10_000)  # charts get 15 %: 1,500 bytes
    cache.put("g1", b"x" * 600, ttl_s=60)
    cache.put("g2", b"x" * 600, ttl_s=60)
    assert cache.get("g1") is not None  # g1 is now the most recently used
    cache.put("g3", b"x" * 600, ttl_s=60)
    assert cache.get("g2") is None and cache.get("g1") is not None
    stats = cache.stats()[Layer.CHARTS]
    assert stats.evictions == 1 and stats.bytes <= 1500


def test_hits_misses_and_stale_hits_are_counted_per_layer():
    cache, clock = make()
    cache.put("c1", "analysis", ttl_s=5)
    cache.get("c1")
    cache.get("c2")
    clock.now += 10
    cache.get("c1")
    stats = cache.stats()[Layer.COMPUTED]
    assert (stats.hits, stats.misses, stats.stale_hits) == (1, 1, 1)
    assert stats.hit_rate == round(2 / 3, 4)


def test_fresh_hits_and_stale_answers_have_rates_of_their_own():
    cache, clock = make()
    cache.put("c1", "analysis", ttl_s=5)
    cache.get("c1")
    cache.get("c2")
    clock.now += 10
    cache.get("c1")
    cache.get("c1")
    stats = cache.stats()[Layer.COMPUTED]
    assert (stats.fresh_hit_rate, stats.stale_hit_rate, stats.hit_rate) == (0.25, 0.5, 0.75)


def test_keys_read_often_are_offered_for_refresh_once_shortly_before_expiry():
    cache, clock = make()
    cache.put("r-hot", 1, ttl_s=10)
    cache.put("r-cold", 1, ttl_s=10)
    cache.get("r-hot")
    cache.get("r-hot")
    assert cache.due_for_refresh() == ()
    clock.now += 8
    assert cache.due_for_refresh() == ("r-hot",)
    assert cache.due_for_refresh() == ()  # already being refreshed
    cache.refresh_failed("r-hot")
    assert cache.due_for_refresh() == ("r-hot",)
    cache.put("r-hot", 2, ttl_s=10)  # the refresh landed: a new entry with no reads yet
    clock.now += 8
    assert cache.due_for_refresh() == ()


def test_shrinking_evicts_down_to_the_target_fraction():
    cache, _ = make(max_bytes=100_000)
    for n in range(20):
        cache.put(f"g{n}", b"x" * 500, ttl_s=60)
    freed = cache.shrink(0.5)
    assert freed > 0
    assert cache.stats()[Layer.CHARTS].bytes <= 0.5 * 15_000


def test_ttls_follow_the_data_kind_and_interval():
    assert ttl_for("ticker_24h") == 5
    assert ttl_for("klines", "1m") == 5
    assert ttl_for("klines", "1h") == 60
    assert ttl_for("klines", "1d") == 120
    assert ttl_for("analysis", "1d") == 5
    assert ttl_for("exchange_info") == 3600


def test_configured_ttls_replace_the_defaults_per_kind_and_interval():
    ttls = CacheTtls.from_config(BotConfig().with_overrides(
        cache_ticker_ttl_s=2, cache_analysis_ttl_s=1.5, cache_klines_ttl_divisor=30,
        cache_klines_ttl_min_s=10, cache_klines_ttl_max_s=300))
    assert ttl_for("ticker_24h", "", ttls) == 2
    assert ttl_for("analysis", "1h", ttls) == 1.5
    assert ttl_for("klines", "1m", ttls) == 10  # 2 s, raised to the floor
    assert ttl_for("klines", "1h", ttls) == 120  # 3600 / 30
    assert ttl_for("klines", "1d", ttls) == 300  # capped
    assert ttl_for("chart", "1h", ttls) == 120


def test_the_default_settings_give_the_ttls_the_cache_always_had():
    assert CacheTtls.from_config(BotConfig()) == CacheTtls()
