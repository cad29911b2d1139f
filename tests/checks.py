"""Checks shared by the reads, report and findings tests, written against the server directly.

Plans come from the test's own EXPLAIN, statistics from the catalog views, bloat from pgstattuple: never from the
modules under test, whose answers these checks verify.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from support import query, run_cli, with_source

import growth_sim
from growth_sim.models.taskpilot.queries import CATALOGUE, Sampler
from growth_sim.profile import load_profile
from growth_sim.timeline.schedule import Schedule

SCHEMA_SQL = Path(growth_sim.__file__).resolve().parent / "models" / "taskpilot" / "schema.sql"
TINY_TABLE_PAGES = 10  # below this a sequential scan is the right plan whatever the indexes
# Dashboards aggregating all of an organization's issues: with a single organization (scales below 0.015) that
# is the whole table, and a sequential scan is the right plan.
ORGANIZATION_AGGREGATES = ("org_analytics", "workload")


def cli(env: dict[str, str], *args: str, timeout: int = 600):
    """`growth-sim args...` with the package under test first on the path."""
    return run_cli(with_source(env), *args, timeout=timeout)


def cli_json(env: dict[str, str], *args: str, timeout: int = 600) -> dict[str, Any]:
    """`growth-sim args... --json`: exit 0 and its JSON."""
    run = cli(env, *args, "--json", timeout=timeout)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


# -- plans -------------------------------------------------------------------------------------------------
def plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from plan_nodes(child)


def explain(conn: psycopg.Connection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    return list(plan_nodes(conn.execute("EXPLAIN (FORMAT JSON) " + sql, params).fetchone()[0][0]["Plan"]))


def sampler_for(dsn: str) -> Sampler:
    run = query(dsn, "SELECT profile, seed, scale, clock_hour FROM growth_sim.run")[0]
    return Sampler(Schedule(load_profile(run[0]), run[2]), run[1], run[3])


def assert_read_mix_plans(dsn: str) -> dict[str, list[str]]:
    """Every query class runs without error; its plan uses an index the workload document names for it
    (for tables too small for any index to pay, the index is what the plan takes once sequential scans are
    ruled out), or shows the planted flaw. Returns each class's scanned indexes."""
    sampler, rng, used = sampler_for(dsn), np.random.default_rng(7), {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        pages = dict(conn.execute("SELECT relname, relpages FROM pg_class WHERE relkind = 'r'").fetchall())
        for q in CATALOGUE:
            params = q.params(sampler, rng)
            conn.execute(q.sql, params).fetchall()
            nodes = explain(conn, q.sql, params)
            indexes = [n["Index Name"] for n in nodes if "Index Name" in n]
            used[q.name] = indexes
            assert "idx_issues_created_at" not in indexes, (q.name, indexes)
            if q.name in ("board_by_status", "bulk_backlog"):  # planted: no (project_id, status, sort_order) index
                sorted_ = any(n["Node Type"] == "Sort" for n in nodes)
                filtered = any("status" in n.get("Filter", "") for n in nodes if n.get("Relation Name") == "issues")
                assert sorted_ or filtered, (q.name, nodes)
            if q.name == "sla_check":  # planted: created_at filters cannot use (project_id, created_at DESC)
                scans = [n for n in nodes if n.get("Relation Name") == "issues"]
                assert scans and all("created_at" not in n.get("Index Cond", "") for n in scans), scans
                assert any("created_at" in n.get("Filter", "") for n in scans), scans
            if not q.indexes or set(indexes) & set(q.indexes):
                continue
            seq = {n["Relation Name"] for n in nodes if n["Node Type"] == "Seq Scan"}
            whole_tenant = q.name in ORGANIZATION_AGGREGATES and sampler.world.n.organizations == 1
            assert whole_tenant or all(pages.get(t, 0) < TINY_TABLE_PAGES for t in seq), \
                (q.name, q.indexes, indexes, nodes)
            with conn.transaction():
                conn.execute("SET LOCAL enable_seqscan = off")
                forced = [n.get("Index Name") for n in explain(conn, q.sql, params)]
            assert set(forced) & set(q.indexes), (q.name, q.indexes, forced)
    return used


# -- the schema's own list of planted flaws ----------------------------------------------------------------
def schema_header_section(title: str) -> str:
    """The text of one bullet of the schema header's PLANTED FLAWS list."""
    header = SCHEMA_SQL.read_text().split("PLANTED FLAWS", 1)[1].split("Not included on purpose", 1)[0]
    bullets = re.split(r"\n--\s+\*\s+", header)
    return next(b for b in bullets if b.startswith(title))


def planted_redundant_indexes() -> set[str]:
    text = schema_header_section("Left-prefix-redundant") + schema_header_section("Exact duplicate")
    lines = [line.removeprefix("--").strip() for line in text.splitlines()]
    return {re.match(r"(idx_\w+)", line).group(1) for line in lines if re.match(r"idx_\w+\s+[(=]", line)}


def planted_unindexed_foreign_keys() -> set[str]:
    text = " ".join(line.removeprefix("--").strip()
                    for line in schema_header_section("Foreign keys without").splitlines())
    return set(re.findall(r"\b([a-z_]+\.[a-z_]+_id)\b", text))
