"""The initial dataset: its units (chunks of each table, the restore path's steps), widths calibrated on the
first chunks, workers.

The units run in the model's insert order. A calibrated table's first `CALIBRATION_CHUNKS` chunks, the size
knob's chunks, the reference and history units and the drops of the restore path (`growth_sim.engine.deferred`)
run on the session, one after the other; the other chunks depend on no measurement and, with the index builds
and the foreign keys' validations, are published as claims (see `growth_sim.engine.claims`) that any worker
writes, on this machine (``--jobs``) or on another that joins the run.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import psycopg

from growth_sim.db import ledger
from growth_sim.engine import claims, deferred, parallel, pipeline
from growth_sim.engine.pipeline import Statement
from growth_sim.engine.progress import Progress
from growth_sim.engine.session import Session
from growth_sim.errors import DatabaseError
from growth_sim.observe import measure

INITIAL_CHUNK_ROWS = 20_000
INITIAL_CHUNKS = 10  # at least this many chunks per table, so that widths can be calibrated
CALIBRATION_CHUNKS = 3  # a table's width is calibrated on its first chunks, then frozen for the rest
CALIBRATION_ROWS = 3_000  # at most, per calibrating chunk: they are written on the session alone, indexes and all
SET_ASIDE = "initial/~set-aside"
FOREIGN_KEYS = "initial/~foreign-keys"
HISTORY = "initial/~history"
KNOB_HISTORY = "initial/~history-of-knob"
DROP_INDEXES = "/~drop-indexes"


@dataclass(frozen=True)
class Unit:
    """A unit of the initial load: rows [first, stop) of `stream`, or a step of the restore path.

    Units of one `phase` run together: first those that are not `published`, here one after the other, then the
    published ones on every worker; the next phase starts when all are done.
    """

    name: str
    phase: str
    stream: str | None = None
    first: int = 0
    stop: int = 0
    statement: str | None = None
    published: bool = False


class InitialLoad:
    """The initial load of one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def units(self) -> list[Unit]:
        """Every unit of the initial load, in order.

        The reference data first, then the restore path (`growth_sim.engine.deferred`): the foreign keys of
        the model's tables set aside, each table's chunks (its indexes and keys dropped once its first chunks
        calibrated its width), the keys and indexes built, the foreign keys added and validated. Then the history's
        edits, on the built indexes as the application's were, and the payload knob last, so that it absorbs
        what the rest (dead tuples included) left of the size plan. Foreign keys that refer to the knob's table
        are validated after its rows, and the history of the streams that change them (the model's `changed_by`
        of the knob) runs last.
        """
        session, model = self.session, self.session.model
        steps = self._deferred()
        knob = self._qualified(model.size_knob)
        units = [Unit("initial/reference", "reference"), Unit(SET_ASIDE, "reference")]
        for stream in model.insert_order:
            if stream != model.size_knob:
                units += self._table(stream, steps)
        units += [Unit(s.unit, "indexes", s.table, statement=s.build().as_string(session.conn), published=True)
                  for s in steps if s.kind in (deferred.KEY, deferred.INDEX)]
        units.append(Unit(FOREIGN_KEYS, "foreign keys"))
        keys = [s for s in steps if s.kind == deferred.FOREIGN_KEY]
        units += [Unit(s.unit, "foreign keys", s.table, statement=s.validate().as_string(session.conn),
                       published=True) for s in keys if s.parent != knob]
        units.append(Unit(HISTORY, "history"))
        units += [Unit(name, model.size_knob, model.size_knob, a, b) for name, a, b in self._chunks(model.size_knob)]
        after = [Unit(s.unit, "knob keys", s.table, statement=s.validate().as_string(session.conn), published=True)
                 for s in keys if s.parent == knob]
        if after or self._knob_streams():  # the load ends with a unit of the session's, which sets the clock
            after.append(Unit(KNOB_HISTORY, "knob history"))
        return units + after

    def _knob_streams(self) -> frozenset[str]:
        """The streams whose history changes rows of the size knob's table (written after them)."""
        model = self.session.model
        return frozenset(model.changed_by.get(model.size_knob, ()))

    def _history(self, of_knob: bool) -> list[Statement]:
        """The history's statements: those of the knob's table, or those of the others."""
        session, knob = self.session, self._knob_streams()
        return [Statement(op.sql, op.params, session.clock(op.hour), name=op.name, rows=op.rows)
                for op in session.model.history_operations() if (op.name in knob) == of_knob]

    def _table(self, stream: str, steps: list[deferred.Deferred]) -> list[Unit]:
        """A table's chunks: those that calibrate its width, the drop of its indexes, the published rest."""
        width = self.session.profile.widths.get(stream)
        calibrated = CALIBRATION_CHUNKS if width is not None and width.bytes_per_row else 0
        chunks = [Unit(name, stream, stream, a, b, published=True) for name, a, b in self._chunks(stream, calibrated)]
        head = [replace(u, published=False) for u in chunks[:calibrated]]
        table = self._qualified(stream)
        drop = [Unit(f"initial/{stream}{DROP_INDEXES}", stream, stream)] if any(
            s.kind in (deferred.KEY, deferred.INDEX) and s.table == table for s in steps) else []
        return head + drop + chunks[calibrated:]

    def _chunks(self, stream: str, calibrated: int = 0) -> list[tuple[str, int, int]]:
        """The table's chunks: the first `calibrated` ones of at most `CALIBRATION_ROWS` rows, then the rest."""
        total = self.session.schedule.initial(stream)
        chunk = max(1, min(INITIAL_CHUNK_ROWS, math.ceil(total / INITIAL_CHUNKS)))
        head = min(chunk, CALIBRATION_ROWS)
        firsts = [*range(0, min(total, calibrated * head), head), *range(calibrated * head, total, chunk)]
        return [(f"initial/{stream}/{k:05d}", first, min(total, first + (head if k < calibrated else chunk)))
                for k, first in enumerate(firsts)]

    def _deferred(self) -> list[deferred.Deferred]:
        model = self.session.model
        return deferred.plan(self.session.conn, [t for t in model.insert_order if t != model.size_knob],
                             [model.size_knob])

    def _qualified(self, table: str) -> str:
        return self.session.conn.execute("SELECT %s::regclass::text", (table,)).fetchone()[0]

    def load(self, report: Callable[[Progress], None], jobs: int = 1) -> None:
        """Write the initial units not done yet; published units go to `jobs` workers.

        A table's units run while the workers still write the tables before it (their foreign keys are set aside),
        unless the table has insert triggers, which may read its parents; the index builds, the foreign keys,
        the history and the size knob wait until everything before them is written.
        """
        session = self.session
        claims.ensure(session.conn)
        deferred.ensure(session.conn)
        units = self.units()
        self._check_chunks(units)
        overlapping = self._overlapping()
        started, written, finished, lock = time.monotonic(), 0, 0, threading.Lock()

        def count(rows: int) -> None:
            nonlocal written, finished
            with lock:
                written, finished = written + rows, finished + 1
                report(Progress("initial", finished, len(units), None, written, 0, time.monotonic() - started))

        workers = parallel.Workers(session.dsn, session.inserts, session.clock(0), count)
        with workers.started(jobs):
            workers.drain(session.conn)  # what an interrupted run published, before anything is published again
            done = ledger.done_units(session.conn, "initial/")
            finished = len(done)
            for phase, group in itertools.groupby(units, key=lambda u: u.phase):
                if phase not in overlapping:
                    workers.drain(session.conn)
                group = list(group)
                for unit in group:
                    if not unit.published and unit.name not in done:
                        count(self._unit(unit, last=unit == units[-1]))
                todo = [u for u in group if u.published and u.name not in done]
                if rows := [(u.name, u.stream, u.first, u.stop) for u in todo if u.statement is None]:
                    claims.publish(session.conn, rows, session.widths())
                if statements := [(u.name, u.stream, u.statement) for u in todo if u.statement is not None]:
                    claims.publish_statements(session.conn, statements)
            workers.drain(session.conn)

    def _check_chunks(self, units: list[Unit]) -> None:
        """Refuse to resume a load whose chunks were cut otherwise (by another version of growth-sim): the chunks
        it wrote would overlap those still to write."""
        rows = {u.name: u.stop - u.first for u in units if u.stream is not None and u.stop > u.first}
        for unit, written in self.session.conn.execute(
                "SELECT unit, rows FROM growth_sim.units WHERE unit LIKE 'initial/%%'").fetchall():
            if unit in rows and sum(written.values()) != rows[unit]:
                raise DatabaseError(
                    f"the initial load of this database was started by another version of growth-sim, which cut "
                    f"its tables otherwise ({unit}: {sum(written.values())} rows, {rows[unit]} now): finish it with "
                    f"that version, or start over (`growth-sim init --force` with its profile, seed and scale)")

    def _overlapping(self) -> set[str]:
        """The tables whose units may run while earlier tables' published chunks are still being written."""
        model = self.session.model
        tables = [t for t in model.insert_order if t != model.size_knob]
        return set(tables) - deferred.with_insert_triggers(self.session.conn, tables)

    def _unit(self, unit: Unit, *, last: bool) -> int:
        """One unit of the initial load, here and now; the rows it wrote."""
        session, model = self.session, self.session.model
        t0 = time.monotonic()
        rows: dict[str, int] = {}
        with session.unit(0):
            if unit.name == "initial/reference":
                rows = pipeline.write(session.conn, pipeline.prefetched(model.reference_batches()))
            elif unit.name in (HISTORY, KNOB_HISTORY):
                rows = pipeline.write(session.conn, pipeline.prefetched(self._history(unit.name == KNOB_HISTORY)))
            elif unit.name == SET_ASIDE:
                deferred.set_aside(session.conn, self._deferred())
            elif unit.name == FOREIGN_KEYS:
                for step in self._deferred():
                    if step.kind == deferred.FOREIGN_KEY:
                        session.conn.execute(step.build())
            elif unit.name.endswith(DROP_INDEXES):
                deferred.drop_indexes(session.conn, self._deferred(), self._qualified(unit.stream))
            else:
                rows = {unit.stream: unit.stop - unit.first}
                self._chunk(unit.stream, unit.first, unit.stop)
            ledger.record_unit(session.conn, unit.name, None, rows, time.monotonic() - t0,
                               clock_hour=0 if last else None, state=session.state())
        return sum(rows.values())

    def _chunk(self, stream: str, first: int, stop: int) -> None:
        session = self.session
        width = session.profile.widths.get(stream)
        if stream == session.model.size_knob:
            total = session.schedule.initial(stream)
            median = session.size.knob_median(session.schedule.size_at(0),
                                              measure.database_size(session.conn), 0.0, total - first,
                                              width.preview_max if width else 0)
            pipeline.write(session.conn, pipeline.prefetched(
                session.inserts(stream, first, stop, session.widths(median))))
            return
        before = measure.relation_size(session.conn, stream)
        pipeline.write(session.conn, pipeline.prefetched(session.inserts(stream, first, stop, session.widths())))
        if width is not None and width.bytes_per_row:
            after = measure.relation_size(session.conn, stream)
            session.size.calibrate(stream, width.bytes_per_row, first, before, stop, after,
                                   session.schedule.initial(stream))

    def join(self, jobs: int, report: Callable[[Progress], None]) -> None:
        """Join the run holding the writer lock: write the units it publishes until its initial load is done."""
        session = self.session
        claims.ensure(session.conn)
        started, units, written = time.monotonic(), 0, 0

        def count(rows: int) -> None:
            nonlocal units, written
            units, written = units + 1, written + rows
            report(Progress("joined", units, units, None, written, 0, time.monotonic() - started))

        def leader_loading(conn: psycopg.Connection) -> bool:
            return ledger.lock_holder(conn) is not None and ledger.clock_hour(conn) is None

        parallel.Workers(session.dsn, session.inserts, session.clock(0), count).run(session.conn, jobs,
                                                                                   leader_loading)
