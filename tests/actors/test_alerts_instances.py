"""Two alert sweepers (two instances' writer, read pool and alerts actor) on one PostgreSQL
database: a crossing both of them sweep at once is notified once, by one of them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from supervision.messages import Describe
from tests.actors.storage_fixtures import SYMBOL, AlertWorld, make_alert_world

__all__ = ["make_alert_world"]


def test_a_crossing_swept_by_two_instances_at_once_is_notified_once(make_alert_world,
                                                                       postgres_url):
    first: AlertWorld = make_alert_world([100, 100, 120, 120, 120], database=postgres_url,
                                         claimant="instance-a")
    second: AlertWorld = make_alert_world([100, 100, 120, 120, 120], database=postgres_url,
                                          claimant="instance-b")
    ids = [first.storage.add_alert(f"r{n}", user_id=n, symbol=SYMBOL,
                                   price=110.0 + n / 10).alert_id for n in range(1, 11)]
    with ThreadPoolExecutor(2) as both:
        for _ in range(3):  # minutes 1, 2 (the crossing) and 3, both sweeping each minute
            for world in (first, second):
                world.next_minute()
            list(both.map(AlertWorld.sweep, (first, second)))
    for world in (first, second):  # answered after every reply told before it was handled
        world.storage.tree.address("transport").ask(Describe(), timeout=10)
    told = [r.chat_id for r in first.replies.all() + second.replies.all()]
    assert sorted(told) == list(range(1, 11))  # each owner once, from one instance or other
    records = [first.storage.pool.alert_by_id(alert_id) for alert_id in ids]
    assert all(r is not None and r.notified_at is not None for r in records)
    assert first.storage.query("SELECT COUNT(*) FROM alert_firings") == [(10,)]
