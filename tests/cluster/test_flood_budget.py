"""The shared flood budget: one Lua script, a driven clock, two instances, Telegram's limits.

The judges are the fake Bot API's own flood model (``fakes.telegram.rules.FloodControl``):
whatever the budget grants must be admitted by Telegram whether a call arrives the moment it
was granted or only when it completes.
"""

from __future__ import annotations

import heapq
import random

import pytest

from cluster.flood_budget import FloodBudget, FloodGrant, FloodLimits
from cluster.redis_link import RedisLink
from fakes.telegram.rules import FloodControl, FloodRules

T0 = 1_800_000_000.0
GROUPS = frozenset({-1, -2, -3})


@pytest.fixture
def link(redis_url: str) -> RedisLink:
    return RedisLink(redis_url, namespace="42")


def budgets(link: RedisLink, limits: FloodLimits = FloodLimits()) -> tuple[FloodBudget, ...]:
    return (FloodBudget(link, limits, owner="a"), FloodBudget(link, limits, owner="b"))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_two_instances_never_get_more_than_telegrams_limits_in_any_window(
    link: RedisLink, seed: int
) -> None:
    rng = random.Random(seed)
    instances = budgets(link)
    on_send = FloodControl(FloodRules())  # the call arrives when it was granted...
    on_done = FloodControl(FloodRules())  # ...or only when it completes
    in_flight: list[tuple[float, int, FloodGrant, bool]] = []
    now, granted, refused, serial = T0, 0, 0, 0
    for _ in range(2500):
        now += rng.choice((0.0, 0.001, 0.01, 0.05, 0.2))
        while in_flight and in_flight[0][0] <= now:
            done, _, grant, is_group = heapq.heappop(in_flight)
            rng.choice(instances).settle(grant, now=done)
            assert on_done.admit(grant.chat_id, is_group=is_group,
                                 is_message=grant.is_message, now=done) is None
        chat = rng.choice((1, 2, 3, 4, 5, *GROUPS, *range(10, 60)))
        is_message = rng.random() < 0.8
        verdict = rng.choice(instances).acquire(chat, is_group=chat in GROUPS,
                                                is_message=is_message, now=now)
        if verdict.grant is None:
            refused += 1
            assert verdict.wait_s > 0 and verdict.limit in {"global", "chat", "group"}
            continue
        granted += 1
        assert on_send.admit(chat, is_group=chat in GROUPS, is_message=is_message,
                             now=now) is None
        serial += 1
        heapq.heappush(in_flight, (now + rng.uniform(0.0, 0.3), serial, verdict.grant,
                                   chat in GROUPS))
    assert granted > 500 and refused > 100  # the limits were actually reached


def test_a_burst_gets_exactly_the_global_limit_per_window(link: RedisLink) -> None:
    first, second = budgets(link)
    verdicts = [(first if n % 2 else second).acquire(100 + n, is_group=False, is_message=True,
                                                     now=T0) for n in range(40)]
    grants = [verdict.grant for verdict in verdicts if verdict.grant is not None]
    assert len(grants) == 30
    assert {verdict.limit for verdict in verdicts[30:]} == {"global"}
    # In flight, the 30 calls hold their slots: look again soon, not in a window's time.
    assert verdicts[-1].wait_s == pytest.approx(FloodLimits().poll_s)
    for grant in grants:
        first.settle(grant, now=T0 + 0.1)
    late = first.acquire(999, is_group=False, is_message=True, now=T0 + 0.5)
    assert late.grant is None and late.wait_s == pytest.approx(0.6)
    assert first.acquire(999, is_group=False, is_message=True, now=T0 + 1.1).grant is not None


def test_one_chat_gets_its_burst_then_one_a_second_across_instances(link: RedisLink) -> None:
    first, second = budgets(link)
    burst = [(first, second)[n % 2].acquire(7, is_group=False, is_message=True, now=T0)
             for n in range(4)]
    assert [verdict.grant is not None for verdict in burst] == [True, True, True, False]
    assert burst[3].limit == "chat" and burst[3].wait_s == pytest.approx(1.0)
    assert second.acquire(7, is_group=False, is_message=False, now=T0).grant is not None  # edit
    assert second.acquire(7, is_group=False, is_message=True, now=T0 + 1.0).grant is not None


def test_a_group_gets_twenty_messages_a_minute_however_they_are_spread(link: RedisLink) -> None:
    first, second = budgets(link)
    sent = 0
    for n in range(60):  # one a second per instance: the bucket allows it, the window not
        for budget in (first, second):
            verdict = budget.acquire(-5, is_group=True, is_message=True, now=T0 + n)
            if verdict.grant is not None:
                sent += 1
                budget.settle(verdict.grant, now=T0 + n)
            else:
                assert verdict.limit in {"group", "chat"}
    assert sent == 20


def test_a_429_seen_by_one_instance_pauses_the_chat_or_everything_for_all(
    link: RedisLink
) -> None:
    first, second = budgets(link)
    first.pause(7, 3.0, now=T0)
    held = second.acquire(7, is_group=False, is_message=True, now=T0 + 1)
    assert (held.grant, held.limit) == (None, "pause") and held.wait_s == pytest.approx(2.0)
    assert second.acquire(8, is_group=False, is_message=True, now=T0 + 1).grant is not None
    first.pause(None, 2.0, now=T0 + 1)
    first.pause(None, 0.5, now=T0 + 1)  # a shorter pause does not cut the longer one
    everyone = second.acquire(9, is_group=False, is_message=True, now=T0 + 2)
    assert everyone.limit == "pause_all" and everyone.wait_s == pytest.approx(1.0)
    assert second.acquire(9, is_group=False, is_message=True, now=T0 + 3).grant is not None



def test_an_instance_restarted_under_its_fixed_name_still_counts_its_last_lifes_calls(
    link: RedisLink,
) -> None:
    limits = FloodLimits(global_calls=2, chat_burst=5)
    before = FloodBudget(link, limits, owner="bot-1")
    assert before.acquire(1, is_group=False, is_message=True, now=T0).grant is not None
    after = FloodBudget(link, limits, owner="bot-1")  # restarted under the same name
    assert after.acquire(2, is_group=False, is_message=True, now=T0 + 0.1).grant is not None
    assert after.acquire(3, is_group=False, is_message=True, now=T0 + 0.2).grant is None


def test_a_value_that_is_no_number_in_a_flood_key_counts_as_nothing_not_a_script_error(
    link: RedisLink,
) -> None:
    """Redis content is input: a Lua error here reached the outbox's dispatch task as a raw
    ResponseError and ended it (nothing sent until a restart)."""
    budget = FloodBudget(link, owner="a")
    for key in (link.key("flood", "pause", "all"), link.key("flood", "pause", 1),
                link.key("flood", "chat", 1)):
        link.client.set(key, b"garbage")
    verdict = budget.acquire(1, is_group=False, is_message=True, now=T0)
    assert verdict.grant is not None
    link.client.set(link.key("flood", "chat", 1), b"garbage")
    budget.settle(verdict.grant, now=T0 + 0.1)
    budget.pause(None, 1.0, now=T0 + 0.2)
