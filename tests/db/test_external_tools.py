"""The load guide's four findings as tools growth-sim did not write see them, on a database grown to week 1.

check_postgres (Debian `check-postgres`) reads the planner statistics ANALYZE leaves; pg_qualstats (preloaded by
the private cluster when installed) records the read mix's predicates and its index advisor proposes from them;
HypoPG tries the proposed index without building it; the unused index and the tables needing VACUUM are read from
the statistics views as any checker reads them. A missing tool skips its test, naming the install command; CI
(`.ci/run`) installs them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator

import psycopg
import pytest
from board_query import BOARD_INDEX, BOARD_LIKE, board_sql
from support import module_database, query, scalar

from growth_sim.db.binaries import preload_libraries
from growth_sim.db.cluster import Cluster
from growth_sim.engine.advance import advance
from growth_sim.engine.install import initialise
from growth_sim.observe import qualstats
from growth_sim.observe.reads import Runner
from growth_sim.profile import load_profile

SCALE = 0.003
HOT = ("issues", "notifications")  # the tables whose bloat the run steers and leaves needing VACUUM


def _major(cluster: Cluster) -> str:
    return cluster.status().version.split(".")[0]


def _apt(package: str) -> str:
    return f"not installed: apt-get install -y {package}"


@pytest.fixture(scope="module")
def grown(pg_cluster: Cluster) -> Iterator[str]:
    """A database grown to week 1 by `advance` alone (no ANALYZE of its own), then read by the read mix with
    pg_qualstats sampling every query when it is loaded."""
    with module_database(pg_cluster, "external_tools") as dsn:
        initialise(dsn, load_profile("taskpilot"), 1, SCALE)
        advance(dsn, "week-1")
        if "pg_qualstats" in preload_libraries(pg_cluster.bin_dir):
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS pg_qualstats")
                conn.execute(f"ALTER DATABASE {conn.info.dbname} SET pg_qualstats.sample_rate = 1")
                conn.execute("SELECT pg_qualstats_reset()")
        Runner(dsn, clients=2, seed=5).run(queries=4000)
        yield dsn


def _check_postgres(cluster: Cluster, dsn: str, *args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("check_postgres") is None:
        pytest.skip(_apt("check-postgres"))
    status = cluster.status()
    dbname = scalar(dsn, "SELECT current_database()")
    return subprocess.run(["check_postgres", f"--host={status.socket_dir}", f"--port={status.port}",
                           f"--dbuser={cluster.dsn().split('://')[1].split('@')[0]}", f"--dbname={dbname}", *args],
                          capture_output=True, text=True, timeout=120)


def test_cluster_preloads_pg_qualstats_when_installed(pg_cluster: Cluster, grown: str) -> None:
    loaded = scalar(grown, "SHOW shared_preload_libraries")
    if "pg_qualstats" not in preload_libraries(pg_cluster.bin_dir):
        assert "pg_qualstats" not in loaded
        pytest.skip(_apt(f"postgresql-{_major(pg_cluster)}-pg-qualstats"))
    assert [name.strip() for name in loaded.split(",")] == ["pg_stat_statements", "pg_qualstats"]
    assert pg_cluster.status().preloaded == ("pg_stat_statements", "pg_qualstats")


def test_check_postgres_sees_notifications_bloat(pg_cluster: Cluster, grown: str) -> None:
    run = _check_postgres(pg_cluster, grown, "--action=bloat", "--warning=10%", "--critical=20%",
                          "--include=notifications")
    assert run.returncode == 2, run.stdout + run.stderr  # CRITICAL: more than 20 % wasted
    seen = re.search(r"table public\.notifications rows:(\d+) pages:(\d+) shouldbe:(\d+) \(([\d.]+)X\)", run.stdout)
    assert seen, run.stdout
    assert float(seen.group(4)) >= 1.25, run.stdout
    assert int(seen.group(1)) == scalar(grown, "SELECT count(*) FROM notifications")  # reltuples: exact here


def test_check_postgres_finds_every_table_analysed(pg_cluster: Cluster, grown: str) -> None:
    run = _check_postgres(pg_cluster, grown, "--action=last_analyze", "--warning=3d", "--critical=7d")
    assert run.returncode == 0 and run.stdout.startswith("POSTGRES_LAST_ANALYZE OK"), run.stdout + run.stderr
    analysed = set(re.findall(r"\.public\.(\w+)=\d+s", run.stdout))
    tables = {r[0] for r in query(grown, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert analysed == tables, sorted(tables - analysed)


def test_pg_qualstats_and_hypopg_find_the_board_index(pg_cluster: Cluster, grown: str) -> None:
    if "pg_qualstats" not in preload_libraries(pg_cluster.bin_dir):
        pytest.skip(_apt(f"postgresql-{_major(pg_cluster)}-pg-qualstats"))
    if not scalar(grown, "SELECT count(*) FROM pg_available_extensions WHERE name = 'hypopg'"):
        pytest.skip(_apt(f"postgresql-{_major(pg_cluster)}-hypopg"))
    with psycopg.connect(grown, autocommit=True) as conn:
        advised = qualstats.advised_indexes(conn, min_filter=10)
        # The advisor indexes the predicates evaluated as filters: the board query's status, filtered after the
        # scan of an index on project_id.
        assert "CREATE INDEX ON public.issues USING btree (status)" in advised, advised
        quals = qualstats.statement_quals(conn, BOARD_LIKE, "issues")
        assert [(q.column, q.eval_type) for q in quals] == [("project_id", "i"), ("status", "f")], quals
        assert quals[1].filtered > 0
        # The index the quals ask for: the index condition's column, then the filter's; the board's ORDER BY and
        # archived_at IS NULL complete it (the load guide's missing composite index).
        columns = ", ".join([q.column for q in quals] + ["sort_order"])
        conn.execute("CREATE EXTENSION IF NOT EXISTS hypopg")
        board = board_sql(conn)
        before = qualstats.plan_text(conn, board)
        name, after = qualstats.hypothetical_plan(conn, BOARD_INDEX.format(name="", columns=columns), board)
    assert "Sort Key: i.sort_order" in before, before
    assert name.endswith(">btree_issues_project_id_status_sort_order"), name
    assert f'Index Scan using "{name}" on issues' in after, after
    assert "Sort" not in after, after


def test_statistics_views_show_the_unused_index_and_tables_needing_vacuum(grown: str) -> None:
    unused = {r[0] for r in query(grown, "SELECT indexrelname FROM pg_stat_user_indexes"
                                         " WHERE relname = 'issues' AND idx_scan = 0")}
    assert "idx_issues_created_at" in unused
    assert scalar(grown, "SELECT idx_scan FROM pg_stat_user_tables WHERE relname = 'issues'") > 1000
    needing = {r[0] for r in query(grown, """
        SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid,
             LATERAL (SELECT coalesce((SELECT option_value FROM pg_options_to_table(c.reloptions)
                                       WHERE option_name = 'autovacuum_vacuum_threshold'),
                                      current_setting('autovacuum_vacuum_threshold'))::float8 AS threshold,
                             coalesce((SELECT option_value FROM pg_options_to_table(c.reloptions)
                                       WHERE option_name = 'autovacuum_vacuum_scale_factor'),
                                      current_setting('autovacuum_vacuum_scale_factor'))::float8 AS factor) t
        WHERE s.schemaname = 'public' AND s.n_dead_tup > t.threshold + t.factor * c.reltuples""")}
    assert set(HOT) <= needing, needing
