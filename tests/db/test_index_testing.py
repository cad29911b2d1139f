"""docs/index-testing.md as a test: a fixture copy from the pytest plugin, the read mix, pg_qualstats' advice,
the proposed index built in the copy, and the board query's plan and pg_stat_statements mean time before/after."""

from __future__ import annotations

import re
from collections.abc import Iterator

import psycopg
import pytest
from board_query import BOARD_INDEX, BOARD_LIKE, board_sql

from growth_sim.db.binaries import preload_libraries
from growth_sim.db.cluster import Cluster
from growth_sim.fixtures.templates import Templates
from growth_sim.observe import qualstats
from growth_sim.observe.reads import Runner

READS = 3000  # queries of the read mix per replay


@pytest.fixture(scope="module")
def growth_sim_templates(pg_cluster: Cluster) -> Iterator[Templates]:
    """The plugin's templates on the test session's cluster (instead of the private cluster under $GROWTH_SIM_HOME)."""
    yield Templates(pg_cluster.dsn("postgres"))


def _board_stats(conn: psycopg.Connection) -> tuple[int, float]:
    """(calls, total ms) pg_stat_statements holds for the board query in this database."""
    calls, total = conn.execute(
        "SELECT coalesce(sum(calls), 0)::bigint, coalesce(sum(total_exec_time), 0) FROM pg_stat_statements"
        " WHERE query LIKE %s AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())",
        (BOARD_LIKE,)).fetchone()
    return calls, total


def test_index_proposed_from_the_read_mix_removes_the_boards_sort(growth_db, pg_cluster: Cluster) -> None:
    if "pg_qualstats" not in preload_libraries(pg_cluster.bin_dir):
        major = pg_cluster.status().version.split(".")[0]
        pytest.skip(f"not installed: apt-get install -y postgresql-{major}-pg-qualstats")
    db = growth_db(profile="taskpilot", to="week-2", scale=0.001, seed=8)  # not the plugin sample's template
    with db.connect(autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_qualstats")
        conn.execute(f"ALTER DATABASE {db.name} SET pg_qualstats.sample_rate = 1")
        conn.execute(f"ALTER DATABASE {db.name} SET random_page_cost = 1.1")  # SSD storage, for every session
        conn.execute("SET random_page_cost = 1.1")
        Runner(db.dsn, clients=2, seed=3).run(queries=READS)
        calls_before, total_before = _board_stats(conn)
        quals = qualstats.statement_quals(conn, BOARD_LIKE, "issues")
        assert [(q.column, q.eval_type) for q in quals] == [("project_id", "i"), ("status", "f")], quals
        assert any(" ON public.issues " in i and "(status)" in i
                   for i in qualstats.advised_indexes(conn, min_filter=10)), "no advice on issues"
        board = board_sql(conn)
        before = qualstats.plan_text(conn, board)
        # The load guide's slow board query: its rows sorted, or filtered on status after an index scan.
        assert "Sort Key: i.sort_order" in before or re.search(r"Filter: .*status = 'todo'", before), before

        columns = ", ".join([q.column for q in quals] + ["sort_order"])
        conn.execute(BOARD_INDEX.format(name="idx_issues_board ", columns=columns))
        after = qualstats.plan_text(conn, board)
        assert "Index Scan using idx_issues_board on issues" in after, after
        assert "Sort" not in after and "Filter" not in after.split("users")[0], after

        Runner(db.dsn, clients=2, seed=3).run(queries=READS)
        calls_after, total_after = _board_stats(conn)
    assert calls_before > 50 and calls_after - calls_before > 50
    mean_before = total_before / calls_before
    mean_after = (total_after - total_before) / (calls_after - calls_before)
    assert mean_after < mean_before, (mean_before, mean_after)
