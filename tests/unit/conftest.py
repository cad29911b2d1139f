"""Unit tests run without PostgreSQL: nothing here starts a server, and a test that asks for one fails loudly.

- The database fixtures (`pg_cluster`, `fresh_db`, `dsn_factory`, the grown databases) live in
  tests/db/conftest.py: a unit test that asks for one errors with pytest's "fixture ... not found".
- The `growth_db` fixture of growth-sim's pytest plugin fails with `NO_SERVER`.
- No ``DATABASE_URL``, ``PG*`` or ``GROWTH_SIM_TEST_DSN`` is set and ``GROWTH_SIM_HOME`` is `NO_SERVER_HOME`, where
  no cluster can be created: a command or library call that would reach a server or start the private cluster
  fails with an error naming that directory (in this process and in the commands it runs).
"""

from __future__ import annotations

import os

import pytest
from support import is_connection_variable

NO_SERVER = "unit tests run without PostgreSQL; a test that needs a database belongs in tests/db/"
NO_SERVER_HOME = "/dev/null/unit-tests-have-no-database"  # under a file: no directory can be made there


@pytest.fixture(autouse=True)
def no_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """No server configured, and a private cluster that cannot start."""
    for name in list(os.environ):
        if is_connection_variable(name):
            monkeypatch.delenv(name)
    monkeypatch.setenv("GROWTH_SIM_HOME", NO_SERVER_HOME)


@pytest.fixture
def cli_env(no_server: None) -> dict[str, str]:
    """Environment for running `growth-sim`: no server can be reached."""
    return dict(os.environ)


@pytest.fixture(scope="session")
def growth_sim_templates() -> None:
    """Replaces the plugin's: `growth_db` fails here."""
    pytest.fail(f"growth_db: {NO_SERVER}", pytrace=False)
