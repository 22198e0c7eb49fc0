"""/digest's argument and the digest's texts: times as users write them, a clear answer for
every other one, and a card in the user's time zone with everything escaped."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chat.arguments import UsageError
from chat.cards import WatchRow
from chat.commands import CommandSpec, lookup
from chat.digest import (
    DigestCard,
    biggest_mover,
    digest_card,
    digest_message,
    digest_off_text,
    digest_set_text,
    digest_status_text,
)
from chat.digest_args import DigestAt, digest_args, parse_time_of_day
from chat.html import is_balanced, visible_text
from chat.parsing import Invocation, read_text
from messages.digest import DigestRecord, FiringRecord

FOUND = lookup("digest")
assert FOUND is not None
SPEC: CommandSpec = FOUND


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


class TestReadingATime:
    @pytest.mark.parametrize(("text", "minute"), [
        ("08:30", 510), ("8:30", 510), ("8.30", 510), ("8h30", 510), ("0830", 510),
        ("830", 510), ("8", 480), ("8h", 480), ("20:15", 1215), ("00:00", 0), ("23:59", 1439),
        ("8:30pm", 1230), ("8:30 pm", 1230), ("8:30PM", 1230), ("12am", 0), ("12pm", 720),
        ("12:30am", 30), ("7 a.m.", 420),
    ])
    def test_times_users_write_are_read_as_their_minute_of_the_day(self, text, minute):
        assert parse_time_of_day(text) == minute

    @pytest.mark.parametrize("text", ["24:00", "25:00", "8:75", "13pm", "0am", "soon", "",
                                      "8:3", "08:30:00", "-1", "١٢:٣٠", "12345"])
    def test_anything_else_is_not_a_time(self, text):
        assert parse_time_of_day(text) is None

    def test_digest_alone_shows_off_stops_and_a_time_sets(self):
        assert digest_args(SPEC, ()) == DigestAt()
        assert digest_args(SPEC, ("OFF",)) == DigestAt(off=True)
        assert digest_args(SPEC, ("8:30", "pm")) == DigestAt(minute=1230)

    @pytest.mark.parametrize("words", [("25:00",), ("tomorrow",), ("8:30", "tonight"),
                                       ("<b>",)])
    def test_a_wrong_time_gets_the_usage_and_an_example(self, words):
        with pytest.raises(UsageError) as caught:
            digest_args(SPEC, words)
        html = caught.value.html
        assert "not a time of day" in html and "/digest 08:30" in html and is_balanced(html)
        assert "<b>" not in visible_text(html).replace("“<b>”", "")

    def test_the_command_reads_through_the_table_with_typed_arguments(self):
        reading = read_text("/digest 7:45")
        assert isinstance(reading, Invocation) and reading.args == DigestAt(minute=465)


def row(symbol: str, change: float | None, price: float | None = 1.0) -> WatchRow:
    return WatchRow(symbol, price, change)


def card(**fields: object) -> str:
    values: dict[str, object] = {"day": date(2026, 3, 29), "minute": 150,
                                 "zone": "Europe/Berlin", "rows": (), "firings": ()}
    values.update(fields)
    return digest_card(DigestCard(**values))  # type: ignore[arg-type]


class TestTheDigestCard:
    def test_it_lists_the_watchlist_with_24h_change_and_names_the_biggest_mover(self):
        text = card(rows=(row("BTCUSDT", 2.0), row("SOLUSDT", -8.4), row("ETHUSDT", None, None)))
        shown = visible_text(text)
        assert "Sun 29 Mar, 03:30 Europe/Berlin" in shown  # 02:30 does not exist that day
        assert "BTCUSDT" in shown and "+2.00%" in shown and "n/a" in shown
        assert "Biggest mover: SOLUSDT ▼ -8.40% in 24 h" in shown
        assert is_balanced(text)

    def test_the_header_names_the_local_time_it_went_out_at(self):
        # Regression: on the day 02:00 jumps to 03:00 a 02:30 digest goes out at 03:30, but
        # its header said "02:30", a time the user's clock never showed that day.
        assert "Sun 29 Mar, 03:30 Europe/Berlin" in visible_text(card())
        assert "Sat 28 Mar, 02:30 Europe/Berlin" in visible_text(card(day=date(2026, 3, 28)))
        # Twice that day (fall back): the first, which is when it goes out, reads the same.
        assert "Sun 25 Oct, 02:30 Europe/Berlin" in visible_text(card(day=date(2026, 10, 25)))

    def test_an_empty_watchlist_says_how_to_add_coins(self):
        shown = visible_text(card())
        assert "Your watchlist is empty" in shown and "/watch btc" in shown
        assert "Biggest mover" not in shown

    def test_fired_alerts_are_listed_at_their_local_time(self):
        firings = (
            FiringRecord(alert_id=3, fired_at=utc(2026, 3, 28, 13, 5), symbol="BTCUSDT",
                         kind="price", value=70_120.0, direction="above", level=70_000.0,
                         interval=None),
            FiringRecord(alert_id=4, fired_at=utc(2026, 3, 28, 20), symbol="SOLUSDT",
                         kind="rsi", value=28.44, direction="below", level=30.0, interval="4h"),
            FiringRecord(alert_id=5, fired_at=utc(2026, 3, 28, 21), symbol="ETHUSDT",
                         kind="price", value=3_000.0, direction=None, level=None, interval=None),
        )
        shown = visible_text(card(firings=firings))
        assert "Sat 28 Mar 14:05 BTCUSDT above 70,000.00 (price 70,120.00)" in shown
        assert "Sat 28 Mar 21:00 SOLUSDT RSI(14, 4h) below 30 (RSI 28.4)" in shown
        assert "ETHUSDT alert #5 (price 3,000.00)" in shown

    def test_no_fired_alerts_is_said_in_one_line(self):
        assert "No alerts fired in the last 24 h" in visible_text(card())

    def test_a_skipped_day_is_mentioned(self):
        shown = visible_text(card(missed_day=date(2026, 3, 27)))
        assert "The digest of Fri 27 Mar was skipped" in shown

    def test_missing_prices_say_why(self):
        shown = visible_text(card(rows=(row("BTCUSDT", None, None),),
                                  prices_note="prices unavailable: exchange down"))
        assert "prices unavailable: exchange down" in shown and "Biggest mover" not in shown

    def test_the_biggest_mover_is_the_largest_move_either_way(self):
        assert biggest_mover([row("A", 3.0), row("B", -5.0), row("C", None)]) == row("B", -5.0)
        assert biggest_mover([row("C", None)]) is None

    def test_the_message_has_one_request_id_per_user_and_day(self):
        message = digest_message(7, 70, date(2026, 3, 29), "x")
        assert message.request_id == "digest-7-2026-03-29" and message.chat_id == 70
        assert message.keep


class TestAnswers:
    def test_setting_names_the_time_the_zone_and_the_next_one(self):
        text = visible_text(digest_set_text(150, "Europe/Berlin", utc(2026, 3, 29, 1, 30),
                                            changed=True))
        assert "Daily digest set for 02:30 every day (Europe/Berlin)" in text
        assert "Next one: Sun 29 Mar 03:30" in text

    def test_utc_users_are_told_how_to_set_their_zone(self):
        assert "/settings timezone" in digest_set_text(60, "UTC", None, changed=False)
        assert "/settings timezone" not in digest_set_text(60, "Asia/Tokyo", None, changed=True)

    def test_stopping_says_whether_there_was_a_digest(self):
        assert "stopped" in digest_off_text(True)
        assert "no daily digest" in digest_off_text(False)

    def test_the_schedule_or_how_to_set_one(self):
        assert "/digest 08:30" in digest_status_text(None, "UTC", 0.0)
        record = DigestRecord(user_id=1, chat_id=1, minute=510, next_due_at=0.0,
                              last_day=None, missed_day=None, created_at=0.0)
        text = visible_text(digest_status_text(record, "America/New_York",
                                               utc(2026, 6, 1, 12, 30)))
        assert "every day at 08:30 (America/New_York)" in text
        assert "Next one: Mon 1 Jun 08:30" in text


class TestEveryTimeOfDay:
    @given(st.integers(min_value=0, max_value=1439))
    def test_every_minute_written_24_hour_or_12_hour_reads_back_exactly(self, minute):
        hour, rest = divmod(minute, 60)
        twelve = f"{hour % 12 or 12}:{rest:02d}{'am' if hour < 12 else 'pm'}"
        for text in (f"{hour:02d}:{rest:02d}", f"{hour}:{rest:02d}", f"{hour:02d}{rest:02d}",
                     twelve, twelve.upper()):
            assert parse_time_of_day(text) == minute, text

    @given(st.text(max_size=30))
    def test_any_text_is_a_minute_of_the_day_or_a_usage_reply(self, text):
        words = tuple(text.split())
        try:
            args = digest_args(SPEC, words)
        except UsageError as refused:
            assert is_balanced(refused.html) and len(refused.html) < 500
        else:
            assert args.off or args.minute is None or 0 <= args.minute < 1440
