"""`growth-sim findings`: the load guide's expected checkup findings and the README's alerts, with evidence.

Each check returns ``{id, title, source, present, evidence, sql}``: whether the finding is there now, the
numbers behind the answer (from the catalog, the statistics views, pgstattuple, pg_stat_statements and plain
EXPLAIN), and SQL a user can paste into psql to see the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import psycopg

from growth_sim.db import ledger
from growth_sim.models.taskpilot.queries import BOARD_SQL, SLA_CHECK_SQL
from growth_sim.observe import measure, statements
from growth_sim.observe.report import iso
from growth_sim.profile import load_profile

ISSUES_BLOAT_ABOVE = 30.0  # load guide: "issues table bloat > 30 %"
INDEX_BLOAT_ABOVE = 30.0  # estimated from pgstatindex leaf density against the b-tree fillfactor (90)
INDEX_BLOAT_MIN_LEAF_PAGES = 8  # smaller indexes are all slack and no finding
INDEX_BLOAT_MAX_BYTES = 1 << 30  # pgstatindex reads the whole index: bigger ones are left out (and named)
CREATED_AT_INDEX = "idx_issues_created_at"

Finding = dict[str, Any]


def check(dsn: str) -> dict[str, Any]:
    """Run every check on the database at `dsn`."""
    with statements.observer(dsn) as conn:
        pgss_note = statements.availability(conn)
        context = {"pgss": pgss_note is None}
        results = [fn(conn, context) for fn in CHECKS]
    return {"findings": results, "present": sum(1 for f in results if f["present"]),
            "notes": [pgss_note] if pgss_note else []}


def _finding(id_: str, title: str, source: str, present: bool, evidence: dict[str, Any], sql: str) -> Finding:
    return {"id": id_, "title": title, "source": source, "present": bool(present), "evidence": evidence,
            "sql": sql.strip()}


def _has_table(conn: psycopg.Connection, name: str) -> bool:
    return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"public.{name}",)).fetchone()[0]


def _hot_project(conn: psycopg.Connection) -> str | None:
    """The project with the most issues by the planner's statistics (no scan); any project without them."""
    row = conn.execute("SELECT (most_common_vals::text::uuid[])[1] FROM pg_stats WHERE schemaname = 'public'"
                       " AND tablename = 'issues' AND attname = 'project_id'").fetchone()
    if row and row[0]:
        return str(row[0])
    row = conn.execute("SELECT project_id FROM issues LIMIT 1").fetchone()
    return str(row[0]) if row else None


def _simulated_now(conn: psycopg.Connection) -> datetime:
    """The database's simulated clock (the server's clock for a database growth-sim did not grow)."""
    run = ledger.load(conn) if ledger.exists(conn) else None
    if run is None or run.clock_hour is None:
        return conn.execute("SELECT now()").fetchone()[0]
    return load_profile(run.profile).start + timedelta(hours=run.clock_hour)


def _scans_of(plan: dict[str, Any], table: str) -> list[dict[str, Any]]:
    return [{k: n.get(k) for k in ("Node Type", "Index Name", "Index Cond", "Filter")}
            for n in statements.nodes(plan) if n.get("Relation Name") == table]


def _calls_sql(queryid: int | None) -> str:
    if queryid is None:
        return ""
    return ("-- its calls and mean time (EXPLAIN VERBOSE shows the query identifier)\n"
            f"SELECT calls, mean_exec_time, total_exec_time, query FROM pg_stat_statements WHERE queryid = {queryid};")


def _statement_stats(conn: psycopg.Connection, context: dict[str, Any], queryid: int | None) -> dict[str, Any]:
    if not context["pgss"]:
        return {"available": False}
    stats = statements.by_queryid(conn, queryid) if queryid is not None else None
    return {"available": True, "queryid": queryid, "calls": stats["calls"] if stats else 0,
            "mean_ms": stats["mean_ms"] if stats else None, "total_ms": stats["total_ms"] if stats else None}


# -- the load guide's four findings ------------------------------------------------------------------------
def slow_board_query(conn: psycopg.Connection, context: dict[str, Any]) -> Finding:
    """The board query (project, status, not archived, by sort_order) has no composite index to use."""
    title, source = "Slow query on issues.status (missing composite index)", "load guide"
    project = _hot_project(conn) if _has_table(conn, "issues") else None
    if project is None:
        return _finding("slow_board_query", title, source, False, {"reason": "issues holds no rows"}, "")
    composite = conn.execute(
        """SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
           WHERE i.indrelid = 'issues'::regclass AND i.indnatts >= 3
             AND (SELECT array_agg(a.attname ORDER BY k.n) FROM unnest((i.indkey::int2[])[0:2]) WITH ORDINALITY
                  AS k(attnum, n) JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum)
                 = ARRAY['project_id', 'status', 'sort_order']::name[]""").fetchall()
    params = {"project": project, "status": "in_progress", "limit": 10}
    plan, queryid = statements.explain(conn, BOARD_SQL, params)
    sorts = [n.get("Sort Key") for n in statements.nodes(plan) if n["Node Type"] in ("Sort", "Incremental Sort")]
    scans = _scans_of(plan, "issues")
    status_filtered = any("status" in (s.get("Filter") or "") for s in scans)
    flaw_in_plan = bool(sorts) or status_filtered
    stats = _statement_stats(conn, context, queryid)
    ran = stats["calls"] > 0 if stats["available"] else True
    evidence = {"composite_indexes": [r[0] for r in composite], "plan_sort_keys": sorts,
                "issues_scans": scans, "status_filtered_after_scan": status_filtered, "statement": stats,
                "project_id": project}
    return _finding("slow_board_query", title, source, not composite and flaw_in_plan and ran, evidence, f"""
-- indexes on issues (none leads with project_id, status, sort_order):
SELECT indexrelid::regclass, pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = 'issues'::regclass;
-- the board query's plan: a Sort, or a Filter on status after an index scan on project_id
EXPLAIN {statements.literal_sql(conn, BOARD_SQL, params)};
{_calls_sql(queryid)}""")


def issues_bloat(conn: psycopg.Connection, context: dict[str, Any]) -> Finding:
    """issues heap: dead tuples plus free space above 30 % (pgstattuple; approximate for huge tables)."""
    title, source = "issues table bloat > 30 %", "load guide"
    if not _has_table(conn, "issues"):
        return _finding("issues_bloat", title, source, False, {"reason": "no issues table"}, "")
    b = measure.bloat(conn, "issues")
    evidence = {**b, "threshold_percent": ISSUES_BLOAT_ABOVE}
    function = "pgstattuple_approx" if b["method"] == "pgstattuple_approx" else "pgstattuple"
    free = "approx_free_percent" if function == "pgstattuple_approx" else "free_percent"
    return _finding("issues_bloat", title, source, b["bloat_percent"] > ISSUES_BLOAT_ABOVE, evidence, f"""
SELECT table_len, dead_tuple_percent, {free}, dead_tuple_percent + {free} AS bloat_percent
FROM {function}('issues');""")


def unused_created_at_index(conn: psycopg.Connection, context: dict[str, Any]) -> Finding:
    """idx_issues_created_at leads with project_id, so the created_at-only filters (SLA check) cannot use it."""
    title, source = "Unused index on created_at (wrong column order)", "load guide"
    row = conn.execute(
        "SELECT s.idx_scan, pg_relation_size(s.indexrelid), pg_get_indexdef(s.indexrelid), s.relname"
        " FROM pg_stat_user_indexes s WHERE s.indexrelname = %s", (CREATED_AT_INDEX,)).fetchone()
    if row is None:
        return _finding("unused_created_at_index", title, source, False,
                        {"reason": f"there is no index {CREATED_AT_INDEX}"}, "")
    scans, size, definition, _ = row
    now = _simulated_now(conn)
    plan, queryid = statements.explain(conn, SLA_CHECK_SQL, {"now": now})
    issues_scans = _scans_of(plan, "issues")
    stats = _statement_stats(conn, context, queryid)
    ran = stats["calls"] > 0 if stats["available"] else True
    evidence = {"index": CREATED_AT_INDEX, "definition": definition, "idx_scan": scans, "size_bytes": size,
                "created_at_query": "sla_check", "created_at_query_scans": issues_scans,
                "created_at_query_statement": stats}
    return _finding("unused_created_at_index", title, source, scans == 0 and ran, evidence, f"""
SELECT indexrelname, idx_scan, pg_size_pretty(pg_relation_size(indexrelid)), pg_get_indexdef(indexrelid)
FROM pg_stat_user_indexes WHERE indexrelname = '{CREATED_AT_INDEX}';
-- the SLA check filters and orders issues by created_at alone: a Seq Scan, not the index
EXPLAIN {statements.literal_sql(conn, SLA_CHECK_SQL, {"now": now})};
{_calls_sql(queryid)}""")


NEEDS_VACUUM_SQL = """
SELECT s.relname, s.n_dead_tup, s.n_live_tup, c.reltuples,
       current_setting('autovacuum_vacuum_threshold')::float8
       + current_setting('autovacuum_vacuum_scale_factor')::float8 * greatest(c.reltuples, 0) AS threshold,
       s.last_vacuum, s.last_autovacuum
FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
WHERE s.schemaname = 'public'
ORDER BY s.n_dead_tup DESC"""


def tables_need_vacuum(conn: psycopg.Connection, context: dict[str, Any]) -> Finding:
    """Tables whose dead tuples passed autovacuum's trigger (threshold + scale factor x reltuples)."""
    rows = conn.execute(
        """SELECT s.relname, s.n_dead_tup, s.n_live_tup, c.reltuples, c.reloptions,
                  s.last_vacuum, s.last_autovacuum
           FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
           WHERE s.schemaname = 'public' ORDER BY s.n_dead_tup DESC""").fetchall()
    base, factor = conn.execute("SELECT current_setting('autovacuum_vacuum_threshold')::float8,"
                                " current_setting('autovacuum_vacuum_scale_factor')::float8").fetchone()
    tables = []
    for name, dead, live, reltuples, reloptions, vacuumed, autovacuumed in rows:
        options = dict(o.split("=", 1) for o in reloptions or [])
        threshold = float(options.get("autovacuum_vacuum_threshold", base)) + float(
            options.get("autovacuum_vacuum_scale_factor", factor)) * max(reltuples, 0)
        tables.append({"table": name, "n_dead_tup": dead, "n_live_tup": live, "reltuples": reltuples,
                       "threshold": round(threshold, 1), "autovacuum_enabled": options.get("autovacuum_enabled",
                                                                                          "true") != "false",
                       "last_vacuum": iso(vacuumed), "last_autovacuum": iso(autovacuumed)})
    need = [t for t in tables if t["n_dead_tup"] > t["threshold"]]
    closest = sorted(tables, key=lambda t: -t["n_dead_tup"] / t["threshold"])[:3] if not need else []
    evidence = {"tables": need, "closest_below_threshold": closest, "autovacuum_vacuum_threshold": base,
                "autovacuum_vacuum_scale_factor": factor}
    return _finding("tables_need_vacuum", "Tables need VACUUM", "load guide", bool(need), evidence,
                    NEEDS_VACUUM_SQL + ";")


# -- the README's alerts -----------------------------------------------------------------------------------
REDUNDANT_SQL = """
SELECT a.indexrelid::regclass AS redundant, b.indexrelid::regclass AS covered_by, a.indrelid::regclass AS table
FROM pg_index a JOIN pg_index b ON a.indrelid = b.indrelid AND a.indexrelid <> b.indexrelid
JOIN pg_class ca ON ca.oid = a.indexrelid JOIN pg_class cb ON cb.oid = b.indexrelid
WHERE ca.relnamespace = 'public'::regnamespace AND ca.relam = cb.relam
  AND a.indpred IS NULL AND b.indpred IS NULL AND a.indexprs IS NULL AND b.indexprs IS NULL
  AND a.indnkeyatts <= b.indnkeyatts AND NOT a.indisprimary
  AND (b.indkey::int2[])[0:a.indnkeyatts - 1] = (a.indkey::int2[])[0:a.indnkeyatts - 1]
  AND (b.indclass::oid[])[0:a.indnkeyatts - 1] = (a.indclass::oid[])[0:a.indnkeyatts - 1]
  AND (b.indoption::int2[])[0:a.indnkeyatts - 1] = (a.indoption::int2[])[0:a.indnkeyatts - 1]
  AND CASE WHEN a.indnkeyatts < b.indnkeyatts THEN NOT a.indisunique  -- a leading prefix
           ELSE (b.indisunique AND NOT a.indisunique)                 -- a duplicate: keep the unique one,
                OR (a.indisunique = b.indisunique                     -- else the one a constraint uses,
                    AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conindid = a.indexrelid)
                    AND (EXISTS (SELECT 1 FROM pg_constraint WHERE conindid = b.indexrelid)
                         OR ca.relname > cb.relname))                 -- else the first by name
      END
ORDER BY 3::text, 1::text, 2::text"""


def redundant_indexes(conn: psycopg.Connection, context: dict[str, Any]) -> Finding:
    """Indexes whose columns are a leading prefix of another index on the same table (or duplicate one)."""
    rows = conn.execute(REDUNDANT_SQL).fetchall()
    found: dict[str, dict[str, Any]] = {}
    for redundant, covered_by, table in rows:
        entry = found.setdefault(str(redundant), {"index": str(redundant), "table": str(table), "covered_by": []})
        entry["covered_by"].append(str(covered_by))
    return _finding("redundant_indexes", "Redundant indexes", "README (H004)", bool(found),
                    {"indexes": list(found.values())}, REDUNDANT_SQL + ";")


UNINDEXED_FK_SQL = """
SELECT c.conrelid::regclass AS table, c.conname, array_agg(a.attname ORDER BY k.n) AS columns
FROM pg_constraint c
CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, n)
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
  AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid
                  AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] @> c.conkey
                  AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] <@ c.conkey)
GROUP BY 1, 2 ORDER BY 1::text, 2"""


def unindexed_foreign_keys(conn: psycopg.Connection, context: dict[str, Any]) -> Finding:
    """Foreign keys whose columns lead no index: deletes and updates of the parent scan the child table."""
    rows = conn.execute(UNINDEXED_FK_SQL).fetchall()
    keys = [{"table": str(t), "constraint": name, "columns": list(cols)} for t, name, cols in rows]
    return _finding("unindexed_foreign_keys", "Foreign keys without an index", "README", bool(keys),
                    {"foreign_keys": keys}, UNINDEXED_FK_SQL + ";")


INDEX_BLOAT_SQL = """
SELECT c.oid::regclass AS index, t.relname AS table, pg_relation_size(c.oid) AS bytes, s.avg_leaf_density,
       s.leaf_pages, round((100 * (1 - s.avg_leaf_density / 90))::numeric, 1) AS estimated_bloat_percent
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_am am ON am.oid = c.relam JOIN pg_stat_user_tables st ON st.relid = t.oid
CROSS JOIN LATERAL pgstatindex(c.oid) s
WHERE am.amname = 'btree' AND st.schemaname = 'public' AND st.n_tup_upd + st.n_tup_del > 0
  AND pg_relation_size(c.oid) <= %(max_bytes)s
ORDER BY s.avg_leaf_density"""


def index_bloat(conn: psycopg.Connection, context: dict[str, Any]) -> Finding:
    """B-tree indexes of updated tables whose leaves are far emptier than the fillfactor leaves them."""
    title, source = "Index bloat", "README (F005)"
    if not conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'pgstattuple'").fetchone():
        return _finding("index_bloat", title, source, False, {"reason": "pgstattuple is not installed"}, "")
    rows = conn.execute(INDEX_BLOAT_SQL, {"max_bytes": INDEX_BLOAT_MAX_BYTES}).fetchall()
    bloated = [{"index": str(ix), "table": table, "size_bytes": size, "avg_leaf_density": density,
                "leaf_pages": leaves, "estimated_bloat_percent": float(estimate)}
               for ix, table, size, density, leaves, estimate in rows
               if estimate > INDEX_BLOAT_ABOVE and leaves >= INDEX_BLOAT_MIN_LEAF_PAGES]
    skipped = [r[0] for r in conn.execute(
        "SELECT indexrelname FROM pg_stat_user_indexes WHERE schemaname = 'public'"
        " AND pg_relation_size(indexrelid) > %s", (INDEX_BLOAT_MAX_BYTES,)).fetchall()]
    evidence = {"indexes": bloated, "threshold_percent": INDEX_BLOAT_ABOVE, "not_measured_larger_than_1GiB": skipped}
    return _finding("index_bloat", title, source, bool(bloated), evidence,
                    INDEX_BLOAT_SQL.replace("%(max_bytes)s", str(INDEX_BLOAT_MAX_BYTES)) + ";")


CHECKS: tuple[Callable[[psycopg.Connection, dict[str, Any]], Finding], ...] = (
    slow_board_query, issues_bloat, unused_created_at_index, tables_need_vacuum,
    redundant_indexes, unindexed_foreign_keys, index_bloat,
)


def format_findings(result: dict[str, Any]) -> str:
    """One block per finding: PRESENT/absent, the key numbers, and the SQL to check it."""
    lines = []
    for f in result["findings"]:
        lines.append(f"[{'PRESENT' if f['present'] else 'absent '}] {f['title']}  ({f['source']})")
        lines += [f"    {line}" for line in _summary(f)]
    lines.append(f"\n{result['present']} of {len(result['findings'])} findings present;"
                 " `growth-sim findings --json` gives the evidence and the SQL to check each one")
    lines += [f"note: {n}" for n in result["notes"]]
    return "\n".join(lines)


def _summary(f: Finding) -> list[str]:
    e = f["evidence"]
    if "reason" in e:
        return [e["reason"]]
    match f["id"]:
        case "slow_board_query":
            s = e["statement"]
            calls = f"{s['calls']:,} calls, mean {s['mean_ms']} ms" if s.get("available") and s["calls"] else \
                ("not run yet" if s.get("available") else "pg_stat_statements unavailable")
            return [f"composite index: {', '.join(e['composite_indexes']) or 'none'}; plan sorts by "
                    f"{e['plan_sort_keys'] or '-'}; status filtered after the scan: {e['status_filtered_after_scan']}",
                    f"board query: {calls}"]
        case "issues_bloat":
            return [f"bloat {e['bloat_percent']:.1f} % (dead {e['dead_percent']:.1f} %, free {e['free_percent']:.1f} %)"
                    f" by {e['method']}; threshold {e['threshold_percent']:.0f} %"]
        case "unused_created_at_index":
            s = e["created_at_query_statement"]
            calls = f"{s['calls']:,} calls" if s.get("available") else "calls unknown"
            return [f"{e['definition']}", f"idx_scan {e['idx_scan']}; SLA check on created_at: {calls}, scans "
                    + ", ".join(sorted({x['Node Type'] for x in e['created_at_query_scans']}))]
        case "tables_need_vacuum":
            return [f"{t['table']}: {t['n_dead_tup']:,} dead tuples > threshold {t['threshold']:,.0f}"
                    for t in e["tables"]] or [
                f"none above its autovacuum threshold; closest: {t['table']} {t['n_dead_tup']:,} of "
                f"{t['threshold']:,.0f} (last autovacuum {t['last_autovacuum'] or 'never'})"
                for t in e["closest_below_threshold"][:1]]
        case "redundant_indexes":
            return [f"{len(e['indexes'])} indexes: " + ", ".join(i["index"] for i in e["indexes"])]
        case "unindexed_foreign_keys":
            return [f"{len(e['foreign_keys'])} foreign keys: " + ", ".join(
                f"{k['table']}({', '.join(k['columns'])})" for k in e["foreign_keys"])]
        case "index_bloat":
            return [f"{i['index']}: ~{i['estimated_bloat_percent']:.0f} % (leaf density {i['avg_leaf_density']:.0f} %)"
                    for i in e["indexes"][:5]] + ([f"... and {len(e['indexes']) - 5} more"]
                                                   if len(e["indexes"]) > 5 else [])
    return []
