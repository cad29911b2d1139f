"""Shared fixtures: one private PostgreSQL cluster for the whole test session, and empty databases on it.

- `pg_cluster`: the session's `Cluster` (fast initdb, under a temporary GROWTH_SIM_HOME). While it is up,
  ``GROWTH_SIM_HOME`` points at it and ``DATABASE_URL``/``PG*`` variables are removed from the environment, so
  library calls and CLI invocations without ``--dsn`` use it and never a developer's own server.
- `fresh_db`: the DSN of a new, empty database, dropped after the test.
- `dsn_factory`: call it for as many fresh databases as a test needs (all dropped after the test).
- `cli_env`: an environment dict for ``subprocess``/``CliRunner`` invocations of ``growth-sim``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest
from psycopg import sql

from growth_sim.db.cluster import FAST_INITDB_ENV, Cluster


def _is_connection_variable(name: str) -> bool:
    return name == "DATABASE_URL" or (name.startswith("PG") and name != "PG_BINDIR")


@pytest.fixture(scope="session")
def pg_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One private cluster for the session; destroyed at the end."""
    home = tmp_path_factory.mktemp("growth-sim-home")
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if _is_connection_variable(name):
                mp.delenv(name)
        mp.setenv("GROWTH_SIM_HOME", str(home))
        mp.setenv(FAST_INITDB_ENV, "1")
        cluster = Cluster(home)
        cluster.ensure_running(fast=True)
        try:
            yield cluster
        finally:
            cluster.destroy()


def _admin(cluster: Cluster, statement: sql.Composable) -> None:
    """Run a statement on the maintenance database (a new session each time: a test may restart the server)."""
    with psycopg.connect(cluster.dsn("postgres"), autocommit=True) as conn:
        conn.execute(statement)


@pytest.fixture
def dsn_factory(pg_cluster: Cluster) -> Iterator[Callable[[], str]]:
    """Create uniquely named databases on demand (copies of `template`, empty by default); each call returns a DSN.
    Dropped after the test."""
    created: list[str] = []

    def make(template: str = "template1") -> str:
        name = f"test_{uuid.uuid4().hex[:12]}"
        _admin(pg_cluster, sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name),
                                                                            sql.Identifier(template)))
        created.append(name)
        return pg_cluster.dsn(name)

    yield make
    for name in created:
        _admin(pg_cluster, sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def fresh_db(dsn_factory: Callable[[], str]) -> str:
    """The DSN of an empty database of its own, dropped after the test."""
    return dsn_factory()


@pytest.fixture
def cli_env(pg_cluster: Cluster) -> dict[str, str]:
    """Environment for running `growth-sim` (subprocess or CliRunner) against the session's cluster."""
    env = {name: value for name, value in os.environ.items() if not _is_connection_variable(name)}
    env["GROWTH_SIM_HOME"] = str(pg_cluster.home)
    env[FAST_INITDB_ENV] = "1"
    return env


# -- grown databases shared by the report, reads and findings tests ------------------------------------------
GROWN_SCALE = 0.002


def _grown(pg_cluster: Cluster, target: str) -> Iterator[str]:
    """A database grown to `target` at GROWN_SCALE, then ANALYZEd as autovacuum would have done on a live
    database (a run holds autovacuum off on the tables whose VACUUM it emulates). Dropped at the end."""
    from support import module_database

    from growth_sim.engine.advance import advance
    from growth_sim.engine.install import initialise
    from growth_sim.profile import load_profile

    with module_database(pg_cluster, f"grown_{target.replace('-', '')}") as dsn:
        initialise(dsn, load_profile("taskpilot"), 1, GROWN_SCALE)
        advance(dsn, target)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("ANALYZE")
        yield dsn


@pytest.fixture(scope="session")
def grown_initial(pg_cluster: Cluster) -> Iterator[str]:
    """DSN of a database holding the initial dataset (week 0) at scale 0.002."""
    yield from _grown(pg_cluster, "initial")


@pytest.fixture(scope="session")
def grown_week1(pg_cluster: Cluster) -> Iterator[str]:
    """DSN of a database grown to the week-1 milestone at scale 0.002 (about 20 s)."""
    yield from _grown(pg_cluster, "week-1")
