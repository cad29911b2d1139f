"""`growth-sim findings`: each answer checked against the catalog, the statistics views, pgstattuple and EXPLAIN
directly; the schema's own list of planted flaws is the expected answer for the README's alerts."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from checks import (
    assert_read_mix_plans,
    cli,
    cli_json,
    explain,
    planted_redundant_indexes,
    planted_unindexed_foreign_keys,
    sampler_for,
)
from support import query, scalar

from growth_sim.models.taskpilot.queries import BOARD_SQL, SLA_CHECK_SQL
from growth_sim.observe.reads import Runner

LOAD_GUIDE = ("slow_board_query", "issues_bloat", "unused_created_at_index", "tables_need_vacuum")

NEEDS_VACUUM = """SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
WHERE s.schemaname = 'public' AND s.n_dead_tup > current_setting('autovacuum_vacuum_threshold')::float8
      + current_setting('autovacuum_vacuum_scale_factor')::float8 * greatest(c.reltuples, 0)"""


def by_id(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["id"]: f for f in result["findings"]}


def verify_load_guide_evidence(dsn: str, findings: dict[str, dict[str, Any]]) -> None:
    """The evidence of the load guide's first three findings, checked without the project's code."""
    board = findings["slow_board_query"]
    assert board["present"], board
    defs = [r[0] for r in query(dsn, "SELECT indexdef FROM pg_indexes WHERE tablename = 'issues'")]
    assert not [d for d in defs if "(project_id, status, sort_order" in d]
    with psycopg.connect(dsn, autocommit=True) as conn:
        nodes = explain(conn, BOARD_SQL, {"project": board["evidence"]["project_id"], "status": "in_progress",
                                          "limit": 10})
        assert any(n["Node Type"] == "Sort" for n in nodes) or any(
            "status" in n.get("Filter", "") for n in nodes if n.get("Relation Name") == "issues")
        sla = explain(conn, SLA_CHECK_SQL, {"now": sampler_for(dsn).now})
        assert all(n.get("Index Name") != "idx_issues_created_at" for n in sla)
    calls, mean = statement_stats(dsn, BOARD_SQL, {"project": board["evidence"]["project_id"],
                                                   "status": "todo", "limit": 10})
    assert calls == board["evidence"]["statement"]["calls"] > 0
    assert mean == pytest.approx(board["evidence"]["statement"]["mean_ms"], abs=0.01)

    bloat = findings["issues_bloat"]
    dead, free = query(dsn, "SELECT dead_tuple_percent, free_percent FROM pgstattuple('issues')")[0]
    assert bloat["present"] and dead + free > 30
    assert bloat["evidence"]["bloat_percent"] == pytest.approx(dead + free, abs=0.5)

    unused = findings["unused_created_at_index"]
    scans = scalar(dsn, "SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 'idx_issues_created_at'")
    assert unused["present"] and scans == unused["evidence"]["idx_scan"] == 0
    sla_calls, _ = statement_stats(dsn, SLA_CHECK_SQL, {"now": sampler_for(dsn).now})
    assert sla_calls == unused["evidence"]["created_at_query_statement"]["calls"] > 0


def statement_stats(dsn: str, sql: str, params: dict[str, Any]) -> tuple[int, float]:
    """Calls and mean time of a statement in pg_stat_statements, found by the server's own query identifier."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        queryid = conn.execute("EXPLAIN (VERBOSE, FORMAT JSON) " + sql, params).fetchone()[0][0]["Query Identifier"]
        return conn.execute("SELECT sum(calls), sum(total_exec_time) / sum(calls) FROM pg_stat_statements"
                            " WHERE queryid = %s AND toplevel AND dbid = (SELECT oid FROM pg_database"
                            " WHERE datname = current_database())", (queryid,)).fetchone()


def verify_needs_vacuum(dsn: str, finding: dict[str, Any]) -> None:
    """The finding names exactly the tables the statistics put above autovacuum's trigger (checked before and
    after, so that an autovacuum in between cannot be mistaken for a wrong answer)."""
    before = {r[0] for r in query(dsn, NEEDS_VACUUM)}
    named = {t["table"] for t in finding["evidence"]["tables"]}
    after = {r[0] for r in query(dsn, NEEDS_VACUUM)}
    if before == after:
        assert named == before and finding["present"] == bool(before), (named, before)
    for t in finding["evidence"]["tables"]:
        assert t["n_dead_tup"] > t["threshold"]


def test_findings_on_week1_after_the_read_mix(grown_week1: str, cli_env) -> None:
    Runner(grown_week1, clients=2, seed=11).run(queries=600)
    result = cli_json(cli_env, "findings", "--dsn", grown_week1)
    findings = by_id(result)
    assert list(findings) == [*LOAD_GUIDE, "redundant_indexes", "unindexed_foreign_keys", "index_bloat"]
    assert result["notes"] == [] and result["present"] == sum(f["present"] for f in findings.values())
    verify_load_guide_evidence(grown_week1, findings)
    verify_needs_vacuum(grown_week1, findings["tables_need_vacuum"])
    # The README's alerts: exactly the schema header's lists of planted flaws.
    assert {i["index"] for i in findings["redundant_indexes"]["evidence"]["indexes"]} == planted_redundant_indexes()
    assert {f"{k['table']}.{k['columns'][0]}" for k in findings["unindexed_foreign_keys"]["evidence"]["foreign_keys"]
            } == planted_unindexed_foreign_keys()
    bloated = findings["index_bloat"]["evidence"]["indexes"]
    assert findings["index_bloat"]["present"] and bloated
    for ix in bloated:
        density = scalar(grown_week1, "SELECT avg_leaf_density FROM pgstatindex(%s)", (ix["index"],))
        assert density == pytest.approx(ix["avg_leaf_density"], abs=1) and density < 63
    # Each finding's SQL runs as printed.
    with psycopg.connect(grown_week1, autocommit=True) as conn:
        for f in findings.values():
            for statement in filter(str.strip, f["sql"].split(";")):
                conn.execute(statement).fetchall()
    text = cli(cli_env, "findings", "--dsn", grown_week1)
    assert text.returncode == 0 and "[PRESENT] Slow query on issues.status" in text.stdout


def test_findings_on_an_empty_database(fresh_db: str, cli_env) -> None:
    findings = by_id(cli_json(cli_env, "findings", "--dsn", fresh_db))
    assert not any(f["present"] for f in findings.values())
    assert findings["slow_board_query"]["evidence"] == {"reason": "issues holds no rows"}


@pytest.mark.slow
def test_acceptance_week4_findings_after_the_read_mix(fresh_db: str, cli_env) -> None:
    """The load guide's scenario: grow to week 4 at 1/100 scale, replay the read mix for 60 s, check findings."""
    run = cli(cli_env, "advance", "--dsn", fresh_db, "--to", "week-4", "--scale", "0.01", "-q", timeout=1800)
    assert run.returncode == 0, run.stderr
    right_after = by_id(cli_json(cli_env, "findings", "--dsn", fresh_db))
    verify_needs_vacuum(fresh_db, right_after["tables_need_vacuum"])
    reads = cli_json(cli_env, "reads", "--dsn", fresh_db, "--duration", "60s", timeout=300)
    assert reads["errors"] == 0 and all(c["count"] > 0 for c in reads["classes"].values())
    findings = by_id(cli_json(cli_env, "findings", "--dsn", fresh_db))
    verify_load_guide_evidence(fresh_db, findings)
    verify_needs_vacuum(fresh_db, findings["tables_need_vacuum"])
    # autovacuum stays held off on the emulated tables after the run, so all four findings hold
    assert all(findings[f]["present"] for f in
               ("slow_board_query", "issues_bloat", "unused_created_at_index", "tables_need_vacuum")), findings
    assert_read_mix_plans(fresh_db)
