"""The unit tests' guard (tests/unit/conftest.py): a unit test that asks for a database fails loudly, and no
server starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import assert_user_error, main_in_process, run_cli, run_plugin_suite

from growth_sim.db.connect import resolve_dsn
from growth_sim.errors import ClusterError

pytest_plugins = ["pytester"]

GUARD = Path(__file__).with_name("conftest.py")
HOME = "/dev/null/unit-tests-have-no-database"


def test_the_private_cluster_cannot_start() -> None:
    with pytest.raises(ClusterError, match=f"cannot create GROWTH_SIM_HOME {HOME}"):
        resolve_dsn(None)


def test_a_command_without_a_dsn_names_the_guard(env: dict[str, str]) -> None:
    assert_user_error(main_in_process("advance", "--to", "+1h", "-q"), HOME)
    assert_user_error(run_cli(env, "init", "--scale", "0.002"), HOME)


def test_asking_for_a_database_fails_the_test(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makeconftest(GUARD.read_text())
    pytester.makepyfile(test_asks="""
        def test_plugin_database(growth_db):
            growth_db()

        def test_session_cluster(pg_cluster):
            pass
        """)
    result = run_plugin_suite(pytester, monkeypatch)
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*growth_db: unit tests run without PostgreSQL*belongs in tests/db/*",
                                 "*fixture 'pg_cluster' not found*"])
