"""Who keeps the private server running: a command stops the server it started when it ends, unless `db start`
started it or another command, test session or connection still uses it; `db status` lists every cluster of the
user with its size and state, so forgotten ones can be found."""

from __future__ import annotations

import json
import logging
import textwrap
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from support import growth_sim_command, new_home, run_cli, with_source

from growth_sim.db.cluster import Cluster

pytest_plugins = ["pytester"]

# `plot` is a command that needs the database; on a new cluster it fails (not initialised) after starting it.
NEEDS_THE_DATABASE = ("plot", "-o", "unused.png")


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A registry of clusters of this test's own (the one in the user's home lists every test session's)."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path / "state"


@pytest.fixture
def home(registry: Path) -> Iterator[Path]:
    with new_home() as path:
        yield path


@pytest.fixture
def env(cli_env: dict[str, str], home: Path, registry: Path) -> dict[str, str]:
    return with_source({**cli_env, "GROWTH_SIM_HOME": str(home), "XDG_STATE_HOME": str(registry)})


def _command(env: dict[str, str]) -> None:
    run = run_cli(env, *NEEDS_THE_DATABASE)
    assert run.returncode == 2 and "not initialised" in run.stderr, run.stderr


def test_a_command_stops_the_server_it_started(home: Path, env: dict[str, str]):
    _command(env)
    status = Cluster(home).status()
    assert status.version is not None and not status.running


def test_a_server_started_by_db_start_runs_until_db_stop(home: Path, env: dict[str, str]):
    assert run_cli(env, "db", "start").returncode == 0
    _command(env)
    assert Cluster(home).status().running
    assert run_cli(env, "db", "stop").returncode == 0
    assert not Cluster(home).status().running


def test_db_start_keeps_a_server_a_command_is_using(home: Path, env: dict[str, str]):
    cluster = Cluster(home)
    with cluster.using(fast=True):
        assert cluster.status().stops_when_unused
        assert run_cli(env, "db", "start").returncode == 0
    assert cluster.status().running and not cluster.status().stops_when_unused


def test_a_command_leaves_the_server_to_its_other_users(home: Path, env: dict[str, str]):
    cluster = Cluster(home)
    with cluster.using(fast=True):  # another command, or a test session, started it and still uses it
        _command(env)
        assert cluster.status().running
    assert not cluster.status().running  # the last user stops it


def test_a_connection_keeps_it_running_and_says_so(home: Path, env: dict[str, str], caplog: pytest.LogCaptureFixture):
    cluster = Cluster(home)
    with cluster.using(fast=True), caplog.at_level(logging.WARNING, logger="growth_sim"):
        psql = psycopg.connect(cluster.dsn())  # a client that is no command: a psql the user opened
    try:
        assert cluster.status().running
        assert [r.getMessage() for r in caplog.records] == [
            "server left running: 1 other connection uses it (`growth-sim db stop` stops it)"]
    finally:
        psql.close()
    _command(env)  # the next command to end, with nobody left, stops it
    assert not cluster.status().running


def test_status_lists_every_cluster_of_the_user(home: Path, env: dict[str, str]):
    with new_home() as other:
        assert run_cli({**env, "GROWTH_SIM_HOME": str(other)}, "db", "start").returncode == 0
        _command(env)
        raw = run_cli(env, "db", "status", "--json")
        text = run_cli(env, "db", "status")
        assert run_cli({**env, "GROWTH_SIM_HOME": str(other)}, "db", "stop").returncode == 0
    info = json.loads(raw.stdout)
    assert {"target", "running", "version", "data_dir", "socket_dir", "port", "size_bytes", "tcp"} <= set(info)
    mine = {c["home"]: c for c in info["clusters"] if c["home"] in (str(home), str(other))}
    assert {h: (c["running"], c["data_dir"]) for h, c in mine.items()} == {
        str(home): (False, str(Cluster(home).data_dir)), str(other): (True, str(Cluster(other).data_dir))}
    assert all(c["size_bytes"] > 10_000_000 and c["home_exists"] for c in mine.values())
    lines = text.stdout.splitlines()
    assert "private clusters of this user on this machine:" in lines
    assert any(line.startswith("* stopped") and line.endswith(str(home)) for line in lines), text.stdout
    assert any(line.startswith("  running") and line.endswith(str(other)) for line in lines), text.stdout


def test_the_pytest_plugin_holds_the_server_for_its_session(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                                            home: Path, env: dict[str, str]):
    pytester.makepyfile(test_session=textwrap.dedent(f"""
        import subprocess

        import psycopg

        def test_a_command_ending_meanwhile_does_not_stop_it(growth_sim_templates):
            run = subprocess.run({growth_sim_command() + list(NEEDS_THE_DATABASE)!r}, env={env!r})
            assert run.returncode == 2
            with psycopg.connect(growth_sim_templates.server_dsn) as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
    """))
    monkeypatch.setenv("GROWTH_SIM_HOME", str(home))
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.delenv("GROWTH_SIM_TEST_DSN", raising=False)
    pytester.runpytest("-p", "growth_sim.fixtures.pytest_plugin", "-p", "no:cacheprovider").assert_outcomes(passed=1)
    status = Cluster(home).status()
    assert status.version is not None and not status.running  # it started the server, and stopped it at the end
