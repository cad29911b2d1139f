"""A grown database's history: the ledger's measurements next to the schedule's plan, for plots and reports.

`load_history(dsn)` reads the run settings and every measurement (``growth_sim.measurements``) and adds what the
schedule planned at each measured hour (rows per table, database size) and the profile's milestones.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np

from growth_sim.db import ledger
from growth_sim.db.connect import connect
from growth_sim.observe import measure
from growth_sim.profile import load_recorded_profile
from growth_sim.timeline.schedule import Schedule, scaled


@dataclass(frozen=True)
class TableSample:
    """One table at one measurement: bytes by kind, tuple statistics, and pgstattuple bloat for hot tables."""

    heap: int
    indexes: int
    toast: int
    total: int
    live: int
    dead: int
    planned_rows: int | None = None
    bloat_percent: float | None = None
    dead_percent: float | None = None
    free_percent: float | None = None
    vacuumed: bool = False


@dataclass(frozen=True)
class Sample:
    """A measurement: the simulated hour, the database size against the plan, and every table."""

    hour: int
    db_size: int
    planned_size: int
    tables: dict[str, TableSample]


@dataclass(frozen=True)
class MilestoneMark:
    """A row of the growth table at the run's scale."""

    label: str
    hour: int
    size: int
    counts: dict[str, int]


@dataclass(frozen=True)
class History:
    """Everything a plot of a run needs, in simulated-time order."""

    profile: str
    seed: int
    scale: float
    clock_hour: int | None
    start: datetime
    samples: tuple[Sample, ...]
    milestones: tuple[MilestoneMark, ...]
    hot_tables: tuple[str, ...]
    bloat_bands: dict[str, tuple[float, float]]
    counts: dict[str, int] = field(default_factory=dict)
    """Exact rows per table at the latest measurement (counted when the clock has not moved since)."""

    @property
    def hours(self) -> list[int]:
        return [s.hour for s in self.samples]

    @property
    def latest(self) -> Sample | None:
        return self.samples[-1] if self.samples else None

    def tables(self) -> list[str]:
        """Measured tables, largest (at the latest measurement) first."""
        if not self.samples:
            return []
        return sorted(self.latest.tables, key=lambda t: (-self.latest.tables[t].total, t))

    def planned_tables(self) -> list[str]:
        """Tables whose row count the schedule plans, most rows first."""
        return [t for t in self.tables() if self.latest.tables[t].planned_rows is not None]

    def series(self, table: str, field: str) -> list[Any]:
        """`field` of `table` at every measurement (None where the table was not measured)."""
        return [getattr(s.tables[table], field) if table in s.tables else None for s in self.samples]

    def reached(self) -> list[MilestoneMark]:
        """Milestones at or before the latest measurement."""
        last = self.hours[-1] if self.samples else -1
        return [m for m in self.milestones if m.hour <= last]

    def describe(self) -> str:
        """One line: the run and the measured range."""
        what = f"profile {self.profile}, seed {self.seed}, scale {self.scale:g}"
        if not self.samples:
            return f"{what}: no measurements yet"
        return (f"{what}: {len(self.samples)} measurements, hour {self.hours[0]} to {self.hours[-1]} "
                f"(week {self.hours[-1] / 168:.2f})")


def load_history(dsn: str) -> History:
    """The history of the database at `dsn`; DatabaseError if growth-sim did not initialise it."""
    with connect(dsn, autocommit=True) as conn:
        run = ledger.load(conn)
        history = build_history(run, ledger.measurements(conn))
        if history.samples and history.latest.hour == run.clock_hour:
            history = replace(history, counts={t: measure.row_count(conn, t) for t in history.planned_tables()})
    return history


def build_history(run: ledger.Run, rows: list[dict[str, Any]]) -> History:
    """A history from the run row and the ledger's measurement rows."""
    profile = load_recorded_profile(run.profile, run.profile_hash)
    schedule = Schedule(profile, run.scale)
    hours = np.array([r["hour"] for r in rows], dtype=np.int64)
    planned = {t: [schedule.rows(t, int(h)) for h in hours] for t in schedule.streams
               if any(t in r["tables"] for r in rows)}
    samples = tuple(
        Sample(r["hour"], r["db_size"], r["planned_size"],
               {t: _table_sample(v, planned[t][i] if t in planned else None) for t, v in r["tables"].items()})
        for i, r in enumerate(rows))
    milestones = tuple(MilestoneMark(m.label, m.hour, int(round(m.size * run.scale)),
                                     {k: scaled(v, run.scale) for k, v in m.counts.items()})
                       for m in profile.milestones)
    return History(profile.name, run.seed, run.scale, run.clock_hour, profile.start, samples, milestones,
                   tuple(sorted(profile.bloat)), {t: (b.low, b.high) for t, b in profile.bloat.items()})


def _table_sample(values: dict[str, Any], planned_rows: int | None) -> TableSample:
    return TableSample(
        heap=values["heap"], indexes=values["indexes"], toast=values["toast"], total=values["total"],
        live=values["live"], dead=values["dead"], planned_rows=planned_rows,
        bloat_percent=values.get("bloat_percent"), dead_percent=values.get("dead_percent"),
        free_percent=values.get("free_percent"), vacuumed=bool(values.get("vacuumed", False)))
