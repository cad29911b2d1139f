"""`growth-sim report`: what a grown database holds, measured on the server, against the plan.

`gather` returns a JSON-ready dict (keys documented in the README); `format_report` prints it as tables.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from growth_sim.db import ledger
from growth_sim.db.connect import describe
from growth_sim.models import model_for, model_module
from growth_sim.models.api import TableBloat
from growth_sim.observe import estimate, measure, sources, statements
from growth_sim.profile import load_profile
from growth_sim.timeline.quantities import format_size
from growth_sim.timeline.schedule import Schedule

TOP_STATEMENTS = 10


def gather(dsn: str) -> dict[str, Any]:
    """Measure the database at `dsn`: run, tables, indexes, statements, milestones (see the README)."""
    with statements.observer(dsn) as conn:
        notes: list[str] = []
        run = ledger.load(conn) if ledger.exists(conn) else None
        if run is None:
            notes.append("not initialised by growth-sim: no plan, clock or milestones")
        schedule = Schedule(load_profile(run.profile), run.scale) if run else None
        hour = run.clock_hour if run else None
        if run is not None and hour is None:
            notes.append("never advanced: the simulated clock starts with `growth-sim advance`")
        size = measure.database_size(conn)
        planned = schedule.size_at(hour) if schedule and hour is not None else None
        pgss_note = statements.availability(conn)
        bloat_note = _pgstattuple_note(conn)
        notes += [n for n in (pgss_note, bloat_note) if n]
        names = _table_names(conn)
        sizes = measure.table_sizes(conn, names, names if bloat_note is None else ())
        thresholds = {c.table: c.percent for c in model_module(run.model).expected_findings()
                      if isinstance(c, TableBloat)} if run else {}
        tables = _tables(conn, sizes, schedule, hour, thresholds)
        return {
            "database": {
                "target": describe(dsn),
                "name": conn.info.dbname,
                "server_version": conn.execute("SHOW server_version").fetchone()[0],
                "size_bytes": size,
                "planned_size_bytes": planned,
                "size_off_percent": round((size / planned - 1) * 100, 2) if planned else None,
            },
            "run": _run(run, schedule),
            "tables": tables,
            "indexes": _indexes(conn),
            "statements": None if pgss_note else statements.top(conn, TOP_STATEMENTS),
            "milestones": _milestones(conn, schedule, hour) if schedule else [],
            "sources": _sources(conn, run, schedule, hour, sizes, size),
            "notes": notes,
        }


def _run(run: ledger.Run | None, schedule: Schedule | None) -> dict[str, Any] | None:
    if run is None or schedule is None:
        return None
    hour = run.clock_hour
    return {"profile": run.profile, "model": run.model, "seed": run.seed, "scale": run.scale,
            "version": run.version, "clock_hour": hour,
            "week": round(hour / 168, 2) if hour is not None else None,
            "simulated_time": schedule.time_of(hour).isoformat() if hour is not None else None}


def _pgstattuple_note(conn: psycopg.Connection) -> str | None:
    if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'pgstattuple'").fetchone():
        return None
    return "pgstattuple is not installed (CREATE EXTENSION pgstattuple): no bloat measurements"


def _table_names(conn: psycopg.Connection) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT c.relname FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace"
        " AND c.relkind = 'r' ORDER BY c.relname").fetchall()]


def _tables(conn: psycopg.Connection, sizes: dict[str, dict[str, Any]], schedule: Schedule | None,
            hour: int | None, thresholds: dict[str, float]) -> dict[str, dict[str, Any]]:
    rows = conn.execute(
        """SELECT c.relname, c.relpages, c.reltuples, s.n_live_tup, s.n_dead_tup, s.last_vacuum, s.last_autovacuum,
                  s.last_analyze, s.last_autoanalyze, s.vacuum_count, s.autovacuum_count
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
           WHERE n.nspname = current_schema() AND c.relkind = 'r' ORDER BY c.relname""").fetchall()
    estimates = estimate.estimates(conn, [r[0] for r in rows])
    out: dict[str, dict[str, Any]] = {}
    for (name, pages, reltuples, live, dead, vac, autovac, analyze, autoanalyze, vacs, autovacs) in rows:
        exact = pages <= measure.APPROX_ABOVE_PAGES
        count = _count(conn, name) if exact else max(int(reltuples), 0)
        planned = schedule.rows(name, hour) if schedule and hour is not None and name in schedule.streams else None
        entry: dict[str, Any] = {
            "rows": count, "rows_exact": exact, "planned_rows": planned,
            "heap_bytes": sizes[name]["heap"], "index_bytes": sizes[name]["indexes"],
            "toast_bytes": sizes[name]["toast"], "total_bytes": sizes[name]["total"],
            "bloat_percent": None, "dead_tuple_percent": None, "free_percent": None, "bloat_method": None,
            "n_live_tup": live, "n_dead_tup": dead,
            "last_vacuum": iso(vac), "last_autovacuum": iso(autovac),
            "last_analyze": iso(analyze), "last_autoanalyze": iso(autoanalyze),
            "vacuum_count": vacs, "autovacuum_count": autovacs,
        }
        if "bloat_percent" in sizes[name]:
            b = sizes[name]
            entry.update(bloat_percent=b["bloat_percent"], dead_tuple_percent=b["dead_percent"],
                         free_percent=b["free_percent"], bloat_method=b["method"])
        entry["bloat_estimate"] = estimates[name]
        entry["checkup_miss"] = estimate.checkup_miss(estimates[name], thresholds[name], entry["bloat_percent"]) \
            if name in thresholds else None
        out[name] = entry
    return out


def _sources(conn: psycopg.Connection, run: ledger.Run | None, schedule: Schedule | None, hour: int | None,
             sizes: dict[str, dict[str, Any]], db_size: int) -> dict[str, Any]:
    """Where the bytes are now, what each source gained since week 0, and that against the profile's budget."""
    knob = model_for(schedule.profile).build(schedule, run.seed).size_knob if run and schedule else None
    now = sources.composition(conn, sizes, knob, db_size)
    first = ledger.measurements(conn)[:1] if run else []
    gained = sources.growth(now, first[0], knob, hour) if first and hour is not None and hour > first[0]["hour"] \
        else None
    budget = sources.against_budget(schedule.profile, schedule.scale, gained, knob, run.state.get("room", 1.0)) \
        if run and gained and knob and schedule and schedule.profile.budget else None
    return {"knob": knob, "now": now, "growth": gained, "budget": budget}


def _count(conn: psycopg.Connection, table: str) -> int:
    """Exact rows, by a sequential scan: counting through an index would add to the index usage reported."""
    with conn.transaction():
        conn.execute("SET LOCAL enable_indexonlyscan = off; SET LOCAL enable_indexscan = off;"
                     " SET LOCAL enable_bitmapscan = off")
        return conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()[0]


def _indexes(conn: psycopg.Connection) -> dict[str, dict[str, Any]]:
    rows = conn.execute(
        """SELECT s.indexrelname, s.relname, pg_relation_size(s.indexrelid), s.idx_scan, s.idx_tup_read,
                  i.indisunique, i.indisprimary, pg_get_indexdef(s.indexrelid)
           FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
           WHERE s.schemaname = current_schema() ORDER BY s.relname, s.indexrelname""").fetchall()
    return {name: {"table": table, "size_bytes": size, "scans": scans, "tuples_read": read, "unique": unique,
                   "primary": primary, "unused": scans == 0 and not unique, "definition": definition}
            for name, table, size, scans, read, unique, primary, definition in rows}


def _milestones(conn: psycopg.Connection, schedule: Schedule, hour: int | None) -> list[dict[str, Any]]:
    """The profile's milestones the clock has reached, as measured when the run passed them."""
    measured = {m["hour"]: m for m in ledger.measurements(conn)} if ledger.exists(conn) else {}
    out = []
    for milestone in schedule.profile.milestones:
        if hour is None or milestone.hour > hour:
            continue
        m = measured.get(milestone.hour)
        out.append({
            "label": milestone.label, "hour": milestone.hour,
            "simulated_time": schedule.time_of(milestone.hour).isoformat(),
            "planned_rows": {t: schedule.rows(t, milestone.hour) for t in schedule.profile.milestone_tables},
            "db_size_bytes": m["db_size"] if m else None,
            "planned_size_bytes": m["planned_size"] if m else schedule.size_at(milestone.hour),
            "bloat_percent": {t: v["bloat_percent"] for t, v in m["tables"].items() if "bloat_percent" in v}
            if m else {},
        })
    return out


def iso(value: datetime | None) -> str | None:
    """A timestamp from the server as ISO text (None stays None)."""
    return value.isoformat() if value is not None else None


# -- human output ------------------------------------------------------------------------------------------
def format_report(report: dict[str, Any]) -> str:
    """The report as readable tables."""
    db, run = report["database"], report["run"]
    lines = [f"database {db['name']} on PostgreSQL {db['server_version']} ({db['target']})"]
    if run:
        clock = (f"hour {run['clock_hour']} (week {run['week']:.2f}, {run['simulated_time'][:16]})"
                 if run["clock_hour"] is not None else "not started")
        lines.append(f"profile {run['profile']}, seed {run['seed']}, scale {run['scale']:g}; simulated clock: {clock}")
        lines.append("times: the simulated clock for the clock and milestones, the server's wall clock for vacuums")
    planned = f" (plan {format_size(db['planned_size_bytes'])}, {db['size_off_percent']:+.1f} %)" \
        if db["planned_size_bytes"] else ""
    lines += [f"database size: {format_size(db['size_bytes'])}{planned}", ""]
    lines.append(f"{'table':<24}{'rows':>11}{'planned':>11}{'heap':>11}{'indexes':>11}{'toast':>11}{'bloat':>8}"
                 f"{'dead':>9}  vacuumed (wall clock)")
    for name, t in sorted(report["tables"].items(), key=lambda kv: -kv[1]["total_bytes"]):
        planned_rows = f"{t['planned_rows']:,}" if t["planned_rows"] is not None else "-"
        bloat = f"{t['bloat_percent']:.1f}%" if t["bloat_percent"] is not None else "-"
        vacuumed = max(filter(None, (t["last_vacuum"], t["last_autovacuum"])), default=None)
        rows = f"{t['rows']:,}" + ("" if t["rows_exact"] else "~")
        lines.append(f"{name:<24}{rows:>11}{planned_rows:>11}{format_size(t['heap_bytes']):>11}"
                     f"{format_size(t['index_bytes']):>11}{format_size(t['toast_bytes']):>11}{bloat:>8}"
                     f"{t['n_dead_tup'] or 0:>9,}  {vacuumed[:19] if vacuumed else 'never'}")
    indexes = report["indexes"]
    unused = [n for n, i in indexes.items() if i["unused"]]
    lines += ["", f"indexes: {len(indexes)}, {len(unused)} never scanned (not counting unique ones)",
              f"{'index':<36}{'table':<24}{'size':>11}{'scans':>12}"]
    for name, i in sorted(indexes.items(), key=lambda kv: (kv[1]["table"], -kv[1]["scans"])):
        mark = "  unused" if i["unused"] else ""
        lines.append(f"{name:<36}{i['table']:<24}{format_size(i['size_bytes']):>11}{i['scans']:>12,}{mark}")
    if report["statements"] is not None:
        lines += ["", "top statements by total execution time (pg_stat_statements; growth-sim's own left out)",
                  f"{'calls':>9}{'total ms':>12}{'mean ms':>10}  query"]
        for s in report["statements"]:
            text = " ".join(s["query"].split())
            lines.append(f"{s['calls']:>9,}{s['total_ms']:>12,.1f}{s['mean_ms']:>10.2f}  {text[:90]}")
    if report["milestones"]:
        lines += ["", "milestones (simulated clock)", f"{'milestone':<10}{'hour':>6}{'db size':>12}{'plan':>12}  bloat"]
        for m in report["milestones"]:
            size = format_size(m["db_size_bytes"]) if m["db_size_bytes"] is not None else "-"
            bloat = ", ".join(f"{t} {v:.1f}%" for t, v in sorted(m["bloat_percent"].items()))
            lines.append(f"{m['label']:<10}{m['hour']:>6}{size:>12}{format_size(m['planned_size_bytes']):>12}"
                         f"  {bloat}")
    lines += _sources_lines(report["sources"])
    if report["notes"]:
        lines += [""] + [f"note: {n}" for n in report["notes"]]
    return "\n".join(lines)


def _sources_lines(src: dict[str, Any]) -> list[str]:
    """Bytes by source now and since week 0, the budget lines next to what their sources gained, the note."""
    now, gained = src["now"], src["growth"]
    lines = ["", f"bytes by source ({src['knob'] or 'no'} size knob's TOAST as payloads)",
             f"{'source':<24}{'now':>11}{'gained':>11}"]
    for key in (*now["by_source"], "other"):
        if key in now["by_source"] or (gained and key in gained["by_source"]):
            had = format_size(now["by_source"][key]) if key in now["by_source"] else "-"
            got = format_size(gained["by_source"][key]) if gained and key in gained["by_source"] else "-"
            lines.append(f"{key:<24}{had:>11}{got:>11}")
        if key == "rows":
            lines += _rows_by_table(now, gained)
    lines.append(f"{'database':<24}{format_size(now['total']):>11}"
                 f"{format_size(gained['total']) if gained else '-':>11}")
    if src["budget"]:
        b = src["budget"]
        lines += ["", f"growth over {b['weeks']:g} weeks against the profile's [budget]",
                  f"{'budget line':<24}{'budget':>11}{'achieved':>11}{'share':>8}"]
        for line in b["lines"]:
            achieved = format_size(line["achieved_bytes"]) if line["achieved_bytes"] is not None else "-"
            share = f"{line['achieved_percent']:.0f}%" if line["achieved_percent"] is not None else "-"
            lines.append(f"{line['key']:<24}{format_size(line['budget_bytes']):>11}{achieved:>11}{share:>8}")
        lines.append(f"note: {b['note']}")
    return lines


def _rows_by_table(now: dict[str, Any], gained: dict[str, Any] | None, shown: int = 6) -> list[str]:
    """The rows of the tables holding the most, indented under the total."""
    top = sorted(now["tables"], key=lambda t: -now["tables"][t]["rows"])[:shown]
    return [f"  {t:<22}{format_size(now['tables'][t]['rows']):>11}"
            f"{format_size(gained['tables'][t]['rows']) if gained else '-':>11}" for t in top]
