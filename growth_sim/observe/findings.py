"""`growth-sim findings`: the model's expected findings and the README's generic alerts, with evidence.

Each check returns ``{id, title, source, present, evidence, sql}``: whether the finding is there now, the
numbers behind the answer (from the catalog, the statistics views, pgstattuple, pg_stat_statements and plain
EXPLAIN), and SQL a user can paste into psql to see the same numbers. The model's expected findings (its planted
flaws, `growth_sim.models.api.ModelPackage.expected_findings`) come first, then the checks every database gets:
tables needing VACUUM, redundant indexes, foreign keys without an index, index bloat.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

import psycopg

from growth_sim.db import ledger
from growth_sim.models import model_module, names
from growth_sim.models.api import Check, Finding, Probe, TableBloat, finding
from growth_sim.observe import estimate, measure, statements
from growth_sim.observe.report import iso
from growth_sim.profile import load_profile

WIDTH = 120  # the column the text output wraps at (some findings list dozens of indexes or keys)
INDEX_BLOAT_ABOVE = 30.0  # estimated from pgstatindex leaf density against the b-tree fillfactor (90)
INDEX_BLOAT_MIN_LEAF_PAGES = 8  # smaller indexes are all slack and no finding
INDEX_BLOAT_MAX_BYTES = 1 << 30  # pgstatindex reads the whole index: bigger ones are left out (and named)


def check(dsn: str) -> dict[str, Any]:
    """Run every check on the database at `dsn`: those of its model (of every installed model for a database
    growth-sim did not grow), then the generic ones."""
    with statements.observer(dsn) as conn:
        pgss_note = statements.availability(conn)
        probe = _Probe(conn, pgss_note is None)
        run = ledger.load(conn) if ledger.exists(conn) else None
        results = [c.run(probe) for c in _checks([run.model] if run else names())]
    return {"findings": results, "present": sum(1 for f in results if f["present"]),
            "notes": [pgss_note] if pgss_note else []}


def _checks(models: Iterable[str]) -> list[Check]:
    own = [c for name in models for c in model_module(name).expected_findings()]
    return [_table_bloat(c) if isinstance(c, TableBloat) else c for c in own] + list(GENERIC)


class _Probe:
    """The engine's side of `growth_sim.models.api.Probe`."""

    def __init__(self, conn: psycopg.Connection, pgss: bool) -> None:
        self.conn, self._pgss = conn, pgss

    def has_table(self, name: str) -> bool:
        return self.conn.execute("SELECT EXISTS (SELECT FROM pg_class WHERE relname = %s AND relkind IN ('r', 'p')"
                                 " AND relnamespace = current_schema()::regnamespace)", (name,)).fetchone()[0]

    def simulated_now(self) -> datetime:
        run = ledger.load(self.conn) if ledger.exists(self.conn) else None
        if run is None or run.clock_hour is None:
            return self.conn.execute("SELECT now()").fetchone()[0]
        return load_profile(run.profile).start + timedelta(hours=run.clock_hour)

    def explain(self, sql: str, params: dict[str, Any]) -> tuple[dict[str, Any], int | None]:
        return statements.explain(self.conn, sql, params)

    def plan_nodes(self, plan: dict[str, Any]) -> list[dict[str, Any]]:
        return list(statements.nodes(plan))

    def scans_of(self, plan: dict[str, Any], table: str) -> list[dict[str, Any]]:
        return [{k: n.get(k) for k in ("Node Type", "Index Name", "Index Cond", "Filter")}
                for n in statements.nodes(plan) if n.get("Relation Name") == table]

    def literal_sql(self, sql: str, params: dict[str, Any]) -> str:
        return statements.literal_sql(self.conn, sql, params)

    def statement_stats(self, queryid: int | None) -> dict[str, Any]:
        if not self._pgss:
            return {"available": False}
        stats = statements.by_queryid(self.conn, queryid) if queryid is not None else None
        return {"available": True, "queryid": queryid, "calls": stats["calls"] if stats else 0,
                "mean_ms": stats["mean_ms"] if stats else None, "total_ms": stats["total_ms"] if stats else None}

    def calls_sql(self, queryid: int | None) -> str:
        if queryid is None:
            return ""
        return ("-- its calls and mean time (EXPLAIN VERBOSE shows the query identifier)\n"
                "SELECT calls, mean_exec_time, total_exec_time, query FROM pg_stat_statements"
                f" WHERE queryid = {queryid};")


# -- the model's bloat expectations ------------------------------------------------------------------------
def _table_bloat(spec: TableBloat) -> Check:
    """The check of a `TableBloat`: heap dead tuples plus free space above the percentage (pgstattuple;
    approximate for huge tables)."""
    id_, title, table = f"{spec.table}_bloat", f"{spec.table} table bloat > {spec.percent:g} %", spec.table

    def run(probe: Probe) -> Finding:
        if not probe.has_table(table):
            return finding(id_, title, spec.source, False, {"reason": f"no {table} table"}, "")
        b = measure.bloat(probe.conn, table)
        guess = estimate.estimates(probe.conn, [table])[table]
        evidence = {**b, "threshold_percent": spec.percent, "estimate": guess,
                    "checkup_miss": estimate.checkup_miss(guess, spec.percent, b["bloat_percent"])}
        function = "pgstattuple_approx" if b["method"] == "pgstattuple_approx" else "pgstattuple"
        free = "approx_free_percent" if function == "pgstattuple_approx" else "free_percent"
        return finding(id_, title, spec.source, b["bloat_percent"] > spec.percent, evidence, f"""
SELECT table_len, dead_tuple_percent, {free}, dead_tuple_percent + {free} AS bloat_percent
FROM {function}('{table}');
-- the statistics-based estimate checkups use (heap, TOAST, and summed as they sum them):
{estimate.literal_sql(table)}""")

    return Check(id_, run, _bloat_summary)


def _bloat_summary(e: dict[str, Any]) -> list[str]:
    return [f"bloat {e['bloat_percent']:.1f} % (dead {e['dead_percent']:.1f} %, free {e['free_percent']:.1f} %)"
            f" by {e['method']}; threshold {e['threshold_percent']:.0f} %", estimate.describe(e["estimate"])
            ] + ([f"checkups will miss it: {e['checkup_miss']}"] if e["checkup_miss"] else [])


# -- every database: tables needing VACUUM and the README's alerts -----------------------------------------
NEEDS_VACUUM_SQL = """
SELECT s.relname, s.n_dead_tup, s.n_live_tup, c.reltuples,
       current_setting('autovacuum_vacuum_threshold')::float8
       + current_setting('autovacuum_vacuum_scale_factor')::float8 * greatest(c.reltuples, 0) AS threshold,
       s.last_vacuum, s.last_autovacuum
FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
WHERE s.schemaname = current_schema()
ORDER BY s.n_dead_tup DESC"""


def tables_need_vacuum(probe: Probe) -> Finding:
    """Tables whose dead tuples passed autovacuum's trigger (threshold + scale factor x reltuples)."""
    conn = probe.conn
    rows = conn.execute(
        """SELECT s.relname, s.n_dead_tup, s.n_live_tup, c.reltuples, c.reloptions,
                  s.last_vacuum, s.last_autovacuum
           FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
           WHERE s.schemaname = current_schema() ORDER BY s.n_dead_tup DESC""").fetchall()
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
    return finding("tables_need_vacuum", "Tables need VACUUM", "load guide", bool(need), evidence,
                   NEEDS_VACUUM_SQL + ";")


REDUNDANT_SQL = """
SELECT a.indexrelid::regclass AS redundant, b.indexrelid::regclass AS covered_by, a.indrelid::regclass AS table
FROM pg_index a JOIN pg_index b ON a.indrelid = b.indrelid AND a.indexrelid <> b.indexrelid
JOIN pg_class ca ON ca.oid = a.indexrelid JOIN pg_class cb ON cb.oid = b.indexrelid
WHERE ca.relnamespace = current_schema()::regnamespace AND ca.relam = cb.relam
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


def redundant_indexes(probe: Probe) -> Finding:
    """Indexes whose columns are a leading prefix of another index on the same table (or duplicate one)."""
    rows = probe.conn.execute(REDUNDANT_SQL).fetchall()
    found: dict[str, dict[str, Any]] = {}
    for redundant, covered_by, table in rows:
        entry = found.setdefault(str(redundant), {"index": str(redundant), "table": str(table), "covered_by": []})
        entry["covered_by"].append(str(covered_by))
    return finding("redundant_indexes", "Redundant indexes", "README (H004)", bool(found),
                   {"indexes": list(found.values())}, REDUNDANT_SQL + ";")


UNINDEXED_FK_SQL = """
SELECT c.conrelid::regclass AS table, c.conname, array_agg(a.attname ORDER BY k.n) AS columns
FROM pg_constraint c
CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, n)
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace
  AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid
                  AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] @> c.conkey
                  AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] <@ c.conkey)
GROUP BY 1, 2 ORDER BY 1::text, 2"""


def unindexed_foreign_keys(probe: Probe) -> Finding:
    """Foreign keys whose columns lead no index: deletes and updates of the parent scan the child table."""
    rows = probe.conn.execute(UNINDEXED_FK_SQL).fetchall()
    keys = [{"table": str(t), "constraint": name, "columns": list(cols)} for t, name, cols in rows]
    return finding("unindexed_foreign_keys", "Foreign keys without an index", "README", bool(keys),
                   {"foreign_keys": keys}, UNINDEXED_FK_SQL + ";")


INDEX_BLOAT_SQL = """
SELECT c.oid::regclass AS index, t.relname AS table, pg_relation_size(c.oid) AS bytes, s.avg_leaf_density,
       s.leaf_pages, round((100 * (1 - s.avg_leaf_density / 90))::numeric, 1) AS estimated_bloat_percent
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_am am ON am.oid = c.relam JOIN pg_stat_user_tables st ON st.relid = t.oid
CROSS JOIN LATERAL pgstatindex(c.oid) s
WHERE am.amname = 'btree' AND st.schemaname = current_schema() AND st.n_tup_upd + st.n_tup_del > 0
  AND pg_relation_size(c.oid) <= %(max_bytes)s
ORDER BY s.avg_leaf_density"""


def index_bloat(probe: Probe) -> Finding:
    """B-tree indexes of updated tables whose leaves are far emptier than the fillfactor leaves them."""
    title, source, conn = "Index bloat", "README (F005)", probe.conn
    if not conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'pgstattuple'").fetchone():
        return finding("index_bloat", title, source, False, {"reason": "pgstattuple is not installed"}, "")
    rows = conn.execute(INDEX_BLOAT_SQL, {"max_bytes": INDEX_BLOAT_MAX_BYTES}).fetchall()
    bloated = [{"index": str(ix), "table": table, "size_bytes": size, "avg_leaf_density": density,
                "leaf_pages": leaves, "estimated_bloat_percent": float(estimate)}
               for ix, table, size, density, leaves, estimate in rows
               if estimate > INDEX_BLOAT_ABOVE and leaves >= INDEX_BLOAT_MIN_LEAF_PAGES]
    skipped = [r[0] for r in conn.execute(
        "SELECT indexrelname FROM pg_stat_user_indexes WHERE schemaname = current_schema()"
        " AND pg_relation_size(indexrelid) > %s", (INDEX_BLOAT_MAX_BYTES,)).fetchall()]
    evidence = {"indexes": bloated, "threshold_percent": INDEX_BLOAT_ABOVE, "not_measured_larger_than_1GiB": skipped}
    return finding("index_bloat", title, source, bool(bloated), evidence,
                   INDEX_BLOAT_SQL.replace("%(max_bytes)s", str(INDEX_BLOAT_MAX_BYTES)) + ";")


def _vacuum_summary(e: dict[str, Any]) -> list[str]:
    return [f"{t['table']}: {t['n_dead_tup']:,} dead tuples > threshold {t['threshold']:,.0f}"
            for t in e["tables"]] or [
        f"none above its autovacuum threshold; closest: {t['table']} {t['n_dead_tup']:,} of "
        f"{t['threshold']:,.0f} (last autovacuum {t['last_autovacuum'] or 'never'})"
        for t in e["closest_below_threshold"][:1]]


def _redundant_summary(e: dict[str, Any]) -> list[str]:
    return [f"{len(e['indexes'])} indexes: " + ", ".join(i["index"] for i in e["indexes"])]


def _foreign_keys_summary(e: dict[str, Any]) -> list[str]:
    return [f"{len(e['foreign_keys'])} foreign keys: " + ", ".join(
        f"{k['table']}({', '.join(k['columns'])})" for k in e["foreign_keys"])]


def _index_bloat_summary(e: dict[str, Any]) -> list[str]:
    return [f"{i['index']}: ~{i['estimated_bloat_percent']:.0f} % (leaf density {i['avg_leaf_density']:.0f} %)"
            for i in e["indexes"][:5]] + ([f"... and {len(e['indexes']) - 5} more"] if len(e["indexes"]) > 5 else [])


GENERIC: tuple[Check, ...] = (
    Check("tables_need_vacuum", tables_need_vacuum, _vacuum_summary),
    Check("redundant_indexes", redundant_indexes, _redundant_summary),
    Check("unindexed_foreign_keys", unindexed_foreign_keys, _foreign_keys_summary),
    Check("index_bloat", index_bloat, _index_bloat_summary),
)


def format_findings(result: dict[str, Any]) -> str:
    """One block per finding: PRESENT/absent, the key numbers, and the SQL to check it."""
    summaries = {c.id: c.summary for c in _checks(names())}
    lines = []
    for f in result["findings"]:
        lines.append(f"[{'PRESENT' if f['present'] else 'absent '}] {f['title']}  ({f['source']})")
        lines += [wrapped for line in _summary(f, summaries) for wrapped in
                  textwrap.wrap(line, WIDTH, initial_indent="    ", subsequent_indent="      ", break_on_hyphens=False)]
    lines.append(f"\n{result['present']} of {len(result['findings'])} findings present;"
                 " `growth-sim findings --json` gives the evidence and the SQL to check each one")
    lines += [f"note: {n}" for n in result["notes"]]
    return "\n".join(lines)


def _summary(f: Finding, summaries: dict[str, Callable[[dict[str, Any]], list[str]]]) -> list[str]:
    e = f["evidence"]
    if "reason" in e:
        return [e["reason"]]
    return summaries[f["id"]](e) if f["id"] in summaries else []
