"""Where a private cluster's files go, and the private directories and files that hold them.

For a home ``H`` (``$GROWTH_SIM_HOME``) the data and socket directories are ``H/data`` and ``H/run``, 0700 and
owned by the server user. As root the server runs as ``postgres``, so a home growth-sim creates is made
traversable by that user alone (root-owned, group ``postgres``, mode 0710: it can reach ``H/data`` and ``H/run``
but cannot list ``H`` or read its other files; nobody else can enter). When a directory on the way to ``H`` (or
an ``H`` made by someone else) shuts that user out, the data goes to ``/var/tmp/growth-sim-<uid>-<hash of H>/``
instead: parent directories are never made more permissive. A socket directory whose path would be too long for
a Unix socket moves to ``/tmp/growth-sim-<uid>-<hash of H>``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from pathlib import Path

from growth_sim.db.serveruser import reachable_by_server_user, server_user_ids
from growth_sim.errors import ClusterError

_SOCKET_PATH_MAX = 107  # sizeof(sun_path) - 1 on Linux
_HOME_MODE_FOR_SERVER_GROUP = 0o710
_FALLBACK_PARENT = Path("/var/tmp")
_HOME_NOTE = "home"


def make_home(home: Path) -> None:
    """Create the home if missing (as root: traversable by the server user's group only), or check it."""
    if home.exists():
        if not home.is_dir():
            raise ClusterError(f"GROWTH_SIM_HOME {home} is not a directory")
        return
    try:
        home.mkdir(mode=0o700, parents=True)
    except OSError as exc:
        raise ClusterError(f"cannot create GROWTH_SIM_HOME {home}: {exc.strerror}") from exc
    ids = server_user_ids()
    if ids is not None:
        os.chown(home, -1, ids[1], follow_symlinks=False)
        os.chmod(home, _HOME_MODE_FOR_SERVER_GROUP, follow_symlinks=False)


def base_dir(home: Path) -> Path:
    """Where the data and socket directories of a new cluster of `home` go: the home if the server can use it."""
    if server_user_ids() is None or blocking_dir(home) is None:
        return home
    return fallback_base(home)


def blocking_dir(home: Path) -> Path | None:
    """The first existing directory on the way to `home` that the server user cannot enter; None if none."""
    existing = next(p for p in [home, *home.parents] if p.exists())
    if reachable_by_server_user(existing):
        return None
    return next(p for p in [*reversed(existing.parents), existing] if not reachable_by_server_user(p))


def fallback_base(home: Path) -> Path:
    """The directory that holds the data of `home` when the server user cannot enter the home."""
    return _FALLBACK_PARENT / f"growth-sim-{os.geteuid()}-{_digest(home)}"


def make_fallback_base(home: Path) -> Path:
    """Create `fallback_base(home)`, noting there which home it belongs to; returns it."""
    base = fallback_base(home)
    make_private_dir(base)
    write_private(base / _HOME_NOTE, f"{home}\n", owner=None)
    return base


def fallback_bases() -> dict[Path, Path | None]:
    """Every fallback directory of this user, with the home it belongs to (None when it does not say)."""
    found: dict[Path, Path | None] = {}
    for base in _FALLBACK_PARENT.glob(f"growth-sim-{os.geteuid()}-*"):
        try:
            found[base] = Path((base / _HOME_NOTE).read_text().strip())
        except OSError:
            found[base] = None
    return found


def socket_dir_for(base: Path, home: Path) -> Path:
    """``base/run``, or a short directory under /tmp when that path is too long for a Unix socket."""
    candidate = base / "run"
    if len(str(candidate / ".s.PGSQL.65535.lock")) <= _SOCKET_PATH_MAX:
        return candidate
    return Path("/tmp") / f"growth-sim-{os.geteuid()}-{_digest(home)}"


def make_private_dir(path: Path) -> None:
    """Create `path` (0700, owned by the server user) or check that an existing one is ours and private."""
    ids = server_user_ids()
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


def write_private(path: Path, text: str, *, owner: tuple[int, int] | None) -> None:
    """Write `text` to `path` with mode 0600, then hand it to `owner` (uid, gid) if given."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    if owner is not None:
        os.chown(path, *owner)


def tree_size(root: Path) -> int:
    """Bytes of the files under `root` (0 when it cannot be read)."""
    total = 0
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, name)).st_size
    return total


def _digest(home: Path) -> str:
    return hashlib.sha256(str(home).encode()).hexdigest()[:12]
