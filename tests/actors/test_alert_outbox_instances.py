"""Two instances' outboxes on one PostgreSQL database: every notice is sent exactly once.

Each outbox reads the same outbox through its own read pool and claims through its own writer
connection (what the alerts actor does through its db_writer), from two threads at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from actors.alert_outbox import AlertOutbox
from messages.storage import ClaimNotices, FireCrossedAlerts, MarkNotified
from storage.connection import open_writer
from storage.engine import Connection
from storage.notices import NOTICE_CLAIM_S, claim_notices
from storage.read_pool import ReadPool
from storage.sweep import fire_crossed_alerts
from storage.writes import mark_notified
from tests.storage.conftest import NOW, insert_alert

OWNERS = 30


class Transport:
    def __init__(self) -> None:
        self.told: list[Any] = []

    def tell(self, message: Any) -> None:
        self.told.append(message)


def claimer(writer: Connection, claimant: str) -> Callable[[Sequence[int]], tuple[int, ...]]:
    lock = threading.Lock()  # one writer connection is used by one thread at a time

    def claim(ids: Sequence[int]) -> tuple[int, ...]:
        with lock:
            writer.execute("BEGIN")
            claimed = claim_notices(writer, ClaimNotices(
                alert_ids=tuple(ids), claimant=claimant, now=NOW, until=NOW + NOTICE_CLAIM_S))
            writer.execute("COMMIT")
        return claimed.alert_ids
    return claim


def test_two_instances_delivering_one_outbox_send_each_notice_once(postgres_url):
    writers = [open_writer(postgres_url) for _ in range(2)]
    pools = [ReadPool(postgres_url, size=2, timeout_s=5.0) for _ in range(2)]
    try:
        first = writers[0]
        alerts = [insert_alert(first, user_id=n, price=100.0) for n in range(1, OWNERS + 1)]
        first.execute("BEGIN")
        fired = fire_crossed_alerts(first, FireCrossedAlerts(prices=(("BTCUSDT", 101.0),),
                                                             fired_at=NOW))
        first.execute("COMMIT")
        assert [a.alert_id for a in fired.alerts] == alerts
        transports = [Transport(), Transport()]
        outboxes = [AlertOutbox(read_pool=pools[n], transport=transports[n],
                                wall_clock=lambda: NOW, claim=claimer(writers[n], f"i{n}"))
                    for n in range(2)]
        start = threading.Barrier(2)

        def deliver(outbox: AlertOutbox) -> list[int]:
            start.wait(timeout=10)
            return outbox.deliver_outbox(set())

        with ThreadPoolExecutor(2) as instances:
            sent = list(instances.map(deliver, outboxes))
        assert sorted(sent[0] + sent[1]) == alerts  # each notice by one instance
        assert len(transports[0].told) + len(transports[1].told) == OWNERS
        assert outboxes[0].claimed_elsewhere + outboxes[1].claimed_elsewhere == (
            OWNERS * 2 - OWNERS)
        for n in range(2):  # each marks what it sent; nothing is left to send by anyone
            writers[n].execute("BEGIN")
            mark_notified(writers[n], MarkNotified(alert_ids=tuple(sent[n]), notified_at=NOW))
            writers[n].execute("COMMIT")
        assert [outbox.deliver_outbox(set()) for outbox in outboxes] == [[], []]
    finally:
        for pool in pools:
            pool.close()
        for writer in writers:
            writer.close()


def test_instances_on_postgres_claim_as_themselves_and_the_embedded_bot_as_local():
    from actors.alerts import _claimant
    from core.config import BotConfig
    from core.instance import this_instance

    assert _claimant(BotConfig()) is None  # AlertsActor then claims as LOCAL_CLAIMANT
    shared = BotConfig().with_overrides(database_url="postgresql://db/bot")
    assert _claimant(shared) == this_instance().key
