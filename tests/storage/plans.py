"""Query plans on either engine, for the tests that check every statement uses an index.

SQLite: ``EXPLAIN QUERY PLAN`` lines ("SEARCH a USING INDEX ...", "SCAN alerts"). PostgreSQL:
``EXPLAIN (FORMAT JSON)`` flattened into lines in the same spirit ("Index Scan alerts USING
alerts_armed", "Seq Scan alerts"). On a test's tiny tables PostgreSQL rightly prefers reading
the whole table, so its plans are taken with ``enable_seqscan = off`` (set for the EXPLAIN's
transaction only): a sequential scan that remains means no index can serve the statement,
which is what the check is about. A full walk of a non-partial index (no Index Cond) counts as
unindexed too (with sequential scans off, that is what PostgreSQL falls back to), unless a
LIMIT bounds it (``MAX(id)`` reads one entry).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from storage.engine import Connection, is_postgres

__all__ = ["plan", "unindexed_scans"]

NOT_TABLES = {"found", "CONSTANT"}
"""What a SQLite plan may scan whole: a CTE of the query itself, and the sweep's JSON list."""


def _nodes(node: Mapping[str, Any], limited: bool = False) -> Iterator[Mapping[str, Any]]:
    """Every node, marked ``Limited`` under a LIMIT (``MAX(id)`` walks one index entry)."""
    limited = limited or node["Node Type"] == "Limit"
    yield {**node, "Limited": limited}
    for child in node.get("Plans", ()):
        yield from _nodes(child, limited)


def _pg_plan(conn: Connection, sql: str, params: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    conn.execute("BEGIN")
    try:
        conn.execute("SET LOCAL enable_seqscan = off")
        document = conn.execute("EXPLAIN (FORMAT JSON) " + sql, params).fetchone()[0]
    finally:
        conn.execute("ROLLBACK")  # EXPLAIN without ANALYZE runs nothing; the SET goes too
    return list(_nodes(document[0]["Plan"]))


def _partial_indexes(conn: Connection) -> set[str]:
    rows = conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'"
                        " AND indexdef LIKE '% WHERE %'").fetchall()
    return {row[0] for row in rows}


def _line(node: Mapping[str, Any]) -> str:
    line = f"{node['Node Type']} {node.get('Relation Name', '')}".rstrip()
    if "Index Name" in node:
        line += f" USING {node['Index Name']}"
        if "Index Cond" in node:
            line += f" ({node['Index Cond']})"
    return line


def plan(conn: Connection, sql: str, params: Mapping[str, Any]) -> list[str]:
    """The plan's steps, one line each."""
    if is_postgres(conn):
        return [_line(node) for node in _pg_plan(conn, sql, params)]
    return [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]


def unindexed_scans(conn: Connection, sql: str, params: Mapping[str, Any]) -> list[str]:
    """The steps that read a whole table (or, on PostgreSQL, a whole non-partial index)."""
    if is_postgres(conn):
        partial = _partial_indexes(conn)
        return [_line(node) for node in _pg_plan(conn, sql, params)
                if node["Node Type"] == "Seq Scan"
                or (node["Node Type"] in ("Index Scan", "Index Only Scan",
                                          "Bitmap Index Scan")
                    and "Index Cond" not in node and node["Index Name"] not in partial
                    and not node["Limited"])]
    return [detail for detail in plan(conn, sql, params)
            if detail.startswith("SCAN ") and "USING" not in detail
            and "VIRTUAL TABLE" not in detail and detail.split()[1] not in NOT_TABLES]


def fill_for_plans(conn: Connection) -> None:
    """PostgreSQL only: a realistic book (50 symbols; armed, waiting, ended; RSI ones too) and
    ANALYZE, so the planner picks between the sweep's indexes as it would in production. On
    empty tables every index costs nothing and its choice among them is arbitrary."""
    if not is_postgres(conn):
        return
    conn.execute(
        "INSERT INTO alerts (user_id, chat_id, symbol, direction, price, created_at, kind,"
        " interval, recurring, fired_at, ended)"
        " SELECT n % 500, n % 500, 'S' || (n % 50) || 'USDT',"
        " CASE WHEN n % 2 = 0 THEN 'above' ELSE 'below' END, 1.0 + n % 97, 0.0,"
        " CASE WHEN n % 7 = 0 THEN 'rsi' ELSE 'price' END,"
        " CASE WHEN n % 7 = 0 THEN '1h' END, n % 3 % 2,"
        " CASE WHEN n % 3 = 0 THEN 1.0 END, CASE WHEN n % 5 = 0 THEN 'fired' END"
        " FROM generate_series(1, 20000) AS n")
    conn.execute("ANALYZE")
