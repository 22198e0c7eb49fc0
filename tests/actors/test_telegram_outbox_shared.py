"""Two outboxes (two instances of one bot) through one fake Bot API that enforces Telegram's
flood limits: with the shared budget in Redis no call is refused; when Redis stops, replies
still go out under the local limits' safe share, and when it answers again the shared budget
decides again.

Each outbox runs on an event loop of its own, with real PTB (``telegram.Bot``) over loopback;
limits on both sides are ten times Telegram's pace so a 300-reply burst takes about a second.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Coroutine, Iterator
from typing import Any

import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from actors.telegram_outbox import Outbox
from actors.telegram_stats import TransportCounters
from chat.outbound import DeliveryPolicy, OutboundLimits
from cluster.flood_budget import FloodBudget, FloodLimits
from cluster.redis_link import RedisLink
from fakes.engines import start_redis
from fakes.telegram.bot_api import FakeBotApi, FloodRules
from messages.chat import ChatReply, ReplyFailed
from tests.actors.telegram_fixtures import TOKEN

WAIT_S = 20.0
LOCAL = OutboundLimits().scaled(0.1)
SHARED = FloodLimits(global_window_s=0.1, chat_per_s=10.0, group_window_s=6.0, poll_s=0.01)


class Instance:
    """One outbox on its own event-loop thread, like one bot process's transport."""

    def __init__(self, fake: FakeBotApi, gate: FloodBudget | None,
                 limits: OutboundLimits = LOCAL) -> None:
        self.stats = TransportCounters()
        self.failed: list[ReplyFailed] = []
        self._loop = asyncio.new_event_loop()
        self._tasks: set[asyncio.Task[None]] = set()
        self._bot = Bot(TOKEN, base_url=fake.base_url,
                        request=HTTPXRequest(connection_pool_size=16))
        self.outbox = Outbox(bot=self._bot, policy=DeliveryPolicy(backoff_base_s=0.05),
                             limits=limits, slot_capacity=64, stats=self.stats,
                             on_failed=self.failed.append, redact=str, spawn=self._spawn,
                             clock=self._loop.time, rng=random.Random(1), gate=gate)
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._call(self._start())

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = self._loop.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _call(self, work: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(work, self._loop).result(WAIT_S)

    async def _start(self) -> None:
        await self._bot.initialize()
        self._spawn(self.outbox.dispatch_forever())

    def send(self, reply: ChatReply) -> None:
        self._loop.call_soon_threadsafe(self.outbox.accept, reply)

    async def _stop(self) -> None:
        # Cancel until all are gone: Python 3.11's wait_for may swallow a cancellation that
        # meets the dispatcher's wake-up, and the dispatcher then runs on.
        for _ in range(100):
            if not self._tasks:
                break
            for task in list(self._tasks):
                task.cancel()
            await asyncio.wait(set(self._tasks), timeout=0.1)
        await self._bot.shutdown()

    def stop(self) -> None:
        self._call(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(WAIT_S)
        self._loop.close()


@pytest.fixture
def fake() -> Iterator[FakeBotApi]:
    with FakeBotApi(token=TOKEN, flood=FloodRules().scaled(0.1)) as server:
        yield server


@pytest.fixture
def instances(fake: FakeBotApi, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Instance]]:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # as the transport does: no RetryAfter warning
    started: list[Instance] = []
    yield started
    for instance in started:
        instance.stop()


def burst(count: int = 300, chats: int = 100) -> list[ChatReply]:
    """``count`` replies round robin over ``chats`` chats (every tenth a group)."""
    ids = [-(n + 1) if n % 10 == 0 else 1000 + n for n in range(chats)]
    return [ChatReply(request_id=f"r{n}", chat_id=ids[n % chats], text=f"answer {n}",
                      chat_type="group" if ids[n % chats] < 0 else "private")
            for n in range(count)]


def messages(fake: FakeBotApi) -> int:
    return len(fake.sent(method="sendMessage"))


def test_two_instances_sharing_the_budget_send_a_300_reply_burst_without_one_429(
    fake: FakeBotApi, instances: list[Instance], redis_url: str
) -> None:
    link = RedisLink(redis_url, namespace="123456789")
    instances += [Instance(fake, FloodBudget(link, SHARED, owner=name)) for name in "ab"]
    for n, reply in enumerate(burst()):
        instances[n % 2].send(reply)

    assert fake.wait_for(lambda: messages(fake) == 300, WAIT_S), fake.counters()
    assert fake.too_many_requests_count() == 0
    assert sum(instance.stats.flood_shared_waits for instance in instances) > 0
    assert [instance.failed for instance in instances] == [[], []]
    for chat in (-1, 1001, 1099):  # each instance's replies to a chat keep their order
        texts = [record.text for record in fake.sent(chat_id=chat, method="sendMessage")]
        assert sorted(texts, key=lambda text: int(str(text).split()[1])) == texts


def test_without_the_shared_budget_each_instance_keeps_the_limits_and_together_they_do_not(
    instances: list[Instance],
) -> None:
    """The control, at Telegram's own pace so that speed plays no part: one chat's burst is 3
    messages, then 1 a second; each instance sends that chat exactly its burst."""
    with FakeBotApi(token=TOKEN, flood=FloodRules()) as telegram:
        instances += [Instance(telegram, None, OutboundLimits()) for _ in "ab"]
        replies = [ChatReply(request_id=f"r{n}", chat_id=1001, text=f"answer {n}",
                             chat_type="private") for n in range(6)]
        for n, reply in enumerate(replies):
            instances[n // 3].send(reply)  # three from each

        assert telegram.wait_for(lambda: telegram.too_many_requests_count() > 0, WAIT_S)


def test_redis_stopped_mid_burst_leaves_the_replies_to_the_local_limits_safe_share(
    fake: FakeBotApi, instances: list[Instance], tmp_path: Any
) -> None:
    engine = start_redis(tmp_path / "redis")
    link = RedisLink(engine.url, namespace="123456789", retry_after_s=0.2)
    instance = Instance(fake, FloodBudget(link, SHARED, owner="a"))
    instances.append(instance)
    replies = burst(200, 100)
    for reply in replies[:100]:
        instance.send(reply)
    assert fake.wait_for(lambda: messages(fake) >= 40, WAIT_S)
    engine.stop()
    for reply in replies[100:]:
        instance.send(reply)

    assert fake.wait_for(lambda: messages(fake) == 200, WAIT_S), fake.counters()
    assert instance.stats.flood_local > 0
    assert link.state().up is False
    assert fake.too_many_requests_count() == 0
    assert instance.failed == []


def test_when_redis_answers_again_the_outbox_goes_back_to_the_shared_budget(
    fake: FakeBotApi, instances: list[Instance], redis_url: str
) -> None:
    # retry_after_s=0: every call tries Redis, so the first one after the pause gets through.
    link = RedisLink(redis_url, namespace="123456789", timeout_s=0.1, retry_after_s=0.0)
    instance = Instance(fake, FloodBudget(link, SHARED, owner="a"))
    instances.append(instance)
    replies = burst(150, 50)
    for reply in replies[:50]:
        instance.send(reply)
    assert fake.wait_for(lambda: messages(fake) == 50, WAIT_S)
    other = RedisLink(redis_url, namespace="other", timeout_s=5.0).client
    other.execute_command("CLIENT", "PAUSE", 300, "ALL")  # Redis stops answering for 0.3 s
    for reply in replies[50:100]:
        instance.send(reply)
    assert fake.wait_for(lambda: messages(fake) == 100, WAIT_S)
    local = instance.stats.flood_local
    assert local > 0  # Redis did not answer: the local limits decided
    assert other.ping()  # blocks until the pause is over
    other.close()
    assert link.call(lambda client: client.ping()) and link.state().up
    for reply in replies[100:]:
        instance.send(reply)

    assert fake.wait_for(lambda: messages(fake) == 150, WAIT_S)
    assert instance.stats.flood_local == local  # back on the shared budget
    assert fake.too_many_requests_count() == 0 and instance.failed == []


class BrokenBudget(FloodBudget):
    """A shared budget with a bug: every grant raises something no one expected."""

    def acquire(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug in the shared budget")


def test_a_bug_in_the_shared_budget_leaves_the_replies_to_the_local_limits(
    fake: FakeBotApi, instances: list[Instance], redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    link = RedisLink(redis_url, namespace="123456789")
    instance = Instance(fake, BrokenBudget(link, SHARED, owner="a"))
    instances.append(instance)
    for reply in burst(20, 10):
        instance.send(reply)

    assert fake.wait_for(lambda: messages(fake) == 20, WAIT_S), fake.counters()
    assert instance.failed == []
    assert "the shared flood budget failed" in caplog.text
