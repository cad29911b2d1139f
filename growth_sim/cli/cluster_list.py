"""`growth-sim db status`: the list of every private cluster of this user on this machine."""

from __future__ import annotations

from pathlib import Path

from growth_sim.db.registry import ClusterEntry
from growth_sim.timeline.quantities import format_size


def format_clusters(entries: list[ClusterEntry], current: Path) -> list[str]:
    """One line per cluster (``*`` marks the one of $GROWTH_SIM_HOME), and how to stop or remove one."""
    if not entries:
        return ["private clusters of this user: none"]
    lines = ["private clusters of this user on this machine:"]
    for e in entries:
        mark = "*" if e.home == current else " "
        size = format_size(e.size_bytes) if e.size_bytes is not None else "-"
        where = str(e.home) if e.home else "(home unknown)"
        if e.home and not e.home_exists:
            where += " (home deleted)"
        if e.data_dir.parent != e.home:
            where += f", data in {e.data_dir}"
        lines.append(f"{mark} {'running' if e.running else 'stopped':8} {size:>11}  {where}")
    lines.append("stop or remove one: GROWTH_SIM_HOME=HOME growth-sim db stop | db destroy")
    return lines
