"""What pg_qualstats recorded of a database's predicates, its index advisor, and HypoPG's hypothetical indexes.

pg_qualstats (loaded by the private cluster when installed) counts, per statement, each predicate of a scan: as an
index condition (eval type ``i``) or as a filter applied after the scan (``f``), with the rows each discarded. Its
advisor (`pg_qualstats_index_advisor`) proposes indexes for the filters only; a statement's own predicates, grouped
as they were AND-ed (`statement_quals`), show which index condition a filter should join.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql


@dataclass(frozen=True)
class Qual:
    """A predicate of a statement on a table: its column, how it was evaluated, and the rows it discarded."""

    column: str
    eval_type: str  # 'i': index condition, 'f': filter after the scan
    filtered: int


def advised_indexes(conn: psycopg.Connection, min_filter: int = 1000, min_selectivity: int = 30) -> list[str]:
    """The CREATE INDEX statements pg_qualstats' advisor proposes for this database (its defaults: predicates
    filtering at least 1000 rows and 30 % of them on average)."""
    return [r[0] for r in conn.execute(
        "SELECT json_array_elements_text(pg_qualstats_index_advisor(min_filter => %s, min_selectivity => %s)"
        "->'indexes')", (min_filter, min_selectivity))]


def statement_quals(conn: psycopg.Connection, statement_like: str, table: str) -> list[Qual]:
    """The AND-ed predicates on `table` of the statement pg_stat_statements knows by a text matching
    `statement_like` (its most called), as pg_qualstats recorded them: the group that discarded the most rows,
    index conditions first."""
    rows = conn.execute("""
        WITH statement AS (
            SELECT queryid FROM pg_stat_statements
            WHERE query LIKE %(like)s AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
            ORDER BY calls DESC LIMIT 1),
        quals AS (
            SELECT q.qualid, a.attname::text AS col, q.eval_type::text AS eval, sum(q.nbfiltered) AS filtered
            FROM pg_qualstats q JOIN pg_attribute a ON a.attrelid = q.lrelid AND a.attnum = q.lattnum
            WHERE q.lrelid = %(table)s::regclass AND q.qualid IS NOT NULL
              AND q.queryid = (SELECT queryid FROM statement)
            GROUP BY 1, 2, 3),
        worst AS (SELECT qualid FROM quals GROUP BY 1 ORDER BY sum(filtered) DESC, 1 LIMIT 1)
        SELECT col, eval, filtered FROM quals WHERE qualid = (SELECT qualid FROM worst) ORDER BY eval DESC, col""",
                        {"like": statement_like, "table": table}).fetchall()
    return [Qual(col, ev, int(filtered)) for col, ev, filtered in rows]


def hypothetical_plan(conn: psycopg.Connection, create_index: str, explain: str) -> tuple[str, str]:
    """(name, plan): HypoPG's hypothetical index of `create_index` and the plain EXPLAIN of `explain` with it;
    the index is forgotten afterwards. Needs the hypopg extension in the database."""
    name = conn.execute("SELECT indexname FROM hypopg_create_index(%s)", (create_index,)).fetchone()[0]
    try:
        return name, plan_text(conn, explain)
    finally:
        conn.execute("SELECT hypopg_reset()")


def plan_text(conn: psycopg.Connection, explain: str) -> str:
    """The plain EXPLAIN (no ANALYZE) of a statement, as text."""
    return "\n".join(r[0] for r in conn.execute(sql.SQL("EXPLAIN {}").format(sql.SQL(explain))))
