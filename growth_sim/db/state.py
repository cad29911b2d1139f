"""What a home records about its private cluster (``H/cluster.json``), and what `growth-sim db status` shows.

The state file says where the cluster lives (data and socket directories), its port, its superuser, whether TCP
is on, the binaries it was created with, and whether the server stops when its last user leaves. When the file
is lost, the cluster is found again where it was recorded (`growth_sim.db.registry`) or where it would have
been put (`growth_sim.db.homes`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from growth_sim.db import registry
from growth_sim.db.homes import base_dir, fallback_base, socket_dir_for
from growth_sim.db.postmaster import postmaster_pid
from growth_sim.db.serveruser import superuser_name
from growth_sim.db.tuning import Setting
from growth_sim.errors import ClusterError

CONF_FILE = "growth_sim.conf"
"""growth-sim's own server settings in the data directory, rewritten on every start."""
_STATE_FILE = "cluster.json"


@dataclass(frozen=True)
class ClusterStatus:
    """What `growth-sim db status` shows about the private cluster."""

    home: Path
    running: bool
    version: str | None
    """Full server version (e.g. ``15.18``) or None when the cluster has not been created."""
    data_dir: Path
    socket_dir: Path
    port: int | None
    size_bytes: int | None
    """Bytes on disk under the data directory; None when it does not exist."""
    tcp: bool
    stops_when_unused: bool
    """The server was started by a command, and stops when no command or client uses it any more."""
    preloaded: tuple[str, ...] = ()
    """The shared_preload_libraries the cluster starts with (pg_qualstats when installed)."""
    settings: tuple[Setting, ...] = ()
    """growth-sim's settings for bulk growth, as written on every start."""

    def as_dict(self) -> dict[str, object]:
        return {
            "running": self.running,
            "version": self.version,
            "data_dir": str(self.data_dir),
            "socket_dir": str(self.socket_dir),
            "port": self.port,
            "size_bytes": self.size_bytes,
            "tcp": self.tcp,
            "home": str(self.home),
            "stops_when_unused": self.stops_when_unused,
            "preloaded": list(self.preloaded),
        }


@dataclass
class ClusterState:
    """The content of ``H/cluster.json``."""

    data_dir: Path
    socket_dir: Path
    port: int | None
    superuser: str
    tcp: bool = False
    bin_dir: Path | None = None
    stop_when_unused: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "data_dir": str(self.data_dir),
            "socket_dir": str(self.socket_dir),
            "port": self.port,
            "superuser": self.superuser,
            "tcp": self.tcp,
            "bin_dir": str(self.bin_dir) if self.bin_dir else None,
            "stop_when_unused": self.stop_when_unused,
        }

    @classmethod
    def from_dict(cls, raw: dict) -> ClusterState:
        return cls(
            data_dir=Path(raw["data_dir"]),
            socket_dir=Path(raw["socket_dir"]),
            port=raw.get("port"),
            superuser=raw["superuser"],
            tcp=bool(raw.get("tcp", False)),
            bin_dir=Path(raw["bin_dir"]) if raw.get("bin_dir") else None,
            stop_when_unused=bool(raw.get("stop_when_unused", False)),
        )


def load_state(home: Path) -> ClusterState:
    """The state file's content; without one, where the home's cluster is (or would be put)."""
    path = home / _STATE_FILE
    if path.exists():
        try:
            return ClusterState.from_dict(json.loads(path.read_text()))
        except (ValueError, KeyError, TypeError) as exc:
            raise ClusterError(f"{path} is damaged ({exc}): fix or delete it") from exc
    with_data = [d for d in (fallback_base(home) / "data", home / "data") if (d / "PG_VERSION").exists()]
    if (known := _recorded_and_present(home)) is not None:
        state = known
    elif with_data:
        state = _new_state(home, with_data[0].parent)
    else:
        return _new_state(home, base_dir(home))
    # The state file was lost but a cluster we made is still there: take its port from our conf file.
    if state.port is None and (state.data_dir / CONF_FILE).exists():
        conf = (state.data_dir / CONF_FILE).read_text()
        if m := re.search(r"^port = (\d+)$", conf, re.M):
            state.port = int(m.group(1))
        state.tcp = "listen_addresses = '127.0.0.1'" in conf
    return state


def save_state(home: Path, state: ClusterState) -> None:
    """Write the state file (atomically) and record the cluster in the user's registry."""
    path = home / _STATE_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state.as_dict(), indent=2) + "\n")
    tmp.replace(path)
    registry.record(home, state.as_dict())


def remove_state(home: Path) -> None:
    (home / _STATE_FILE).unlink(missing_ok=True)
    registry.forget(home)


def _recorded_and_present(home: Path) -> ClusterState | None:
    """The registry's record of `home`'s cluster if its data directory or its server is still there."""
    raw = registry.recorded(home)
    try:
        state = ClusterState.from_dict(raw) if raw else None
    except (KeyError, TypeError):
        return None
    if state is None or not (state.data_dir.is_dir() or postmaster_pid(state.data_dir)):
        return None
    return state


def _new_state(home: Path, base: Path) -> ClusterState:
    return ClusterState(data_dir=base / "data", socket_dir=socket_dir_for(base, home), port=None,
                        superuser=superuser_name())
