"""The /export document: every field of a user's data, times in UTC and their zone, bounded."""

from __future__ import annotations

import json
from typing import Any

from messages.user_data import (
    DigestSchedule,
    ExportedAlert,
    ExportedFiring,
    UserData,
    UserDataCounts,
    UserRow,
)
from users.export import (
    EXPORT_FORMAT,
    EXPORT_SCHEMA_VERSION,
    MAX_EXPORT_BYTES,
    ExportCaps,
    ExportGate,
    build_export,
    moment,
)

NOW = 1_750_000_000.0  # 2025-06-15 15:06:40 UTC, 17:06:40 in Berlin (CEST)
CAPS = ExportCaps(alerts=1000, firings=1000, watchlist=200, settings=64)


def alert(alert_id: int, **fields: Any) -> ExportedAlert:
    values: dict[str, Any] = {
        "alert_id": alert_id, "chat_id": 7, "symbol": "BTCUSDT", "kind": "price",
        "direction": "above", "level": 70_000.0, "interval": None, "base_price": None,
        "recurring": False, "cooldown_s": 0.0, "armed_from": None, "expires_at": None,
        "ended": None, "created_at": NOW - 3600, "fired_at": None, "fired_price": None,
        "notified_at": None}
    return ExportedAlert(**{**values, **fields})


def user_data(**fields: Any) -> UserData:
    values: dict[str, Any] = {
        "user_id": 7, "read_at": NOW,
        "user": UserRow(chat_id=7, username="ann", first_seen=NOW - 86_400, last_seen=NOW),
        "settings": (("quiet", "23:00-07:00"), ("timezone", "Europe/Berlin")),
        "alerts": (
            alert(1),
            alert(2, symbol="ETHUSDT", kind="percent", direction="below", level=2_700.0,
                  base_price=3_000.0, expires_at=NOW + 7 * 86_400),
            alert(3, symbol="SOLUSDT", kind="rsi", direction="below", level=30.0,
                  interval="4h", recurring=True, cooldown_s=3600.0, armed_from=NOW + 600,
                  fired_at=NOW - 60, fired_price=28.5, notified_at=NOW - 59),
            alert(4, symbol="ADAUSDT", level=1.5, expires_at=NOW - 10, ended="expired"),
        ),
        "firings": (ExportedFiring(alert_id=3, fired_at=NOW - 60, symbol="SOLUSDT",
                                   kind="rsi", value=28.5),),
        "watchlist": (("BTCUSDT", NOW - 500), ("DOGEUSDT", NOW - 400)),
        "digest": DigestSchedule(chat_id=7, minute=510, next_due_at=NOW + 3600,
                                 last_day="2025-06-15", created_at=NOW - 86_400),
        "counts": UserDataCounts(users=1, alerts=4, alert_firings=1, watchlist=2, digests=1,
                                 command_log=12),
    }
    return UserData(**{**values, **fields})


def parsed(data: UserData) -> Any:
    return json.loads(build_export(data, CAPS).document)


def test_the_document_names_its_format_and_version_and_the_file_its_user_and_local_day():
    export = build_export(user_data(), CAPS)
    document = json.loads(export.document)

    assert (document["format"], document["schema_version"]) == (EXPORT_FORMAT,
                                                                EXPORT_SCHEMA_VERSION)
    assert export.filename == "cryptobot-export-7-2025-06-15.json"
    assert document["user_id"] == 7 and document["time_zone"] == "Europe/Berlin"


def test_every_moment_is_given_in_utc_and_in_the_users_time_zone():
    assert moment(NOW, "Europe/Berlin") == {"utc": "2025-06-15T15:06:40Z",
                                           "local": "2025-06-15T17:06:40+02:00"}
    assert moment(None, "UTC") is None
    assert parsed(user_data())["exported_at"] == moment(NOW, "Europe/Berlin")


def test_alerts_of_every_kind_keep_every_column_that_matters():
    alerts = parsed(user_data())["alerts"]

    assert [(a["id"], a["kind"], a["symbol"], a["state"]) for a in alerts] == [
        (1, "price", "BTCUSDT", "live"), (2, "percent", "ETHUSDT", "live"),
        (3, "rsi", "SOLUSDT", "live"), (4, "price", "ADAUSDT", "expired")]
    percent, rsi = alerts[1], alerts[2]
    assert (percent["direction"], percent["level"], percent["base_price"]) == (
        "below", 2700.0, 3000.0)
    assert percent["expires_at"]["utc"] == "2025-06-22T15:06:40Z"
    assert (rsi["interval"], rsi["recurring"], rsi["cooldown_s"], rsi["last_fired_value"]) == (
        "4h", True, 3600.0, 28.5)
    assert rsi["armed_from"]["local"] == "2025-06-15T17:16:40+02:00"
    assert rsi["notified_at"]["utc"] == "2025-06-15T15:05:41Z"
    assert alerts[0]["expires_at"] is None and alerts[0]["last_fired_at"] is None


def test_the_watchlist_settings_digest_and_firings_are_all_there():
    document = parsed(user_data())

    assert [w["symbol"] for w in document["watchlist"]] == ["BTCUSDT", "DOGEUSDT"]
    assert document["settings"]["stored"] == {"quiet": "23:00-07:00",
                                              "timezone": "Europe/Berlin"}
    assert document["settings"]["effective"] == {
        "interval": "1h", "timezone": "Europe/Berlin", "quiet": "23:00-07:00",
        "style": "compact", "cooldown": "1h"}
    assert document["digest"]["local_time"] == "08:30"
    assert document["digest"]["next_due_at"]["local"] == "2025-06-15T18:06:40+02:00"
    assert document["alert_firings"] == [{"alert_id": 3, "symbol": "SOLUSDT", "kind": "rsi",
                                          "value": 28.5,
                                          "fired_at": moment(NOW - 60, "Europe/Berlin")}]
    assert document["command_log"] == {"rows": 12}
    assert document["profile"]["username"] == "ann"
    assert all(document["complete"].values())


def test_a_user_with_nothing_stored_gets_an_empty_document_in_utc():
    empty = user_data(user=None, settings=(), alerts=(), firings=(), watchlist=(), digest=None,
                      counts=UserDataCounts())

    document = parsed(empty)

    assert (document["profile"], document["alerts"], document["watchlist"],
            document["digest"]) == (None, [], [], None)
    assert document["time_zone"] == "UTC"
    assert document["exported_at"]["local"] == "2025-06-15T15:06:40+00:00"


def test_a_list_cut_by_its_cap_is_marked_incomplete():
    document = parsed(user_data(counts=UserDataCounts(alerts=1500, watchlist=2,
                                                      alert_firings=1)))

    assert document["complete"]["alerts"] is False
    assert document["counts"]["alerts"] == 1500


def test_the_largest_possible_document_stays_within_its_bound():
    long_text = "x" * 5000
    worst = user_data(
        user=UserRow(chat_id=-1_000_000_000_000, username=long_text, first_seen=NOW,
                     last_seen=NOW),
        settings=tuple((f"{n:02d}{long_text}", long_text) for n in range(CAPS.settings)),
        alerts=tuple(alert(10**14 + n, symbol="X" * 20, kind="percent", interval="12h",
                           base_price=1.23456789e18, level=9.87654321e17, recurring=True,
                           cooldown_s=604_800.0, armed_from=NOW, expires_at=NOW,
                           ended="expired", fired_at=NOW, fired_price=1.234567e18,
                           notified_at=NOW, chat_id=-1_000_000_000_000)
                     for n in range(CAPS.alerts)),
        firings=tuple(ExportedFiring(alert_id=10**14 + n, fired_at=NOW, symbol="X" * 20,
                                     kind="percent", value=1.234567e18)
                      for n in range(CAPS.firings)),
        watchlist=tuple((f"{n:020d}", NOW) for n in range(CAPS.watchlist)),
    )

    export = build_export(worst, CAPS)

    assert len(export.document) <= MAX_EXPORT_BYTES
    assert len(json.loads(export.document)["profile"]["username"]) == 200


def test_the_export_gate_remembers_only_the_users_of_the_last_interval() -> None:
    now = [0.0]
    gate = ExportGate(clock=lambda: now[0], interval_s=60.0)
    for user in range(1000):
        assert gate.claim(user) == 0.0
    assert gate.claim(5) == 60.0
    now[0] += 60.0
    assert gate.claim(1000) == 0.0 and gate.claim(5) == 0.0
    assert len(gate._last) == 2  # the 999 others were forgotten on the way
