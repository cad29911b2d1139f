"""The initial dataset: its units (chunks of each table), widths calibrated on the first chunks, workers.

The units run in the model's insert order. A calibrated table's first `CALIBRATION_CHUNKS` chunks, the size
knob's chunks and the reference and history units run on the session, one after the other, each measured; the
other chunks depend on no measurement and are published as claims (see `growth_sim.engine.claims`) that any
worker writes, on this machine (``--jobs``) or on another that joins the run.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable

import psycopg

from growth_sim.db import ledger
from growth_sim.engine import claims, parallel, pipeline
from growth_sim.engine.pipeline import Statement
from growth_sim.engine.progress import Progress
from growth_sim.engine.session import Session
from growth_sim.observe import measure

INITIAL_CHUNK_ROWS = 20_000
INITIAL_CHUNKS = 10  # at least this many chunks per table, so that widths can be calibrated
CALIBRATION_CHUNKS = 3  # a table's width is calibrated on its first chunks, then frozen for the rest

Unit = tuple[str, str | None, int, int]  # (unit name, stream, first, stop) of the initial load


class InitialLoad:
    """The initial load of one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def units(self) -> list[Unit]:
        """(unit name, stream, first, stop) of the initial load.

        The history's updates come before the payload knob, which goes last so that it absorbs what the rest
        (dead tuples included) left of the size plan.
        """
        model = self.session.model
        units: list[Unit] = [("initial/reference", None, 0, 0)]
        for stream in model.insert_order:
            if stream == model.size_knob:
                continue
            units += self._chunks(stream)
        units.append(("initial/~history", None, 0, 0))
        return units + self._chunks(model.size_knob)

    def _chunks(self, stream: str) -> list[Unit]:
        total = self.session.schedule.initial(stream)
        chunk = max(1, min(INITIAL_CHUNK_ROWS, math.ceil(total / INITIAL_CHUNKS)))
        return [(f"initial/{stream}/{k:05d}", stream, first, min(total, first + chunk))
                for k, first in enumerate(range(0, total, chunk))]

    def load(self, report: Callable[[Progress], None], jobs: int = 1) -> None:
        """Write the initial units not done yet; chunks that depend on no measurement go to `jobs` workers.

        Children wait for their parents: each stream's published chunks are written before the next stream's.
        """
        session = self.session
        units = self.units()
        done = ledger.done_units(session.conn, "initial/")
        claims.ensure(session.conn)
        started, written, finished = time.monotonic(), 0, len(done)

        def count(rows: int) -> None:
            nonlocal written, finished
            written, finished = written + rows, finished + 1
            report(Progress("initial", finished, len(units), None, written, 0, time.monotonic() - started))

        workers = parallel.Workers(session.dsn, session.inserts, session.clock(0), count)
        for stream, group in itertools.groupby(units, key=lambda u: u[1]):
            serial, published = self._split(stream, list(group))
            for unit in serial:
                if unit[0] not in done:
                    count(self._unit(*unit, last=unit == units[-1]))
            todo = [u for u in published if u[0] not in done]
            if todo:
                claims.publish(session.conn, todo, session.widths())
                workers.run(session.conn, jobs, lambda conn: claims.pending(conn) > 0)

    def _split(self, stream: str | None, group: list[Unit]) -> tuple[list[Unit], list[Unit]]:
        """The units of `stream` run one by one here, and those any worker may write."""
        width = self.session.profile.widths.get(stream) if stream else None
        if stream is None or stream == self.session.model.size_knob:
            return group, []
        calibrated = CALIBRATION_CHUNKS if width is not None and width.bytes_per_row else 0
        return group[:calibrated], group[calibrated:]

    def _unit(self, unit: str, stream: str | None, first: int, stop: int, *, last: bool) -> int:
        """One unit of the initial load, here and now; the rows it wrote."""
        session, model = self.session, self.session.model
        t0 = time.monotonic()
        with session.unit(0):
            if unit == "initial/reference":
                rows = pipeline.write(session.conn, pipeline.prefetched(model.reference_batches()))
            elif stream is None:
                rows = pipeline.write(session.conn, pipeline.prefetched(
                    Statement(op.sql, op.params, session.clock(op.hour), name=op.name, rows=op.rows)
                    for op in model.history_operations()))
            else:
                rows = {stream: stop - first}
                self._chunk(stream, first, stop)
            ledger.record_unit(session.conn, unit, None, rows, time.monotonic() - t0,
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
