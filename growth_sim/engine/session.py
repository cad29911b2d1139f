"""A run's session: one connection to the database, what the ledger says it grows, its units of work.

A unit (a chunk of the initial dataset, or one simulated hour) is a transaction on the session's connection,
run at a simulated time, that commits together with its ledger row.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Any

import psycopg
from psycopg import pq

from growth_sim.db import ledger
from growth_sim.db.connect import connect
from growth_sim.engine import deferred, pipeline
from growth_sim.engine.controller import SizeController, nominal_median, preview_mean
from growth_sim.engine.pipeline import Step
from growth_sim.models import model_for
from growth_sim.models.api import Widths
from growth_sim.profile import load_recorded_profile
from growth_sim.timeline.schedule import Schedule


class Session:
    """A connection to a database growth-sim initialised, with what its run row says: the profile and the
    schedule, the model driven along the schedule and the size controller restored from the row's state."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.conn = connect(dsn, autocommit=True)  # units are explicit transactions
        self.conn.execute("SET application_name = 'growth-sim'")
        self.row = ledger.load(self.conn)
        self.profile = load_recorded_profile(self.row.profile, self.row.profile_hash)
        self.use_schedule(Schedule(self.profile, self.row.scale))
        self.size = SizeController.from_state(self.row.state, nominal_median(self.profile, self.model.size_knob))
        # A unit's rows and its ledger row commit together, so a commit lost in a server crash loses both and
        # the unit is simply done again: no need to wait for each commit's WAL flush.
        self.conn.execute("SET synchronous_commit = off")

    @cached_property
    def unchecked(self) -> frozenset[str]:
        """The tables the simulated hours COPY into without the server checking each row's foreign keys.

        The check is the server's biggest share of a COPY into a child table (a locking lookup in each parent
        per row) and leaves nothing in the database but row locks; a model whose rows point to existing parents
        by construction (`Model.keys_by_construction`) does not need it. Only where the role may set
        ``session_replication_role`` (a superuser, as on the private cluster) and never on a table with an
        insert trigger of its own, which that setting would also silence.
        """
        if not self.model.keys_by_construction:
            return frozenset()
        query = ("SELECT has_parameter_privilege('session_replication_role', 'SET')"
                 if self.conn.info.server_version >= 150000 else
                 "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if not self.conn.execute(query).fetchone()[0]:
            return frozenset()
        tables = self.model.insert_order
        return frozenset(tables) - deferred.with_insert_triggers(self.conn, tables)

    def use_schedule(self, schedule: Schedule) -> None:
        """Drive the model along `schedule` (the milestone Schedule, or a subclass such as a rate plan)."""
        self.schedule = schedule
        self.model = model_for(self.profile).build(schedule, self.row.seed)
        self.__dict__.pop("unchecked", None)

    def reload(self) -> None:
        """Read the run row again (after units moved its clock)."""
        self.row = ledger.load(self.conn)

    def close(self) -> None:
        self.conn.close()

    def state(self) -> dict[str, Any]:
        """The run row's state as the next unit commits it: the row's own, and the size controller's."""
        return {**self.row.state, **self.size.to_state()}

    def widths(self, preview_median: int = 0) -> Widths:
        return Widths(self.size.factors, preview_median)

    def clock(self, hour: float) -> str:
        """The simulated time at `hour`, as the statements of a unit see it (ISO)."""
        return self.schedule.time_of(hour).isoformat()

    def inserts(self, stream: str, first: int, stop: int, widths: Widths) -> Iterator[Step]:
        """The rows [first, stop) of a stream, generated in sub-batches (the knob's payload is hex in COPY text)."""
        payload = 2 * preview_mean(widths.preview_bytes) if stream == self.model.size_knob else 0
        return pipeline.sub_batches(lambda a, b: self.model.insert_batch(stream, a, b, widths), first, stop,
                                    row_bytes=payload)

    @contextmanager
    def unit(self, hour: float) -> Iterator[None]:
        """The transaction of one unit of work, its statements seeing the simulated clock at `hour`.

        Interrupted inside a statement (Ctrl-C while a COPY starts or ends), the session stays busy and can neither
        roll back nor run anything else: it is closed, and the server rolls the unit back.
        """
        try:
            with self.conn.transaction():
                try:
                    pipeline.set_clock(self.conn, self.clock(hour))
                    yield
                except BaseException:
                    if self.conn.info.transaction_status == pq.TransactionStatus.ACTIVE:
                        self.conn.close()
                    raise
        except psycopg.Error as exc:
            if isinstance(exc.__context__, KeyboardInterrupt):  # the rollback failed: still an interrupt
                raise KeyboardInterrupt from None
            raise
