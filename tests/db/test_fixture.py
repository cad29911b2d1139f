"""`growth-sim fixture build` and `fixture load`: byte-identical files, exact counts, psql compatibility.

Three fixtures of TaskPilot grown 12 simulated hours past the initial dataset (so the file carries inserts,
updates and deletes): two with the same inputs (one by the CLI, one in-process with other initial chunk sizes)
and one with another seed, written uncompressed.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
from pathlib import Path

import psycopg
import psycopg.conninfo
import pytest
from psycopg import sql
from support import assert_user_error, counts, run_cli, table_digests, with_source

from growth_sim.db.cluster import Cluster
from growth_sim.engine import initial
from growth_sim.errors import GrowthSimError
from growth_sim.fixtures.fixture import FixtureSpec, build, manifest_path
from growth_sim.fixtures.fixture import load as load_fixture
from growth_sim.timeline.schedule import Schedule

INPUTS = ("--profile", "taskpilot", "--to", "+12h", "--scale", "0.001")


@pytest.fixture(scope="module")
def module_env(pg_cluster: Cluster) -> dict[str, str]:
    """The CLI's environment: the session's cluster (its variables are set while `pg_cluster` lives)."""
    return with_source(dict(os.environ))


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory, pg_cluster: Cluster, module_env: dict[str, str]
           ) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("fixtures")
    files = {"a": out / "a.sql.gz", "b": out / "b.sql.gz", "c": out / "c.sql"}
    run = run_cli(module_env, "fixture", "build", *INPUTS, "--seed", "7", "-o", str(files["a"]), "--json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == json.loads(manifest_path(files["a"]).read_text())
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(initial, "INITIAL_CHUNK_ROWS", 37)  # other unit boundaries: ~5x as many initial units
        build(FixtureSpec.of("taskpilot", "+12h", 0.001, 7), pg_cluster.dsn("postgres"), files["b"])
    run = run_cli(module_env, "fixture", "build", *INPUTS, "--seed", "8", "-o", str(files["c"]), "-q")
    assert run.returncode == 0, run.stderr
    return files


def manifest(path: Path) -> dict:
    return json.loads(manifest_path(path).read_text())


def load(env: dict[str, str], path: Path, dsn: str, *options: str) -> subprocess.CompletedProcess[str]:
    return run_cli(env, "fixture", "load", "--dsn", dsn, str(path), *options)


def test_same_inputs_give_the_same_bytes(builds: dict[str, Path]) -> None:
    a, b = manifest(builds["a"]), manifest(builds["b"])
    assert builds["a"].read_bytes() == builds["b"].read_bytes()
    assert a["sha256"] == b["sha256"] and a["content_sha256"] == b["content_sha256"]
    assert {k: v for k, v in a.items() if k != "file"} == {k: v for k, v in b.items() if k != "file"}
    planned = Schedule(FixtureSpec.of("taskpilot", "+12h", 0.001, 7).profile, 0.001)
    assert a["hour"] == 12 and a["tables"]["issues"] == planned.rows("issues", 12)
    assert a["tables"]["notifications"] == planned.rows("notifications", 12)
    assert a["sizing"] == "open" and a["seed"] == 7


def test_another_seed_gives_another_file(builds: dict[str, Path]) -> None:
    a, c = manifest(builds["a"]), manifest(builds["c"])
    assert c["tables"] == a["tables"]  # counts come from the schedule, values from the seed
    assert c["content_sha256"] != a["content_sha256"]
    assert gzip.decompress(builds["a"].read_bytes()) != builds["c"].read_bytes()


def test_loading_gives_the_manifest_counts_and_no_wall_clock(builds: dict[str, Path], fresh_db: str,
                                                             cli_env: dict[str, str]) -> None:
    run = load(with_source(cli_env), builds["a"], fresh_db, "--json")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    expected = manifest(builds["a"])
    assert result["tables"] == expected["tables"] and result["checked"] is True
    assert counts(fresh_db, expected["tables"]) == expected["tables"]
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("SELECT clock_hour, state FROM growth_sim.run").fetchone() == (12, {"sizing": "open"})
        columns = conn.execute("SELECT c.table_name, c.column_name FROM information_schema.columns c"
                               " JOIN information_schema.tables t USING (table_schema, table_name)"
                               " WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'"
                               " AND c.data_type = 'timestamp with time zone'"
                               " AND c.column_name NOT LIKE 'next\\_%'").fetchall()  # schedules: in the future
        latest = conn.execute(sql.SQL(" UNION ALL ").join(
            sql.SQL("SELECT max({}) FROM {}").format(sql.Identifier(c), sql.Identifier(t)) for t, c in columns)
            + sql.SQL(" ORDER BY 1 DESC NULLS LAST LIMIT 1")).fetchone()[0]
        assert latest.isoformat() <= expected["clock"]  # every stamp is simulated time, none from the loader's clock
        assert conn.execute("SELECT count(*) FROM pg_stats WHERE schemaname = 'public'").fetchone()[0] > 0


def test_psql_loads_the_same_data(builds: dict[str, Path], dsn_factory, cli_env: dict[str, str],
                                  pg_cluster: Cluster, tmp_path: Path) -> None:
    psql = pg_cluster.bin_dir / "psql"
    if not psql.exists():
        pytest.skip(f"no psql next to the server binaries in {pg_cluster.bin_dir}")
    by_psycopg, by_psql = dsn_factory(), dsn_factory()
    assert load(with_source(cli_env), builds["a"], by_psycopg).returncode == 0
    plain = tmp_path / "a.sql"
    plain.write_bytes(gzip.decompress(builds["a"].read_bytes()))
    subprocess.run([str(psql), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", by_psql, "-f", str(plain)],
                   check=True, capture_output=True, timeout=120)
    assert table_digests(by_psql) == table_digests(by_psycopg)


def test_load_refuses_a_database_with_tables_unless_forced(builds: dict[str, Path], fresh_db: str,
                                                           cli_env: dict[str, str]) -> None:
    env = with_source(cli_env)
    with psycopg.connect(fresh_db) as conn:
        conn.execute("CREATE TABLE mine (x int)")
    line = assert_user_error(load(env, builds["a"], fresh_db), "not empty", "public.mine", "--force")
    assert "1 table" in line
    run = load(env, builds["a"], fresh_db, "--force")
    assert run.returncode == 0, run.stderr
    assert "as the manifest says" in run.stdout
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("SELECT to_regclass('public.mine')").fetchone()[0] is None


def test_a_role_without_superuser_loads_it(builds: dict[str, Path], fresh_db: str, cli_env: dict[str, str]) -> None:
    role = "loader_" + fresh_db.rsplit("/", 1)[-1].split("?")[0]
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
            sql.Identifier(conn.info.dbname), sql.Identifier(role)))
        conn.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(role)))
    as_role = psycopg.conninfo.make_conninfo(fresh_db, user=role)
    run = load(with_source(cli_env), builds["a"], as_role)
    assert run.returncode == 0, run.stderr
    assert "warning: extension pgstattuple not created" in run.stderr  # needs a superuser; only `advance` uses it
    with psycopg.connect(as_role) as conn:
        assert conn.execute("SELECT count(*) FROM issues").fetchone()[0] == manifest(builds["a"])["tables"]["issues"]


def test_a_loaded_fixture_keeps_growing(builds: dict[str, Path], fresh_db: str, cli_env: dict[str, str]) -> None:
    env = with_source(cli_env)
    assert load(env, builds["a"], fresh_db).returncode == 0
    run = run_cli(env, "advance", "--dsn", fresh_db, "--to", "+2h", "--json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["end_hour"] == 14
    planned = Schedule(FixtureSpec.of("taskpilot", "+12h", 0.001, 7).profile, 0.001)
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("SELECT count(*) FROM issues").fetchone()[0] == planned.rows("issues", 14)
        state = conn.execute("SELECT state FROM growth_sim.run").fetchone()[0]
    assert state["sizing"] == "open" and state["factors"] == {}


def test_bad_input_is_one_line_and_writes_nothing(builds: dict[str, Path], tmp_path: Path, fresh_db: str,
                                                  cli_env: dict[str, str]) -> None:
    env = with_source(cli_env)
    target = tmp_path / "x.sql.gz"
    assert_user_error(run_cli(env, "fixture", "build", "--to", "week-99", "-o", str(target)), "week-99")
    assert_user_error(run_cli(env, "fixture", "build", "--to", "initial", "-o",
                                     str(tmp_path / "missing" / "x.sql")), "does not exist")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(GrowthSimError, match="--scale"):
        FixtureSpec.of("taskpilot", "initial", 0, 7)

    damaged = tmp_path / "damaged.sql.gz"
    shutil.copy(builds["a"], damaged)
    shutil.copy(manifest_path(builds["a"]), manifest_path(damaged))
    with damaged.open("r+b") as f:
        f.seek(-100, os.SEEK_END)
        f.write(b"\0" * 10)
    assert_user_error(load(env, damaged, fresh_db), "does not match its manifest")
    not_a_fixture = tmp_path / "notes.sql"
    not_a_fixture.write_text("SELECT 1;\n")
    with pytest.raises(GrowthSimError, match="not a growth-sim fixture"):
        load_fixture(fresh_db, not_a_fixture)
    truncated = tmp_path / "truncated.sql"
    truncated.write_bytes(builds["c"].read_bytes()[: builds["c"].stat().st_size // 2])
    with pytest.raises(GrowthSimError, match="truncated"):
        load_fixture(fresh_db, truncated)
    with psycopg.connect(fresh_db) as conn:  # the failed loads left nothing behind
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname IN ('public', 'growth_sim')"
                            ).fetchone()[0] == 0
