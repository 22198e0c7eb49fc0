"""Several instances, one token: one polls, all answer, none answers twice, none loses an update.

Real PTB against the fake Bot API, a real redis-server, real relay threads; each "instance" is a
TelegramIO in its own supervision tree (tests/actors/relay_fixtures.py).
"""

from __future__ import annotations

import dataclasses
import json
import socket
import time
from collections import Counter

import httpx

from cluster.redis_link import RedisLink, namespace_for
from cluster.update_stream import UpdateStream
from core.config import with_webhook_secret
from fakes.telegram.bot_api import FakeBotApi
from tests.actors.relay_fixtures import (  # noqa: F401 (make_instance is a fixture)
    HOOK_URL,
    RELAY,
    SHARED,
    Instance,
    eventually,
    make_instance,
)
from tests.actors.telegram_fixtures import CHAT, TOKEN, USER, WAIT_S, fake  # noqa: F401


def texts(fake: FakeBotApi) -> Counter[str | None]:
    return Counter(record.text for record in fake.sent(method="sendMessage"))


def answered_once(fake: FakeBotApi, wanted: set[str]) -> bool:
    return fake.wait_for(lambda: wanted <= set(texts(fake)), WAIT_S)


def acked(*instances: Instance) -> int:
    return sum(instance.stream().acked for instance in instances)


def pending_in_redis(redis_url: str) -> int:
    link = RedisLink(redis_url, namespace=namespace_for(TOKEN))
    try:
        return int(link.client.xpending(link.key("updates"), "bot")["pending"])
    finally:
        link.close()


def test_two_instances_on_one_token_poll_one_at_a_time_and_answer_each_command_once(
    fake: FakeBotApi, make_instance, redis_url: str,
) -> None:
    a, b = make_instance("a"), make_instance("b")
    assert eventually(lambda: a.stream().polling or b.stream().polling)
    update_ids = [fake.push_message(CHAT + n % 5, USER + n, f"/echo {n}") for n in range(30)]

    wanted = {f"echo: /echo {n}" for n in range(30)}
    assert answered_once(fake, wanted)
    assert eventually(lambda: acked(a, b) == 30)
    assert all(texts(fake)[text] == 1 for text in wanted)
    assert sum(texts(fake).values()) == 30
    assert fake.most_polling() == 1
    assert [a.stream().lease_held, b.stream().lease_held].count(True) == 1
    request_ids = sorted(c.request_id.split("-")[0] for c in a.commands() + b.commands())
    assert request_ids == sorted(f"u{update_id}" for update_id in update_ids)
    assert pending_in_redis(redis_url) == 0


def test_when_the_lease_holder_dies_another_takes_over_within_5s_and_answers_its_updates_once(
    fake: FakeBotApi, make_instance,
) -> None:
    holder = make_instance("a", hold=True)
    assert eventually(lambda: holder.stream().lease_held)
    fence = holder.stream().fence
    for n in (1, 2):
        fake.push_message(CHAT, USER, f"/hold {n}")
    assert holder.journal.wait_for(lambda: len(holder.commands()) == 2)
    survivor = make_instance("b")

    died = time.monotonic()
    holder.kill()
    assert eventually(lambda: survivor.stream().lease_held, 5.0)
    assert time.monotonic() - died < 5.0
    assert survivor.stream().fence > fence

    assert answered_once(fake, {"echo: /hold 1", "echo: /hold 2"})
    fake.push_message(CHAT, USER, "/after")
    assert answered_once(fake, {"echo: /after"})
    assert eventually(lambda: survivor.stream().acked == 3)
    assert texts(fake) == Counter({"echo: /hold 1": 1, "echo: /hold 2": 1, "echo: /after": 1})
    assert survivor.stream().reclaimed == 2
    # The same update, the same request id: its writes hit their idempotency keys.
    held = {c.request_id for c in holder.commands()}
    assert held <= {c.request_id for c in survivor.commands()}


def test_an_update_answered_but_not_acked_by_a_dead_instance_is_acked_without_a_second_reply(
    fake: FakeBotApi, make_instance, redis_url: str,
) -> None:
    link = RedisLink(redis_url, namespace=namespace_for(TOKEN))
    ghost = UpdateStream(link, "ghost")
    ghost.ensure_group()
    ghost.append_posted(9001, _update(9001, "/echo answered"))
    ghost.append_posted(9002, _update(9002, "/echo lost"))
    assert len(ghost.read(count=2, block_ms=10)) == 2  # pending at "ghost", which never acks
    link.client.set(ghost.done_key(9001), "1")  # its reply went out just before it died
    link.close()

    survivor = make_instance("b")

    assert answered_once(fake, {"echo: /echo lost"})
    assert eventually(lambda: survivor.stream().skipped_done == 1
                      and survivor.stream().acked == 1)
    assert texts(fake) == Counter({"echo: /echo lost": 1})
    assert pending_in_redis(redis_url) == 0


def test_a_slow_command_keeps_its_entry_because_its_instance_keeps_it_fresh(
    fake: FakeBotApi, make_instance, redis_url: str,
) -> None:
    """A command may run 30 s, XAUTOCLAIM takes entries idle for 10 s: the instance answering
    it resets the entry's idle time every beat (XCLAIM ... JUSTID to itself)."""
    own_autoclaim_off = dataclasses.replace(RELAY, autoclaim_idle_ms=3_600_000)
    slow = make_instance("a", hold=True,
                         tuning=dataclasses.replace(SHARED, relay=own_autoclaim_off))
    assert eventually(lambda: slow.stream().polling)
    fake.push_message(CHAT, USER, "/hold on")
    assert slow.journal.wait_for(lambda: len(slow.commands()) == 1)
    link = RedisLink(redis_url, namespace=namespace_for(TOKEN))
    stream = link.key("updates")
    (row,) = link.client.xpending_range(stream, "bot", "-", "+", 10)
    entry_id = row["message_id"]
    # As if it had run for a minute with nobody refreshing it.
    link.client.execute_command("XCLAIM", stream, "bot", "a", 0, entry_id, "IDLE", 60_000)

    def idle_ms() -> int:
        (pending,) = link.client.xpending_range(stream, "bot", "-", "+", 10)
        return int(pending["time_since_delivered"])

    assert eventually(lambda: idle_ms() < 5_000)
    assert UpdateStream(link, "other").autoclaim(min_idle_ms=10_000) == ()
    (still,) = link.client.xpending_range(stream, "bot", "-", "+", 10)
    assert still["consumer"] == b"a" and slow.stream().open == 1
    link.close()


def test_a_busy_instance_leaves_new_updates_to_the_others(
    fake: FakeBotApi, make_instance,
) -> None:
    busy = make_instance("a", hold=True,
                         tuning=dataclasses.replace(SHARED, relay=dataclasses.replace(
                             RELAY, max_open=2)))
    assert eventually(lambda: busy.stream().polling)
    for n in (1, 2):
        fake.push_message(CHAT, USER, f"/hold {n}")
    assert eventually(lambda: busy.stream().open == 2)  # at its cap: it reads no more
    idle = make_instance("b")

    for n in range(5):
        fake.push_message(CHAT + 1, USER, f"/echo {n}")

    assert answered_once(fake, {f"echo: /echo {n}" for n in range(5)})
    assert len(idle.commands()) == 5 and len(busy.commands()) == 2


def test_a_409_from_getupdates_stops_polling_without_a_crash_and_polling_resumes_later(
    fake: FakeBotApi, make_instance,
) -> None:
    instance = make_instance("a")
    assert eventually(lambda: instance.stream().polling)

    # Someone else sets a webhook for this token: getUpdates answers 409 from now on.
    with httpx.Client(timeout=5.0) as http:
        http.post(f"{fake.base_url}{TOKEN}/setWebhook", json={"url": "https://else.example/h"})
    assert eventually(lambda: instance.stream().poll_conflicts == 1)

    # After conflict_backoff_s it takes the lease again (deleteWebhook, as PTB's start_polling).
    fake.push_message(CHAT, USER, "/echo back")
    assert answered_once(fake, {"echo: /echo back"})
    conflicts = [call for call in fake.calls("getUpdates") if call.status == 409]
    assert len(conflicts) == 1
    assert instance.restarts() == 0
    assert instance.stream().lease_held and instance.stream().poll_conflicts == 1


def test_with_redis_a_webhook_post_to_either_instance_is_answered_once(
    fake: FakeBotApi, make_instance, redis_url: str,
) -> None:
    ports = _free_ports(2)
    a, b = (make_instance(name, webhook_port=port) for name, port in zip("ab", ports))
    assert eventually(lambda: len(a.loops) == len(b.loops) == 1)  # both set up and listening
    secret = with_webhook_secret(a.config).webhook_secret_token
    assert secret and fake.counters()["webhook_url"] == HOOK_URL
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret}

    with httpx.Client(timeout=5.0) as http:
        for update_id, port in zip((501, 502), ports):
            posted = http.post(f"http://127.0.0.1:{port}/telegram/hook",
                               content=_update(update_id, f"/echo {update_id}"), headers=headers)
            assert posted.status_code == 200
        forged = http.post(f"http://127.0.0.1:{ports[0]}/telegram/hook",
                           content=_update(503, "/echo forged"),
                           headers={"Content-Type": "application/json"})
        assert forged.status_code == 403

    assert answered_once(fake, {"echo: /echo 501", "echo: /echo 502"})
    assert eventually(lambda: acked(a, b) == 2)
    assert texts(fake) == Counter({"echo: /echo 501": 1, "echo: /echo 502": 1})
    assert fake.most_polling() == 0
    assert a.stream().appended + b.stream().appended == 2
    assert pending_in_redis(redis_url) == 0


def test_while_redis_does_not_answer_nobody_polls_and_the_update_waits_at_telegram(
    fake: FakeBotApi, make_instance, redis_url: str,
) -> None:
    instance = make_instance("a")
    assert eventually(lambda: instance.stream().polling)
    outage_s = 4.0
    pauser = RedisLink(redis_url, namespace="pause")
    pauser.client.execute_command("CLIENT", "PAUSE", int(outage_s * 1000), "ALL")
    paused_at = time.monotonic()
    try:
        assert eventually(lambda: not instance.stream().polling, outage_s / 2)
        assert not instance.stream().redis_up
        assert fake.wait_for(lambda: fake.polling() == 0, outage_s / 2)
        fake.push_message(CHAT, USER, "/echo kept")
        assert fake.pending_updates() == 1  # unconfirmed: Telegram keeps it
        assert time.monotonic() - paused_at < outage_s
    finally:
        pauser.close()

    assert answered_once(fake, {"echo: /echo kept"})
    assert eventually(lambda: instance.stream().acked == 1 and instance.stream().redis_up)
    assert texts(fake) == Counter({"echo: /echo kept": 1})
    assert instance.restarts() == 0
    assert RELAY.lease_ttl_ms < outage_s * 1000


def test_a_redis_that_lost_its_data_is_set_up_again_without_a_restart(
    fake: FakeBotApi, make_instance, redis_url: str,
) -> None:
    instance = make_instance("a")
    assert eventually(lambda: instance.stream().polling)
    fake.push_message(CHAT, USER, "/echo before")
    assert answered_once(fake, {"echo: /echo before"})

    wiper = RedisLink(redis_url, namespace="wipe")
    wiper.client.flushall()  # a restart without persistence: no lease, no stream, no group
    wiper.close()
    fake.push_message(CHAT, USER, "/echo after")

    assert answered_once(fake, {"echo: /echo after"})
    assert eventually(lambda: instance.stream().acked == 2)
    assert texts(fake) == Counter({"echo: /echo before": 1, "echo: /echo after": 1})
    assert instance.restarts() == 0


def _update(update_id: int, text: str) -> str:
    return json.dumps({"update_id": update_id, "message": {
        "message_id": update_id, "date": 1_700_000_000, "text": text,
        "chat": {"id": CHAT, "type": "private"},
        "from": {"id": USER, "is_bot": False, "first_name": "Ann"},
        "entities": [{"type": "bot_command", "offset": 0, "length": text.index(" ")}]}})


def _free_ports(count: int) -> list[int]:
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()
