"""A run's checks: sizes and bloat measured on the server, VACUUM emulated in simulated time.

Every `vacuum.check_every_hours` (and at the target) the tables' sizes are measured, the hot tables' bloat with
pgstattuple, and a table past its set point is vacuumed; each check is a row of the ledger's measurements. Real
autovacuum, which runs on wall-clock time, is held off on the tables whose VACUUM is emulated.
"""

from __future__ import annotations

from typing import Any

from psycopg import sql

from growth_sim.db import ledger
from growth_sim.engine.controller import wants_vacuum
from growth_sim.engine.session import Session
from growth_sim.observe import measure

BLOAT_SAFETY = 4.0  # between bloat readings, a changed row's dead version counts as this many mean tuples


class Checks:
    """The checks of one session, with its latest bloat reading of each table."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._readings: dict[str, tuple[int, dict[str, Any]]] = {}  # this run's latest bloat reading per table

    def autovacuum(self, enabled: bool) -> None:
        """Hold real autovacuum off the tables whose VACUUM is emulated, or hand them back to it.

        It stays off between runs (the simulated clock stands still, so nothing should vacuum the tables);
        `release` hands them back.
        """
        conn = self.session.conn
        with conn.transaction():
            for table in sorted(self.session.profile.bloat):
                action = "RESET (autovacuum_enabled)" if enabled else "SET (autovacuum_enabled = false)"
                conn.execute(sql.SQL("ALTER TABLE {} " + action).format(sql.Identifier(table)))

    def check(self, hour: int, target: int, db_size: int | None = None, *, lazy: bool = False) -> int:
        """Measure sizes and bloat, emulate VACUUM, record the measurement; returns the database size.

        `db_size` is the size measured just before, if any: it still holds unless a table is vacuumed. `lazy`
        (simulated hours of the schedule) reads a table's bloat only when it may have passed its set point
        since the last reading (`_bloat_due`), or at the target: the same VACUUMs, at less cost.
        """
        conn, profile = self.session.conn, self.session.profile
        tables = sorted(self.session.model.tables)
        if lazy and hour != target:
            sizes = measure.table_sizes(conn, tables)
            bloated = [t for t in sorted(profile.bloat) if self._bloat_due(t, hour, sizes[t])]
            if bloated:
                sizes.update(measure.table_sizes(conn, bloated, bloated, fast=True))
        else:
            bloated = sorted(profile.bloat)
            sizes = measure.table_sizes(conn, tables, bloated, fast=True)
        for table in bloated:
            self._readings[table] = (hour, sizes[table])
            if wants_vacuum(profile, table, sizes[table]["bloat_percent"], hour, target):
                self.vacuum(table)
                sizes[table]["vacuumed"] = True
                db_size = None
        if db_size is None:
            db_size = measure.database_size(conn)
        ledger.record_measurement(conn, hour, db_size, self.session.schedule.size_at(hour), sizes)
        return db_size

    def _bloat_due(self, table: str, hour: int, now: dict[str, Any]) -> bool:
        """Whether `table`'s bloat may have passed its set point since this run's last reading of it.

        Between readings (no VACUUM, the heap only grows) dead tuples and free space can only grow by the old
        versions of the rows the hours' updates and deletes changed (at most one per event of the streams in the
        model's `changed_by`) and by the unused end of each new page; each is taken as `BLOAT_SAFETY` times the
        table's mean tuple at the last reading. Every table is read at a run's first check (a unit rolled back
        before it, after a crash or an interrupt, left dead rows no event counts), and tables the model does not
        describe at every check.
        """
        streams = self.session.model.changed_by.get(table)
        if streams is None or table not in self._readings:
            return True
        at, reading = self._readings[table]
        table_len = reading["table_len"]
        mean_tuple = table_len * (1 - reading["bloat_percent"] / 100) / max(reading["tuples"], 1)
        changed = sum(self.session.schedule.between(s, at, hour) for s in streams)
        new_pages = max(0, now["heap"] - table_len) / measure.PAGE_BYTES
        bound = reading["bloat_percent"] / 100 * table_len + BLOAT_SAFETY * mean_tuple * (changed + new_pages)
        return 100 * bound / max(now["heap"], table_len, 1) > self.session.profile.bloat[table].target

    def vacuum(self, table: str) -> None:
        self.session.conn.execute(sql.SQL("VACUUM {}").format(sql.Identifier(table)))
