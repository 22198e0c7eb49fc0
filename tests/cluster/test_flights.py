"""Cross-instance single-flight and the shared response layer, on a real Redis."""

from __future__ import annotations

import json
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from cluster.flights import Outcome, SharedFlights
from cluster.redis_link import RedisLink, SharedUnavailable
from core.errors import BotError
from fakes.engines import start_redis


class BadEntry(BotError):
    pass


class Upstream:
    """A fetch that counts its calls and, if asked, holds until released."""

    def __init__(self, value: object = {"price": 1.5}, *, hold: bool = False) -> None:
        self.value, self.calls = value, 0
        self.started, self.release = threading.Event(), threading.Event()
        if not hold:
            self.release.set()

    def __call__(self) -> object:
        self.calls += 1
        self.started.set()
        assert self.release.wait(5)
        return self.value


class Following:
    """A monotonic clock that says when a follower has looked once and is about to wait."""

    def __init__(self) -> None:
        self.calls, self.waiting = 0, threading.Event()

    def __call__(self) -> float:
        self.calls += 1
        if self.calls == 2:
            self.waiting.set()
        return float(self.calls) * 1e-3


def decode(data: object) -> object:
    if not isinstance(data, dict) or "price" not in data:
        raise BadEntry("not a price")
    return data


@pytest.fixture
def links(redis_url: str):
    made = [RedisLink(redis_url, namespace="7") for _ in range(2)]
    yield made
    for link in made:
        link.close()


def run(flights: SharedFlights, fetch, key: str = "btc", ttl_s: float = 5.0):
    return flights.run(key, ttl_s=ttl_s, flight_timeout_s=5.0, fetch=fetch,
                       encode=lambda value: value, decode=decode)


def test_a_follower_waits_for_the_leaders_answer_instead_of_fetching(links) -> None:
    clock = Following()
    leader = SharedFlights(links[0], owner="a")
    follower = SharedFlights(links[1], owner="b", clock=clock)
    upstream = Upstream(hold=True)
    with ThreadPoolExecutor(2) as pool:
        led = pool.submit(run, leader, upstream)
        assert upstream.started.wait(5)
        followed = pool.submit(run, follower, upstream)
        assert clock.waiting.wait(5)
        upstream.release.set()
        first, second = led.result(5), followed.result(5)
    assert upstream.calls == 1
    assert (first.outcome, second.outcome) == (Outcome.LED, Outcome.FOLLOWED)
    assert second.value == {"price": 1.5}
    assert follower.counts().followed == 1 and leader.counts().led == 1


def test_an_answer_fetched_by_one_instance_is_reused_by_another_with_its_age(links) -> None:
    wall = [1_750_000_000.0]
    first = SharedFlights(links[0], owner="a", wall_clock=lambda: wall[0])
    second = SharedFlights(links[1], owner="b", wall_clock=lambda: wall[0])
    upstream = Upstream()
    run(first, upstream)
    wall[0] += 2.0
    again = run(second, upstream)
    assert upstream.calls == 1
    assert again.outcome == Outcome.HIT and again.age_s == pytest.approx(2.0)


def test_when_the_leader_fails_the_followers_fetch_on_their_own(links) -> None:
    clock = Following()
    leader = SharedFlights(links[0], owner="a")
    follower = SharedFlights(links[1], owner="b", clock=clock)
    failing = Upstream(hold=True)
    failing.value = None

    def fail() -> object:
        failing()
        raise BadEntry("exchange said 503")

    with ThreadPoolExecutor(2) as pool:
        led = pool.submit(run, leader, fail)
        assert failing.started.wait(5)
        backup = Upstream()
        followed = pool.submit(run, follower, backup)
        assert clock.waiting.wait(5)
        failing.release.set()
        with pytest.raises(BadEntry):
            led.result(5)
        answer = followed.result(5)
    assert answer.outcome == Outcome.ALONE and backup.calls == 1


def test_a_leader_that_died_holds_its_followers_only_until_its_flight_expires(links) -> None:
    dead = links[0]
    # A leader that took the flight and vanished: its key with a short PX is all that is left.
    dead.call(lambda client: client.set(dead.key("flight", "btc"), b"gone", px=300))
    follower = SharedFlights(links[1], owner="b")
    upstream = Upstream()
    answer = run(follower, upstream)
    assert answer.outcome == Outcome.ALONE and upstream.calls == 1


@pytest.mark.parametrize("entry", [
    b"not zlib at all",
    zlib.compress(b"[1, 2, 3]"),
    zlib.compress(json.dumps({"at": 1, "d": {"no": "price"}}).encode()),
    zlib.compress(b" " * (40 * 1024 * 1024)),  # a bomb: small in Redis, huge inflated
    zlib.compress(b'{"at": 1' + b"0" * 400 + b', "d": {"price": 1}}'),  # no float holds it
])
def test_an_entry_that_does_not_fit_is_ignored_counted_and_fetched_afresh(links, entry) -> None:
    link = links[0]
    link.call(lambda client: client.set(link.key("resp", "btc"), entry, px=5000))
    flights = SharedFlights(link, owner="a")
    upstream = Upstream()
    answer = run(flights, upstream)
    assert answer.outcome == Outcome.ALONE and upstream.calls == 1
    assert flights.counts().bad_entries == 1
    assert run(flights, upstream).outcome == Outcome.HIT  # the fresh answer replaced it
    assert upstream.calls == 1


def test_an_answer_that_cannot_be_an_entry_is_kept_out_and_releases_the_flight(links) -> None:
    flights = SharedFlights(links[0], owner="a")
    upstream = Upstream({"price": float("nan")})  # not JSON: never stored
    assert run(flights, upstream).outcome == Outcome.LED
    link = links[0]
    assert link.call(lambda client: client.exists(link.key("flight", "btc"),
                                                  link.key("resp", "btc"))) == 0


def test_redis_stopping_while_a_follower_waits_sends_it_to_the_exchange_alone(tmp_path) -> None:
    engine = start_redis(tmp_path / "engine")
    links = [RedisLink(engine.url, namespace="7") for _ in range(2)]
    clock = Following()
    leader = SharedFlights(links[0], owner="a")
    follower = SharedFlights(links[1], owner="b", clock=clock)
    held = Upstream(hold=True)
    with ThreadPoolExecutor(2) as pool:
        led = pool.submit(run, leader, held)
        assert held.started.wait(5)
        backup = Upstream()
        followed = pool.submit(run, follower, backup)
        assert clock.waiting.wait(5)
        engine.stop()
        answer = followed.result(10)
        held.release.set()
        assert led.result(5).outcome == Outcome.LED  # its answer is simply not stored
    assert answer.outcome == Outcome.ALONE and backup.calls == 1
    assert follower.counts().unavailable == 1
    for link in links:
        link.close()


def test_an_unreachable_redis_means_fetching_alone(tmp_path) -> None:
    link = RedisLink(f"unix://{tmp_path}/nothing.sock", namespace="7")
    flights = SharedFlights(link, owner="a")
    upstream = Upstream()
    assert run(flights, upstream).outcome == Outcome.ALONE and upstream.calls == 1
    assert flights.counts().unavailable == 1
    link.close()


def test_a_flight_the_leader_could_not_end_during_a_redis_blip_is_ended_on_its_next_call(
    redis_url: str,
) -> None:
    """Redis failed the leader's end (a blip, a partition healing): its flight key stays, and
    every instance asking for that request would wait for it up to the flight timeout
    (78 s by default), holding a fetch worker each. The leader ends it once Redis answers."""
    now = [100.0]
    blipping = RedisLink(redis_url, namespace="7", clock=lambda: now[0])
    other = RedisLink(redis_url, namespace="7")
    leader = SharedFlights(blipping, owner="a")

    def fetch_through_a_blip() -> object:
        with pytest.raises(SharedUnavailable):  # the link fails; it stays down for a second
            blipping.call(lambda client: (_ for _ in ()).throw(redis.ConnectionError("blip")))
        return {"price": 1.5}

    assert run(leader, fetch_through_a_blip).outcome == Outcome.LED
    flight = other.key("flight", "btc")
    assert other.client.exists(flight) == 1  # its end did not reach Redis
    now[0] += 2.0  # the link tries again
    assert run(leader, Upstream(), key="eth").outcome == Outcome.LED
    assert other.client.exists(flight) == 0
    blipping.close()
    other.close()
