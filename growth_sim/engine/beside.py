"""The streams of a unit that nothing else of it needs, written beside the rest on a connection of their own.

A model names them (`Model.independent_streams`: TaskPilot's attachments, the size knob and an hour's largest
COPY, its activity log and its webhook deliveries): no other row of the unit refers to them and no statement of the
unit reads or changes them. Their parents were written before and are never deleted (`Model.keys_by_construction`)
and their COPY runs without the server's foreign key checks (`Session.unchecked`), so it does not wait for the
transaction that writes the parents. With two connections, `Beside` writes them on a second connection and thread
(the machine's second core) while the session writes the rest of the unit, as an application's requests run on
several backends.

The two transactions commit in order: the unit's first, with its ledger row and, in the run row's state, what the
rows beside are (``beside``: the unit, each stream's ordinals, the size knob's median payload and the simulated
clock); then theirs, which adds their counts to that ledger row. A crash between the two commits leaves the ledger
row without them: `finish` writes the same rows again (same widths, same clock) before the next unit, so the data
is the same whatever the number of connections and wherever a run was stopped.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import Any

import psycopg
from psycopg import pq

from growth_sim.db import ledger
from growth_sim.db.connect import connect
from growth_sim.engine import pipeline
from growth_sim.engine.pipeline import Step
from growth_sim.engine.session import Session
from growth_sim.models.api import Widths

STATE_KEY = "beside"  # the run row's state: {unit, rows: {stream: [first, stop]}, median, end} of the last unit


class Beside:
    """The transaction of the rows beside the unit in progress, on a connection and thread of its own."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._conn: psycopg.Connection | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def start(self, steps: Iterable[Step], end: float) -> None:
        """Begin the transaction at simulated hour `end` and write `steps` in it, on the thread."""
        if self._conn is None:
            self._conn = connect(self.session.dsn, autocommit=True)  # explicit transactions, as the session's
            self._conn.execute("SET application_name = 'growth-sim'")
            self._conn.execute("SET synchronous_commit = off")  # see `Session`
        self._conn.execute("BEGIN")
        pipeline.set_clock(self._conn, self.session.clock(end))
        self._error = None
        self._thread = threading.Thread(target=self._write, args=(steps,), name="growth-sim-beside", daemon=True)
        self._thread.start()

    def wait(self) -> None:
        """Until the rows are written (not committed); an error they met is raised here, in the caller's thread."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        error, self._error = self._error, None
        if error is not None:
            raise error

    def commit(self, unit: str, rows: dict[str, int]) -> None:
        """Commit the rows, after the unit's own transaction: its ledger row gains their counts."""
        assert self._conn is not None and self._thread is None
        ledger.add_unit_rows(self._conn, unit, rows)
        ledger.flush_statistics(self._conn)
        self._conn.execute("COMMIT")

    def abort(self) -> None:
        """Roll the transaction back (the unit failed or was interrupted), cancelling a COPY in progress."""
        if self._conn is None:
            return
        if self._thread is not None:
            if self._thread.is_alive():
                self._conn.cancel_safe()
            self._thread.join()
            self._thread = None
        self._error = None
        if self._conn.closed or self._conn.broken:
            self._conn = None
        elif self._conn.info.transaction_status == pq.TransactionStatus.ACTIVE:
            self.close()  # still inside a statement: closing rolls it back
        else:
            self._conn.execute("ROLLBACK")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _write(self, steps: Iterable[Step]) -> None:
        try:
            assert self._conn is not None
            pipeline.write(self._conn, steps, self.session.unchecked)
        except BaseException as exc:  # handed to the caller's thread by `wait`
            self._error = exc


def steps(session: Session, rows: dict[str, tuple[int, int]], widths: Widths) -> Iterator[Step]:
    """The rows [first, stop) of each stream of `rows`, generated with `widths` (the unit's)."""
    for stream, (first, stop) in rows.items():
        yield from session.inserts(stream, first, stop, widths)


def pending(unit: str, rows: dict[str, tuple[int, int]], median: int, end: float) -> dict[str, Any]:
    """The run row's record of a unit's rows beside, committed with the unit (see `finish`)."""
    return {STATE_KEY: {"unit": unit, "rows": rows, "median": median, "end": end}}


def finish(session: Session) -> int:
    """Write the rows beside the last unit if a crash lost them after the unit committed; how many."""
    beside = session.row.state.get(STATE_KEY)
    if not beside or set(beside["rows"]) <= set(ledger.unit_rows(session.conn, beside["unit"])):
        return 0
    with session.unit(beside["end"]):
        written = pipeline.write(session.conn, steps(session, beside["rows"], session.widths(beside["median"])),
                                 session.unchecked)
        ledger.add_unit_rows(session.conn, beside["unit"], written)
        ledger.flush_statistics(session.conn)
    return sum(written.values())
