"""Every private cluster of this user on this machine, so that forgotten ones can be found.

A cluster records itself when it is created or started, one file per home under
``$XDG_STATE_HOME/growth-sim/clusters/`` (default ``~/.local/state``): its home, data and socket directories and
port. `growth-sim db destroy` removes the record; `clusters()` reads them all back with each one's size and
whether its server runs, found by process even when its home was deleted under it. The records are a help, never
a condition: a command does not fail because they cannot be written.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from growth_sim.db.homes import fallback_bases, tree_size
from growth_sim.db.postmaster import postmaster_pid


@dataclass(frozen=True)
class ClusterEntry:
    """One private cluster as `growth-sim db status` lists it."""

    home: Path | None
    """None for a cluster made before homes were recorded, in a fallback directory that does not name it."""
    data_dir: Path
    running: bool
    size_bytes: int | None
    """Bytes under the data directory; None when it no longer exists."""

    @property
    def home_exists(self) -> bool:
        return self.home is not None and self.home.is_dir()

    def as_dict(self) -> dict[str, object]:
        return {"home": str(self.home) if self.home else None, "home_exists": self.home_exists,
                "data_dir": str(self.data_dir), "running": self.running, "size_bytes": self.size_bytes}


def record(home: Path, fields: dict[str, object]) -> None:
    """Remember the cluster of `home` (its state `fields`: data_dir, socket_dir, port...)."""
    path = _entry(home)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"home": str(home), **fields}, indent=2) + "\n")
        tmp.replace(path)


def recorded(home: Path) -> dict[str, object] | None:
    """What `record` stored for `home`, or None."""
    try:
        return json.loads(_entry(home).read_text())
    except (OSError, ValueError):
        return None


def forget(home: Path) -> None:
    with contextlib.suppress(OSError):
        _entry(home).unlink()


def clusters() -> list[ClusterEntry]:
    """Every cluster that still has data or a running server: the recorded ones (the others are forgotten), and
    those in fallback directories that no record names (made before records were kept)."""
    found: dict[Path, ClusterEntry] = {}
    for path in sorted(_registry_dir().glob("*.json")):
        try:
            raw = json.loads(path.read_text())
            home, data_dir = Path(raw["home"]), Path(raw["data_dir"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if (entry := _entry_of(home, data_dir)) is None:
            forget(home)
        else:
            found[data_dir] = entry
    for base, home in fallback_bases().items():
        if base / "data" not in found and (entry := _entry_of(home, base / "data")) is not None:
            found[base / "data"] = entry
    return sorted(found.values(), key=lambda e: (e.home is None, str(e.home)))


def _entry_of(home: Path | None, data_dir: Path) -> ClusterEntry | None:
    running = postmaster_pid(data_dir) is not None
    size = tree_size(data_dir) if data_dir.is_dir() else None
    return ClusterEntry(home, data_dir, running, size) if running or size is not None else None


def _registry_dir() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "growth-sim" / "clusters"


def _entry(home: Path) -> Path:
    return _registry_dir() / f"{hashlib.sha256(str(home).encode()).hexdigest()[:16]}.json"
