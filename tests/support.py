"""Helpers shared by the unit and database tests: running the CLI (as a subprocess or its entry point in this
process), querying a database, snapshots and digests of one. Importing this module connects to nothing."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import time
import traceback
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path
from unittest import mock
from urllib.parse import quote

import psycopg
import pytest
from psycopg import sql

import growth_sim
from growth_sim.cli import main
from growth_sim.db import ledger
from growth_sim.db.cluster import Cluster

TINY = Path(__file__).resolve().parent / "tiny_model"  # the example model of docs/models.md


def is_connection_variable(name: str) -> bool:
    """Whether an environment variable would point growth-sim (or libpq) at a server."""
    return name in ("DATABASE_URL", "GROWTH_SIM_TEST_DSN") or (name.startswith("PG") and name != "PG_BINDIR")


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


def with_model_paths(environ: dict[str, str], paths: list[str]) -> dict[str, str]:
    """`with_source(environ)` with `paths` (where models are installed) on the path too."""
    env = with_source(environ)
    return {**env, "PYTHONPATH": os.pathsep.join([env["PYTHONPATH"], *paths])}


def install_model(where: Path, name: str, target: str) -> str:
    """A distribution in `where` whose entry point registers model `name` as `target`; returns the path entry."""
    dist = where / f"{name}_model-0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}-model\nVersion: 0\n")
    (dist / "entry_points.txt").write_text(f"[growth_sim.models]\n{name} = {target}\n")
    return str(where)


def run_cli(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run `growth-sim args...` to completion; never a traceback."""
    run = subprocess.run([*growth_sim_command(), *args], env=env, capture_output=True, text=True, timeout=timeout)
    assert "Traceback" not in run.stderr, run.stderr
    return run


def run_main(args: list[str]) -> subprocess.CompletedProcess[str]:
    """The console entry point `main()` in this process (what the child runs, without a second start-up)."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with mock.patch.object(sys, "argv", ["growth-sim", *args]), redirect_stdout(out), redirect_stderr(err):
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except Exception:  # what would have been a traceback
            err.write("Traceback (most recent call last):\n" + traceback.format_exc())
            code = 1
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def main_in_process(*args: str, **environ: str) -> subprocess.CompletedProcess[str]:
    """`main()` with `args` (and environment variables set) in this process; fails on a traceback."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in environ.items():
            mp.setenv(name, value)
        run = run_main(list(args))
    assert "Traceback" not in run.stderr, run.stderr
    return run


def run_plugin_suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, *args: str) -> pytest.RunResult:
    """Run the files in pytester's directory with growth-sim's pytest plugin loaded by -p (the same whether or
    not the package's entry point is installed)."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    return pytester.runpytest("-p", "growth_sim.fixtures.pytest_plugin", "-p", "no:cacheprovider", *args)


def assert_user_error(run: subprocess.CompletedProcess[str], *words: str) -> str:
    """Exit code 2 and one line on stderr naming each of `words`; returns the line."""
    assert run.returncode == 2, (run.returncode, run.stdout, run.stderr)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


SECRET = "Zq9-s3cr3t/p@ss%word"  # a password no output may show


def assert_no_secret(run: subprocess.CompletedProcess[str]) -> None:
    """Neither stdout nor stderr shows `SECRET`, plain or URL-quoted."""
    for text in (run.stdout, run.stderr):
        assert SECRET not in text and quote(SECRET, safe="") not in text, text
        assert "s3cr3t" not in text, text


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


def snapshot(dsn: str) -> dict[str, object]:
    """Row counts of every table (application and ledger), the run row and the schemas."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind = 'r' AND n.nspname IN ('public', 'growth_sim') ORDER BY 1, 2").fetchall()
        counts = {f"{s}.{t}": conn.execute(sql.SQL("SELECT count(*) FROM {}.{}").format(
            sql.Identifier(s), sql.Identifier(t))).fetchone()[0] for s, t in tables}
        schemas = conn.execute("SELECT array_agg(nspname::text ORDER BY nspname) FROM pg_namespace"
                               " WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'").fetchone()[0]
        run = conn.execute("SELECT array_agg(to_jsonb(r)::text) FROM growth_sim.run r").fetchone()[0] \
            if "growth_sim.run" in counts else None
        units = conn.execute("SELECT max(unit), sum(hour) FROM growth_sim.units").fetchone() \
            if "growth_sim.units" in counts else None
    return {"counts": counts, "schemas": schemas, "run": run, "units": units}


# Tables compared byte for byte between runs, with the order that makes string_agg deterministic.
# attachments is left out on purpose: its `preview` bytes are sized by the closed-loop size controller, which
# reacts to sizes measured on the server (free space, TOAST pages), so they may legitimately differ between two
# runs with the same seed; the rows' keys and counts are still checked through the other tables and the plan.
CONTENT_TABLES = {
    "issues": "id",
    "comments": "id",
    "activity_log": "id",
    "issue_labels": "issue_id, label_id",
    "notifications": "id",
}


def content_digests(dsn: str) -> dict[str, str]:
    """Digests of the main content tables, in key order (`table_digests` digests every table, attachments
    included, whose payloads follow the size measured during the run)."""
    return {
        table: scalar(dsn, f"SELECT md5(string_agg(t::text, '' ORDER BY {order})) FROM {table} t")
        for table, order in CONTENT_TABLES.items()
    }


def wait_for_lock_release(dsn: str, timeout: float = 30.0) -> None:
    """A killed client's server backend ends when it notices the closed socket; wait for its writer lock."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        held = scalar(dsn, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s"
                           " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                      (ledger._LOCK_KEY,))
        if not held:
            return
        time.sleep(0.05)
    raise AssertionError("the killed run's backend still holds the writer lock")


@contextmanager
def module_database(cluster: Cluster, prefix: str) -> Iterator[str]:
    """A database of its own for a module-scoped fixture, dropped afterwards; yields its DSN. Each statement has
    a session of its own: a test in between may restart the server."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(cluster.dsn("postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield cluster.dsn(name)
    finally:
        with psycopg.connect(cluster.dsn("postgres"), autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def new_home() -> Iterator[Path]:
    """A GROWTH_SIM_HOME that does not exist yet, under /tmp as a user's would be (every directory on the way open
    to the server user); its cluster is destroyed afterwards, wherever it went."""
    parent = Path("/tmp") / f"gs-test-{uuid.uuid4().hex[:10]}"
    home = parent / "home"
    try:
        yield home
    finally:
        Cluster(home).destroy()
        shutil.rmtree(parent, ignore_errors=True)
