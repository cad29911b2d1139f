"""An open growth run: a session and the jobs done on it, and how a command gets it back after losing it."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import psycopg

from growth_sim.engine.checks import Checks
from growth_sim.engine.hours import Hours
from growth_sim.engine.initial import InitialLoad
from growth_sim.engine.session import Session
from growth_sim.errors import DatabaseError, GrowthSimError

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

    def close(self) -> None:
        self.session.close()


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
