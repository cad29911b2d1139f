"""What a run to a target will cost, said before it writes: rows, planned size, disk needed and time.

The time comes from this machine's measured throughput: the rows per second of work recorded in the ledger of
the database being grown (every unit records its rows and seconds). A database with no recorded work yet, and
`growth-sim plan`, which has no database, use DEFAULT_ROWS_PER_SECOND, a rate a small machine reaches (the
initial load and the hours run faster on most).
"""

from __future__ import annotations

from dataclasses import dataclass

from growth_sim.db import ledger
from growth_sim.db.connect import connect
from growth_sim.engine.diskspace import OVERHEAD
from growth_sim.observe import measure
from growth_sim.profile import load_recorded_profile
from growth_sim.timeline.quantities import format_size
from growth_sim.timeline.schedule import Schedule

DEFAULT_ROWS_PER_SECOND = 3_000
"""Rows (inserts, updates and deletes) per second assumed when nothing has been measured."""
CONFIRM_ABOVE = 5 << 30
"""Planned growth above which `advance` asks before writing when it runs on a terminal."""
_MIN_MEASURED_SECONDS = 1.0  # less recorded work than this says little about the machine


@dataclass(frozen=True)
class Estimate:
    """The cost of growing from `start_hour` to `stop_hour` at `scale`."""

    target: str
    scale: float
    rows: int  # rows the run inserts, updates or deletes
    size: int  # planned database size at the target
    growth: int  # planned bytes added (the size at the target minus the size now)
    rows_per_second: float
    measured: bool  # the rate was measured on this database (else DEFAULT_ROWS_PER_SECOND)

    @property
    def disk_needed(self) -> int:
        """The growth plus room for WAL, VACUUM and sorts (what the disk check asks for)."""
        return int(max(self.growth, 0) * OVERHEAD)

    @property
    def seconds(self) -> float:
        return self.rows / self.rows_per_second

    def line(self) -> str:
        """One line: target, scale, rows, planned size, disk needed and the time it should take."""
        basis = "measured on this database" if self.measured else "default rate"
        return (f"plan: grow to {self.target} at scale {self.scale:g}: {self.rows:,} rows, "
                f"{format_size(self.size)} planned (+{format_size(max(self.growth, 0))}, needs "
                f"{format_size(self.disk_needed)} of disk), about {format_duration(self.seconds)} at "
                f"{self.rows_per_second:,.0f} rows/s ({basis})")

    def as_dict(self) -> dict[str, object]:
        return {"rows": self.rows, "size": self.size, "growth": self.growth, "disk_needed": self.disk_needed,
                "rows_per_second": round(self.rows_per_second), "measured": self.measured,
                "seconds": round(self.seconds)}


def planned(schedule: Schedule, start_hour: int, stop_hour: int, target: str, current_size: int | None = None,
            rows_per_second: float | None = None) -> Estimate:
    """The estimate from the schedule alone (the initial dataset counts when `start_hour` is 0); the growth is
    measured from `current_size` when given, else from the planned size at `start_hour`."""
    rows = sum(schedule.totals(start_hour, stop_hour).values())
    if start_hour == 0:
        rows += sum(schedule.initial(stream) for stream in schedule.streams)
    size = schedule.size_at(stop_hour)
    base = schedule.size_at(start_hour) if current_size is None else current_size
    return Estimate(target, schedule.scale, rows, size, size - base, rows_per_second or DEFAULT_ROWS_PER_SECOND,
                    rows_per_second is not None)


def estimate(dsn: str, target: str) -> Estimate:
    """The cost of growing an initialised database from where its clock stands to `target`: the rows still to
    write (an interrupted initial load counts what is left), at the rate its ledger measured."""
    with connect(dsn, autocommit=True) as conn:
        run = ledger.load(conn)
        schedule = Schedule(load_recorded_profile(run.profile, run.profile_hash), run.scale)
        start = run.clock_hour or 0
        stop = schedule.resolve_target(target, start)
        rows, seconds = ledger.throughput(conn)
        size_now = measure.database_size(conn)
        written_initial = ledger.initial_rows(conn) if run.clock_hour is None else 0
    rate = rows / seconds if seconds >= _MIN_MEASURED_SECONDS and rows else None
    result = planned(schedule, start, stop, target, size_now, rate)
    return Estimate(result.target, result.scale, max(result.rows - written_initial, 0), result.size, result.growth,
                    result.rows_per_second, result.measured)


def format_duration(seconds: float) -> str:
    """A duration as people say it: 40 s, 12 min, 3.5 h, 2.1 days."""
    if seconds < 90:
        return f"{max(seconds, 1):.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h" if seconds < 172800 else f"{seconds / 86400:.1f} days"
