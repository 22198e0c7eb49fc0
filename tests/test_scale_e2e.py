"""Issue 16, from outside: `bot.py run` processes sharing one token, PostgreSQL and Redis.

Two instances against the fake Bot API answer a 300-command burst from 100 chats exactly once
without a 429; a `kill -9` of the polling lease holder in the middle of a second burst loses no
command and no acknowledged write, and the lease moves within 5 s; a paused lease holder (SIGSTOP)
loses the lease and, woken, answers nothing twice; an alert crossing with both instances sweeping
is notified once. Then the engines fail under them: Redis stopped mid-run
(nothing crashes, health says so, every command is answered once when it is back) and
PostgreSQL stopped mid-run (reads answered, writes refused, none acknowledged), and a partition
(one instance cut off from Redis gives up the lease; nothing answered twice). The harness
(fakes/scale/harness.py) is first shown on its own: one instance on the embedded default
(SQLite, no Redis) answers a burst once.

Run with ``-s`` to see the measured figures (lease move, answers while Redis was down). About
80 s in all; each test stays under 20 s on two cores.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from fakes.engines import start_postgres
from fakes.exchange.catalog import DEFAULT_SYMBOLS
from fakes.scale import asks as ask
from fakes.scale.asks import Ask
from fakes.scale.harness import PINNED_BASE, Cluster, Instance, wait_until
from fakes.scale.partition import SocketRelay
from fakes.scale.redis_server import RedisServer

pytestmark = pytest.mark.slow

BURST_CHATS = 100
"""The issue's burst: 300 commands from 100 chats (three each)."""
SECOND_BURST_CHATS = 50
ANSWER_TIMEOUT_S = 60.0
LEASE_MOVE_BOUND_S = 5.0
IN_FLIGHT_S = 1.0
"""How long before a kill -9 a reply may have reached Telegram and still be unacknowledged
(its 200 in flight, then the done key); generous for a loaded CI machine."""
STOP_SLACK_S = 0.5
"""A signal reaches the process group a moment after the harness notes the time, and the fake
Bot API records a request that was on the wire then a moment later still (a loaded machine)."""
FAST_SWEEPS = {
    # Alerts are swept every second on prices at most a second old, so a crossing is seen
    # within about two seconds of the test moving the price.
    "CRYPTOBOT_ALERT_SWEEP_INTERVAL_S": "1",
    "CRYPTOBOT_CACHE_TICKER_TTL_S": "1",
    "CRYPTOBOT_CACHE_ANALYSIS_TTL_S": "1",
}
WATCHABLE = [spec.base_asset for spec in DEFAULT_SYMBOLS if spec.base_asset != "BTC"]


def burst(first_chat: int, chats: int) -> list[Ask]:
    """Three cheap commands per chat: a price, a watchlist write, the help card."""
    asks = []
    for n in range(chats):
        chat = first_chat + n
        asks += [ask.price(chat), ask.watch(chat, WATCHABLE[n % len(WATCHABLE)]),
                 ask.help_card(chat)]
    return asks


def not_once(counts: dict[Ask, int]) -> dict[str, int]:
    return {f"{one.chat_id} {one.text}": count for one, count in counts.items() if count != 1}


def acknowledged_watches(cluster: Cluster, asks: list[Ask]) -> set[tuple[int, str]]:
    """(user, symbol) of every /watch the bot confirmed to its user."""
    counts = cluster.answers(one for one in asks if one.text.startswith("/watch"))
    return {(one.chat_id, one.text.split()[1].upper() + "USDT")
            for one, count in counts.items() if count >= 1}


def fired_alerts_logged(instances: list[Instance]) -> int:
    """Alerts fired, summed over the instances' JSON logs (``alerts.fired`` lines)."""
    total = 0
    for instance in instances:
        for line in instance.log_path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("{") and '"alerts.fired"' in line:
                total += int(json.loads(line).get("alerts", 0))
    return total


# -- the harness on the embedded default ----------------------------------------------------------

def test_one_instance_answers_a_burst_once(tmp_path: Path) -> None:
    with Cluster(tmp_path, env=FAST_SWEEPS) as cluster:
        [only] = cluster.start_instances("solo")
        cluster.wait_polling()
        asks = burst(first_chat=1000, chats=10)
        cluster.send(asks)

        counts = cluster.wait_answered(asks, ANSWER_TIMEOUT_S)
        cluster.barrier(chat_id=1999)

        assert not_once(cluster.answers(asks)) == {}, counts
        assert cluster.too_many_requests() == 0
        # The alert path the two-instance test uses: a pinned price moved past the threshold.
        alert = ask.alert_above(2000, 105, PINNED_BASE)
        cluster.send([alert])
        cluster.wait_answered([alert], ANSWER_TIMEOUT_S)
        cluster.pinned.set_price(110)
        cluster.wait_answered([ask.alert_notice(2000, PINNED_BASE)], ANSWER_TIMEOUT_S)
        # kill -9: the process group is gone and every acknowledged write is in the file.
        watched = acknowledged_watches(cluster, asks)
        cluster.kill(only)
        assert not only.alive() and only.process.returncode == -9
        with sqlite3.connect(tmp_path / "solo.sqlite3") as db:
            stored = set(db.execute("SELECT user_id, symbol FROM watchlist").fetchall())
        assert len(watched) == 10 and watched <= stored
        assert fired_alerts_logged([only]) == 1


# -- two instances on PostgreSQL and Redis ---------------------------------------------------------

@pytest.fixture
def pair(postgres_url: str, redis_url: str, tmp_path: Path) -> Iterator[Cluster]:
    """Two instances, started together as `systemctl start cryptobot@a cryptobot@b` would."""
    with Cluster(tmp_path, database_url=postgres_url, redis_url=redis_url,
                 env=FAST_SWEEPS) as cluster:
        cluster.start_instances("a", "b")
        cluster.wait_polling()
        yield cluster


def settle(cluster: Cluster, barrier_chat: int) -> None:
    """Nothing left to answer: no update read and not acked, and a later command answered."""
    cluster.wait_until_no_pending_updates(ANSWER_TIMEOUT_S)
    cluster.barrier(barrier_chat)


def test_two_instances_answer_300_commands_from_100_chats_exactly_once_without_a_429(
        pair: Cluster) -> None:
    asks = burst(first_chat=10_000, chats=BURST_CHATS)
    assert len(asks) == 300
    pair.send(asks)

    pair.wait_answered(asks, ANSWER_TIMEOUT_S)
    settle(pair, barrier_chat=19_999)

    assert not_once(pair.answers(asks)) == {}
    assert pair.too_many_requests() == 0
    assert all(instance.alive() for instance in pair.instances)


def test_killing_the_lease_holder_mid_burst_loses_no_command_and_no_write(
        pair: Cluster, postgres_url: str) -> None:
    # The "second burst", on a pair of its own: the first burst is the test above.
    names = {instance.name for instance in pair.instances}
    holder_name = pair.wait_lease_holder(lambda holder: holder in names, 10.0)
    holder = next(i for i in pair.instances if i.name == holder_name)
    survivor = next(i for i in pair.instances if i is not holder)
    asks = burst(first_chat=20_000, chats=SECOND_BURST_CHATS)
    pair.send(asks)
    # In the middle: a third answered, the rest fetched, in the stream or still at Telegram.
    wait_until(lambda: sum(1 for n in pair.answers(asks).values() if n) >= len(asks) // 3,
               ANSWER_TIMEOUT_S, "a third of the burst answered")

    answered_before = sum(1 for n in pair.answers(asks).values() if n)
    killed_at = pair.kill(holder)
    pending_at_kill = pair.pending_updates()  # read by someone, not acked: some were the dead's
    pair.wait_lease_holder(lambda name: name == survivor.name, 30.0, "lease moved")
    moved_after = time.monotonic() - killed_at
    pair.wait_answered(asks, ANSWER_TIMEOUT_S)
    settle(pair, barrier_chat=29_999)

    counts, first = pair.answers(asks), pair.first_answered_at(asks)
    twice = [one for one, count in counts.items() if count > 1]
    print(f"lease moved from {holder.name} to {survivor.name} {moved_after:.2f} s after kill -9; "
          f"{answered_before} of {len(asks)} answered before it, {pending_at_kill} pending; "
          f"answered twice: {len(twice)} (first copies "
          f"{sorted(round(killed_at - first[one], 3) for one in twice)} s before the kill)")
    assert moved_after <= LEASE_MOVE_BOUND_S, f"the lease moved after {moved_after:.1f} s"
    assert all(count >= 1 for count in counts.values())
    # Exactly once, except a reply that was on the wire when the holder died: Telegram had
    # it, the dead instance never saw the 200, and Telegram takes no idempotency key, so the
    # instance that takes the update over answers again (docs/scaling.md). Its first copy
    # reached Telegram just before the kill; anything older was acknowledged and marked done
    # within milliseconds, so a second answer to it would be a bug.
    assert {f"{one.chat_id} {one.text}": round(killed_at - first[one], 3) for one in twice
            if not killed_at - IN_FLIGHT_S <= first[one] <= killed_at + STOP_SLACK_S} == {}
    assert max(counts.values()) <= 2
    # Nothing refused, so no duplicate can still be waiting out a retry_after.
    assert pair.too_many_requests() == 0
    acknowledged = acknowledged_watches(pair, asks)
    assert len(acknowledged) == SECOND_BURST_CHATS
    with psycopg.connect(postgres_url, connect_timeout=10) as db:
        stored = set(db.execute("SELECT user_id, symbol FROM watchlist").fetchall())
    assert acknowledged - stored == set()


def test_a_paused_lease_holder_loses_the_lease_and_answers_nothing_twice_when_it_wakes(
        pair: Cluster) -> None:
    names = {instance.name for instance in pair.instances}
    holder_name = pair.wait_lease_holder(lambda holder: holder in names, 10.0)
    holder = next(i for i in pair.instances if i.name == holder_name)
    survivor = next(i for i in pair.instances if i is not holder)
    asks = burst(first_chat=35_000, chats=30)
    pair.send(asks)
    wait_until(lambda: sum(1 for n in pair.answers(asks).values() if n) >= len(asks) // 3,
               ANSWER_TIMEOUT_S, "a third of the burst answered")

    pair.pause(holder)  # SIGSTOP: a long GC, a frozen VM
    paused_at = time.monotonic()
    pair.wait_lease_holder(lambda name: name == survivor.name, 30.0, "lease moved")
    moved_after = time.monotonic() - paused_at
    later = burst(first_chat=36_000, chats=10)
    pair.send(later)
    pair.wait_answered(later, ANSWER_TIMEOUT_S)  # the survivor polls and answers
    pair.resume(holder)  # it wakes believing it still holds the lease
    pair.wait_answered(asks, ANSWER_TIMEOUT_S)
    settle(pair, barrier_chat=36_999)

    counts, first = pair.answers(asks + later), pair.first_answered_at(asks + later)
    twice = [one for one, count in counts.items() if count > 1]
    print(f"lease moved {moved_after:.2f} s after the holder was paused; answered twice: "
          f"{len(twice)} (first copies "
          f"{sorted(round(paused_at - first[one], 3) for one in twice)} s before the pause)")
    assert moved_after <= LEASE_MOVE_BOUND_S
    assert all(count >= 1 for count in counts.values())
    # As for a kill: only a reply on the wire when the process stopped may be answered again
    # (the survivor had to take the update over); nothing it still held is sent on waking.
    assert {f"{one.chat_id} {one.text}": round(paused_at - first[one], 3) for one in twice
            if not paused_at - IN_FLIGHT_S <= first[one] <= paused_at + STOP_SLACK_S} == {}
    assert max(counts.values()) <= 2
    assert pair.too_many_requests() == 0
    assert pair.lease_holder() == survivor.name and pair.telegram.polling() <= 1
    assert all(instance.alive() for instance in pair.instances)


def test_an_alert_crossing_with_both_instances_sweeping_notifies_once(pair: Cluster) -> None:
    first, second = 30_001, 30_002
    notices = [ask.alert_notice(first, PINNED_BASE), ask.alert_notice(second, PINNED_BASE)]
    saved = ask.alert_above(first, 105, PINNED_BASE)
    pair.send([saved])
    pair.wait_answered([saved], ANSWER_TIMEOUT_S)

    pair.pinned.set_price(110)
    pair.wait_answered(notices[:1], ANSWER_TIMEOUT_S)
    # A later crossing by another user was notified, so a second notice of the first would
    # have been sent by now too (both instances sweep every second).
    later = ask.alert_above(second, 111, PINNED_BASE)
    pair.send([later])
    pair.wait_answered([later], ANSWER_TIMEOUT_S)
    pair.pinned.set_price(112)
    pair.wait_answered(notices[1:], ANSWER_TIMEOUT_S)

    assert pair.answers(notices) == {notices[0]: 1, notices[1]: 1}
    # A second notice held back by a 429 would arrive only after its retry_after: none was
    # refused, so none is on its way (seen before the merge: each instance fired its own copy
    # and the second copy waited out a 429).
    assert pair.too_many_requests() == 0
    assert fired_alerts_logged(pair.instances) == 2  # each crossing fired by one instance
    assert all(instance.alive() for instance in pair.instances)


# -- the engines fail under two running instances -------------------------------------------------

def health_reasons(instance: Instance) -> str:
    answer = instance.healthz() or {}
    return f"{answer.get('status')}: {'; '.join(answer.get('reasons') or [])}"


def test_redis_stopped_mid_run_degrades_and_every_command_is_answered_once_when_it_is_back(
        postgres_url: str, tmp_path: Path) -> None:
    with RedisServer(tmp_path / "redis") as redis, \
            Cluster(tmp_path / "bots", database_url=postgres_url, redis_url=redis.url) as pair:
        pair.start_instances("a", "b")
        pair.wait_polling()
        before = burst(first_chat=40_000, chats=10)
        pair.send(before)
        pair.wait_answered(before, ANSWER_TIMEOUT_S)

        redis.stop()
        for instance in pair.instances:
            wait_until(lambda: "redis" in health_reasons(instance).lower(), 15.0,
                       f"{instance.name} says Redis is down")
        during = burst(first_chat=41_000, chats=10)
        pair.send(during)
        try:  # for the record (docs/scaling.md): are commands answered while Redis is down?
            wait_until(lambda: any(pair.answers(during).values()), 5.0, "an answer")
        except TimeoutError:
            pass
        answered_while_down = pair.answers(during)
        redis.start()
        pair.wait_answered(during, ANSWER_TIMEOUT_S)
        settle(pair, barrier_chat=41_999)

        assert all(instance.alive() for instance in pair.instances)
        print(f"answered while Redis was down (5 s): "
              f"{sum(1 for n in answered_while_down.values() if n)} of {len(during)}")
        assert not_once(pair.answers(before + during)) == {}
        assert pair.too_many_requests() == 0


def test_postgresql_stopped_mid_run_answers_reads_and_refuses_writes_without_acknowledging(
        redis_url: str, tmp_path: Path) -> None:
    postgres = start_postgres(tmp_path / "postgres")  # its own server: this test stops it
    stopped = False
    try:
        database_url = postgres.new_database()
        with Cluster(tmp_path / "bots", database_url=database_url,
                     redis_url=redis_url) as pair:
            pair.start_instances("a", "b")
            pair.wait_polling()
            before = burst(first_chat=50_000, chats=5)
            pair.send(before)
            pair.wait_answered(before, ANSWER_TIMEOUT_S)

            postgres.stop()
            stopped = True
            prices = [ask.price(51_000 + n) for n in range(10)]
            writes = [Ask(51_000 + n, f"/watch {base.lower()}", "(?:added to your watchlist|"
                          "not saved)") for n, base in enumerate(WATCHABLE[:10])]
            pair.send(prices + writes)
            pair.wait_answered(prices + writes, ANSWER_TIMEOUT_S)
            pair.barrier(51_999)

            assert all(instance.alive() for instance in pair.instances)
            assert not_once(pair.answers(prices + writes)) == {}
            acknowledged = acknowledged_watches(pair, [ask.watch(one.chat_id, base)
                                                       for one, base in zip(writes, WATCHABLE)])
            assert acknowledged == set(), "a write was acknowledged without a database"
            wait_until(lambda: all("database is not taking writes" in health_reasons(instance)
                                   for instance in pair.instances), 15.0,
                       "every instance's /healthz says the database is down")
            print("health while PostgreSQL is down:",
                  [health_reasons(instance) for instance in pair.instances])
    finally:
        if not stopped:
            postgres.stop()


def test_an_instance_cut_off_from_redis_gives_up_the_lease_and_nothing_is_answered_twice(
        postgres_url: str, redis_url: str, tmp_path: Path) -> None:
    # A partition: Redis is up and "a" reaches it; "b" reaches it only through a relay we cut.
    redis_socket = Path(redis_url.removeprefix("unix://"))
    with SocketRelay(redis_socket, tmp_path / "relay.sock") as relay, \
            Cluster(tmp_path / "bots", database_url=postgres_url, redis_url=redis_url) as pair:
        cut_off = pair.launch("b", env={"CRYPTOBOT_REDIS_URL": relay.url})
        pair.wait_ready(cut_off)
        pair.wait_lease_holder(lambda holder: holder == "b", 10.0, "b holds the lease")
        pair.start_instances("a")
        asks = burst(first_chat=45_000, chats=30)
        pair.send(asks)
        wait_until(lambda: sum(1 for n in pair.answers(asks).values() if n) >= len(asks) // 3,
                   ANSWER_TIMEOUT_S, "a third of the burst answered")

        relay.cut()
        cut_at = time.monotonic()
        pair.wait_lease_holder(lambda holder: holder == "a", 30.0, "lease moved to a")
        moved_after = time.monotonic() - cut_at
        wait_until(lambda: "redis" in health_reasons(cut_off).lower(), 15.0,
                   "b says Redis is down")
        later = burst(first_chat=46_000, chats=10)
        pair.send(later)
        pair.wait_answered(asks + later, ANSWER_TIMEOUT_S)
        relay.heal()
        settle(pair, barrier_chat=46_999)

        print(f"partition: lease moved {moved_after:.2f} s after the cut; "
              f"{pair.too_many_requests()} x 429")
        assert moved_after <= LEASE_MOVE_BOUND_S
        assert not_once(pair.answers(asks + later)) == {}
        assert all(instance.alive() for instance in pair.instances)
