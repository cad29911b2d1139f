"""ANALYZEs beside the units: on a connection of their own, as autovacuum's workers analyse beside an application.

The emulated autoanalyze is not the application's work: in production it runs in a worker of its own while the
application writes. Here a batch of ANALYZEs runs on a thread and its own connection (the machine's second
core) while the session writes the next hours. One batch runs at a time; the session learns that it is done at a
later check (`finished`) or at the end of the run (`wait`), and only then records it in the run row's state, so
a batch lost with a crash is analysed again after the resume.
"""

from __future__ import annotations

import threading

import psycopg
from psycopg import sql

from growth_sim.db.connect import connect

ASIDE = True  # False: each batch runs on the caller's connection at once (a benchmark's recording does)


class Analyses:
    """The batch of ANALYZEs running beside the session of `dsn`: table -> [hour, planned rows] of each."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.pending: dict[str, list[int]] = {}
        self._conn: psycopg.Connection | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def start(self, batch: dict[str, list[int]], conn: psycopg.Connection) -> None:
        """Analyse the tables of `batch`, in order; beside `conn` (on this object's connection), or on `conn` at
        once when `ASIDE` is off. The batch before must be done (`wait`)."""
        assert not self.pending, "one batch at a time"
        self.pending = dict(batch)
        if not ASIDE:
            self._analyse(conn)
            return
        if self._conn is None:
            self._conn = connect(self.dsn, autocommit=True)
            self._conn.execute("SET application_name = 'growth-sim'")
        self._thread = threading.Thread(target=self._run, name="growth-sim-analyse", daemon=True)
        self._thread.start()

    def finished(self) -> dict[str, list[int]]:
        """The batch, if it is done (and then no longer pending); else nothing."""
        if self._thread is not None and self._thread.is_alive():
            return {}
        return self.wait()

    def wait(self) -> dict[str, list[int]]:
        """The batch, once it is done; an error it met is raised here, in the caller's thread."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        error, self._error = self._error, None
        if error is not None:
            self.pending = {}
            raise error
        batch, self.pending = self.pending, {}
        return batch

    def close(self) -> None:
        """Cancel what still runs and close the connection."""
        if self._conn is not None:
            if self._thread is not None and self._thread.is_alive():
                self._conn.cancel_safe()
                self._thread.join()
            self._conn.close()
            self._conn = None
        self._thread, self._error, self.pending = None, None, {}

    def _run(self) -> None:
        try:
            assert self._conn is not None
            self._analyse(self._conn)
        except BaseException as exc:  # handed to the caller's thread by `wait`
            self._error = exc

    def _analyse(self, conn: psycopg.Connection) -> None:
        for table in self.pending:
            conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
