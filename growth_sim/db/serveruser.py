"""The system user that runs the server: ourselves, or ``postgres`` when growth-sim runs as root.

``initdb``, ``pg_ctl`` and ``postgres`` refuse to run as root; as root they run as the ``postgres`` system user
(created by the distribution's packages), which must be able to reach the binaries and the data directory.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

from growth_sim.errors import ClusterError

SERVER_OS_USER = "postgres"
"""The system user that runs the server when growth-sim itself runs as root."""

PG_TIMEOUT_SECONDS = 60
"""How long pg_ctl waits for a start or stop."""


def server_user_ids() -> tuple[int, int] | None:
    """(uid, gid) of the user the server runs as when we are root; None when we run it ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        pw = pwd.getpwnam(SERVER_OS_USER)
    except KeyError:
        raise ClusterError(
            f"as root, growth-sim runs PostgreSQL as the '{SERVER_OS_USER}' system user, which does not "
            f"exist: create it (useradd --system --home-dir /var/lib/postgresql {SERVER_OS_USER}) "
            "or run as a regular user"
        ) from None
    return pw.pw_uid, pw.pw_gid


def superuser_name() -> str:
    """The cluster's superuser: the server's system user name."""
    return SERVER_OS_USER if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name


def server_env() -> dict[str, str]:
    """Our environment minus libpq/locale variables that would steer the server tools."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "LC_")) and k != "LANG"}
    env["LC_ALL"] = "C"
    if os.geteuid() == 0:
        env["HOME"] = pwd.getpwnam(SERVER_OS_USER).pw_dir
        env["USER"] = env["LOGNAME"] = SERVER_OS_USER
    return env


def run_server_tool(args: list[str], *, cwd: Path, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run initdb/pg_ctl/postgres, as the server user when we are root."""
    ids = server_user_ids()
    extra: dict[str, object] = {}
    if ids is not None:
        extra = {"user": ids[0], "group": ids[1], "extra_groups": []}
    try:
        return subprocess.run(
            args,
            input=input,
            capture_output=True,
            text=True,
            cwd=cwd,
            env=server_env(),
            start_new_session=True,  # a Ctrl-C in the terminal must not reach the postmaster
            timeout=PG_TIMEOUT_SECONDS + 30,
            **extra,  # type: ignore[arg-type]
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise ClusterError(f"cannot run {args[0]}: {exc}") from exc


def reachable_by_server_user(path: Path, *, executable: bool = False) -> bool:
    """Whether the server user can traverse to `path` (and execute it): asked of the kernel, as that user."""
    ids = server_user_ids()
    if ids is None:
        return True
    test = shutil.which("test") or "/usr/bin/test"
    try:
        proc = subprocess.run(
            [test, "-x", str(path)], user=ids[0], group=ids[1], extra_groups=[], cwd="/", timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0 and (not executable or path.is_file())
