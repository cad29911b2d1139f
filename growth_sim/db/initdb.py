"""A new private cluster's files: initdb, growth-sim's server settings, and the default database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from growth_sim.db.binaries import accepts, preload_libraries
from growth_sim.db.homes import write_private
from growth_sim.db.serverlog import last_line
from growth_sim.db.serveruser import run_server_tool, server_user_ids
from growth_sim.db.state import CONF_FILE, ClusterState
from growth_sim.db.tuning import Setting, bulk_growth
from growth_sim.errors import ClusterError


def create_files(state: ClusterState, bin_dir: Path, *, dbname: str, fast: bool,
                 on_step: Callable[[str], None]) -> None:
    """initdb in `state.data_dir`, our settings, and database `dbname`; `fast` syncs nothing to disk."""
    where = f"creating the private PostgreSQL cluster in {state.data_dir}"
    on_step(f"{where}: initdb")
    args = [
        str(bin_dir / "initdb"),
        "-D", str(state.data_dir),
        "-U", state.superuser,
        "--encoding=UTF8",
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
    ]  # fmt: skip
    if fast:
        args.append("-N")
    proc = run_server_tool([*args, "--locale=C.UTF-8"], cwd=state.data_dir)
    if proc.returncode != 0 and "locale" in proc.stderr:
        proc = run_server_tool([*args, "--locale=C"], cwd=state.data_dir)
    if proc.returncode != 0:
        raise ClusterError(f"initdb failed in {state.data_dir}: {last_line(proc.stderr or proc.stdout)}")
    write_conf(state, bin_dir)
    with open(state.data_dir / "postgresql.conf", "a") as fh:
        fh.write(f"\n# growth-sim's own settings\ninclude_if_exists = '{CONF_FILE}'\n")
    # Create the default database in single-user mode: no client library or connection needed.
    on_step(f"{where}: database {dbname}")
    single = [str(bin_dir / "postgres"), "--single", "-D", str(state.data_dir), "-c", "log_min_messages=fatal"]
    if fast:
        single += ["-F"]
    proc = run_server_tool([*single, "postgres"], cwd=state.data_dir, input=f'CREATE DATABASE "{dbname}";\n')
    if proc.returncode != 0 or "ERROR" in proc.stdout + proc.stderr:
        raise ClusterError(f"could not create database {dbname}: {last_line(proc.stderr or proc.stdout)}")


def write_conf(state: ClusterState, bin_dir: Path) -> None:
    """growth-sim's settings (``growth_sim.conf`` in the data directory) for the server in `bin_dir`, written
    before every start."""
    lines = [
        "# Written by growth-sim on every start; override with ALTER SYSTEM (postgresql.auto.conf).",
        f"listen_addresses = '{'127.0.0.1' if state.tcp else ''}'",
        f"port = {state.port}",
        f"unix_socket_directories = {_conf_quote(str(state.socket_dir))}",
        "unix_socket_permissions = 0700",
        f"shared_preload_libraries = '{', '.join(preload_libraries(bin_dir))}'",
        *(f"{s.name} = {_conf_quote(s.value)}  # {s.reason}" for s in settings(bin_dir, state.data_dir)),
        "logging_collector = on",
        "log_directory = 'log'",
        "log_filename = 'postgresql-%Y-%m-%d.log'",
        "",
    ]
    write_private(state.data_dir / CONF_FILE, "\n".join(lines), owner=server_user_ids())


def settings(bin_dir: Path, data_dir: Path) -> list[Setting]:
    """The settings for bulk growth of the server in `bin_dir` (see `growth_sim.db.tuning`)."""
    return bulk_growth(lz4=accepts(bin_dir, data_dir, "default_toast_compression", "lz4"))


def _conf_quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"
