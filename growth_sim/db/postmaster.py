"""The server process of a data directory, seen from outside: its pid, whether it answers, its ports."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from pathlib import Path

from growth_sim.db.serveruser import PG_TIMEOUT_SECONDS


def postmaster_pid(data_dir: Path) -> int | None:
    """The pid of the postmaster serving `data_dir`, also when the directory was deleted under it.

    A postmaster works in its data directory, so it is the ``postgres`` process whose working directory that
    is and whose parent's is not (its children share it). Processes of other users are invisible unless we are root.
    """
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid = int((data_dir / "postmaster.pid").read_text().splitlines()[0])
        if _works_in(pid, data_dir):
            return pid
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _works_in(int(entry.name), data_dir):
            with contextlib.suppress(OSError, ValueError, IndexError):
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                if not _works_in(parent, data_dir):
                    return int(entry.name)
    return None


def answers(data_dir: Path, socket_dir: Path, port: int) -> bool:
    """The postmaster of `data_dir` (per its pid file) is alive and accepts connections on our socket."""
    try:
        pid = int((data_dir / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, owned by another user
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(socket_dir / f".s.PGSQL.{port}"))
    except OSError:
        return False
    finally:
        sock.close()
    return True


def quit_postmaster(data_dir: Path) -> None:
    """Immediate shutdown by signal (SIGQUIT), for a server pg_ctl cannot stop (or whose data was deleted)."""
    pid = postmaster_pid(data_dir)
    if pid is None:
        return
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGQUIT)
    deadline = time.monotonic() + PG_TIMEOUT_SECONDS
    while postmaster_pid(data_dir) == pid and time.monotonic() < deadline:
        time.sleep(0.1)


def remove_zombie_locks(*locks: Path) -> None:
    """Drop the lock files of a postmaster that is a zombie (killed, not yet reaped: common when PID 1 is not
    an init). The server would take it for a live one; a zombie holds no resources."""
    for lock in locks:
        try:
            pid = int(lock.read_text().splitlines()[0])
            proc_stat = Path(f"/proc/{pid}/stat").read_text()
        except (OSError, ValueError, IndexError):
            continue
        if proc_stat.rsplit(")", 1)[-1].split()[0] == "Z":
            lock.unlink(missing_ok=True)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_free(port: int | None) -> bool:
    if port is None:
        return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _works_in(pid: int, data_dir: Path) -> bool:
    """Whether process `pid` is a PostgreSQL server process working in `data_dir`."""
    try:
        cwd = os.readlink(f"/proc/{pid}/cwd")
        name = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return False
    return name == "postgres" and cwd in (str(data_dir), f"{data_dir} (deleted)")
