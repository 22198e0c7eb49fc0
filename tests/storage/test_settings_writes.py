"""Saving settings: only canonical values of the catalogue's keys are stored, and a new
cool-down reaches the user's live recurring alerts in the same transaction, nobody else's."""

from __future__ import annotations

import json

import pytest

from messages.storage import Saved, SaveSettings
from storage import queries, writes
from storage.engine import Connection
from storage.digest_writes import zone_of
from storage.errors import InvalidWrite
from tests.storage.conftest import NOW, insert_alert
from users.settings import UserSettings


def save(conn: Connection, *pairs: tuple[str, str], user_id: int = 1) -> Saved:
    return writes.save_settings(conn, SaveSettings(request_id="s", user_id=user_id,
                                                   chat_id=user_id, settings=pairs), now=NOW)


def stored(conn: Connection, user_id: int = 1) -> dict[str, str]:
    row = conn.execute("SELECT settings FROM users WHERE user_id = ?", (user_id,)).fetchone()
    return dict(json.loads(row[0])) if row else {}


def recurring_alert(conn: Connection, *, user_id: int, price: float,
                    recurring: bool = True, ended: str | None = None) -> int:
    alert_id = insert_alert(conn, user_id=user_id, price=price)
    conn.execute("UPDATE alerts SET recurring = ?, cooldown_s = 3600, ended = ? WHERE id = ?",
                 (int(recurring), ended, alert_id))
    return alert_id


def cooldown_of(conn: Connection, alert_id: int) -> float:
    return float(conn.execute("SELECT cooldown_s FROM alerts WHERE id = ?",
                              (alert_id,)).fetchone()[0])


def test_canonical_settings_are_merged_into_the_stored_ones(conn):
    assert save(conn, ("interval", "4h"), ("timezone", "Europe/Berlin")).changed
    assert save(conn, ("quiet", "23:00-07:00")).changed
    assert not save(conn, ("interval", "4h")).changed
    assert stored(conn) == {"interval": "4h", "timezone": "Europe/Berlin",
                            "quiet": "23:00-07:00"}


@pytest.mark.parametrize("pair", [
    ("interval", "7m"), ("timezone", "../../etc/passwd"), ("quiet", "always"),
    ("style", "loud"), ("cooldown", "10s"),
    # valid, but not in the canonical spelling the settings command stores
    ("interval", "4H"), ("timezone", "europe/berlin"), ("cooldown", "60m"),
])
def test_a_catalogue_key_with_a_value_that_is_not_canonical_is_refused(conn, pair):
    with pytest.raises(InvalidWrite):
        save(conn, pair)


def test_a_new_cooldown_reaches_the_users_live_recurring_alerts_only(conn):
    mine = recurring_alert(conn, user_id=1, price=100.0)
    also_mine = recurring_alert(conn, user_id=1, price=200.0)
    one_shot = recurring_alert(conn, user_id=1, price=300.0, recurring=False)
    finished = recurring_alert(conn, user_id=1, price=400.0, ended="expired")
    theirs = recurring_alert(conn, user_id=2, price=100.0)
    saved = save(conn, ("cooldown", "30m"))
    assert saved.alerts_updated == 2
    assert cooldown_of(conn, mine) == cooldown_of(conn, also_mine) == 1800.0
    for untouched in (one_shot, finished, theirs):
        assert cooldown_of(conn, untouched) == 3600.0
    assert stored(conn) == {"cooldown": "30m"}


def test_other_settings_leave_the_alerts_alone(conn):
    alert_id = recurring_alert(conn, user_id=1, price=100.0)
    assert save(conn, ("interval", "1d")).alerts_updated == 0
    assert cooldown_of(conn, alert_id) == 3600.0


def test_a_refused_setting_changes_neither_settings_nor_alerts(conn):
    alert_id = recurring_alert(conn, user_id=1, price=100.0)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("SAVEPOINT write")
    with pytest.raises(InvalidWrite):
        save(conn, ("cooldown", "2h"), ("style", "loud"))
    conn.execute("ROLLBACK TO write")
    conn.execute("COMMIT")
    assert cooldown_of(conn, alert_id) == 3600.0 and stored(conn) == {}


HAND_EDITED = ["not json", "", "[]", '["timezone", "Asia/Tokyo"]', '"Asia/Tokyo"', "null", "42",
               '{"timezone": "Asia/Tokyo"'  # cut short
               ]


def hand_edit(conn: Connection, text: str, user_id: int = 1) -> None:
    conn.execute("INSERT INTO users (user_id, chat_id, first_seen, last_seen, settings)"
                 " VALUES (?, ?, 0, 0, ?) ON CONFLICT (user_id) DO UPDATE"
                 " SET settings = excluded.settings", (user_id, user_id, text))


@pytest.mark.parametrize("text", HAND_EDITED)
def test_a_settings_row_that_is_no_json_object_reads_as_the_defaults(conn, text):
    # Regression: the read raised (JSONDecodeError, AttributeError) out of every command of
    # that user, the alerts actor's outbox and the digest round.
    hand_edit(conn, text)
    assert UserSettings.from_pairs(queries.user_settings(conn, 1)) == UserSettings()
    assert zone_of(conn, 1) == "UTC"


@pytest.mark.parametrize("text", HAND_EDITED)
def test_a_user_can_save_over_a_settings_row_that_is_no_json_object(conn, text):
    # Regression: the writer refused every /settings of that user ("the data was not
    # valid"), so they could not even repair it themselves.
    hand_edit(conn, text)
    assert save(conn, ("timezone", "Asia/Tokyo")).changed
    assert stored(conn) == {"timezone": "Asia/Tokyo"}


def test_keys_and_values_a_newer_release_wrote_survive_a_save_as_they_were(conn):
    hand_edit(conn, json.dumps({"theme": {"dark": True}, "beta": 1, "interval": "4h"}))
    save(conn, ("style", "detailed"))
    assert stored(conn) == {"theme": {"dark": True}, "beta": 1, "interval": "4h",
                            "style": "detailed"}
    assert UserSettings.from_pairs(queries.user_settings(conn, 1)).interval == "4h"


def test_only_catalogue_keys_are_read_back_never_a_typing_alias(conn):
    # Regression: from_pairs mapped stored keys through the typing aliases, so a key outside
    # the catalogue ("tz", "zone", "card": kept as they are, say by a newer release) was read
    # as a setting and, sorting after "timezone", overrode the one /settings writes for good.
    hand_edit(conn, json.dumps({"timezone": "Asia/Tokyo", "tz": "UTC", "zone": "UTC",
                                "card": "detailed"}))
    settings = UserSettings.from_pairs(queries.user_settings(conn, 1))
    assert settings.timezone == "Asia/Tokyo" and settings.style == "compact"
    assert zone_of(conn, 1) == "Asia/Tokyo"
