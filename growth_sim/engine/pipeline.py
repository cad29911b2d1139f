"""The write path: rows generated on a producer thread while the server takes the previous ones.

A unit's work is a sequence of steps: COPY batches (consecutive batches of a table go through one COPY) and
statements (sent in libpq pipeline mode, so an hour's UPDATEs and DELETEs cost no round trip each). The steps
of successive units are produced on a background thread at most `DEPTH` steps ahead of the connection, so
generation (numpy releases the GIL, and the connection's thread waits on the socket) overlaps with the server's
work, the next hour's rows are ready when its unit starts, and memory stays bounded whatever the scale. Large
tables are cut into sub-batches of about `CHUNK_BYTES` of COPY data: the rows are pure functions of their
ordinals, so the cut changes nothing in the data.
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Callable, Container, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg

from growth_sim.generate.batch import BINARY_HEADER, BINARY_TRAILER, Batch

CHUNK_BYTES = 1 << 20  # COPY data per sub-batch
DEPTH = 3  # steps generated ahead of the connection
_FIRST_ROWS = 64  # rows of a table's first sub-batch when its bytes per row are not known


@dataclass(frozen=True)
class Statement:
    """One statement of a unit, run with the simulated clock at `clock` (ISO time) if given.

    `name` and `rows` count it in the unit's ledger row (history operations).
    """

    sql: str
    params: tuple
    clock: str | None = None
    name: str | None = None
    rows: int = 0


Step = Batch | Statement
END = object()  # marks the end of a unit's steps in a producer's stream


def sub_batches(generate: Callable[[int, int], Batch], first: int, stop: int,
                chunk_bytes: int = CHUNK_BYTES, row_bytes: int = 0) -> Iterator[Batch]:
    """`generate(a, b)` over [first, stop) in consecutive ranges of about `chunk_bytes` of COPY data each.

    `row_bytes`, when known beforehand (large payloads), sizes the first range too.
    """
    rows = max(1, chunk_bytes // row_bytes) if row_bytes else _FIRST_ROWS
    while first < stop:
        batch = generate(first, min(stop, first + rows))
        yield batch
        first += batch.rows
        rows = max(1, int(chunk_bytes * batch.rows / max(1, len(batch.data))))


class _Stopped(Exception):
    """The consumer closed the prefetch; the producer ends."""


class Prefetch:
    """Steps of successive units, produced on a background thread at most `depth` steps ahead.

    `produce(take)` yields each unit's steps followed by `END`. Where a unit needs something only the consumer
    knows (a width measured after the previous unit), the producer calls `take()`, which waits for the
    consumer's `give(value)`; everything that depends on nothing measured is generated ahead.
    """

    _DONE = object()

    def __init__(self, produce: Callable[[Callable[[], Any]], Iterable[Any]], depth: int = DEPTH) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._given: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, args=(produce,), name="growth-sim-rows", daemon=True)
        self._thread.start()

    def _produce(self, produce: Callable[[Callable[[], Any]], Iterable[Any]]) -> None:
        try:
            for item in produce(self._take):
                if not self._put((item, None)):
                    return
            self._put((self._DONE, None))
        except _Stopped:
            return
        except BaseException as exc:  # handed to the consuming thread
            self._put((self._DONE, exc))

    def _put(self, entry: tuple) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _take(self) -> Any:
        while not self._stop.is_set():
            try:
                return self._given.get(timeout=0.1)
            except queue.Empty:
                continue
        raise _Stopped

    def give(self, value: Any) -> None:
        """Hand the producer what the next unit needs."""
        self._given.put(value)

    def unit(self) -> Iterator[Step]:
        """The next unit's steps."""
        while True:
            item, error = self._queue.get()
            if item is self._DONE:
                self._thread.join()
                if error is not None:
                    raise error
                raise RuntimeError("the producer ended before the unit did")
            if item is END:
                return
            yield item

    def close(self) -> None:
        """Stop the producer (at the end, after an error or an interrupt of the consumer)."""
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> Prefetch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def prefetched(steps: Iterable[Step]) -> Iterator[Step]:
    """`steps` of one unit, generated on a background thread ahead of their consumer."""
    with Prefetch(lambda take: itertools.chain(steps, [END])) as ahead:
        yield from ahead.unit()


def set_clock(conn: psycopg.Connection, clock: str) -> None:
    """Show the rest of the transaction the simulated time `clock` (ISO): ``growth_sim.now``, which the schema's
    triggers and defaults read in place of ``now()``."""
    conn.execute("SELECT set_config('growth_sim.now', %s, true)", (clock,))


def write(conn: psycopg.Connection, steps: Iterable[Step], unchecked: Container[str] = ()) -> dict[str, int]:
    """Send `steps` on `conn` (inside the caller's transaction); rows per table and per named statement.

    The COPYs into `unchecked` tables run without the server's per-row foreign key checks (see
    `Session.unchecked`); every other statement keeps them.
    """
    rows: dict[str, int] = {}
    nonempty = (step for step in steps if not isinstance(step, Batch) or step.rows)
    for key, group in itertools.groupby(nonempty, key=_group_key):
        if key is None:
            counted = _statements(conn, group)
        else:
            counted = _copy(conn, group, checked=key[0] not in unchecked)
        for name, n in counted.items():
            rows[name] = rows.get(name, 0) + n
    return rows


def _group_key(step: Step) -> tuple[str, tuple[str, ...], bool] | None:
    return (step.table, step.columns, step.binary) if isinstance(step, Batch) else None


def _copy(conn: psycopg.Connection, batches: Iterable[Batch], *, checked: bool = True) -> dict[str, int]:
    """One COPY for consecutive batches of the same table, columns and format; without the foreign keys' row checks
    (``session_replication_role = replica`` for the COPY alone) unless `checked`."""
    batches = iter(batches)
    first = next(batches)
    written = {first.table: 0}
    if not checked:
        conn.execute("SET LOCAL session_replication_role = replica")
    with conn.cursor() as cur, cur.copy(first.statement()) as copy:
        if first.binary:
            copy.write(BINARY_HEADER)
        for batch in itertools.chain([first], batches):
            if batch.rows:
                copy.write(batch.data)
                written[batch.table] += batch.rows
        if first.binary:
            copy.write(BINARY_TRAILER)
    if not checked:
        conn.execute("SET LOCAL session_replication_role = origin")
    return written


def _statements(conn: psycopg.Connection, statements: Iterable[Statement]) -> dict[str, int]:
    """Statements in pipeline mode: sent back to back, results read at the end."""
    counted: dict[str, int] = {}
    clock = None
    with conn.pipeline():
        for st in statements:
            if st.clock is not None and st.clock != clock:
                set_clock(conn, st.clock)
                clock = st.clock
            conn.execute(st.sql, st.params)
            if st.name is not None:
                counted[st.name] = counted.get(st.name, 0) + st.rows
    return counted
