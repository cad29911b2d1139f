"""The raw-COPY limit: what growth-sim sends to the server, recorded once and replayed with no generation cost.

A recording run is an ordinary `advance` whose connection writes every COPY payload and every statement it
sends to a tape file. Replaying the tape into a fresh database with the same schema performs exactly the same
server work (the same COPY bytes, the same UPDATE/DELETE statements with the same parameters, the same VACUUMs,
the same transactions), minus everything growth-sim computes or measures in between: row generation, size
and bloat measurements, the ledger. The replay's time is the ceiling for the workload on that server.
"""

from __future__ import annotations

import pickle
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import psycopg

from growth_sim.db.connect import connect
from growth_sim.engine import pipeline, session
from growth_sim.engine.advance import advance

# Statements the limit replays: the application's writes, the simulated clock its triggers read, the emulated
# VACUUMs and ANALYZEs, the restore path's index drops and builds and its foreign keys set aside, added and
# validated, the autovacuum switches and session settings. The ledger (schema growth_sim) and the measurements
# are growth-sim's own.
_REPLAYED = re.compile(r"^\s*(COPY|WITH|UPDATE|DELETE|INSERT|VACUUM|ANALYZE|ALTER TABLE|DROP INDEX|CREATE INDEX|SET"
                       r"|SELECT set_config)\b", re.IGNORECASE)
_LEDGER = re.compile(r"\bgrowth_sim\.(run|units|measurements|claims|deferred)\b")
_UNIT_END = re.compile(r"^\s*INSERT INTO growth_sim\.units\b")


class _Recorder:
    """Appends records to the tape as they happen: ("copy", statement), then one ("data", chunk) per chunk the COPY
    sends and ("end",); ("exec", statement, params); ("commit",). Nothing is kept in memory once written."""

    def __init__(self, path: Path) -> None:
        self.file = path.open("wb")
        self.bytes = 0
        self.records = 0

    def add(self, record: tuple) -> None:
        pickle.dump(record, self.file, protocol=pickle.HIGHEST_PROTOCOL)  # one pickle each: no memo to grow
        self.records += 1

    def data(self, chunk: bytes | bytearray | memoryview) -> None:
        self.add(("data", bytes(chunk)))
        self.bytes += len(chunk)

    def statement(self, conn: psycopg.Connection, query: Any, params: Any) -> None:
        text = query if isinstance(query, str) else query.as_string(conn)
        if _UNIT_END.match(text):
            self.add(("commit",))
        elif _REPLAYED.match(text) and not _LEDGER.search(text):
            self.add(("exec", text, params))

    def close(self) -> None:
        self.add(("commit",))
        self.file.close()


class _TapCopy:
    """A COPY whose written data also goes to the tape, chunk by chunk."""

    def __init__(self, copy: psycopg.Copy, recorder: _Recorder) -> None:
        self._copy, self._recorder = copy, recorder

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._recorder.data(data)
        self._copy.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._copy, name)


def _tap_cursor(recorder: _Recorder) -> type[psycopg.Cursor]:
    class TapCursor(psycopg.Cursor):
        def execute(self, query, params=None, **kwargs):  # type: ignore[override]
            recorder.statement(self.connection, query, params)
            return super().execute(query, params, **kwargs)

        @contextmanager
        def copy(self, statement, params=None, **kwargs):  # type: ignore[override]
            text = statement if isinstance(statement, str) else statement.as_string(self.connection)
            recorder.add(("copy", text))
            with super().copy(statement, params, **kwargs) as copy:
                yield _TapCopy(copy, recorder)
            recorder.add(("end",))

    return TapCursor


@dataclass(frozen=True)
class Tape:
    """A recorded workload: its file, the rows growth-sim wrote, the COPY payload bytes and records it holds."""

    path: Path
    rows: int
    copy_bytes: int
    records: int


@contextmanager
def recording(path: Path) -> Iterator[_Recorder]:
    """Within the block, the connection of every run session opened in this process (`growth_sim.engine.session`,
    the one that writes the units) writes what it sends to `path`. A run's rows beside its units
    (`growth_sim.engine.beside`) are on a connection of their own: record a run of one connection."""
    recorder = _Recorder(path)
    cursor = _tap_cursor(recorder)
    plain = session.connect

    def tapped_connect(*args: Any, **kwargs: Any) -> psycopg.Connection:
        conn = plain(*args, **kwargs)
        conn.cursor_factory = cursor
        return conn

    try:
        with mock.patch.object(session, "connect", tapped_connect):
            yield recorder
    finally:
        recorder.close()


def record(dsn: str, target: str, path: Path) -> Tape:
    """Run `advance(dsn, target)` in this process with every statement and COPY payload recorded to `path`."""
    with recording(path) as recorder:
        result = advance(dsn, target)
    return Tape(path, result.rows_written, recorder.bytes, recorder.records)


def _records(path: Path) -> Iterator[tuple]:
    with path.open("rb") as fh:
        while True:
            try:
                yield pickle.load(fh)  # a new unpickler per record: one kept across records memoises them all
            except EOFError:
                return


def replay(dsn: str, tape: Tape) -> float:
    """Perform the tape's server work on `dsn`; returns the seconds it took.

    Each recorded unit is one transaction; consecutive statements go in pipeline mode, as growth-sim sends them.
    COPY data is read from the tape and sent chunk by chunk, the next records read on a background thread while
    the server takes the previous ones: at scale 0.2 the tapes (5.6 GB) do not all stay in the page cache (2.35 GB
    were read from the disk in one run), and a replay that waited for the disk between chunks is not the limit.
    """
    with connect(dsn, autocommit=True) as conn:
        started = time.perf_counter()
        pending: list[tuple] = []
        open_tx = False

        def flush() -> None:
            if pending:
                with conn.pipeline():
                    for _, statement, params in pending:
                        conn.execute(statement, params)
                pending.clear()

        records = pipeline.prefetched(_records(tape.path))  # read ahead on a thread, as growth-sim generates
        for record in records:
            kind = record[0]
            statement = record[1] if kind != "commit" else ""
            vacuum = statement.lstrip().upper().startswith("VACUUM")
            if kind == "commit" or vacuum:  # growth-sim committed what came before (a check's ANALYZEs, say)
                flush()
                if open_tx:
                    conn.execute("COMMIT")
                    open_tx = False
            if kind == "commit":
                continue
            if vacuum:
                conn.execute(statement)  # outside any transaction, as growth-sim runs it
                continue
            if not open_tx:
                conn.execute("BEGIN")
                open_tx = True
            if kind == "copy":
                flush()
                with conn.cursor() as cur, cur.copy(statement) as copy:
                    for data in iter(records.__next__, ("end",)):
                        copy.write(data[1])
            else:
                pending.append(record)
        flush()
        if open_tx:
            conn.execute("COMMIT")
        return time.perf_counter() - started
