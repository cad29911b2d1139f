"""Free disk space against a run's planned growth, checked before `advance` writes anything.

The server's data directory comes from ``pg_settings`` (readable by superusers, such as the private cluster's,
and ``pg_read_all_settings`` members) when the server runs on this machine. When it is not known (a remote
server, an unprivileged role) nothing is checked.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

from growth_sim.db import ledger
from growth_sim.db.connect import connect
from growth_sim.errors import GrowthSimError
from growth_sim.observe import measure
from growth_sim.profile import load_recorded_profile
from growth_sim.timeline.quantities import format_size
from growth_sim.timeline.schedule import Schedule

OVERHEAD = 1.25
"""Room for WAL, VACUUM and sorts on top of the planned growth of the database."""
SPARE = 1 << 30
"""Below this much space left over after the run (with overhead) a warning is printed."""
_LOCAL_HOSTS = ("", "localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class SpaceCheck:
    """What a run needs and what the disk has (None: the data directory is not known)."""

    growth: int
    free: int | None
    data_dir: Path | None

    @property
    def needed(self) -> int:
        return int(self.growth * OVERHEAD)


def check_space(dsn: str, target: str, *, free: int | None = None) -> str | None:
    """Refuse (GrowthSimError) a run to `target` the disk cannot hold; a warning line when it is tight, else None.

    `free` replaces the free bytes measured on the data directory's file system.
    """
    space = planned_space(dsn, target, free=free)
    if space.free is None or space.growth <= 0:
        return None
    where = f"{space.data_dir}" if space.data_dir else "the server's data directory"
    if space.free < space.needed:
        raise GrowthSimError(
            f"not enough disk space: growing to {target} adds about {format_size(space.growth)} (plus WAL: "
            f"{format_size(space.needed)}) but {where} has {format_size(space.free)} free; free some space, "
            "choose an earlier target or a smaller --scale")
    if space.free - space.needed < SPARE:
        return (f"disk space is tight: growing to {target} needs about {format_size(space.needed)} and {where} "
                f"has {format_size(space.free)} free")
    return None


def planned_space(dsn: str, target: str, *, free: int | None = None) -> SpaceCheck:
    """The planned growth from the database's current size to `target`, and the free bytes where it goes."""
    with connect(dsn, autocommit=True) as conn:
        run = ledger.load(conn)
        schedule = Schedule(load_recorded_profile(run.profile, run.profile_hash), run.scale)
        hour = schedule.resolve_target(target, run.clock_hour or 0)
        growth = schedule.size_at(hour) - measure.database_size(conn)
        data_dir = server_data_dir(conn, dsn)
    if free is None and data_dir is not None:
        free = free_bytes(data_dir)
    return SpaceCheck(growth, free, data_dir)


def server_data_dir(conn: psycopg.Connection, dsn: str) -> Path | None:
    """The data directory of a server on this machine, if this role may read it."""
    host = conn.info.host
    if not (host.startswith("/") or host in _LOCAL_HOSTS or conninfo_to_dict(dsn).get("host", "").startswith("/")):
        return None
    setting = conn.execute("SELECT setting FROM pg_settings WHERE name = 'data_directory'").fetchone()
    return Path(setting[0]) if setting and setting[0] else None


def free_bytes(path: Path) -> int | None:
    """Free bytes on the file system holding `path` (None if it cannot be read from here)."""
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None
