"""`growth-sim advance`: run the schedule's units against the database, exactly once each; and `release`.

A unit (a chunk of the initial dataset, or one simulated hour) commits together with its ledger row. After
each unit the size is measured and the controller adjusts the next one; every `vacuum.check_every_hours`
the hot tables' bloat is measured with pgstattuple and VACUUM is emulated in simulated time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from growth_sim.db import ledger
from growth_sim.engine.progress import Progress
from growth_sim.engine.run import RECONNECT_DELAYS, Run, interrupted, reconnect
from growth_sim.errors import GrowthSimError
from growth_sim.observe import measure


@dataclass
class AdvanceResult:
    """The summary of an advance."""

    start_hour: int | None
    end_hour: int
    units: int
    rows_written: int
    seconds: float
    db_size: int
    planned_size: int
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)


def advance(dsn: str, target: str, report: Callable[[Progress], None] = lambda p: None,
            retry_delays: Sequence[float] = RECONNECT_DELAYS, jobs: int | None = None,
            default_jobs: int = 1) -> AdvanceResult:
    """Grow the database to `target` (``initial``, ``week-N``, ``+3d``, an ISO time).

    A lost connection (server restart, network) is retried after each of `retry_delays` seconds, resuming
    from the ledger; other server errors stop the run with the unit in progress rolled back. With `jobs`, the
    initial load's independent chunks are written on that many connections, and if another run already holds
    the writer lock this one joins it (writes the chunks it publishes, then summarises) instead of refusing;
    without, the load uses `default_jobs` connections and another run's lock is refused.
    """
    run = Run(dsn)
    try:
        start = run.session.row.clock_hour
        if "steady" in run.session.row.state:
            raise GrowthSimError("this database has grown at a steady rate, off the milestone schedule, and "
                                 "`advance` cannot rejoin it: keep growing it with `growth-sim steady`, or grow "
                                 "another database by milestones (`growth-sim init --force` starts this one over; a "
                                 "fixture or a copy of the database made before `steady` keeps both ways open)")
        target_hour = run.session.schedule.resolve_target(target, start or 0)
        since = run.session.conn.execute("SELECT clock_timestamp()").fetchone()[0]
        started = time.monotonic()
        if jobs is not None and not ledger.try_lock(run.session.conn):
            run.initial.join(jobs, report)
            return _summary(run, start, since, time.monotonic() - started)
        delays = iter(retry_delays)
        while True:
            try:
                _grow(run, target_hour, report, jobs or default_jobs)
                return _summary(run, start, since, time.monotonic() - started)
            except psycopg.OperationalError as exc:
                run = reconnect(run, exc, delays)
    except KeyboardInterrupt:
        schedule = run.session.schedule
        raise interrupted(dsn, lambda row: f"at simulated hour {row.clock_hour} "
                                           f"({schedule.time_of(row.clock_hour):%Y-%m-%d %H:%M})") from None
    finally:
        run.close()


def release(dsn: str) -> list[str]:
    """Give the tables whose VACUUM the runs emulate back to the server's autovacuum; returns their names."""
    run = Run(dsn)
    try:
        ledger.acquire_lock(run.session.conn)
        run.checks.autovacuum(True)
        return sorted(run.session.profile.bloat)
    finally:
        run.close()


def _grow(run: Run, target_hour: int, report: Callable[[Progress], None], jobs: int) -> None:
    """Take the writer lock and run every unit still to do up to `target_hour` on `jobs` connections (the
    initial chunks on as many, each hour's independent streams beside the rest of the hour from two on)."""
    run.hold(", or join it with `growth-sim advance --jobs N`")
    if run.session.row.clock_hour is None:
        run.load_initial(report, target_hour, jobs)
    run.hours.use_connections(jobs)
    run.hours.run(target_hour, report)


def _summary(run: Run, start: int | None, since: datetime, seconds: float) -> AdvanceResult:
    """What the units committed since `since` (server time) did, and where the database stands."""
    conn, schedule = run.session.conn, run.session.schedule
    hour = ledger.clock_hour(conn) or 0
    units, rows = ledger.work_since(conn, since)
    tables = measure.table_sizes(conn, sorted(run.session.model.tables), sorted(run.session.profile.bloat))
    for table, info in tables.items():
        info["rows"] = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()[0]
        if table in schedule.streams:
            info["planned_rows"] = schedule.rows(table, hour)
    db_size = measure.database_size(conn)
    return AdvanceResult(start, hour, units, rows, seconds, db_size, schedule.size_at(hour), tables)

