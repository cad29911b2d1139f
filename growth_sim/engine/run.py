"""`growth-sim advance`: run the schedule's units against the database, exactly once each.

A unit (a chunk of the initial dataset, or one simulated hour) commits together with its ledger row. After
each unit the size is measured and the controller adjusts the next one; every `vacuum.check_every_hours`
the hot tables' bloat is measured with pgstattuple and VACUUM is emulated in simulated time.
"""

from __future__ import annotations

import itertools
import logging
import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg import pq, sql

from growth_sim.db import ledger
from growth_sim.db.connect import connect
from growth_sim.engine import claims, parallel, pipeline
from growth_sim.engine.controller import SizeController, nominal_median, preview_mean, wants_vacuum
from growth_sim.engine.pipeline import Statement, Step
from growth_sim.errors import DatabaseError, GrowthSimError
from growth_sim.models import model_module
from growth_sim.models.taskpilot.rows import Widths
from growth_sim.observe import measure
from growth_sim.profile import load_recorded_profile
from growth_sim.timeline.schedule import HourPlan, Schedule

INITIAL_CHUNK_ROWS = 20_000
INITIAL_CHUNKS = 10  # at least this many chunks per table, so that widths can be calibrated
CALIBRATION_CHUNKS = 3  # a table's width is calibrated on its first chunks, then frozen for the rest
BLOAT_SAFETY = 4.0  # between bloat readings, a changed row's dead version counts as this many mean tuples
log = logging.getLogger(__name__)
RECONNECT_DELAYS = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)  # seconds between reconnection attempts (1 min in all)


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
        self.profile = load_recorded_profile(self.run.profile, self.run.profile_hash)
        self.use_schedule(Schedule(self.profile, self.run.scale))
        self.size = SizeController.from_state(self.run.state, nominal_median(self.profile, self.model.size_knob))
        self._readings: dict[str, tuple[int, dict[str, Any]]] = {}  # this run's latest bloat reading per table
        # A unit's rows and its ledger row commit together, so a commit lost in a server crash loses both and
        # the unit is simply done again: no need to wait for each commit's WAL flush.
        self.conn.execute("SET synchronous_commit = off")

    def use_schedule(self, schedule: Schedule) -> None:
        """Drive the model along `schedule` (the milestone Schedule, or a subclass such as a rate plan)."""
        self.schedule = schedule
        self.model = model_module(self.profile.model).build(schedule, self.run.seed)

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
        pipeline.set_clock(self.conn, self._clock(hour))

    def _inserts(self, stream: str, first: int, stop: int, widths: Widths) -> Iterator[Step]:
        """The rows [first, stop) of a stream, generated in sub-batches (the knob's payload is hex in COPY text)."""
        payload = 2 * preview_mean(widths.preview_bytes) if stream == self.model.size_knob else 0
        return pipeline.sub_batches(lambda a, b: self.model.insert_batch(stream, a, b, widths), first, stop,
                                    row_bytes=payload)


    @contextmanager
    def _unit(self) -> Iterator[None]:
        """The transaction of one unit of work.

        Interrupted inside a statement (Ctrl-C while a COPY starts or ends), the session stays busy and can neither
        roll back nor run anything else: it is closed, and the server rolls the unit back.
        """
        try:
            with self.conn.transaction():
                try:
                    yield
                except BaseException:
                    if self.conn.info.transaction_status == pq.TransactionStatus.ACTIVE:
                        self.conn.close()
                    raise
        except psycopg.Error as exc:
            if isinstance(exc.__context__, KeyboardInterrupt):  # the rollback failed: still an interrupt
                raise KeyboardInterrupt from None
            raise

    def autovacuum(self, enabled: bool) -> None:
        """Real autovacuum runs on wall-clock time; it is held off on the tables whose VACUUM is emulated.

        It stays off between runs (the simulated clock stands still, so nothing should vacuum the tables);
        `release` hands them back.
        """
        with self.conn.transaction():
            for table in sorted(self.profile.bloat):
                action = "RESET (autovacuum_enabled)" if enabled else "SET (autovacuum_enabled = false)"
                self.conn.execute(sql.SQL("ALTER TABLE {} " + action).format(sql.Identifier(table)))

    # -- the initial dataset --------------------------------------------------------------------------------
    def initial_units(self) -> list[Unit]:
        """(unit name, stream, first, stop) of the initial load.

        The history's updates come before the payload knob, which goes last so that it absorbs what the rest
        (dead tuples included) left of the size plan.
        """
        units: list[Unit] = [("initial/reference", None, 0, 0)]
        for stream in self.model.insert_order:
            if stream == self.model.size_knob:
                continue
            units += self._initial_chunks(stream)
        units.append(("initial/~history", None, 0, 0))
        return units + self._initial_chunks(self.model.size_knob)

    def _initial_chunks(self, stream: str) -> list[Unit]:
        total = self.schedule.initial(stream)
        chunk = max(1, min(INITIAL_CHUNK_ROWS, math.ceil(total / INITIAL_CHUNKS)))
        return [(f"initial/{stream}/{k:05d}", stream, first, min(total, first + chunk))
                for k, first in enumerate(range(0, total, chunk))]

    def load_initial(self, report: Callable[[Progress], None], jobs: int = 1) -> None:
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
                    Statement(op.sql, op.params, self._clock(op.hour), name=op.name, rows=op.rows)
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
            median = self.size.knob_median(self.schedule.size_at(0),
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

    def join(self, jobs: int, report: Callable[[Progress], None]) -> None:
        """Join the run holding the writer lock: write the units it publishes until its initial load is done."""
        claims.ensure(self.conn)
        started, units, written = time.monotonic(), 0, 0

        def count(rows: int) -> None:
            nonlocal units, written
            units, written = units + 1, written + rows
            report(Progress("joined", units, units, None, written, 0, time.monotonic() - started))

        def leader_loading(conn: psycopg.Connection) -> bool:
            return ledger.lock_holder(conn) is not None and ledger.clock_hour(conn) is None

        parallel.Workers(self.dsn, self._inserts, self._clock(0), count).run(self.conn, jobs, leader_loading)

    # -- simulated hours -----------------------------------------------------------------------------------
    def run_hours(self, target: int, report: Callable[[Progress], None]) -> None:
        start = self.run_clock()
        started, written, written_bytes = time.monotonic(), 0, 0
        size_now = measure.database_size(self.conn)

        def every_hour(take: Callable[[], Widths]) -> Iterator[Step | object]:
            for plan in self.schedule.hours(start, target):
                yield from self._plan_steps(plan, plan.hour + 1, take)
                yield pipeline.END

        with pipeline.Prefetch(every_hour) as ahead:
            for plan in self.schedule.hours(start, target):
                planned_growth = float(plan.size - self.schedule.size_at(plan.hour))
                counts, size_after = self.run_unit(plan, f"hour/{plan.hour:05d}", plan.hour + 1, planned_growth,
                                                   size_now, ahead)
                written += sum(counts.values())
                written_bytes += size_after - size_now
                size_now = size_after
                hour = plan.hour + 1
                if hour % self.profile.vacuum_check_hours == 0 or hour == target:
                    size_now = self.check(hour, target, size_after, lazy=True)
                report(Progress("hours", hour - start, target - start, hour, written, written_bytes,
                                time.monotonic() - started))

    def run_unit(self, plan: HourPlan, unit: str, end: float, planned_growth: float, size_now: int,
                 ahead: pipeline.Prefetch | None = None) -> tuple[dict[str, int], int]:
        """Write `plan` (an hour, or a slice of one ending at simulated hour `end`) with its ledger row.

        Statements run with the simulated clock at their slice's end, never past `end`. Returns the unit's
        counts and the database size measured after it; the ledger's clock moves to ``floor(end)``. With
        `ahead` (producing `_plan_steps` of successive plans), the rows were generated while earlier units ran.
        """
        t0 = time.monotonic()
        knob = self.model.size_knob
        width = self.profile.widths.get(knob)
        median = self.size.knob_median(plan.size, size_now, planned_growth, plan.count.get(knob, 0),
                                       width.preview_max if width else 0)
        widths = self._widths(median)
        if ahead is None:
            steps = pipeline.prefetched(self._plan_steps(plan, end, lambda: widths))
        else:
            ahead.give(widths)
            steps = ahead.unit()
        with self._unit():
            self._set_clock(end)
            pipeline.write(self.conn, steps)
            size_after = measure.database_size(self.conn)
            self.size.observe(planned_growth, size_after - size_now, preview_mean(median) * plan.count.get(knob, 0))
            counts = {k: v for k, v in plan.count.items() if v}
            ledger.record_unit(self.conn, unit, plan.hour, counts, time.monotonic() - t0,
                               clock_hour=math.floor(end), state=self._state())
        return counts, size_after

    def _plan_steps(self, plan: HourPlan, end: float, widths: Callable[[], Widths]) -> Iterator[Step]:
        """A unit's inserts (parents first), then its updates and deletes at their simulated times (<= `end`).

        Only the size knob's rows need `widths()` (it waits for the size measured after the previous unit, and
        is called exactly once per unit); the rest is generated without waiting.
        """
        knob_widths = None
        for stream in self.model.insert_order:
            if plan.count.get(stream):
                if knob_widths is None and stream == self.model.size_knob:
                    knob_widths = widths()
                first = plan.start[stream]
                yield from self._inserts(stream, first, first + plan.count[stream], knob_widths or self._widths())
        for op in self.model.hour_operations(plan):
            yield Statement(op.sql, op.params, self._clock(min(op.hour, end)))
        if knob_widths is None:
            widths()

    def run_clock(self) -> int:
        return ledger.clock_hour(self.conn) or 0

    def check(self, hour: int, target: int, db_size: int | None = None, *, lazy: bool = False) -> int:
        """Measure sizes and bloat, emulate VACUUM, record the measurement; returns the database size.

        `db_size` is the size measured just before, if any: it still holds unless a table is vacuumed. `lazy`
        (simulated hours of the schedule) reads a table's bloat only when it may have passed its set point
        since the last reading (`_bloat_due`), or at the target: the same VACUUMs, at less cost.
        """
        tables = sorted(self.model.tables)
        if lazy and hour != target:
            sizes = measure.table_sizes(self.conn, tables)
            bloated = [t for t in sorted(self.profile.bloat) if self._bloat_due(t, hour, sizes[t])]
            if bloated:
                sizes.update(measure.table_sizes(self.conn, bloated, bloated, fast=True))
        else:
            bloated = sorted(self.profile.bloat)
            sizes = measure.table_sizes(self.conn, tables, bloated, fast=True)
        for table in bloated:
            self._readings[table] = (hour, sizes[table])
            if wants_vacuum(self.profile, table, sizes[table]["bloat_percent"], hour, target):
                self.vacuum(table)
                sizes[table]["vacuumed"] = True
                db_size = None
        if db_size is None:
            db_size = measure.database_size(self.conn)
        ledger.record_measurement(self.conn, hour, db_size, self.schedule.size_at(hour), sizes)
        return db_size

    def _bloat_due(self, table: str, hour: int, now: dict[str, Any]) -> bool:
        """Whether `table`'s bloat may have passed its set point since this run's last reading of it.

        Between readings (no VACUUM, the heap only grows) dead tuples and free space can only grow by the old
        versions of the rows the hours' updates and deletes changed (at most one per event of the streams in the
        model's `changed_by`) and by the unused end of each new page; each is taken as `BLOAT_SAFETY` times the
        table's mean tuple at the last reading. Every table is read at a run's first check (a unit rolled back
        before it, after a crash or an interrupt, left dead rows no event counts), and tables the model does not
        describe at every check.
        """
        streams = getattr(self.model, "changed_by", {}).get(table)
        if streams is None or table not in self._readings:
            return True
        at, reading = self._readings[table]
        table_len = reading["table_len"]
        mean_tuple = table_len * (1 - reading["bloat_percent"] / 100) / max(reading["tuples"], 1)
        changed = sum(self.schedule.between(s, at, hour) for s in streams)
        new_pages = max(0, now["heap"] - table_len) / measure.PAGE_BYTES
        bound = reading["bloat_percent"] / 100 * table_len + BLOAT_SAFETY * mean_tuple * (changed + new_pages)
        return 100 * bound / max(now["heap"], table_len, 1) > self.profile.bloat[table].target

    def vacuum(self, table: str) -> None:
        self.conn.execute(sql.SQL("VACUUM {}").format(sql.Identifier(table)))

    def grow(self, target_hour: int, report: Callable[[Progress], None], jobs: int = 1) -> None:
        """Take the writer lock and run every unit still to do up to `target_hour` (initial chunks on `jobs`)."""
        ledger.acquire_lock(self.conn)
        self.autovacuum(False)
        if self.run.clock_hour is None:
            self.load_initial(report, jobs)
            self.check(0, target_hour)
        self.run_hours(target_hour, report)

    def summary(self, start: int | None, since: datetime, seconds: float) -> AdvanceResult:
        """What the units committed since `since` (server time) did, and where the database stands."""
        hour = self.run_clock()
        units, rows = ledger.work_since(self.conn, since)
        tables = measure.table_sizes(self.conn, sorted(self.model.tables), sorted(self.profile.bloat))
        for table, info in tables.items():
            info["rows"] = self.conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
                                             ).fetchone()[0]
            if table in self.schedule.streams:
                info["planned_rows"] = self.schedule.rows(table, hour)
        db_size = measure.database_size(self.conn)
        return AdvanceResult(start, hour, units, rows, seconds, db_size,
                             self.schedule.size_at(hour), tables)


def advance(dsn: str, target: str, report: Callable[[Progress], None] = lambda p: None,
            retry_delays: Sequence[float] = RECONNECT_DELAYS, jobs: int | None = None) -> AdvanceResult:
    """Grow the database to `target` (``initial``, ``week-N``, ``+3d``, an ISO time).

    A lost connection (server restart, network) is retried after each of `retry_delays` seconds, resuming
    from the ledger; other server errors stop the run with the unit in progress rolled back. With `jobs`, the
    initial load's independent chunks are written on that many connections, and if another run already holds
    the writer lock this one joins it (writes the chunks it publishes, then summarises) instead of refusing.
    """
    run = Run(dsn)
    try:
        start = run.run.clock_hour
        if "steady" in run.run.state:
            raise GrowthSimError("this database has grown at a steady rate past the milestone schedule; "
                                 "`advance` cannot rejoin it: keep growing it with `growth-sim steady`")
        target_hour = run.schedule.resolve_target(target, start or 0)
        since = run.conn.execute("SELECT clock_timestamp()").fetchone()[0]
        started = time.monotonic()
        if jobs is not None and not ledger.try_lock(run.conn):
            run.join(jobs, report)
            return run.summary(start, since, time.monotonic() - started)
        delays = iter(retry_delays)
        while True:
            try:
                run.grow(target_hour, report, jobs or 1)
                return run.summary(start, since, time.monotonic() - started)
            except psycopg.OperationalError as exc:
                if not run.conn.closed and not run.conn.broken:
                    raise DatabaseError(f"the server stopped the run: {_first_line(exc)}; the unit in progress "
                                        "was rolled back; run the same command to resume") from None
                run.close()
                run = _reconnect(dsn, delays, exc)
    except KeyboardInterrupt:
        raise Interrupted(_interrupted_message(dsn, run.schedule)) from None
    finally:
        run.close()


def release(dsn: str) -> list[str]:
    """Give the tables whose VACUUM the runs emulate back to the server's autovacuum; returns their names."""
    run = Run(dsn)
    try:
        ledger.acquire_lock(run.conn)
        run.autovacuum(True)
        return sorted(run.profile.bloat)
    finally:
        run.close()


def _reconnect(dsn: str, delays: Iterator[float], lost: psycopg.Error) -> Run:
    """A new Run after a lost connection, waiting the next delays while the server is unreachable."""
    reason = _first_line(lost)
    for delay in delays:
        log.warning("lost the database connection (%s); reconnecting in %g s", reason, delay)
        time.sleep(delay)
        try:
            return Run(dsn)
        except DatabaseError as exc:
            reason = str(exc)
            if "does not exist" in reason:  # dropped or renamed: it will not come back
                raise DatabaseError(f"the database went away during the run: {reason}") from None
    raise DatabaseError(f"lost the database connection ({reason}); run the same command to resume")


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _interrupted_message(dsn: str, schedule: Schedule) -> str:
    """Where an interrupted run stopped, read on a new connection (the old one may be mid-COPY)."""
    try:
        with connect(dsn, autocommit=True) as conn:
            hour = ledger.clock_hour(conn)
    except (GrowthSimError, psycopg.Error):
        return "interrupted; the unit in progress was rolled back; run the same command to resume"
    where = "in the initial dataset" if hour is None else \
        f"at simulated hour {hour} ({schedule.time_of(hour):%Y-%m-%d %H:%M})"
    return f"interrupted; the database is consistent {where}; run the same command to resume"
