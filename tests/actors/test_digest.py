"""The digest actor against the exchange simulator, on a fake wall clock: a digest goes out at
the user's local time once per local day, across a DST change, a crash of the actor at any
step and a restart of the whole tree on the same database; late within an hour after downtime,
skipped (and mentioned) beyond; one ticker call per round."""

from __future__ import annotations

from datetime import UTC, datetime

from chat.html import visible_text
from messages.digest import DigestDue
from tests.actors import digest_fixtures
from tests.actors.digest_fixtures import CrashOnce, DigestWorld
from tests.actors.storage_fixtures import TIMEOUT

make_digest_world = digest_fixtures.make_digest_world  # the fixture, found by pytest by name

TICKER_24H = "/api/v3/ticker/24hr"
BERLIN = "Europe/Berlin"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


def texts(world: DigestWorld, chat_id: int) -> list[str]:
    return [visible_text(reply.text) for reply in world.digests_to(chat_id)]


class TestAtTheUsersLocalTime:
    def test_a_0230_berlin_digest_goes_out_once_on_the_spring_forward_day(
        self, make_digest_world
    ):
        # 2026-03-29 02:00 CET jumps to 03:00 CEST: 02:30 does not exist and is 03:30 CEST.
        world = make_digest_world(utc(2026, 3, 28, 22))
        world.set_digest(1, 150, zone=BERLIN, watch=("BTCUSDT", "ETHUSDT"))
        world.at(utc(2026, 3, 29, 0, 30))  # 01:30 CET
        world.at(utc(2026, 3, 29, 1, 29))  # 03:29 CEST
        assert world.digests_to(1) == []
        world.at(utc(2026, 3, 29, 1, 30))  # 03:30 CEST
        world.at(utc(2026, 3, 29, 1, 31))
        world.at(utc(2026, 3, 29, 21))
        [text] = texts(world, 1)
        assert "Sun 29 Mar, 03:30 Europe/Berlin" in text  # when it went out, not 02:30
        assert "BTCUSDT" in text and "ETHUSDT" in text and "%" in text
        assert "Biggest mover:" in text
        assert world.digests_to(1)[0].request_id == "digest-1-2026-03-29"
        world.at(utc(2026, 3, 30, 0, 30))  # 02:30 CEST the next day
        assert len(world.digests_to(1)) == 2

    def test_a_0130_new_york_digest_goes_out_once_on_the_fall_back_day(self, make_digest_world):
        # 2026-11-01 02:00 EDT falls back to 01:00 EST: 01:30 happens at 05:30 and 06:30 UTC.
        world = make_digest_world(utc(2026, 11, 1, 3))
        world.set_digest(1, 90, zone="America/New_York", watch=("BTCUSDT",))
        world.at(utc(2026, 11, 1, 5, 30))
        world.at(utc(2026, 11, 1, 6, 30))
        world.at(utc(2026, 11, 1, 6, 45))
        assert len(world.digests_to(1)) == 1

    def test_an_empty_watchlist_still_gets_the_digest_with_how_to_add_coins(
        self, make_digest_world
    ):
        world = make_digest_world(utc(2026, 6, 1, 6))
        world.set_digest(3, 480)
        world.simulator.reset_counters()
        world.at(utc(2026, 6, 1, 8))
        [text] = texts(world, 3)
        assert "Your watchlist is empty" in text and "/watch btc" in text
        assert world.simulator.counters()["requests"].get(TICKER_24H) is None

    def test_the_alerts_that_fired_in_the_last_24_hours_are_listed(self, make_digest_world):
        world = make_digest_world(utc(2026, 6, 1, 5))
        world.set_digest(1, 480, zone=BERLIN, watch=("BTCUSDT",))
        world.fired(1, (11, utc(2026, 5, 31, 12), "BTCUSDT", 96_000.0),
                    (12, utc(2026, 5, 30, 12), "ETHUSDT", 3_000.0))  # older than 24 h
        world.fired(2, (13, utc(2026, 5, 31, 13), "SOLUSDT", 150.0))  # someone else's
        world.at(utc(2026, 6, 1, 6))  # 08:00 CEST
        [text] = texts(world, 1)
        assert "Sun 31 May 14:00 BTCUSDT alert #11 (price 96,000.00)" in text
        assert "ETHUSDT alert" not in text and "SOLUSDT" not in text

    def test_one_ticker_call_prices_every_watchlist_of_a_round(self, make_digest_world):
        world = make_digest_world(utc(2026, 6, 1, 6))
        world.set_digest(1, 480, watch=("BTCUSDT", "ETHUSDT"))
        world.set_digest(2, 480, watch=("SOLUSDT", "BTCUSDT"))
        world.simulator.reset_counters()
        world.at(utc(2026, 6, 1, 8))
        assert world.simulator.counters()["requests"][TICKER_24H] == 1
        assert [len(world.digests_to(chat)) for chat in (1, 2)] == [1, 1]


class TestNeverTwice:
    def test_a_crash_after_the_claim_loses_that_day_rather_than_send_it_twice(
        self, make_digest_world
    ):
        crash = CrashOnce("claimed")
        world = make_digest_world(utc(2026, 6, 1, 6), after_step=crash)
        world.set_digest(1, 480, watch=("BTCUSDT",))
        crash.armed.set()
        world.clock.advance(utc(2026, 6, 1, 8) - world.clock())
        world.digest.tell(DigestDue())
        assert crash.crashed.wait(TIMEOUT)
        assert world.digest.wait_until_running(generation=2, timeout=TIMEOUT)
        world.at(utc(2026, 6, 1, 8, 1))
        world.at(utc(2026, 6, 1, 8, 59))
        assert world.digests_to(1) == []
        world.at(utc(2026, 6, 2, 8))
        assert [r.request_id for r in world.digests_to(1)] == ["digest-1-2026-06-02"]

    def test_a_claim_answered_after_the_round_stopped_waiting_is_still_sent_once(
        self, make_digest_world
    ):
        # Regression: the round gave up waiting for SettleDigests (a busy writer), the claim
        # then committed, and the day was settled but never sent: no digest that day.
        world = make_digest_world(utc(2026, 6, 1, 6), write_timeout_s=0.2)
        world.set_digest(1, 480, watch=("BTCUSDT",))
        failed = world.stats().failed_rounds
        release = world.storage.probe.hold("applied")
        world.at(utc(2026, 6, 1, 8))  # the claim is held in the writer past the timeout
        assert world.digests_to(1) == [] and world.stats().failed_rounds == failed + 1
        release.set()
        world.storage.stats()  # the writer has committed the claim and answered it
        world.at(utc(2026, 6, 1, 8, 1))
        world.at(utc(2026, 6, 1, 8, 30))
        assert [r.request_id for r in world.digests_to(1)] == ["digest-1-2026-06-01"]
        world.at(utc(2026, 6, 2, 8))
        assert len(world.digests_to(1)) == 2

    def test_a_crash_before_the_claim_sends_the_digest_once_after_the_restart(
        self, make_digest_world
    ):
        crash = CrashOnce("composed")
        world = make_digest_world(utc(2026, 6, 1, 6), after_step=crash)
        world.set_digest(1, 480, watch=("BTCUSDT",))
        crash.armed.set()
        world.clock.advance(utc(2026, 6, 1, 8) - world.clock())
        world.digest.tell(DigestDue())
        assert crash.crashed.wait(TIMEOUT)
        assert world.digest.wait_until_running(generation=2, timeout=TIMEOUT)
        assert world.replies.wait_for_count(1)  # the new instance's start-up round
        world.round()
        world.at(utc(2026, 6, 1, 8, 30))
        assert len(world.digests_to(1)) == 1

    def test_a_restart_of_the_whole_bot_on_the_same_database_sends_nothing_again(
        self, make_digest_world
    ):
        first = make_digest_world(utc(2026, 6, 1, 6))
        first.set_digest(1, 480, watch=("BTCUSDT",))
        first.at(utc(2026, 6, 1, 8))
        assert len(first.digests_to(1)) == 1
        first.stop()
        second = make_digest_world(utc(2026, 6, 1, 8, 5))
        second.at(utc(2026, 6, 1, 8, 30))
        assert second.digests_to(1) == []
        second.at(utc(2026, 6, 2, 8))
        assert len(second.digests_to(1)) == 1


class TestCatchUpAfterDowntime:
    def test_a_bot_back_within_the_hour_sends_the_digest_late(self, make_digest_world):
        first = make_digest_world(utc(2026, 6, 1, 6))
        first.set_digest(1, 480, watch=("BTCUSDT",))
        first.stop()
        second = make_digest_world(utc(2026, 6, 1, 8, 50))  # its start-up round catches up
        assert len(second.digests_to(1)) == 1
        assert second.stats().sent == 1

    def test_a_bot_back_after_more_than_an_hour_skips_the_day_and_says_so_next_time(
        self, make_digest_world
    ):
        first = make_digest_world(utc(2026, 6, 1, 6))
        first.set_digest(1, 480, watch=("BTCUSDT",))
        first.stop()
        second = make_digest_world(utc(2026, 6, 1, 9, 10))
        assert second.digests_to(1) == [] and second.stats().missed == 1
        second.at(utc(2026, 6, 2, 8))
        [text] = texts(second, 1)
        assert "The digest of Mon 1 Jun was skipped" in text


class TestExchangeTrouble:
    def test_a_digest_waits_for_prices_then_goes_out_without_them_after_half_an_hour(
        self, make_digest_world
    ):
        world = make_digest_world(utc(2026, 6, 1, 6))
        world.set_digest(1, 480, watch=("BTCUSDT",))
        world.simulator.inject("5xx", endpoint=TICKER_24H, status=503)
        world.at(utc(2026, 6, 1, 8))
        world.at(utc(2026, 6, 1, 8, 20))
        assert world.digests_to(1) == [] and world.stats().waiting_for_prices == 2
        world.at(utc(2026, 6, 1, 8, 31))
        [text] = texts(world, 1)
        assert "Prices are unavailable right now" in text and "n/a" in text
        world.simulator.clear_faults()
        world.at(utc(2026, 6, 1, 8, 40))
        assert len(world.digests_to(1)) == 1
