"""pytest plugin (entry point ``growth_sim``): `growth_db`, a fresh grown database for each test.

    def test_board_query(growth_db):
        db = growth_db(profile="taskpilot", to="week-2", scale=0.001, seed=7)
        with db.connect() as conn:
            ...

Each parameter set is grown once into a template database named by its content key (kept on the server, so
later sessions reuse it); every call returns a new copy (`growth_sim.templates.FixtureDatabase`: ``dsn``,
``name``, ``manifest``) that is dropped when the test ends. The server is ``--growth-dsn``, else
``$GROWTH_SIM_TEST_DSN``, else the private cluster under ``$GROWTH_SIM_HOME`` (started on first use and left
running, as the CLI does: ``growth-sim db stop``). Loading the plugin starts nothing: only a test that asks for
`growth_db` does.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

from .errors import GrowthSimError

if TYPE_CHECKING:  # the engine is imported when a test first asks for a database, not when pytest starts
    from .templates import FixtureDatabase, Templates

DSN_ENV = "GROWTH_SIM_TEST_DSN"
_TEMPLATES = pytest.StashKey["Templates"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("growth-sim").addoption(
        "--growth-dsn", metavar="DSN", default=None,
        help=f"PostgreSQL server for growth_db templates and copies (any database on it). Default: ${DSN_ENV}, "
             "then the private cluster under $GROWTH_SIM_HOME.")


@pytest.fixture(scope="session")
def growth_sim_templates(pytestconfig: pytest.Config) -> Iterator[Templates]:
    """The session's fixture templates on the configured server."""
    from .templates import Templates

    dsn = pytestconfig.getoption("growth_dsn") or os.environ.get(DSN_ENV)
    if not dsn:
        from .cluster import Cluster

        cluster = Cluster.from_env()
        try:
            cluster.ensure_running()
        except GrowthSimError as exc:
            pytest.fail(f"growth_db: {exc}", pytrace=False)
        dsn = cluster.dsn("postgres")
    templates = Templates(dsn)
    pytestconfig.stash[_TEMPLATES] = templates
    yield templates
    templates.close()


@pytest.fixture
def growth_db(growth_sim_templates: Templates) -> Iterator[Callable[..., FixtureDatabase]]:
    """Call it for a new database grown from a profile: ``growth_db(profile, to, scale, seed)``."""
    from .fixture import FixtureSpec

    made: list[FixtureDatabase] = []

    def make(profile: str = "taskpilot", to: str = "initial", scale: float = 0.001, seed: int = 1) -> FixtureDatabase:
        try:
            database = growth_sim_templates.copy(FixtureSpec.of(profile, to, scale, seed))
        except GrowthSimError as exc:
            pytest.fail(f"growth_db(profile={profile!r}, to={to!r}, scale={scale}, seed={seed}): {exc}",
                        pytrace=False)
        made.append(database)
        return database

    yield make
    for database in made:
        growth_sim_templates.drop(database)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    templates = config.stash.get(_TEMPLATES, None)
    if templates is None or not templates.stats.copies:
        return
    s = templates.stats
    slowest = max(s.copy_seconds)
    terminalreporter.write_line(
        f"growth-sim: {s.built} template(s) built in {s.build_seconds:.1f} s, {s.reused} reused; "
        f"{s.copies} database copies (slowest {slowest:.2f} s), each dropped after its test")
