"""The per-user limit shared through Redis, seen through two instances' conversation policies,
and the local limiter standing in when Redis does not answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.shared_limits import SharedRateLimiter
from chat.decisions import AnswerNow, Ignore
from chat.policy import ConversationPolicy
from chat.ratelimit import Admission, UserRateLimiter
from cluster.redis_link import RedisLink
from cluster.user_limits import UserBudget
from tests.chat.test_policy import USER, WORKERS, FakeClock, answer_text, message, only

T0 = 1_800_000_000.0


def instance(link: RedisLink, clock: FakeClock, name: str, count: int = 2) -> ConversationPolicy:
    """One instance's conversation rules, its limiter shared through ``link``."""
    shared = SharedRateLimiter(
        UserBudget(link, count=count, window_s=60.0, owner=name, clock=clock),
        UserRateLimiter(count, 60.0, clock=clock))
    return ConversationPolicy(workers=WORKERS, rate_limit_count=count, rate_limit_window_s=60.0,
                              clock=clock, limiter=shared)


def test_a_limit_spent_on_instance_a_is_spent_on_b_and_the_warning_comes_once(
    redis_url: str
) -> None:
    clock = FakeClock()
    clock.now = T0
    link = RedisLink(redis_url, namespace="42")
    a, b = instance(link, clock, "a"), instance(link, clock, "b")

    assert "Commands" in answer_text(a.on_command(message("/help")))
    assert "Commands" in answer_text(b.on_command(message("/help")))
    assert "faster than I can answer" in answer_text(a.on_command(message("/help")))
    assert isinstance(only(b.on_command(message("/help"))), Ignore)  # no second warning on B
    assert isinstance(only(a.on_command(message("/help"))), Ignore)
    clock.advance(61)
    assert "Commands" in answer_text(b.on_command(message("/help")))
    assert a.counts["rate_limited"] + b.counts["rate_limited"] == 3


def test_while_redis_does_not_answer_the_local_limiter_decides(tmp_path: Path) -> None:
    clock = FakeClock()
    nowhere = RedisLink(f"unix://{tmp_path}/no-redis.sock", namespace="42")
    local = UserRateLimiter(1, 60.0, clock=clock)
    limiter = SharedRateLimiter(UserBudget(nowhere, count=1, window_s=60.0), local)

    assert [limiter.admit(USER), limiter.admit(USER), limiter.admit(USER)] == [
        Admission.ALLOW, Admission.WARN, Admission.DROP]
    assert limiter.retry_after_s(USER) == pytest.approx(60.0)
    assert limiter.fallbacks == 3 and nowhere.state().up is False
    policy = ConversationPolicy(workers=WORKERS, rate_limit_count=1, rate_limit_window_s=60.0,
                                clock=clock, limiter=limiter)
    assert isinstance(only(policy.on_command(message("/help"))), Ignore)  # still limited
    assert isinstance(only(policy.on_command(message("/help", user=USER + 20))), AnswerNow)
