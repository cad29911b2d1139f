"""The initial dataset: its units (chunks of each table, the restore path's steps), widths calibrated on the
first chunks, workers.

The units run in the model's insert order. A calibrated table's first `CALIBRATION_CHUNKS` chunks, the size
knob's chunks, the reference units and the drops of the restore path (`growth_sim.engine.deferred`) run on the
session, one after the other; the other chunks depend on no measurement and, with the index builds, the foreign
keys' validations and the tables' history, are published as claims (see `growth_sim.engine.claims`) that any
worker writes, on this machine (``--jobs``) or on another that joins the run. A table's index builds wait for its
chunks only, and its history for its index builds: they run beside the COPY of the other tables.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from functools import cached_property

import psycopg
from psycopg import sql

from growth_sim.db import ledger
from growth_sim.engine import claims, deferred, parallel, pipeline
from growth_sim.engine.pipeline import Statement, Step
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
ANALYSE = "initial/~analyse"
KNOB_HISTORY = "initial/~history-of-knob"
DROP_INDEXES = "/~drop-indexes"


@dataclass(frozen=True)
class Unit:
    """A unit of the initial load: rows [first, stop) of `stream`, or a step of the restore path.

    Units of one `phase` run together: first those that are not `published`, here one after the other, then the
    published ones on every worker, each once no unit named with a prefix of `after` is left to write; the next
    phase starts when all are done (unless it overlaps, see `InitialLoad.load`).
    """

    name: str
    phase: str
    stream: str | None = None
    first: int = 0
    stop: int = 0
    statement: str | None = None
    published: bool = False
    after: tuple[str, ...] = ()

    @property
    def chunk(self) -> bool:
        return self.stop > self.first


class InitialLoad:
    """The initial load of one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def units(self) -> list[Unit]:
        """Every unit of the initial load, in order.

        The reference data first, then the restore path (`growth_sim.engine.deferred`): the foreign keys of
        the model's tables set aside, each table's chunks (its indexes and keys dropped once its first chunks
        calibrated its width), then each table's keys and indexes built once its chunks are written, and its
        history's edits once they are built (`_early`), on the built indexes as the application's were, and each
        table analysed once nothing changes it any more (`_to_analyse`); then the foreign keys added and
        validated, the history of the other tables (if any), and the payload knob last, so that
        it absorbs what the rest (dead tuples included) left of the size plan. Foreign keys that refer to the
        knob's table are validated after its rows, and the history of the streams that change them (the
        model's `changed_by` of the knob) runs last.
        """
        session, model = self.session, self.session.model
        steps = self._deferred()
        knob = self._qualified(model.size_knob)
        tables = [t for t in model.insert_order if t != model.size_knob]
        units = [Unit("initial/reference", "reference"), Unit(SET_ASIDE, "reference")]
        for stream in tables:
            units += self._table(stream, steps)
        stream_of = {self._qualified(t): t for t in tables}
        builds = [s for kind in (deferred.INDEX, deferred.KEY) for s in steps if s.kind == kind]
        units += [Unit(s.unit, "indexes", s.table, statement=s.build().as_string(session.conn), published=True,
                       after=(f"initial/{stream_of[s.table]}/",)) for s in builds]
        built = {t: (f"initial/{t}/", *(s.unit for s in builds if stream_of[s.table] == t)) for t in tables}
        units += [Unit(f"{HISTORY}/{t}", "indexes", t, published=True, after=built[t]) for t in self._early]
        units += [Unit(f"{ANALYSE}/{t}", "indexes", t, statement=self._analyse(t), published=True,
                       after=(*built.get(t, ()), *([f"{HISTORY}/{t}"] if t in self._early else [])))
                  for t in self._to_analyse]
        units.append(Unit(FOREIGN_KEYS, "foreign keys"))
        keys = [s for s in steps if s.kind == deferred.FOREIGN_KEY]
        units += [Unit(s.unit, "foreign keys", s.table, statement=s.validate().as_string(session.conn),
                       published=True) for s in keys if s.parent != knob]
        if self._late_history:
            units.append(Unit(HISTORY, "history"))
        units += [Unit(name, model.size_knob, model.size_knob, a, b) for name, a, b in self._chunks(model.size_knob)]
        after = [Unit(s.unit, "knob keys", s.table, statement=s.validate().as_string(session.conn), published=True)
                 for s in keys if s.parent == knob]
        if after or self._knob_streams() or units[-1].published:  # the load ends with a unit of the session's,
            after.append(Unit(KNOB_HISTORY, "knob history"))  # which sets the clock
        return units + after

    def _knob_streams(self) -> frozenset[str]:
        """The streams whose history changes rows of the size knob's table (written after them)."""
        model = self.session.model
        return frozenset(model.changed_by.get(model.size_knob, ()))

    @cached_property
    def _early(self) -> dict[str, frozenset[str]]:
        """The tables whose history runs as soon as their own rows and indexes are in, beside the COPY of the
        others, with the streams of that history.

        Only for a model whose rows point to parents that are never deleted (`Model.keys_by_construction`: the
        history changes no key a foreign key set aside would check, and a table's statements read that table
        only), on a table whose triggers are all BEFORE ... FOR EACH ROW (they compute the row they fire for, and
        read no table still being written), and for streams `changed_by` gives to that table alone.
        """
        model = self.session.model
        if not model.keys_by_construction:
            return {}
        shared = {s for s, n in Counter(s for ss in model.changed_by.values() for s in ss).items() if n > 1}
        streams = {t: frozenset(s) - self._knob_streams() - shared for t, s in model.changed_by.items()
                   if t != model.size_knob and t in model.insert_order}
        triggered = deferred.with_other_triggers(self.session.conn, list(streams))
        return {t: s for t, s in streams.items() if s and t not in triggered}

    def _history(self, streams: Callable[[str], bool]) -> Iterator[Statement]:
        """The history's statements of the `streams` it keeps."""
        session = self.session
        ops = [op for op in session.model.history_operations() if streams(op.name)]  # the others freed now
        for op in ops:
            yield Statement(op.sql, op.params, session.clock(op.hour), name=op.name, rows=op.rows)

    def _late(self, stream: str) -> bool:
        """Whether `stream`'s history runs after the foreign keys are validated (neither early nor the knob's)."""
        return stream not in self._knob_streams() and not any(stream in s for s in self._early.values())

    @cached_property
    def _late_history(self) -> bool:
        """Whether some of the history runs after the foreign keys (`initial/~history`)."""
        return any(self._late(op.name) for op in self.session.model.history_operations())

    @cached_property
    def _to_analyse(self) -> list[str]:
        """The tables the load analyses, as autoanalyze would have before week 0 (see `growth_sim.engine.checks`),
        as soon as nothing changes them any more (their rows and indexes in, their early history done), beside
        the rest: all but the knob's, unless a history runs after the foreign keys (then the first check analyses
        them all, once it is done)."""
        model = self.session.model
        return [] if self._late_history else sorted(model.tables - {model.size_knob})

    def _analyse(self, table: str) -> str:
        return sql.SQL("ANALYZE {}").format(sql.SQL(self._qualified(table))).as_string(self.session.conn)

    def _steps(self) -> parallel.Steps:
        """What a worker writes for a published unit without a statement: a table's history, or rows. What it
        reads of the catalog is read here, on the session's thread: the workers' threads have connections of
        their own and must not use the session's."""
        early, inserts = self._early, self.session.inserts

        def steps(claim: claims.Claim) -> Iterable[Step]:
            if claim.unit.startswith(f"{HISTORY}/"):
                return self._history(early[claim.stream].__contains__)
            return inserts(claim.stream, claim.first, claim.stop, claim.widths)

        return steps

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
        return self._names[table]

    @cached_property
    def _names(self) -> dict[str, str]:
        """Each table of the model as regclass prints it (qualified where the search_path does not find it)."""
        return dict(self.session.conn.execute("SELECT t, t::regclass::text FROM unnest(%s::text[]) AS t",
                                              (sorted(self.session.model.tables),)).fetchall())

    def load(self, report: Callable[[Progress], None], jobs: int = 1) -> None:
        """Write the initial units not done yet; published units go to `jobs` workers.

        A table's units run while the workers still write the tables before it (their foreign keys are set aside),
        unless the table has insert triggers, which may read its parents; the index builds and the early
        histories are published with what each waits for (`Unit.after`); the foreign keys, the other tables'
        history and the size knob wait until everything before them is written.
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

        workers = parallel.Workers(session.dsn, self._steps(), session.clock(0), count)
        ranks = self._ranks(units)
        with workers.started(jobs):
            workers.drain(session.conn)  # what an interrupted run published, before anything is published again
            done = ledger.done_units(session.conn, "initial/")
            if HISTORY in done:  # written by a version that ran every table's history in that one unit
                done |= {u.name for u in units if u.name.startswith(f"{HISTORY}/")}
            finished = len(done)
            for phase, group in itertools.groupby(units, key=lambda u: u.phase):
                if phase not in overlapping:
                    workers.drain(session.conn)
                group = list(group)
                for unit in group:
                    if not unit.published and unit.name not in done:
                        count(self._unit(unit, last=unit == units[-1]))
                if todo := [u for u in group if u.published and u.name not in done]:
                    widths = session.widths()
                    claims.publish(session.conn, [claims.Claim(u.name, u.stream, u.first, u.stop, widths, u.statement,
                                                               ranks[u.name], u.after) for u in todo])
            workers.drain(session.conn)

    def _ranks(self, units: list[Unit]) -> dict[str, int]:
        """The order workers take published units in: the steps (builds, validations, histories) as soon as they
        may run, since the rest of their table waits for them; then the chunks, first those of the tables whose
        early history waits for them."""
        def tier(unit: Unit) -> int:
            return 0 if not unit.chunk else 1 if unit.stream in self._early else 2

        return {u.name: tier(u) * len(units) + k for k, u in enumerate(units)}

    def analysed(self) -> set[str]:
        """The tables the load has analysed (their ANALYZE units done)."""
        return {unit.removeprefix(f"{ANALYSE}/") for unit in ledger.done_units(self.session.conn, f"{ANALYSE}/")}

    def _check_chunks(self, units: list[Unit]) -> None:
        """Refuse to resume a load whose chunks were cut otherwise (by another version of growth-sim): the chunks
        it wrote would overlap those still to write."""
        rows = {u.name: u.stop - u.first for u in units if u.chunk}
        for unit, written in self.session.conn.execute(
                "SELECT unit, rows FROM growth_sim.units WHERE unit LIKE 'initial/%%'").fetchall():
            if unit in rows and sum(written.values()) != rows[unit]:
                raise DatabaseError(
                    f"the initial load of this database was started by another version of growth-sim, which cut "
                    f"its tables otherwise ({unit}: {sum(written.values())} rows, {rows[unit]} now): finish it with "
                    f"that version, or start over (`growth-sim init --force` with its profile, seed and scale)")

    def _overlapping(self) -> set[str]:
        """The phases that may start while earlier published units are still being written: the tables' (but
        those with insert triggers) and the index builds'."""
        model = self.session.model
        tables = [t for t in model.insert_order if t != model.size_knob]
        return {*tables, "indexes"} - deferred.with_insert_triggers(self.session.conn, tables)

    def _unit(self, unit: Unit, *, last: bool) -> int:
        """One unit of the initial load, here and now; the rows it wrote."""
        session, model = self.session, self.session.model
        t0 = time.monotonic()
        rows: dict[str, int] = {}
        with session.unit(0):
            if unit.name == "initial/reference":
                rows = pipeline.write(session.conn, pipeline.prefetched(model.reference_batches()))
            elif unit.name in (HISTORY, KNOB_HISTORY):
                streams = self._late if unit.name == HISTORY else self._knob_streams().__contains__
                rows = pipeline.write(session.conn, pipeline.prefetched(self._history(streams)))
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

        parallel.Workers(session.dsn, self._steps(), session.clock(0), count).run(session.conn, jobs,
                                                                                   leader_loading)
