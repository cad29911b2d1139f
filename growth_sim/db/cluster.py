"""A private PostgreSQL cluster under $GROWTH_SIM_HOME, created and started on demand.

For a home ``H``: ``H/cluster.json`` records where the cluster lives (`growth_sim.db.state`); ``H/data`` and
``H/run`` hold the data and the socket, unless the server user cannot enter ``H`` (`growth_sim.db.homes`: as
root the server runs as ``postgres``); ``H/password`` (0600) holds the superuser's password once TCP is on.

How long a server runs depends on who started it. `start` and `ensure_running` (``growth-sim db start``,
``db url``) leave it running until `stop`, as ``pg_ctl start`` does. A command holds the cluster with `using`
instead (`growth_sim.db.usage`): a server started that way stops when its last user leaves, so that commands,
like psql or pgbench, leave no server behind that the user did not start.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

from growth_sim.db import registry, usage
from growth_sim.db.binaries import (
    bin_major,
    bin_version,
    find_bin_dir,
    has_server_binaries,
    preload_libraries,
    read_major,
)
from growth_sim.db.homes import (
    blocking_dir,
    make_fallback_base,
    make_home,
    make_private_dir,
    tree_size,
    write_private,
)
from growth_sim.db.initdb import create_files, settings, write_conf
from growth_sim.db.postmaster import (
    answers,
    free_port,
    port_free,
    postmaster_pid,
    quit_postmaster,
    remove_zombie_locks,
)
from growth_sim.db.serverlog import last_line, startup_failure
from growth_sim.db.serveruser import PG_TIMEOUT_SECONDS, SERVER_OS_USER, run_server_tool
from growth_sim.db.state import ClusterState, ClusterStatus, load_state, remove_state, save_state
from growth_sim.db.tuning import bulk_growth
from growth_sim.errors import ClusterError

DEFAULT_DBNAME = "growth_sim"

FAST_INITDB_ENV = "GROWTH_SIM_FAST_INITDB"
"""Set to 1 to create new clusters with ``initdb -N`` (no fsync of the new files; meant for tests)."""

OnStep = Callable[[str], None]
"""Told what a slow step is doing (e.g. ``... initdb``); an empty text when it is done."""

_PASSWORD_FILE = "password"
_LOCK_FILE = ".cluster.lock"
_STARTUP_LOG = "startup.log"
_DYING_POSTMASTER = re.compile(r"pre-existing shared memory block|lock file .* already exists")
"""Start failures that clear up once a killed postmaster and its children have exited."""
_START_RETRY_SECONDS = 15.0
_CLIENTS_GONE_SECONDS = 2.0
"""How long a last user waits for the backends of connections just closed to go before counting the others."""

log = logging.getLogger(__name__)


class Cluster:
    """A PostgreSQL cluster private to one growth-sim home directory."""

    def __init__(self, home: Path) -> None:
        self.home = Path(home).expanduser().resolve()
        self._state_cache: ClusterState | None = None

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
            major = read_major(self.data_dir)
            if state.bin_dir and has_server_binaries(state.bin_dir) and bin_major(state.bin_dir) == major:
                return state.bin_dir
            return find_bin_dir(major)
        return find_bin_dir(None)

    def exists(self) -> bool:
        """Whether the data directory has been initialised."""
        return (self.data_dir / "PG_VERSION").exists()

    # -- lifecycle ------------------------------------------------------------------------------------------

    def ensure_running(self, *, fast: bool = False, on_step: OnStep | None = None) -> None:
        """Create the cluster if missing and start it if stopped; it then runs until `stop`. A quick check when
        it already runs that way.

        `fast` (or ``GROWTH_SIM_FAST_INITDB=1``) creates a new cluster without syncing its files to disk.
        """
        if self._is_running() and not self._state.stop_when_unused:
            return
        with self._locked():
            if not self._is_running():
                self._start(tcp=None, fast=fast, on_step=on_step, stop_when_unused=False)
            elif self._state.stop_when_unused:
                self._keep_running()

    @contextlib.contextmanager
    def using(self, *, fast: bool = False, on_step: OnStep | None = None) -> Iterator[None]:
        """Hold the cluster while the block runs, creating and starting it if needed.

        When the block ends, a server started this way stops if nothing else uses it: no other `using` block in
        any process, no other client connection (then it says that it was left running), and no `start` or
        `ensure_running` since (they keep it running until `stop`).
        """
        with usage.lease(self.home) as lease:
            if not self._is_running():
                with self._locked():
                    if not self._is_running():
                        self._start(tcp=None, fast=fast, on_step=on_step, stop_when_unused=True)
            try:
                yield
            finally:
                if lease.sole():
                    self._stop_if_unused(on_step or _silent)

    def start(self, tcp: bool | None = None, *, fast: bool = False, on_step: OnStep | None = None) -> None:
        """Start the cluster, creating it first if needed; it runs until `stop`.

        `tcp`: True listens on 127.0.0.1 too (password auth), False on the Unix socket only, None keeps the
        current setting. A running cluster whose setting differs is restarted.
        """
        with self._locked():
            if self._is_running():
                if tcp is None or tcp == self._state.tcp:
                    self._keep_running()
                    return
                self._stop()
            self._start(tcp=tcp, fast=fast, on_step=on_step, stop_when_unused=False)

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
            self._start(tcp=None, fast=False, on_step=None, stop_when_unused=self._state.stop_when_unused)

    def destroy(self) -> None:
        """Stop the server and remove everything this cluster created (data, sockets, state, password), wherever
        it lives, also when its home was deleted under it."""
        self._state_cache = None
        state = self._state
        if not self.home.exists() and not state.data_dir.exists() and postmaster_pid(state.data_dir) is None:
            registry.forget(self.home)
            return
        with self._locked() if self.home.exists() else contextlib.nullcontext():  # a deleted home stays deleted
            state = self._state
            if (state.data_dir / "PG_VERSION").exists():
                with contextlib.suppress(ClusterError):
                    self._stop()
            quit_postmaster(state.data_dir)
            for path in _removal_order(self.home, state):
                if path.is_symlink() or path.is_file():
                    path.unlink()
                elif path.is_dir():
                    shutil.rmtree(path)
            remove_state(self.home)
            self._state_cache = None
        for name in (_LOCK_FILE, usage.USERS_FILE):
            (self.home / name).unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self.home.rmdir()  # only when nothing else lives there

    def status(self) -> ClusterStatus:
        """The cluster's state, without creating or starting anything."""
        self._state_cache = None  # another process may have changed it
        state = self._state
        created = self.exists()
        version, preloaded, chosen = None, (), bulk_growth()
        if created:
            try:
                version = bin_version(self.bin_dir)
                preloaded = preload_libraries(self.bin_dir)
                chosen = settings(self.bin_dir, state.data_dir)
            except ClusterError:
                version = read_major(state.data_dir)
            if registry.recorded(self.home) is None:  # made before clusters were recorded
                registry.record(self.home, state.as_dict())
        return ClusterStatus(
            home=self.home,
            running=created and self._is_running(),
            version=version,
            data_dir=state.data_dir,
            socket_dir=state.socket_dir,
            port=state.port,
            size_bytes=tree_size(state.data_dir) if state.data_dir.is_dir() else None,
            tcp=state.tcp,
            stops_when_unused=state.stop_when_unused,
            preloaded=preloaded,
            settings=tuple(chosen),
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
    def _state(self) -> ClusterState:
        if self._state_cache is None:
            self._state_cache = load_state(self.home)
        return self._state_cache

    def _save_state(self) -> None:
        save_state(self.home, self._state)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialise lifecycle changes between processes sharing this home."""
        make_home(self.home)
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
        return state.port is not None and answers(state.data_dir, state.socket_dir, state.port)

    def _create(self, *, fast: bool, on_step: OnStep) -> None:
        state = self._state
        bin_dir = find_bin_dir(None)
        base = state.data_dir.parent
        if base != self.home:
            make_fallback_base(self.home)
            blocked = blocking_dir(self.home)
            why = f"the '{SERVER_OS_USER}' user that runs the server cannot enter {blocked}, so " if blocked else ""
            log.warning("%sthe private cluster's data is in %s, not %s (`growth-sim db status` shows it, "
                        "`growth-sim db destroy` removes it)", why, base, self.home)
        make_private_dir(state.data_dir)
        make_private_dir(state.socket_dir)
        if state.port is None:
            state.port = free_port()
        fast = fast or os.environ.get(FAST_INITDB_ENV, "") not in ("", "0")
        create_files(state, bin_dir, dbname=DEFAULT_DBNAME, fast=fast, on_step=on_step)
        state.bin_dir = bin_dir
        self._save_state()

    def _start(self, *, tcp: bool | None, fast: bool, on_step: OnStep | None, stop_when_unused: bool) -> None:
        step = on_step or _silent
        try:
            if not self.exists():
                self._create(fast=fast, on_step=step)
            step(f"starting the private PostgreSQL cluster in {self.data_dir}")
            self._start_server(tcp, stop_when_unused)
        finally:
            step("")

    def _start_server(self, tcp: bool | None, stop_when_unused: bool) -> None:
        state = self._state
        make_private_dir(state.socket_dir)  # may have been cleaned from /tmp
        if tcp is not None:
            state.tcp = tcp
        if state.tcp and not port_free(state.port):
            state.port = free_port()
        state.stop_when_unused = stop_when_unused
        write_conf(state, self.bin_dir)
        self._save_state()
        remove_zombie_locks(self.data_dir / "postmaster.pid", self.socket_dir / f".s.PGSQL.{self.port}.lock")
        deadline = time.monotonic() + _START_RETRY_SECONDS
        while True:
            proc = self._pg_ctl("start", "-l", str(state.data_dir / _STARTUP_LOG), check=False)
            if proc.returncode == 0:
                break
            reason = startup_failure(state.data_dir / _STARTUP_LOG, self.log_dir)
            # A postmaster killed with -9 lingers for a moment, and its children keep its shared memory.
            if _DYING_POSTMASTER.search(reason) and time.monotonic() < deadline:
                time.sleep(0.25)
                continue
            raise ClusterError(f"PostgreSQL did not start: {reason}")
        if state.tcp:
            self._set_password()

    def _keep_running(self) -> None:
        """A server started for a command now runs until `stop` (under the lock)."""
        if self._state.stop_when_unused:
            self._state.stop_when_unused = False
            self._save_state()

    def _stop_if_unused(self, on_step: OnStep) -> None:
        """Stop a server started for a command, unless a client still uses it (the last user calls this)."""
        with self._locked():
            if not self._state.stop_when_unused or not self._is_running():
                return
            others = self._other_clients()
            if others:
                log.warning("server left running: %d other connection%s use%s it (`growth-sim db stop` stops it)",
                            others, "s" if others > 1 else "", "" if others > 1 else "s")
                return
            on_step("stopping the private PostgreSQL cluster")
            try:
                self._stop()
            except ClusterError as exc:
                log.warning("%s (`growth-sim db stop` stops it)", exc)
            finally:
                on_step("")

    def _other_clients(self) -> int:
        """Client connections to the server other than ours, once those just closed have gone."""
        import psycopg

        deadline = time.monotonic() + _CLIENTS_GONE_SECONDS
        while True:
            try:
                with psycopg.connect(self.dsn("postgres"), autocommit=True, connect_timeout=5,
                                     options="-c pg_stat_statements.track=none") as conn:
                    (count,) = conn.execute(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
                    ).fetchone()  # type: ignore[misc]
            except psycopg.Error:
                return 0
            if count == 0 or time.monotonic() > deadline:
                return count
            time.sleep(0.05)

    def _stop(self) -> None:
        if not self._is_running():
            return
        proc = self._pg_ctl("stop", "-m", "fast", check=False)
        if proc.returncode != 0 and self._is_running():
            raise ClusterError(f"PostgreSQL did not stop: {last_line(proc.stderr or proc.stdout)}")

    def _pg_ctl(self, action: str, *options: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        args = [str(self.bin_dir / "pg_ctl"), action, "-D", str(self.data_dir), "-w", "-t", str(PG_TIMEOUT_SECONDS)]
        proc = run_server_tool([*args, *options], cwd=self.data_dir)
        if check and proc.returncode != 0:
            raise ClusterError(f"pg_ctl {action} failed: {last_line(proc.stderr or proc.stdout)}")
        return proc

    def _set_password(self) -> None:
        """Give the superuser a generated password for TCP logins (stored 0600 in the home)."""
        import psycopg  # only needed for TCP

        if not self.password_file.exists():
            write_private(self.password_file, secrets.token_urlsafe(24) + "\n", owner=None)
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


def _silent(_text: str) -> None:
    """An `OnStep` that shows nothing."""


def _removal_order(home: Path, state: ClusterState) -> list[Path]:
    paths = [state.data_dir, state.socket_dir]
    base = state.data_dir.parent
    if base != home:
        paths.append(base)
    paths.append(home / _PASSWORD_FILE)
    return paths
