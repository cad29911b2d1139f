"""An open growth run: a session and the jobs done on it; how a command gets it back after losing its connection,
and what it says when it is interrupted (`reconnect` and `interrupted`, shared by `advance` and `steady`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext

import psycopg

from growth_sim.db import ledger
from growth_sim.db.connect import connect
from growth_sim.engine import beside
from growth_sim.engine.checks import Checks
from growth_sim.engine.hours import Hours
from growth_sim.engine.initial import InitialLoad
from growth_sim.engine.progress import Progress
from growth_sim.engine.session import Session
from growth_sim.errors import DatabaseError, GrowthSimError, first_line

log = logging.getLogger(__name__)
RECONNECT_DELAYS = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)  # seconds between reconnection attempts (1 min in all)


class Interrupted(GrowthSimError):
    """Ctrl-C or SIGTERM: the current unit was rolled back; the ledger says where to resume."""

    exit_code = 130


class Run:
    """A session on a database and its jobs: the initial load, the simulated hours and the checks."""

    def __init__(self, dsn: str) -> None:
        self.session = Session(dsn)
        self.checks = Checks(self.session)
        self.initial = InitialLoad(self.session)
        self.hours = Hours(self.session, self.checks)

    def hold(self, also: str = "") -> None:
        """Take the database's writer lock, hold autovacuum off the tables whose VACUUM is emulated (`also`: a
        way out the refusal offers besides waiting) and write the rows beside the last unit that a crash lost
        after the unit committed (`beside.finish`)."""
        ledger.acquire_lock(self.session.conn, also)
        self.checks.autovacuum(False)
        beside.finish(self.session)

    def load_initial(self, report: Callable[[Progress], None], target: int, jobs: int = 1) -> None:
        """The initial load on `jobs` connections, autovacuum handed back the tables it held off but the bloat ones
        (`Checks.autovacuum`), and the first check (which analyses the tables the load did not)."""
        self.initial.load(report, jobs)
        self.checks.autovacuum(False)
        self.checks.analysed_at(0, self.initial.analysed())
        self.checks.check(0, target)

    def close(self) -> None:
        self.hours.close()
        self.session.close()


def reconnect(run: Run, lost: psycopg.OperationalError, delays: Iterator[float], *, then: str = "resume",
              waiting: Callable[[], AbstractContextManager[object]] = nullcontext,
              take: Callable[[Run], Run] = lambda run: run) -> Run:
    """A new Run in place of `run`, whose connection `lost` broke, made after the next of `delays` (seconds).

    A server error on a connection that still works is no lost connection: it stops the run (the unit in
    progress rolled back), with a message that says to run the same command to `then`. The waits happen inside
    `waiting()`; `take(new)` readies the new run and may lose its connection too, which starts the next wait.
    Once `delays` run out, or when the database no longer exists, the run stops.
    """
    if not run.session.conn.closed and not run.session.conn.broken:
        raise DatabaseError(f"the server stopped the run: {first_line(lost)}; the unit in progress was rolled back; "
                            f"run the same command to {then}") from None
    run.close()
    while True:
        with waiting():
            fresh = _connect_again(run.session.dsn, delays, lost)
        try:
            return take(fresh)
        except psycopg.OperationalError as again:
            lost = again


def _connect_again(dsn: str, delays: Iterator[float], lost: psycopg.Error) -> Run:
    """A new Run after a lost connection, waiting the next delays while the server is unreachable."""
    reason = first_line(lost)
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


def interrupted(dsn: str, at: Callable[[ledger.Run], str], *, say_rolled_back: bool = False) -> Interrupted:
    """Ctrl-C or SIGTERM as the error that says where the run left the database.

    The run row is read on a new connection (the run's own may be mid-COPY); `at(row)` names where a clock that
    has left the initial dataset stands. With `say_rolled_back` the message also says that the unit in progress
    was rolled back, as it always says when the run row cannot be read.
    """
    try:
        with connect(dsn, autocommit=True) as conn:
            row = ledger.load(conn)
        where = "in the initial dataset" if row.clock_hour is None else at(row)
    except (GrowthSimError, psycopg.Error):
        return Interrupted("interrupted; the unit in progress was rolled back; run the same command to resume")
    rolled_back = "the unit in progress was rolled back; " if say_rolled_back else ""
    return Interrupted(f"interrupted; {rolled_back}the database is consistent {where}; run the same command to resume")
