"""Choosing the target database, connecting, the server's refusals, creating the target database, `db status`.

Redaction and the errors of servers that cannot be reached are in tests/unit/test_connect.py.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest
from click.testing import CliRunner
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from growth_sim.cli import cli
from growth_sim.db.cluster import Cluster
from growth_sim.db.connect import Target, connect, ensure_database, resolve_dsn
from growth_sim.errors import DatabaseError


def test_resolve_order(monkeypatch: pytest.MonkeyPatch, pg_cluster: Cluster):
    monkeypatch.setenv("DATABASE_URL", "postgresql://env/db")
    monkeypatch.setenv("PGHOST", "pg-host")
    assert resolve_dsn("postgresql://explicit/db") == Target("postgresql://explicit/db", embedded=False)
    assert resolve_dsn(None) == Target("postgresql://env/db", embedded=False)
    monkeypatch.delenv("DATABASE_URL")
    assert resolve_dsn(None) == Target("", embedded=False)
    monkeypatch.delenv("PGHOST")
    monkeypatch.setenv("PGSERVICE", "warehouse")
    assert resolve_dsn(None) == Target("", embedded=False)
    monkeypatch.delenv("PGSERVICE")
    assert resolve_dsn(None) == Target(pg_cluster.dsn("growth_sim"), embedded=True)


def test_connect(fresh_db: str):
    with connect(fresh_db) as conn:
        assert not conn.autocommit
        assert "connect_timeout=5" in conn.info.dsn
    with connect(fresh_db, autocommit=True, dbname="postgres") as conn:
        assert conn.autocommit
        assert conn.execute("SELECT current_database()").fetchone() == ("postgres",)


def test_server_refusal_is_reported_without_the_password(pg_cluster: Cluster):
    role = f"nologin_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_cluster.dsn("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
    try:
        dsn = pg_cluster.dsn("postgres").replace(f"{pg_cluster.superuser}@", f"{role}:hunter2@")
        with pytest.raises(DatabaseError) as info:
            connect(dsn)
    finally:
        with psycopg.connect(pg_cluster.dsn("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
    message = str(info.value)
    assert message.startswith(f"cannot connect to postgresql://{role}:***@/postgres?host=")
    assert message.endswith(f'role "{role}" is not permitted to log in')
    assert "hunter2" not in message and "\n" not in message


# -- ensure_database ---------------------------------------------------------------------------------------


@pytest.fixture
def new_name(pg_cluster: Cluster) -> Iterator[Callable[[str], str]]:
    """Names for databases a test expects ensure_database to create; dropped afterwards."""
    names: list[str] = []

    def make(stem: str) -> str:
        names.append(f"{stem}_{uuid.uuid4().hex[:8]}")
        return names[-1]

    yield make
    with psycopg.connect(pg_cluster.dsn("postgres"), autocommit=True) as conn:
        for name in names:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _exists(cluster: Cluster, name: str) -> bool:
    with psycopg.connect(cluster.dsn("postgres")) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


@pytest.mark.parametrize("stem", ["plain", "with space", "quo'te", "co:lon", "UpperCase"])
def test_ensure_database_socket_url(pg_cluster: Cluster, new_name: Callable[[str], str], stem: str):
    name = new_name(stem)
    dsn = pg_cluster.dsn(name)
    assert ensure_database(dsn) is True
    assert _exists(pg_cluster, name)
    assert ensure_database(dsn) is False
    with connect(dsn) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == (name,)


def test_ensure_database_key_value_dsn(pg_cluster: Cluster, new_name: Callable[[str], str]):
    name = new_name("kv")
    dsn = f"host={pg_cluster.socket_dir} port={pg_cluster.port} user={pg_cluster.superuser} dbname={name}"
    assert ensure_database(dsn) is True
    assert ensure_database(dsn) is False


def test_ensure_database_from_pg_variables(
    pg_cluster: Cluster, new_name: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
):
    name = new_name("env")
    monkeypatch.setenv("PGHOST", str(pg_cluster.socket_dir))
    monkeypatch.setenv("PGPORT", str(pg_cluster.port))
    monkeypatch.setenv("PGUSER", pg_cluster.superuser)
    monkeypatch.setenv("PGDATABASE", name)
    target = resolve_dsn(None)
    assert target == Target("", embedded=False)
    assert ensure_database(target.dsn) is True
    assert _exists(pg_cluster, name)
    assert ensure_database("") is False


# -- the CLI and --dsn ---------------------------------------------------------------------------------------


def test_cli_status_of_a_dsn(fresh_db: str, cli_env: dict[str, str]):
    result = CliRunner().invoke(cli, ["db", "status", "--json", "--dsn", fresh_db], env=cli_env)
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["running"] is True
    assert info["database"] == conninfo_to_dict(fresh_db)["dbname"]
    assert info["database_size_bytes"] > 0


def test_cli_status_follows_database_url(fresh_db: str, cli_env: dict[str, str]):
    env = {**cli_env, "DATABASE_URL": fresh_db}
    result = CliRunner().invoke(cli, ["db", "status"], env=env)
    assert result.exit_code == 0, result.output
    assert "server:" in result.output
    assert f"database:        {conninfo_to_dict(fresh_db)['dbname']} (" in result.output
