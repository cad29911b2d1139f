"""Where the private cluster's data goes (as root the server runs as `postgres`), and that `db status` and
`db destroy` always find it: in the home the user chose when that user can enter it, else in a fallback directory
that is named once, clearly, and found again even after the home was deleted."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from support import new_home, run_cli, with_source

from growth_sim.db.cluster import Cluster

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="exercises the root branch (CI runs as root)")


@pytest.fixture
def env(cli_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The CLI's environment with a registry of clusters of its own."""
    return with_source({**cli_env, "XDG_STATE_HOME": str(tmp_path / "state")})


@pytest.fixture
def home(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("XDG_STATE_HOME", env["XDG_STATE_HOME"])
    with new_home() as path:
        yield path


def _as_user(name: str, *args: str) -> int:
    pw = pwd.getpwnam(name)
    return subprocess.run(list(args), user=pw.pw_uid, group=pw.pw_gid, extra_groups=[], cwd="/",
                          capture_output=True).returncode


def _listed(status: dict, data_dir: Path) -> list[dict]:
    """The entries of `db status --json`'s list of every cluster on the machine that are about `data_dir`."""
    return [c for c in status["clusters"] if c["data_dir"] == str(data_dir)]


@root_only
def test_as_root_the_data_stays_in_a_home_growth_sim_creates(home: Path):
    cluster = Cluster(home)
    cluster.ensure_running(fast=True)
    assert cluster.data_dir == home / "data" and cluster.socket_dir == home / "run"
    server = pwd.getpwnam("postgres")
    st = os.stat(home)
    # Root's, traversable by the server's group only: postgres reaches data/ and run/ but cannot list the home.
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, server.pw_gid, 0o710)
    for private in (cluster.data_dir, cluster.socket_dir):
        st = os.stat(private)
        assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (server.pw_uid, 0o700)
    assert _as_user("postgres", "test", "-x", str(home)) == 0
    assert _as_user("postgres", "ls", str(home)) != 0
    assert _as_user("nobody", "test", "-x", str(home)) != 0
    with psycopg.connect(cluster.dsn()) as conn:
        assert conn.execute("SHOW data_directory").fetchone() == (str(home / "data"),)
    assert Cluster(home).status().data_dir == home / "data"
    cluster.destroy()
    assert not home.exists()


@root_only
def test_as_root_a_home_the_server_cannot_enter_says_once_where_the_data_went(home: Path, env: dict[str, str]):
    home.parent.mkdir(mode=0o700)  # e.g. a home under /root
    env = {**env, "GROWTH_SIM_HOME": str(home)}
    started = run_cli(env, "db", "start")
    assert started.returncode == 0, started.stderr
    base = Cluster(home).data_dir.parent
    assert base.parent == Path("/var/tmp") and base.name.startswith("growth-sim-0-")
    notice = started.stderr.strip().splitlines()
    assert len(notice) == 1, started.stderr
    assert notice[0] == (f"warning: the 'postgres' user that runs the server cannot enter {home.parent}, so the "
                         f"private cluster's data is in {base}, not {home} (`growth-sim db status` shows it, "
                         "`growth-sim db destroy` removes it)")
    again = run_cli(env, "db", "start")
    assert again.returncode == 0 and again.stderr == ""  # said once, when it was made
    status = json.loads(run_cli(env, "db", "status", "--json").stdout)
    assert status["running"] and status["data_dir"] == str(base / "data") and status["home"] == str(home)
    assert _listed(status, base / "data") == [{"home": str(home), "home_exists": True, "running": True,
                                                "data_dir": str(base / "data"), "size_bytes": status["size_bytes"]}]

    shutil.rmtree(home.parent)  # the user deletes the home; the data and the server are elsewhere
    gone = _listed(json.loads(run_cli(env, "db", "status", "--json").stdout), base / "data")
    assert [(c["home"], c["home_exists"], c["running"]) for c in gone] == [(str(home), False, True)]
    assert gone[0]["size_bytes"] > 10_000_000
    assert run_cli(env, "db", "destroy", "--yes").returncode == 0
    assert not base.exists() and not home.parent.exists()
    assert _listed(json.loads(run_cli(env, "db", "status", "--json").stdout), base / "data") == []
    assert subprocess.run(["pgrep", "-f", str(base)], capture_output=True).returncode == 1  # no server left


def test_destroy_stops_a_server_whose_home_was_deleted_under_it(home: Path, env: dict[str, str]):
    cluster = Cluster(home)
    cluster.start(fast=True)
    data_dir = cluster.data_dir
    shutil.rmtree(home)  # `rm -rf .growth-sim` with the server running: it keeps running on deleted files
    env = {**env, "GROWTH_SIM_HOME": str(home)}
    listed = _listed(json.loads(run_cli(env, "db", "status", "--json").stdout), data_dir)
    assert [(c["home"], c["home_exists"], c["running"]) for c in listed] == [(str(home), False, True)]
    Cluster(home).destroy()
    assert subprocess.run(["pgrep", "-f", f"postgres -D {data_dir}"], capture_output=True).returncode == 1
    assert not home.exists()
    assert _listed(json.loads(run_cli(env, "db", "status", "--json").stdout), data_dir) == []
