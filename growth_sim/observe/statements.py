"""pg_stat_statements and plans as measuring instruments, read without disturbing what they measure.

An observer's connection asks the server not to track its own statements (superusers only; others are
tracked) and runs plain EXPLAIN, which executes nothing (the planner may still read an index's first or last
entry to estimate a range, which counts as a scan of that index).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg import sql

from growth_sim.db.connect import connect
from growth_sim.errors import DatabaseError

_QUIET = "-c pg_stat_statements.track=none -c pg_stat_statements.track_utility=off"
OWN_STATEMENTS = (r"growth_sim\.|\m(CREATE|DROP) DATABASE\M"
                  r"|\mpg_(database|relation|total_relation|table|indexes)_size\(|\mpgstat(tuple|tuple_approx|index)\(|\mpg_(try_)?advisory_(xact_)?(un)?lock\(|\mset_config\("
                  r"|\mpg_stat_|\mpg_settings\M|autovacuum_enabled|^\s*(SET|RESET|SHOW|BEGIN|COMMIT|ROLLBACK)\M")
"""What growth-sim itself runs rather than the application it grows: its ledger (schema growth_sim), scratch
databases, size and bloat measurements, locks, settings (a case-insensitive PostgreSQL regular expression)."""


def observer(dsn: str) -> psycopg.Connection:
    """An autocommit connection whose statements pg_stat_statements does not count (when allowed)."""
    try:
        return connect(dsn, autocommit=True, options=_QUIET)
    except DatabaseError as exc:
        if "permission denied" not in str(exc):
            raise
    return connect(dsn, autocommit=True)


def availability(conn: psycopg.Connection) -> str | None:
    """None when pg_stat_statements can be read here; otherwise why not, in one line.

    Creates the extension when it is missing and the server preloads the library.
    """
    try:
        with conn.transaction():
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        with conn.transaction():
            conn.execute("SELECT 1 FROM pg_stat_statements LIMIT 1")
    except psycopg.Error as exc:
        return (f"pg_stat_statements is not available ({exc.diag.message_primary or exc}); add it to "
                "shared_preload_libraries and restart the server to see query statistics")
    return None


def _toplevel(conn: psycopg.Connection) -> sql.SQL:
    return sql.SQL(" AND toplevel" if conn.info.server_version >= 140000 else "")


def top(conn: psycopg.Connection, limit: int = 10) -> list[dict[str, Any]]:
    """The statements of this database that took the most execution time, growth-sim's own left out."""
    rows = conn.execute(sql.SQL(
        "SELECT queryid, query, calls, total_exec_time, mean_exec_time, rows, shared_blks_hit, shared_blks_read"
        " FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND query !~* %s{} ORDER BY total_exec_time DESC LIMIT %s").format(_toplevel(conn)),
        (OWN_STATEMENTS, limit)).fetchall()
    return [{"queryid": q, "query": text, "calls": calls, "total_ms": round(total, 3), "mean_ms": round(mean, 3),
             "rows": n, "shared_blks_hit": hit, "shared_blks_read": read}
            for q, text, calls, total, mean, n, hit, read in rows]


def by_queryid(conn: psycopg.Connection, queryid: int) -> dict[str, Any] | None:
    """Calls and times of one statement of this database (summed over users), or None if never run."""
    row = conn.execute(sql.SQL(
        "SELECT sum(calls)::bigint, sum(total_exec_time), sum(total_exec_time) / nullif(sum(calls), 0), max(query)"
        " FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND queryid = %s{}").format(_toplevel(conn)), (queryid,)).fetchone()
    if row is None or row[0] is None:
        return None
    calls, total, mean, text = row
    return {"queryid": queryid, "calls": calls, "total_ms": round(total, 3), "mean_ms": round(mean or 0.0, 3),
            "query": text}


def explain(conn: psycopg.Connection, query: str, params: dict[str, Any]) -> tuple[dict[str, Any], int | None]:
    """The plan (EXPLAIN VERBOSE, JSON) of a query and its query identifier (None if the server computes none)."""
    result = conn.execute("EXPLAIN (VERBOSE, FORMAT JSON) " + query, params).fetchone()[0][0]
    return result["Plan"], result.get("Query Identifier")


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every node of a plan, depth first."""
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def literal_sql(conn: psycopg.Connection, query: str, params: dict[str, Any]) -> str:
    """The query with its parameters inlined, for a user to paste into psql."""
    return psycopg.ClientCursor(conn).mogrify(query, params)
