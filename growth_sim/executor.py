"""`growth-sim advance`: run the schedule's units against the database, exactly once each.

A unit (a chunk of the initial dataset, or one simulated hour) commits together with its ledger row. After
each unit the size is measured and the controller adjusts the next one; every `vacuum.check_every_hours`
the hot tables' bloat is measured with pgstattuple and VACUUM is emulated in simulated time.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import psycopg
from psycopg import pq, sql

from . import claims, ledger, measure, parallel, pipeline
from .connect import connect
from .controller import SizeController, preview_mean, wants_vacuum
from .errors import DatabaseError, GrowthSimError
from .models import model_module
from .models.taskpilot.rows import Widths
from .pipeline import Statement, Step
from .profile import Profile, load_profile
from .schedule import HourPlan, Schedule

INITIAL_CHUNK_ROWS = 20_000
INITIAL_CHUNKS = 10  # at least this many chunks per table, so that widths can be calibrated
CALIBRATION_CHUNKS = 3  # a table's width is calibrated on its first chunks, then frozen for the rest

Unit = tuple[str, str | None, int, int]  # (unit name, stream, first, stop) of the initial load


class Interrupted(GrowthSimError):
    """Ctrl-C or SIGTERM: the current unit was rolled back; the ledger says where to resume."""

    exit_code = 130


@dataclass
class Progress:
    """What a run reports to its caller (the CLI draws a progress bar from it)."""

    phase: str
    done: int
    total: int
    hour: int | None
    rows: int
    bytes: int
    elapsed: float


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


class Run:
    """An open growth run on one database connection."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.conn = connect(dsn, autocommit=True)  # units are explicit transactions
        self.conn.execute("SET application_name = 'growth-sim'")
        self.run = ledger.load(self.conn)
        self.profile = _profile_of(self.run)
        self.schedule = Schedule(self.profile, self.run.scale)
        self.model = model_module(self.profile.model).build(self.schedule, self.run.seed)
        self.size = SizeController.from_state(self.run.state)
        # A unit's rows and its ledger row commit together, so a commit lost in a server crash loses both and
        # the unit is simply done again: no need to wait for each commit's WAL flush.
        self.conn.execute("SET synchronous_commit = off")

    def close(self) -> None:
        self.conn.close()

    # -- bookkeeping ---------------------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {**self.run.state, **self.size.to_state()}

    def _widths(self, preview_median: int = 0) -> Widths:
        return Widths(self.size.factors, preview_median)

    def _clock(self, hour: float) -> str:
        return self.schedule.time_of(hour).isoformat()

    def _set_clock(self, hour: float) -> None:
        self.conn.execute("SELECT set_config('growth_sim.now', %s, true)", (self._clock(hour),))

    def _inserts(self, stream: str, first: int, stop: int, widths: Widths) -> Iterator[Step]:
        """The rows [first, stop) of a stream, generated in sub-batches."""
        return pipeline.sub_batches(lambda a, b: self.model.insert_batch(stream, a, b, widths), first, stop)

    @contextmanager
    def _unit(self) -> Iterator[None]:
        """The transaction of one unit of work.

        Interrupted inside a statement (Ctrl-C while a COPY starts or ends), the session stays busy and can neither
        roll back nor run anything else: it is closed, and the server rolls the unit back.
        """
        with self.conn.transaction():
            try:
                yield
            except BaseException:
                if self.conn.info.transaction_status == pq.TransactionStatus.ACTIVE:
                    self.conn.close()
                raise

    def restore_autovacuum(self) -> None:
        """Give the tables back to autovacuum, on a new session if an interrupt closed this one."""
        if self.conn.broken:
            return  # the server went away; the next run restores the settings when it ends
        if self.conn.closed:
            self.conn = connect(self.dsn, autocommit=True)
        self._autovacuum(True)

    def _autovacuum(self, enabled: bool) -> None:
        """Real autovacuum runs on wall-clock time; it is held off while the run emulates it."""
        with self.conn.transaction():
            for table in sorted(self.profile.bloat):
                action = "RESET (autovacuum_enabled)" if enabled else "SET (autovacuum_enabled = false)"
                self.conn.execute(sql.SQL("ALTER TABLE {} " + action).format(sql.Identifier(table)))

    # -- the initial dataset --------------------------------------------------------------------------------
    def initial_units(self) -> list[Unit]:
        """(unit name, stream, first, stop) of the initial load; the payload knob goes last."""
        order = [s for s in self.model.insert_order if s != self.model.size_knob] + [self.model.size_knob]
        units: list[Unit] = [("initial/reference", None, 0, 0)]
        for stream in order:
            total = self.schedule.initial(stream)
            chunk = max(1, min(INITIAL_CHUNK_ROWS, math.ceil(total / INITIAL_CHUNKS)))
            for k, first in enumerate(range(0, total, chunk)):
                units.append((f"initial/{stream}/{k:05d}", stream, first, min(total, first + chunk)))
        units.append(("initial/~history", None, 0, 0))
        return units

    def load_initial(self, report: Callable[[Progress], None], jobs: int = 1) -> int:
        """Write the initial units not done yet; chunks that depend on no measurement go to `jobs` workers.

        A calibrated table's first `CALIBRATION_CHUNKS` chunks, the size knob's chunks and the reference and
        history units run here, one after the other, each measured; the other chunks are published as claims
        (see `growth_sim.claims`) and written by whichever workers claim them. Children wait for their parents.
        """
        units = self.initial_units()
        done = ledger.done_units(self.conn, "initial/")
        claims.ensure(self.conn)
        started, written, finished = time.monotonic(), 0, len(done)

        def count(rows: int) -> None:
            nonlocal written, finished
            written, finished = written + rows, finished + 1
            report(Progress("initial", finished, len(units), None, written, 0, time.monotonic() - started))

        workers = parallel.Workers(self.dsn, self._inserts, self._clock(0), count)
        for stream, group in itertools.groupby(units, key=lambda u: u[1]):
            serial, published = self._initial_split(stream, list(group))
            for unit in serial:
                if unit[0] not in done:
                    count(self._initial_unit(*unit, last=unit == units[-1]))
            todo = [u for u in published if u[0] not in done]
            if todo:
                claims.publish(self.conn, todo, self._widths())
                workers.run(self.conn, jobs, lambda conn: claims.pending(conn) > 0)
        return written

    def _initial_split(self, stream: str | None, group: list[Unit]) -> tuple[list[Unit], list[Unit]]:
        """The units of `stream` run one by one here, and those any worker may write."""
        width = self.profile.widths.get(stream) if stream else None
        if stream is None or stream == self.model.size_knob:
            return group, []
        calibrated = CALIBRATION_CHUNKS if width is not None and width.bytes_per_row else 0
        return group[:calibrated], group[calibrated:]

    def _initial_unit(self, unit: str, stream: str | None, first: int, stop: int, *, last: bool) -> int:
        """One unit of the initial load, here and now; the rows it wrote."""
        t0 = time.monotonic()
        with self._unit():
            self._set_clock(0)
            if unit == "initial/reference":
                rows = pipeline.write(self.conn, pipeline.prefetched(self.model.reference_batches()))
            elif stream is None:
                rows = pipeline.write(self.conn, pipeline.prefetched(
                    Statement(op.sql, op.params, name=op.name, rows=op.rows)
                    for op in self.model.history_operations()))
            else:
                rows = {stream: stop - first}
                self._initial_chunk(stream, first, stop)
            ledger.record_unit(self.conn, unit, None, rows, time.monotonic() - t0,
                               clock_hour=0 if last else None, state=self._state())
        return sum(rows.values())

    def _initial_chunk(self, stream: str, first: int, stop: int) -> None:
        width = self.profile.widths.get(stream)
        if stream == self.model.size_knob:
            total = self.schedule.initial(stream)
            median = self.size.knob_median(int(self.schedule.size(np.array([0]))[0]),
                                           measure.database_size(self.conn), 0.0, total - first,
                                           width.preview_max if width else 0)
            pipeline.write(self.conn, pipeline.prefetched(self._inserts(stream, first, stop, self._widths(median))))
            return
        before = measure.relation_size(self.conn, stream)
        pipeline.write(self.conn, pipeline.prefetched(self._inserts(stream, first, stop, self._widths())))
        if width is not None and width.bytes_per_row:
            after = measure.relation_size(self.conn, stream)
            self.size.calibrate(stream, width.bytes_per_row, first, before, stop, after,
                                self.schedule.initial(stream))

    def join(self, jobs: int, report: Callable[[Progress], None]) -> AdvanceResult:
        """Help the run holding the writer lock: write the units it publishes until its initial load is done."""
        claims.ensure(self.conn)
        started, units, written = time.monotonic(), 0, 0

        def count(rows: int) -> None:
            nonlocal units, written
            units, written = units + 1, written + rows
            report(Progress("joined", units, units, None, written, 0, time.monotonic() - started))

        def leader_loading(conn: psycopg.Connection) -> bool:
            return ledger.lock_holder(conn) is not None and \
                conn.execute("SELECT clock_hour IS NULL FROM growth_sim.run").fetchone()[0]

        try:
            parallel.Workers(self.dsn, self._inserts, self._clock(0), count).run(self.conn, jobs, leader_loading)
        except KeyboardInterrupt:
            raise Interrupted("interrupted; the unit in progress was rolled back and is free for another worker") \
                from None
        return self.summary(self.run.clock_hour, units, written, time.monotonic() - started)

    # -- simulated hours -----------------------------------------------------------------------------------
    def run_hours(self, target: int, report: Callable[[Progress], None]) -> tuple[int, int]:
        start = self.run_clock()
        started, written, written_bytes = time.monotonic(), 0, 0
        size_now = measure.database_size(self.conn)
        with pipeline.Prefetch(lambda take: self._hour_steps(start, target, take)) as ahead:
            for plan in self.schedule.hours(start, target):
                written, written_bytes, size_now = self._hour(ahead, plan, target, size_now, written,
                                                              written_bytes)
                report(Progress("hours", plan.hour + 1 - start, target - start, plan.hour + 1, written,
                                written_bytes, time.monotonic() - started))
        return written, written_bytes

    def _hour(self, ahead: pipeline.Prefetch, plan: HourPlan, target: int, size_before: int, written: int,
              written_bytes: int) -> tuple[int, int, int]:
        """One simulated hour as a unit, then the periodic check; the new totals and the database size."""
        t0 = time.monotonic()
        planned_growth = float(plan.size - self.schedule.size(np.array([plan.hour]))[0])
        knob = self.model.size_knob
        width = self.profile.widths.get(knob)
        median = self.size.knob_median(plan.size, size_before, planned_growth, plan.count.get(knob, 0),
                                       width.preview_max if width else 0)
        ahead.give(self._widths(median))
        with self._unit():
            self._set_clock(plan.hour + 1)
            pipeline.write(self.conn, ahead.unit())
            size_after = measure.database_size(self.conn)
            self.size.observe(planned_growth, size_after - size_before, preview_mean(median) * plan.count.get(knob, 0))
            counts = {k: v for k, v in plan.count.items() if v}
            ledger.record_unit(self.conn, f"hour/{plan.hour:05d}", plan.hour, counts, time.monotonic() - t0,
                               clock_hour=plan.hour + 1, state=self._state())
        hour, size_now = plan.hour + 1, size_after
        if hour % self.profile.vacuum_check_hours == 0 or hour == target:
            size_now = self.check(hour, target, size_after)
        return written + sum(counts.values()), written_bytes + size_after - size_before, size_now

    def _hour_steps(self, start: int, target: int, take: Callable[[], Widths]) -> Iterator[Step | object]:
        """Every hour's inserts (parents first), then its updates and deletes at their simulated times.

        Only the size knob's rows wait for the widths the consumer hands over (measured after the previous
        hour); the rest of an hour is generated while the previous one is being written.
        """
        for plan in self.schedule.hours(start, target):
            widths = None
            for stream in self.model.insert_order:
                if plan.count.get(stream):
                    if widths is None and stream == self.model.size_knob:
                        widths = take()
                    first = plan.start[stream]
                    yield from self._inserts(stream, first, first + plan.count[stream],
                                             widths or self._widths())
            for op in self.model.hour_operations(plan):
                yield Statement(op.sql, op.params, self._clock(op.hour))
            if widths is None:
                take()
            yield pipeline.END

    def run_clock(self) -> int:
        clock = self.conn.execute("SELECT clock_hour FROM growth_sim.run").fetchone()[0]
        return int(clock or 0)

    def check(self, hour: int, target: int, db_size: int | None = None) -> int:
        """Measure sizes and bloat, emulate VACUUM, record the measurement; returns the database size.

        `db_size` is the size measured just before, if any: it still holds unless a table is vacuumed.
        """
        bloated = sorted(self.profile.bloat)
        sizes = measure.sizes_and_bloat(self.conn, sorted(self.model.tables), bloated)
        for table in bloated:
            if wants_vacuum(self.profile, table, sizes[table]["bloat_percent"], hour, target):
                self.vacuum(table)
                sizes[table]["vacuumed"] = True
                db_size = None
        if db_size is None:
            db_size = measure.database_size(self.conn)
        ledger.record_measurement(self.conn, hour, db_size, int(self.schedule.size(np.array([hour]))[0]), sizes)
        return db_size

    def vacuum(self, table: str) -> None:
        self.conn.execute(sql.SQL("VACUUM {}").format(sql.Identifier(table)))

    def summary(self, start: int | None, units: int, rows: int, seconds: float) -> AdvanceResult:
        hour = self.run_clock()
        tables = measure.table_sizes(self.conn, sorted(self.model.tables))
        for table, info in tables.items():
            info["rows"] = self.conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
                                             ).fetchone()[0]
            if table in self.schedule.streams:
                info["planned_rows"] = self.schedule.rows(table, hour)
        for table in self.profile.bloat:
            tables[table].update(measure.bloat(self.conn, table))
        db_size = measure.database_size(self.conn)
        return AdvanceResult(start, hour, units, rows, seconds, db_size,
                             int(self.schedule.size(np.array([hour]))[0]), tables)


def _profile_of(run: ledger.Run) -> Profile:
    profile = load_profile(run.profile)
    if profile.content_hash != run.profile_hash:
        raise DatabaseError(
            f"profile {run.profile!r} ({profile.path}) changed since this database was initialised; "
            "restore it, or start a new database with `growth-sim init --force`")
    return profile


def advance(dsn: str, target: str, report: Callable[[Progress], None] = lambda p: None,
            jobs: int | None = None) -> AdvanceResult:
    """Grow the database to `target` (``initial``, ``week-N``, ``+3d``, an ISO time).

    With `jobs`, the initial load's independent chunks are written on that many connections; if another run
    already holds the writer lock, this one joins it and writes the chunks it publishes instead of refusing.
    """
    run = Run(dsn)
    try:
        start = run.run.clock_hour
        target_hour = run.schedule.resolve_target(target, start or 0)
        if jobs is not None and not ledger.try_lock(run.conn):
            return run.join(jobs, report)
        ledger.acquire_lock(run.conn)
        started = time.monotonic()
        run._autovacuum(False)
        rows = 0
        try:
            if start is None:
                rows += run.load_initial(report, jobs or 1)
                run.check(0, target_hour)
            written, _ = run.run_hours(target_hour, report)
            rows += written
        except KeyboardInterrupt:
            raise Interrupted(_interrupted_message(dsn, run.schedule)) from None
        finally:
            run.restore_autovacuum()
        units = (target_hour - (start or 0)) + (len(run.initial_units()) if start is None else 0)
        return run.summary(start, units, rows, time.monotonic() - started)
    except psycopg.OperationalError as exc:
        raise DatabaseError(f"lost the database connection: {exc}; run the same command to resume") from None
    finally:
        run.close()


def _interrupted_message(dsn: str, schedule: Schedule) -> str:
    """Where an interrupted run stopped, read on a new connection (the old one may be mid-COPY)."""
    try:
        with connect(dsn, autocommit=True) as conn:
            hour = conn.execute("SELECT clock_hour FROM growth_sim.run").fetchone()[0]
    except (GrowthSimError, psycopg.Error):
        return "interrupted; the unit in progress was rolled back; run the same command to resume"
    where = "in the initial dataset" if hour is None else \
        f"at simulated hour {hour} ({schedule.time_of(hour):%Y-%m-%d %H:%M})"
    return f"interrupted; the database is consistent {where}; run the same command to resume"
