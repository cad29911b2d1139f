"""Helpers shared by the test modules: running the CLI as a subprocess, querying a database, module databases."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

import growth_sim
from growth_sim.db.cluster import Cluster


def growth_sim_command() -> list[str]:
    """The installed console script next to this interpreter (no shim in between, so kill -9 hits it)."""
    script = Path(sys.executable).with_name("growth-sim")
    if script.exists():
        return [str(script)]
    found = shutil.which("growth-sim")
    return [found] if found else [sys.executable, "-m", "growth_sim"]


def with_source(environ: dict[str, str]) -> dict[str, str]:
    """The environment with the package under test first on the path (not another installed copy)."""
    source = str(Path(growth_sim.__file__).resolve().parents[1])
    return {**environ, "PYTHONPATH": os.pathsep.join(filter(None, [source, environ.get("PYTHONPATH")]))}


def run_cli(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run `growth-sim args...` to completion; never a traceback."""
    run = subprocess.run([*growth_sim_command(), *args], env=env, capture_output=True, text=True, timeout=timeout)
    assert "Traceback" not in run.stderr, run.stderr
    return run


def assert_user_error(run: subprocess.CompletedProcess[str], *words: str) -> str:
    """Exit code 2 and one line on stderr naming each of `words`; returns the line."""
    assert run.returncode == 2, (run.returncode, run.stdout, run.stderr)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def query(dsn: str, statement: str, params: tuple | None = None) -> list[tuple]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(statement, params).fetchall()


def scalar(dsn: str, statement: str, params: tuple | None = None):
    return query(dsn, statement, params)[0][0]


def table_digests(dsn: str) -> dict[str, str]:
    """Each application table's rows, digested in a fixed order."""
    with psycopg.connect(dsn) as conn:
        tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        return {t: conn.execute(sql.SQL("SELECT md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), ''))"
                                        " FROM {} x").format(sql.Identifier(t))).fetchone()[0] for t in tables}


def counts(dsn: str, tables: Iterable[str]) -> dict[str, int]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return {t: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t))).fetchone()[0]
                for t in sorted(tables)}


@contextmanager
def module_database(cluster: Cluster, prefix: str) -> Iterator[str]:
    """A database of its own for a module-scoped fixture, dropped afterwards; yields its DSN.

    The drop connects anew: tests that restart the server in between end every connection open before."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(cluster.dsn("postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield cluster.dsn(name)
    finally:
        with psycopg.connect(cluster.dsn("postgres"), autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
