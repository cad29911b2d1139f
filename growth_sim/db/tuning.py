"""The private cluster's server settings for bulk growth, each with the reason growth-sim chose it.

They are written to the cluster's ``growth_sim.conf`` on every start (so a bigger machine gets bigger values)
and shown by ``growth-sim db status``. A server given by ``--dsn`` is never reconfigured: growth-sim only sets,
per transaction, the memory of its own index builds (`growth_sim.engine.deferred`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

MB = 1024 * 1024
_CGROUP_LIMIT = Path("/sys/fs/cgroup/memory.max")


@dataclass(frozen=True)
class Setting:
    name: str
    value: str
    reason: str


def bulk_growth(memory: int | None = None, *, lz4: bool = False) -> list[Setting]:
    """The settings for a machine with `memory` bytes (this one's, or its container's limit, by default), on a
    server built with LZ4 (`lz4`) or not."""
    memory = memory or machine_memory()
    shared = _clamp(memory // 8, 128 * MB, 4096 * MB)
    maintenance = _clamp(memory // 32, 64 * MB, 1024 * MB)
    return [
        Setting("shared_buffers", _mb(shared), "1/8 of the memory, 128 MB to 4 GB: the index pages a load writes "
                "and the parents its rows point to stay cached"),
        Setting("maintenance_work_mem", _mb(maintenance), "1/32 of the memory, 64 MB to 1 GB: VACUUM and the "
                "initial load's index builds work in memory"),
        Setting("max_wal_size", "4GB", "a checkpoint per 4 GB of WAL, not 1 GB: fewer full-page images while "
                "gigabytes are written"),
        Setting("checkpoint_timeout", "15min", "at most every 15 minutes, not 5: the same, for the slower hours"),
        Setting("track_io_timing", "on", "pg_stat_statements and EXPLAIN (BUFFERS) show the time spent on I/O"),
        Setting("pg_stat_statements.track", "all", "statements in functions and triggers are counted too"),
        *([Setting("default_toast_compression", "lz4", "long texts are compressed with LZ4, not pglz: the COPY of "
                   "TaskPilot's issues and comments takes 40-50 % of the server time, at sizes within 6 % (steered "
                   "to the plan either way); the values read back are the same")] if lz4 else []),
    ]


def machine_memory() -> int:
    """Bytes of memory: the machine's, or its container's limit when that is lower."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:
        limit = _CGROUP_LIMIT.read_text().strip()
    except OSError:
        return memory
    return min(memory, int(limit)) if limit.isdigit() else memory


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def _mb(value: int) -> str:
    return f"{value // MB}MB"
