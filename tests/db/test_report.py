"""`growth-sim report --json` on real databases: grown, with an empty table, never advanced, not ours, and a
server where pg_stat_statements and pgstattuple are out of reach."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import psycopg
import pytest
from checks import cli, cli_json
from psycopg import sql
from support import query, scalar

from growth_sim.engine.install import initialise
from growth_sim.profile import load_profile
from growth_sim.timeline.schedule import Schedule

TOP_KEYS = {"database", "run", "tables", "indexes", "statements", "milestones", "sources", "notes"}


def index_scans(dsn: str) -> dict[str, int]:
    return dict(query(dsn, "SELECT indexrelname, idx_scan FROM pg_stat_user_indexes WHERE schemaname = 'public'"))


def test_report_of_a_grown_database_matches_the_server(grown_week1: str, cli_env) -> None:
    scans_before = index_scans(grown_week1)  # the server may still be adding earlier tests' counts
    report = cli_json(cli_env, "report", "--dsn", grown_week1)
    scans_after = index_scans(grown_week1)
    assert set(report) == TOP_KEYS
    run = report["run"]
    assert (run["clock_hour"], run["week"], run["simulated_time"]) == (168, 1.0, "2026-01-12T00:00:00+00:00")
    schedule = Schedule(load_profile("taskpilot"), run["scale"])
    tables = report["tables"]
    for name in ("issues", "comments", "activity_log", "notifications", "users"):
        t = tables[name]
        assert t["rows"] == scalar(grown_week1, f"SELECT count(*) FROM {name}") and t["rows_exact"]
        assert t["heap_bytes"] == scalar(grown_week1, "SELECT pg_relation_size(%s::regclass)", (name,))
        assert t["index_bytes"] == scalar(grown_week1, "SELECT pg_indexes_size(%s::regclass)", (name,))
    assert tables["issues"]["planned_rows"] == tables["issues"]["rows"] == schedule.rows("issues", 168)
    assert tables["users"]["planned_rows"] is None  # reference data has no growth plan
    dead, free = query(grown_week1, "SELECT dead_tuple_percent, free_percent FROM pgstattuple('issues')")[0]
    assert tables["issues"]["bloat_percent"] == pytest.approx(dead + free, abs=0.5)
    assert tables["issues"]["bloat_percent"] > 30
    assert set(report["indexes"]) == set(scans_after)
    for name, index in report["indexes"].items():
        assert scans_before[name] <= index["scans"] <= scans_after[name], name
    assert report["indexes"]["idx_issues_created_at"]["unused"] is True
    assert report["indexes"]["issues_pkey"]["unused"] is False  # unique: never counted as unused
    db = report["database"]
    assert abs(db["size_bytes"] - scalar(grown_week1, "SELECT pg_database_size(current_database())")) < 1 << 20
    assert db["planned_size_bytes"] == int(schedule.size([168])[0])
    assert abs(db["size_off_percent"]) < 5
    assert [m["label"] for m in report["milestones"]] == ["initial", "week-1"]
    week1 = report["milestones"][1]
    assert week1["db_size_bytes"] == scalar(grown_week1, "SELECT db_size FROM growth_sim.measurements WHERE hour = 168")
    assert week1["planned_rows"]["issues"] == schedule.rows("issues", 168)
    assert report["statements"] and all(s["calls"] > 0 for s in report["statements"])
    assert report["notes"] == []


def test_report_shows_a_table_with_no_rows(grown_initial: str, cli_env) -> None:
    report = cli_json(cli_env, "report", "--dsn", grown_initial)
    assert report["run"]["clock_hour"] == 0
    empty = report["tables"]["webhook_deliveries"]  # the profile starts it at 0 rows
    assert scalar(grown_initial, "SELECT count(*) FROM webhook_deliveries") == 0
    assert (empty["rows"], empty["planned_rows"], empty["bloat_percent"]) == (0, 0, 0.0)
    assert empty["heap_bytes"] == 0 and empty["n_dead_tup"] == 0
    assert [m["label"] for m in report["milestones"]] == ["initial"]
    text = cli(cli_env, "report", "--dsn", grown_initial)
    assert text.returncode == 0 and "webhook_deliveries" in text.stdout and "milestones" in text.stdout


def test_report_of_a_database_never_advanced(fresh_db: str, cli_env) -> None:
    initialise(fresh_db, load_profile("taskpilot"), 5, 0.002)
    report = cli_json(cli_env, "report", "--dsn", fresh_db)
    assert report["run"]["seed"] == 5 and report["run"]["clock_hour"] is None and report["run"]["week"] is None
    assert report["milestones"] == [] and report["database"]["planned_size_bytes"] is None
    assert any("never advanced" in n for n in report["notes"])
    assert len(report["tables"]) == 20
    assert all(t["rows"] == 0 and t["planned_rows"] is None for t in report["tables"].values())
    assert cli(cli_env, "report", "--dsn", fresh_db).returncode == 0


def test_report_degrades_without_pg_stat_statements_and_pgstattuple(dsn_factory: Callable[[], str],
                                                                     cli_env) -> None:
    """A plain user on a database without the extensions (and no right to create them) still gets a report."""
    dsn = dsn_factory()
    role = f"reader_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE orders (id int PRIMARY KEY, note text)")
        conn.execute("INSERT INTO orders SELECT g, 'x' FROM generate_series(1, 100) g")
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        conn.execute(sql.SQL("GRANT SELECT ON orders TO {}").format(sql.Identifier(role)))
    try:
        as_reader = psycopg.conninfo.make_conninfo(dsn, user=role)
        report = cli_json(cli_env, "report", "--dsn", as_reader)
        assert report["run"] is None and report["statements"] is None and report["milestones"] == []
        assert report["tables"]["orders"]["rows"] == 100 and report["tables"]["orders"]["bloat_percent"] is None
        notes = " ".join(report["notes"])
        assert "pg_stat_statements is not available" in notes and "pgstattuple is not installed" in notes
        assert "not initialised by growth-sim" in notes
        sources = report["sources"]
        assert (sources["knob"], sources["growth"], sources["budget"]) == (None, None, None)
        assert sum(sources["now"]["by_source"].values()) == report["database"]["size_bytes"]
        assert scalar(dsn, "SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'") == 0
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
