"""Measurements taken on the server: sizes from the catalog, bloat from pgstattuple."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import sql

from growth_sim.db.ledger import flush_statistics

PAGE_BYTES = 8192  # PostgreSQL's default block size
APPROX_ABOVE_PAGES = 131_072  # 1 GiB: larger heaps are measured with pgstattuple_approx
# `bloat`'s readings (table_len, dead %, free %, approximate?, live tuples) of a table in `table_sizes`' query.
# pgstattuple_approx reads only the pages not marked all-visible, and takes the free space of the others from the
# free space map, which rounds it down to 1/256 of a page: half of that step (1/512 of each skipped page) is added
# back, so the estimate is unbiased. With no all-visible page it reads what pgstattuple reads, at half the cost.
_BLOAT_STATS = sql.SQL("""CASE WHEN c.relname <> ALL(%(bloated)s) THEN NULL
    WHEN c.relpages > %(approx)s THEN (SELECT ARRAY[table_len, dead_tuple_percent,
                                                    approx_free_percent + (100 - scanned_percent) / 512, 1,
                                                    approx_tuple_count]
                                       FROM pgstattuple_approx(c.oid))
    ELSE (SELECT ARRAY[table_len, dead_tuple_percent, free_percent, 0, tuple_count] FROM pgstattuple(c.oid)) END""")


def database_size(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]


def settled_size(conn: psycopg.Connection) -> int:
    """Bytes of the database's own relations (catalog, schema, TOAST and indexes), main forks only, leaving out
    what (auto)vacuum and (auto)analyze write at moments of their choosing: the free space and visibility map
    forks, and the planner's statistics (pg_statistic grows when the template database is analysed)."""
    return conn.execute(
        """SELECT coalesce(sum(pg_relation_size(c.oid)), 0)::bigint FROM pg_class c
           WHERE NOT c.relisshared AND c.relkind IN ('r', 'i', 't', 'm', 'S') AND NOT EXISTS (
               SELECT 1 FROM pg_class s
               WHERE s.oid IN ('pg_statistic'::regclass, 'pg_statistic_ext_data'::regclass)
                 AND (c.oid IN (s.oid, s.reltoastrelid)
                      OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid IN (s.oid, s.reltoastrelid))))"""
    ).fetchone()[0]


def relation_size(conn: psycopg.Connection, table: str) -> int:
    """Bytes of a table's data: heap, TOAST and all their indexes, main forks only.

    The free space map and visibility map forks are left out: (auto)vacuum creates them at moments that depend
    on the server's load, and widths calibrated on them would differ from run to run.
    """
    return conn.execute(
        """SELECT pg_relation_size(c.oid) + coalesce(pg_relation_size(c.reltoastrelid), 0)
                  + (SELECT coalesce(sum(pg_relation_size(i.indexrelid)), 0)::bigint FROM pg_index i
                     WHERE i.indrelid IN (c.oid, c.reltoastrelid))
           FROM pg_class c WHERE c.oid = %s::regclass""", (table,)).fetchone()[0]


def row_count(conn: psycopg.Connection, table: str) -> int:
    """The exact number of rows of `table` (a full count, unlike the statistics' estimates)."""
    return conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()[0]


def table_sizes(conn: psycopg.Connection, tables: list[str], bloated: Sequence[str] = (), *,
                fast: bool = False) -> dict[str, dict[str, Any]]:
    """Heap, index and TOAST bytes (and live/dead tuple statistics) of each table, and the `bloat` readings of
    those in `bloated`, in one statement; `fast` takes every bloat reading from pgstattuple_approx.

    The session's own pending statistics are flushed first (`ledger.flush_statistics`).
    """
    flush_statistics(conn)
    stats = _BLOAT_STATS if bloated else sql.SQL("NULL::float8[]")  # pgstattuple may not be installed
    rows = conn.execute(
        sql.SQL("""SELECT relname, heap, idx, toast, rest + idx, live, dead, stats FROM (
             SELECT c.relname, pg_relation_size(c.oid) AS heap, pg_indexes_size(c.oid) AS idx,
                    coalesce(pg_total_relation_size(c.reltoastrelid), 0) AS toast, pg_table_size(c.oid) AS rest,
                    coalesce(s.n_live_tup, 0) AS live, coalesce(s.n_dead_tup, 0) AS dead, {} AS stats
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
             WHERE n.nspname = current_schema() AND c.relkind = 'r'
               AND c.relname = ANY(%(tables)s)) m""").format(stats),
        {"tables": tables, "bloated": list(bloated), "approx": -1 if fast else APPROX_ABOVE_PAGES}).fetchall()
    out: dict[str, dict[str, Any]] = {}
    for name, heap, idx, toast, total, live, dead, stats in rows:
        out[name] = {"heap": heap, "indexes": idx, "toast": toast, "total": total, "live": live, "dead": dead}
        if stats is not None:
            table_len, dead_pct, free_pct, approx, tuples = stats
            out[name].update({"table_len": int(table_len), "tuples": int(tuples), "dead_percent": round(dead_pct, 2),
                              "free_percent": round(free_pct, 2), "bloat_percent": round(dead_pct + free_pct, 2),
                              "method": "pgstattuple_approx" if approx else "pgstattuple"})
    return out


def bloat(conn: psycopg.Connection, table: str) -> dict[str, Any]:
    """Dead tuples + free space as a percentage of the heap, from pgstattuple (approximate when huge)."""
    info = table_sizes(conn, [table], [table])[table]
    return {key: info[key] for key in ("table_len", "dead_percent", "free_percent", "bloat_percent", "method")}
