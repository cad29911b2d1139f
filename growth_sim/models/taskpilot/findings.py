"""The load guide's findings about TaskPilot's planted flaws, checked with evidence on a grown database.

The missing composite index for the board query and the created_at index with the wrong column order are
TaskPilot's own; the issues table's bloat is measured by the engine (`TableBloat`), in the load guide's order.
"""

from __future__ import annotations

from typing import Any

from growth_sim.models.api import Check, Finding, Probe, TableBloat, finding
from growth_sim.models.taskpilot.queries import BOARD_SQL, SLA_CHECK_SQL

ISSUES_BLOAT_ABOVE = 30.0  # load guide: "issues table bloat > 30 %"
CREATED_AT_INDEX = "idx_issues_created_at"
_SOURCE = "load guide"


def _hot_project(probe: Probe) -> str | None:
    """The project with the most issues by the planner's statistics (no scan); any project without them."""
    row = probe.conn.execute("SELECT (most_common_vals::text::uuid[])[1] FROM pg_stats WHERE schemaname = 'public'"
                             " AND tablename = 'issues' AND attname = 'project_id'").fetchone()
    if row and row[0]:
        return str(row[0])
    row = probe.conn.execute("SELECT project_id FROM issues LIMIT 1").fetchone()
    return str(row[0]) if row else None


def slow_board_query(probe: Probe) -> Finding:
    """The board query (project, status, not archived, by sort_order) has no composite index to use."""
    title = "Slow query on issues.status (missing composite index)"
    project = _hot_project(probe) if probe.has_table("issues") else None
    if project is None:
        return finding("slow_board_query", title, _SOURCE, False, {"reason": "issues holds no rows"}, "")
    composite = probe.conn.execute(
        """SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
           WHERE i.indrelid = 'issues'::regclass AND i.indnatts >= 3
             AND (SELECT array_agg(a.attname ORDER BY k.n) FROM unnest((i.indkey::int2[])[0:2]) WITH ORDINALITY
                  AS k(attnum, n) JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum)
                 = ARRAY['project_id', 'status', 'sort_order']::name[]""").fetchall()
    params = {"project": project, "status": "in_progress", "limit": 10}
    plan, queryid = probe.explain(BOARD_SQL, params)
    sorts = [n.get("Sort Key") for n in probe.plan_nodes(plan) if n["Node Type"] in ("Sort", "Incremental Sort")]
    scans = probe.scans_of(plan, "issues")
    status_filtered = any("status" in (s.get("Filter") or "") for s in scans)
    flaw_in_plan = bool(sorts) or status_filtered
    stats = probe.statement_stats(queryid)
    ran = stats["calls"] > 0 if stats["available"] else True
    evidence = {"composite_indexes": [r[0] for r in composite], "plan_sort_keys": sorts,
                "issues_scans": scans, "status_filtered_after_scan": status_filtered, "statement": stats,
                "project_id": project}
    return finding("slow_board_query", title, _SOURCE, not composite and flaw_in_plan and ran, evidence, f"""
-- indexes on issues (none leads with project_id, status, sort_order):
SELECT indexrelid::regclass, pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = 'issues'::regclass;
-- the board query's plan: a Sort, or a Filter on status after an index scan on project_id
EXPLAIN {probe.literal_sql(BOARD_SQL, params)};
{probe.calls_sql(queryid)}""")


def _board_summary(e: dict[str, Any]) -> list[str]:
    s = e["statement"]
    calls = f"{s['calls']:,} calls, mean {s['mean_ms']} ms" if s.get("available") and s["calls"] else \
        ("not run yet" if s.get("available") else "pg_stat_statements unavailable")
    sorts = ", ".join(key for keys in e["plan_sort_keys"] for key in keys)
    return [f"composite index: {', '.join(e['composite_indexes']) or 'none'}; "
            f"{f'the plan sorts by {sorts}' if sorts else 'no sort in the plan'}; status filtered after the scan: "
            f"{'yes' if e['status_filtered_after_scan'] else 'no'}",
            f"board query: {calls}"]


def unused_created_at_index(probe: Probe) -> Finding:
    """idx_issues_created_at leads with project_id, so the created_at-only filters (SLA check) cannot use it."""
    title = "Unused index on created_at (wrong column order)"
    row = probe.conn.execute(
        "SELECT s.idx_scan, pg_relation_size(s.indexrelid), pg_get_indexdef(s.indexrelid), s.relname"
        " FROM pg_stat_user_indexes s WHERE s.indexrelname = %s", (CREATED_AT_INDEX,)).fetchone()
    if row is None:
        return finding("unused_created_at_index", title, _SOURCE, False,
                       {"reason": f"there is no index {CREATED_AT_INDEX}"}, "")
    scans, size, definition, _ = row
    now = probe.simulated_now()
    plan, queryid = probe.explain(SLA_CHECK_SQL, {"now": now})
    issues_scans = probe.scans_of(plan, "issues")
    stats = probe.statement_stats(queryid)
    ran = stats["calls"] > 0 if stats["available"] else True
    evidence = {"index": CREATED_AT_INDEX, "definition": definition, "idx_scan": scans, "size_bytes": size,
                "created_at_query": "sla_check", "created_at_query_scans": issues_scans,
                "created_at_query_statement": stats}
    return finding("unused_created_at_index", title, _SOURCE, scans == 0 and ran, evidence, f"""
SELECT indexrelname, idx_scan, pg_size_pretty(pg_relation_size(indexrelid)), pg_get_indexdef(indexrelid)
FROM pg_stat_user_indexes WHERE indexrelname = '{CREATED_AT_INDEX}';
-- the SLA check filters and orders issues by created_at alone: a Seq Scan, not the index
EXPLAIN {probe.literal_sql(SLA_CHECK_SQL, {"now": now})};
{probe.calls_sql(queryid)}""")


def _created_at_summary(e: dict[str, Any]) -> list[str]:
    s = e["created_at_query_statement"]
    calls = f"{s['calls']:,} calls" if s.get("available") else "calls unknown"
    return [f"{e['definition']}", f"idx_scan {e['idx_scan']}; SLA check on created_at: {calls}, scans "
            + ", ".join(sorted({x['Node Type'] for x in e['created_at_query_scans']}))]


FINDINGS: tuple[Check | TableBloat, ...] = (
    Check("slow_board_query", slow_board_query, _board_summary),
    TableBloat("issues", ISSUES_BLOAT_ABOVE, _SOURCE),
    Check("unused_created_at_index", unused_created_at_index, _created_at_summary),
)
