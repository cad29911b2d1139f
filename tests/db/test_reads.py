"""The read mix against grown databases: plans at week 0 and week 1, the runner, the CLI, reads during growth."""

from __future__ import annotations

import pytest
from checks import assert_read_mix_plans, cli, cli_json
from recipes import INITIAL
from support import assert_user_error, query, scalar

from growth_sim.engine.advance import advance
from growth_sim.engine.install import initialise
from growth_sim.models.taskpilot import SCENARIOS
from growth_sim.models.taskpilot.queries import CATALOGUE, READ_MIX
from growth_sim.observe import reads
from growth_sim.profile import load_profile


@pytest.mark.parametrize("grown", ["grown_initial", "grown_week1"])
def test_every_query_runs_and_uses_its_documented_index(grown: str, request: pytest.FixtureRequest) -> None:
    used = assert_read_mix_plans(request.getfixturevalue(grown))
    assert set(used) == {q.name for q in CATALOGUE}
    assert "idx_activity_log_created_at" in used["activity_feed"]
    assert "idx_issues_status" in used["project_velocity"]


def test_reads_cli_runs_the_four_scenarios_and_the_server_counts_them(grown_week1: str, cli_env) -> None:
    sla_calls = "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query LIKE '%%JOIN sla_policies sp%%'"
    before = scalar(grown_week1, sla_calls)
    out = cli_json(cli_env, "reads", "--dsn", grown_week1, "--queries", "400", "--clients", "2", "--seed", "3")
    assert out["queries"] + out["errors"] == 400 and out["errors"] == 0
    assert set(out["scenarios"]) == set(SCENARIOS)
    assert set(out["classes"]) == {q.name for q in CATALOGUE}
    for name in ("board_by_status", "issue_detail", "sla_check", "search_issues"):
        c = out["classes"][name]
        assert c["count"] > 0 and 0 < c["p50_ms"] <= c["p95_ms"] <= c["p99_ms"] <= c["max_ms"], (name, c)
    assert scalar(grown_week1, sla_calls) - before == out["classes"]["sla_check"]["count"]
    regular = sum(c["count"] for c in out["classes"].values() if c["scenario"] == "regular")
    dashboards = sum(c["count"] for c in out["classes"].values() if c["scenario"] == "dashboards")
    assert regular > 10 * dashboards  # the load guide's proportions: ~48,000 vs ~1,400 requests an hour


def test_reads_cli_one_scenario_for_a_duration(grown_week1: str, cli_env) -> None:
    out = cli_json(cli_env, "reads", "--dsn", grown_week1, "--duration", "2s", "--scenario", "background")
    assert {c["scenario"] for c in out["classes"].values()} == {"background"}
    jobs = out["classes"]["sla_check"]["count"]
    assert 10 <= jobs <= 25, jobs  # 10 iterations a second, for about 2 s
    assert all(c["count"] == jobs for c in out["classes"].values())
    assert 2 <= out["seconds"] < 4


def test_reads_refuses_bad_input_in_one_line(fresh_db: str, cli_env) -> None:
    assert_user_error(cli(cli_env, "reads", "--dsn", fresh_db, "--duration", "5x"), "--duration", "5x")
    assert_user_error(cli(cli_env, "reads", "--dsn", fresh_db, "--clients", "0"), "--clients")
    assert_user_error(cli(cli_env, "reads", "--dsn", fresh_db, "--queries", "5"), "growth-sim init")
    initialise(fresh_db, load_profile("taskpilot"), 1, 0.002)
    assert_user_error(cli(cli_env, "reads", "--dsn", fresh_db, "--queries", "5"), "advance --to initial")


def test_background_reads_follow_a_growth_run(copy_db) -> None:
    dsn = copy_db(INITIAL).dsn  # a copy of the week-0 database, grown further with reads alongside
    with reads.background(dsn, clients=1) as runner:
        advance(dsn, "+24h")
    result = runner.result()
    assert result.errors == 0 and result.queries > 0
    assert 0 < result.simulated_hour <= 24  # it followed the clock as the run moved it
    rows = query(dsn, "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (READ_MIX.application_name,))
    assert rows == [(0,)]  # every reading connection is closed
    assert scalar(dsn, "SELECT clock_hour FROM growth_sim.run") == 24
