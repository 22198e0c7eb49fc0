"""The per-user rate limit in Redis: one window for every instance, a driven clock."""

from __future__ import annotations

import pytest

from cluster.redis_link import RedisLink
from cluster.user_limits import UserBudget

T0 = 1_800_000_000.0


@pytest.fixture
def link(redis_url: str) -> RedisLink:
    return RedisLink(redis_url, namespace="42")


def two_instances(link: RedisLink, count: int = 3,
                  window_s: float = 60.0) -> tuple[UserBudget, UserBudget]:
    return (UserBudget(link, count=count, window_s=window_s, owner="a"),
            UserBudget(link, count=count, window_s=window_s, owner="b"))


def test_a_budget_spent_on_one_instance_is_spent_on_the_other_and_warned_once(
    link: RedisLink
) -> None:
    a, b = two_instances(link)
    assert [a.admit(7, now=T0), b.admit(7, now=T0 + 1), a.admit(7, now=T0 + 2)] == ["allow"] * 3
    assert [b.admit(7, now=T0 + 3), a.admit(7, now=T0 + 4), b.admit(7, now=T0 + 5)] == [
        "warn", "drop", "drop"]
    assert a.admit(8, now=T0 + 5) == "allow"  # another user's window is their own
    assert b.retry_after_s(7, now=T0 + 5) == pytest.approx(55.0)
    assert a.admit(7, now=T0 + 60) == "allow"  # the first request left the window
    assert b.admit(7, now=T0 + 60.5) == "warn"  # a new burst over the limit: warned again


def test_costs_add_up_like_the_local_limiter_half_presses_included(link: RedisLink) -> None:
    a, b = two_instances(link, count=2)
    assert [a.admit(7, 0.5, now=T0), b.admit(7, 0.5, now=T0), a.admit(7, 0.5, now=T0),
            b.admit(7, 0.5, now=T0)] == ["allow"] * 4
    assert a.admit(7, 0.25, now=T0 + 1) == "warn"
    assert a.retry_after_s(7, now=T0 + 1) == pytest.approx(59.0)


def test_buckets_are_apart_and_keys_are_namespaced(link: RedisLink) -> None:
    commands = UserBudget(link, count=1, window_s=10.0)
    inline = UserBudget(link, count=1, window_s=10.0, bucket="inline")
    assert (commands.admit(7, now=T0), inline.admit(7, now=T0)) == ("allow", "allow")
    assert commands.key(7) == "cryptobot:42:ratelimit:7"
    assert inline.key(7) == "cryptobot:42:ratelimit:inline:7"


def test_an_instance_restarted_under_its_fixed_name_still_counts_what_its_last_life_spent(
    link: RedisLink
) -> None:
    """Named instances (the deploy files name them) restart under the same name: the new
    life's first grants must not overwrite the old life's in the window."""
    before = UserBudget(link, count=2, window_s=60.0, owner="bot-1")
    assert before.admit(7, now=T0) == "allow"
    after = UserBudget(link, count=2, window_s=60.0, owner="bot-1")  # the same name again
    assert after.admit(7, now=T0 + 1) == "allow"
    assert after.admit(7, now=T0 + 2) == "warn"


def test_a_window_member_without_a_cost_counts_as_nothing_not_a_script_error(
    link: RedisLink
) -> None:
    budget = UserBudget(link, count=2, window_s=60.0, owner="a")
    link.client.zadd(budget.key(7), {"garbage": T0})
    assert budget.admit(7, now=T0 + 1) == "allow"
    assert budget.retry_after_s(7, now=T0 + 2) == 0.0
