"""The outbox without threads: owners known to be held are left out of the read and their
settings are not read until their quiet hours end; the read is bounded; a sighting re-reads
settings; a new instance (a restart) relearns the holds and still releases in one message."""

from __future__ import annotations

from typing import Any

from actors.alert_outbox import AlertOutbox
from messages.storage import AlertRecord

HOUR = 3600.0
NIGHT = 1_750_000_000 // 86_400 * 86_400 + 2 * HOUR
"""02:00 UTC."""


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Pool:
    """The outbox in memory, answering as the read pool's queries do."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.alerts: dict[int, AlertRecord] = {}
        self.settings: dict[int, tuple[tuple[str, str], ...]] = {}
        self.seen: dict[int, float] = {}
        self.reads: list[tuple[str, Any]] = []

    def outbox(self, held_owners: Any, limit: int) -> tuple[AlertRecord, ...]:
        held = set(held_owners)
        self.reads.append(("outbox", sorted(held)))
        rows = sorted((a for a in self.alerts.values() if a.user_id not in held),
                      key=lambda a: (a.user_id, a.alert_id))
        return tuple(rows[:limit])

    def user_settings(self, user_id: int) -> tuple[tuple[str, str], ...]:
        self.reads.append(("user_settings", user_id))
        return self.settings.get(user_id, ())

    def users_seen_since(self, since: float, now: float) -> tuple[int, ...]:
        return tuple(u for u, at in self.seen.items() if since <= at <= now)

    def fire(self, alert_id: int, user_id: int) -> AlertRecord:
        alert = AlertRecord(alert_id=alert_id, user_id=user_id, chat_id=user_id,
                            symbol="BTCUSDT", direction="above", price=1.0,
                            created_at=self.clock.now - HOUR, fired_at=self.clock.now,
                            fired_price=1.5)
        self.alerts[alert_id] = alert
        return alert


class Transport:
    def __init__(self) -> None:
        self.told: list[Any] = []

    def tell(self, message: Any) -> None:
        self.told.append(message)


def world(limit: int = 1000) -> tuple[Clock, Pool, Transport, AlertOutbox]:
    clock = Clock(NIGHT)
    pool, transport = Pool(clock), Transport()
    return clock, pool, transport, AlertOutbox(read_pool=pool, transport=transport,  # type: ignore[arg-type]
                                               wall_clock=clock, limit=limit)


def sweep(outbox: AlertOutbox, pool: Pool) -> list[int]:
    outbox.new_sweep()
    sent = outbox.deliver_outbox(set())
    for alert_id in sent:
        pool.alerts.pop(alert_id)  # MarkNotified
    return sent


def settings_reads(pool: Pool) -> int:
    return sum(kind == "user_settings" for kind, _ in pool.reads)


def test_a_held_owner_is_left_out_until_their_quiet_hours_end_then_gets_one_message():
    clock, pool, transport, outbox = world()
    pool.settings[1] = (("quiet", "01:00-07:00"), ("timezone", "UTC"))
    for n in range(3):
        pool.fire(n + 1, user_id=1)
    pool.fire(9, user_id=2)  # no quiet hours
    assert sweep(outbox, pool) == [9]
    assert outbox.held == 3 and settings_reads(pool) == 2
    for _ in range(10):  # the night: no settings read, the owner left out of the read
        clock.now += 5
        assert sweep(outbox, pool) == []
    assert settings_reads(pool) == 2 and pool.reads[-1] == ("outbox", [1])
    fired = pool.fire(4, user_id=1)  # a firing during the night is held without a read
    assert outbox.deliver_fired([fired], set()) == [] and outbox.held == 4
    assert settings_reads(pool) == 2
    clock.now = NIGHT + 5 * HOUR + 1  # 07:00:01
    assert sweep(outbox, pool) == [1, 2, 3, 4]
    assert len(transport.told) == 2 and outbox.held == 0  # 9 alone, then one release


def test_the_read_is_bounded_and_a_restart_relearns_the_holds():
    clock, pool, transport, outbox = world(limit=4)
    for user_id in (1, 2, 3):
        pool.settings[user_id] = (("quiet", "01:00-07:00"),)
        pool.fire(user_id * 10, user_id)
        pool.fire(user_id * 10 + 1, user_id)
    pool.fire(99, user_id=4)
    assert sweep(outbox, pool) == []  # owners 1 and 2 fill the page: held
    assert sweep(outbox, pool) == [99]  # then 3 (held) and 4
    restarted = AlertOutbox(read_pool=pool, transport=transport,  # type: ignore[arg-type]
                            wall_clock=clock, limit=4)
    sweep(restarted, pool)
    sweep(restarted, pool)
    sweep(restarted, pool)
    assert restarted.held == 6 and pool.reads[-1] == ("outbox", [1, 2, 3])
    clock.now = NIGHT + 5 * HOUR + 1
    assert sweep(restarted, pool) == [10, 11, 20, 21]
    assert sweep(restarted, pool) == [30, 31]
    released = transport.told[1:]
    assert len(released) == 3 and all("quiet hours" in m.text for m in released)


def test_an_owner_seen_lately_has_their_settings_read_again():
    clock, pool, _, outbox = world()
    pool.settings[1] = (("quiet", "01:00-07:00"),)
    pool.fire(1, user_id=1)
    assert sweep(outbox, pool) == []
    pool.settings[1] = (("quiet", "off"),)  # /settings quiet off at 02:00
    clock.now += 5
    pool.seen[1] = clock.now - 2
    assert sweep(outbox, pool) == [1]
