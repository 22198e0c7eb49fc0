"""Schema versions: a fresh file gets the latest schema, older files upgrade in place, and a
failed or impossible upgrade leaves the file as it was."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlite_utils

from storage.connection import open_writer
from storage.engine import Connection, is_postgres
from storage.errors import SchemaError
from storage.pg import PgConnection, connect
from storage.pg_schema import PG_MIGRATIONS
from storage.queries import alerts_of, unnotified_alerts, watchlist_of
from storage.schema import MIGRATIONS, SCHEMA_VERSION, TABLES, migrate, schema_version

V1_SQL = Path(__file__).parent / "data" / "schema_v1.sql"


def make_v1_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as old:
        old.executescript(V1_SQL.read_text(encoding="utf-8"))
    old.close()


def table_names(conn: Connection) -> set[str]:
    if is_postgres(conn):
        return {row[0] for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    return set(sqlite_utils.Database(conn).table_names())


def test_a_fresh_database_gets_every_table_at_the_latest_version(conn):
    assert schema_version(conn) == SCHEMA_VERSION == len(MIGRATIONS) == len(PG_MIGRATIONS)
    assert set(TABLES) <= table_names(conn)


def test_migrating_an_up_to_date_file_changes_nothing(conn):
    assert migrate(conn) == (SCHEMA_VERSION, SCHEMA_VERSION)


class TestUpgradeFromVersionOne:
    def test_the_file_upgrades_in_place_and_keeps_its_data(self, db_path):
        make_v1_file(db_path)
        conn = open_writer(db_path)
        try:
            assert schema_version(conn) == SCHEMA_VERSION
            alice = alerts_of(conn, 7)
            assert [(a.alert_id, a.symbol, a.active) for a in alice] == [
                (1, "BTCUSDT", True), (2, "ETHUSDT", False)]
            assert watchlist_of(conn, 7) == ("BTCUSDT", "ETHUSDT")
            columns = sqlite_utils.Database(conn).table("alerts").columns_dict
            assert {"request_key", "fired_price", "notified_at"} <= set(columns)
            assert {"candles", "command_log"} <= set(sqlite_utils.Database(conn).table_names())
        finally:
            conn.close()

    def test_alerts_fired_before_the_upgrade_are_not_notified_again(self, db_path):
        make_v1_file(db_path)
        conn = open_writer(db_path)
        try:
            assert unnotified_alerts(conn) == ()
            fired = alerts_of(conn, 7)[1]
            assert fired.notified_at == fired.fired_at == 1700000400.0
        finally:
            conn.close()

    def test_a_failing_step_rolls_back_to_the_previous_version(self, db_path):
        make_v1_file(db_path)
        conn = sqlite3.connect(db_path, isolation_level=None)
        try:
            migrate(conn, target=2)
            # Someone created an index by hand under a name version 3 needs.
            conn.execute("CREATE INDEX alerts_active ON alerts (symbol)")
            with pytest.raises(SchemaError, match="version 3"):
                migrate(conn)
            assert schema_version(conn) == 2
            columns = sqlite_utils.Database(conn).table("alerts").columns_dict
            assert "request_key" not in columns
            assert not conn.in_transaction
        finally:
            conn.close()


def test_a_file_from_a_newer_version_is_refused_untouched(db_path):
    db_path.parent.mkdir(parents=True)
    with sqlite3.connect(db_path) as future:
        future.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    future.close()
    with pytest.raises(SchemaError, match="newer"):
        open_writer(db_path)
    with sqlite3.connect(db_path) as check:
        assert schema_version(check) == SCHEMA_VERSION + 1
        assert check.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0] == 0
    check.close()


class TestPostgresVersions:
    """The same promises with the version kept in PostgreSQL's schema_version row."""

    def test_a_failing_step_rolls_back_to_the_previous_version(self, postgres_url):
        conn = PgConnection(connect(postgres_url))
        try:
            migrate(conn, target=2)
            conn.execute("CREATE INDEX alerts_by_user ON alerts (symbol)")  # version 3's name
            with pytest.raises(SchemaError, match="version 3"):
                migrate(conn)
            assert schema_version(conn) == 2
            assert not conn.in_transaction
            assert conn.execute("SELECT COUNT(*) FROM information_schema.columns"
                                " WHERE table_name = 'alerts' AND column_name = 'request_key'"
                                ).fetchone()[0] == 0
        finally:
            conn.close()

    def test_a_database_from_a_newer_version_is_refused_untouched(self, postgres_url):
        conn = open_writer(postgres_url)
        conn.execute("UPDATE schema_version SET version = :v", {"v": SCHEMA_VERSION + 1})
        conn.close()
        with pytest.raises(SchemaError, match="newer"):
            open_writer(postgres_url)
        check = PgConnection(connect(postgres_url))
        try:
            assert schema_version(check) == SCHEMA_VERSION + 1
        finally:
            check.close()

    def test_two_instances_starting_together_migrate_once(self, postgres_url):
        with ThreadPoolExecutor(2) as both:
            opened = list(both.map(lambda _: open_writer(postgres_url), range(2)))
        try:
            assert [schema_version(conn) for conn in opened] == [SCHEMA_VERSION] * 2
        finally:
            for conn in opened:
                conn.close()
