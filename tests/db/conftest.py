"""The database tests' fixtures: one private PostgreSQL cluster for the whole test session, empty databases on
it, and the grown databases the tests share, each grown once per run.

- `pg_cluster`: the session's `Cluster` (fast initdb, under a temporary GROWTH_SIM_HOME). While it is up,
  ``GROWTH_SIM_HOME`` points at it and ``DATABASE_URL``/``PG*`` variables are removed from the environment, so
  library calls and CLI invocations without ``--dsn`` use it and never a developer's own server.
- `fresh_db`: the DSN of a new, empty database, dropped after the test.
- `dsn_factory`: call it for as many fresh databases as a test needs (all dropped after the test).
- `cli_env`: an environment dict for ``subprocess``/``CliRunner`` invocations of ``growth-sim``.
- `shared_db(recipe)`: the database grown from a `recipes.Grown`, grown on first use into a template of
  growth-sim's template cache (`growth_sim.fixtures.templates`): a `FixtureDatabase` (``dsn``, ``manifest``).
  Tests read it in place, with the statistics of the run that grew it (a copy starts with none: the server keeps
  pg_stat_* and pg_stat_statements per database), so they must not change it.
- `copy_db(recipe)`: a new copy of that template (well under a second) for a test that changes its database,
  dropped after the test.
- `grown_initial`, `grown_week1`: the shared initial dataset and week-1 milestone at scale 0.002.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest
from psycopg import sql
from recipes import INITIAL, WEEK1, Grown
from support import is_connection_variable

from growth_sim.db.cluster import FAST_INITDB_ENV, Cluster
from growth_sim.fixtures.templates import FixtureDatabase, Templates


@pytest.fixture(scope="session")
def pg_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One private cluster for the session; destroyed at the end."""
    home = tmp_path_factory.mktemp("growth-sim-home")
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if is_connection_variable(name):
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
    env = {name: value for name, value in os.environ.items() if not is_connection_variable(name)}
    env["GROWTH_SIM_HOME"] = str(pg_cluster.home)
    env[FAST_INITDB_ENV] = "1"
    return env


# -- grown databases, each grown once per run ---------------------------------------------------------------
@pytest.fixture(scope="session")
def templates(pg_cluster: Cluster) -> Templates:
    """The session's template cache on its cluster."""
    return Templates(pg_cluster.dsn("postgres"))


@pytest.fixture(scope="session")
def shared_db(pg_cluster: Cluster, templates: Templates) -> Callable[[Grown], FixtureDatabase]:
    """The template grown from a recipe, to read in place (never to change). DSNs are the cluster's URLs, as
    `fresh_db`'s are."""
    def get(recipe: Grown) -> FixtureDatabase:
        name, manifest = templates.template_of(recipe.name, recipe.grow)
        return FixtureDatabase(name, pg_cluster.dsn(name), manifest)

    return get


@pytest.fixture
def copy_db(pg_cluster: Cluster, templates: Templates) -> Iterator[Callable[[Grown], FixtureDatabase]]:
    """New copies of the templates grown from recipes, for tests that change them; dropped after the test."""
    made: list[FixtureDatabase] = []

    def make(recipe: Grown) -> FixtureDatabase:
        database = templates.copy_of(*templates.template_of(recipe.name, recipe.grow))
        made.append(dataclasses.replace(database, dsn=pg_cluster.dsn(database.name)))
        return made[-1]

    yield make
    for database in made:
        templates.drop(database)


@pytest.fixture(scope="session")
def grown_initial(shared_db: Callable[[Grown], FixtureDatabase]) -> str:
    """DSN of a database holding the initial dataset (week 0) at scale 0.002, ANALYZEd."""
    return shared_db(INITIAL).dsn


@pytest.fixture(scope="session")
def grown_week1(shared_db: Callable[[Grown], FixtureDatabase]) -> str:
    """DSN of a database grown to the week-1 milestone at scale 0.002 (about 20 s), ANALYZEd."""
    return shared_db(WEEK1).dsn
