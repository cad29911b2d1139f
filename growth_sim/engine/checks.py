"""A run's checks: sizes and bloat measured on the server, VACUUM and ANALYZE emulated in simulated time.

Every `vacuum.check_every_hours` (and at the target) the tables' sizes are measured, the hot tables' bloat with
pgstattuple, and a table past its set point is vacuumed; each check is a row of the ledger's measurements. Real
autovacuum, which runs on wall-clock time, is held off on the tables whose VACUUM is emulated.

ANALYZE follows autoanalyze's trigger in simulated time on every table the model writes (the held ones, and the
insert-only ones whose real autoanalyze follows the wall clock while a simulated week passes in minutes): when the
rows inserted, updated and deleted since the table's last analyse, counted from the schedule, pass
``autovacuum_analyze_threshold + autovacuum_analyze_scale_factor x rows at the last analyse`` (the server's
settings or the table's own). Counted from the schedule, not from the server's `n_mod_since_analyze`, the same run
analyses at the same hours however it was split; the hour and planned rows of each table's last analyse live in
the run row's state (``analysed``). The quiet hours before a target hold VACUUM, not ANALYZE. The ANALYZEs run
on the session's connection, between two units: one running beside the units would hold back the pruning of the
tuples they kill for as long as it runs, so the bloat of the steered tables would depend on its timing. (The
initial load analyses its tables beside its other units, see `growth_sim.engine.initial`: nothing it runs
beside them prunes.)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg import sql

from growth_sim.db import ledger
from growth_sim.engine.controller import wants_vacuum
from growth_sim.engine.session import Session
from growth_sim.observe import measure

STATE_KEY = "analysed"  # the run row's state: {table: [hour, planned rows]} of each table's last analyse
OWN_KEY = "autovacuum_own"  # the run row's state: {table: [autovacuum_enabled, its TOAST's]} a schema grown in
# place had set itself before its first run (a table missing, or None: the server's default)
BLOAT_SAFETY = 4.0  # between bloat readings, a changed row's dead version counts as this many mean tuples


class Checks:
    """The checks of one session, with its latest bloat reading of each table."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._readings: dict[str, tuple[int, dict[str, Any]]] = {}  # this run's latest bloat reading per table
        self._triggers: dict[str, tuple[int, float]] | None = None  # per table: analyse threshold, scale factor
        self._analysed_before: set[str] = set()  # analysed by the initial load since the last check

    def autovacuum(self, enabled: bool) -> None:
        """Hold real autovacuum off the tables whose VACUUM is emulated, or hand them back to it.

        Until the initial load is done (the clock has not started) it is held off every table the model writes,
        and their TOAST: the load calibrates widths on the tables' measured sizes, which a VACUUM between two
        chunks would change (its free space map lets the next rows fill pages they would have added), so the
        data would depend on when autovacuum came. It stays off between runs (the simulated clock stands still,
        so nothing should vacuum the tables); `release` hands every table back, with the settings a schema grown
        in place had of its own (``autovacuum_own``).
        """
        conn, profile = self.session.conn, self.session.profile
        loading = not enabled and ledger.clock_hour(conn) is None
        own = self.session.row.state.get(OWN_KEY, {})
        with conn.transaction():
            for table in sorted({*self.session.model.insert_order, *profile.bloat}):
                heap, toast = own.get(table, (None, None))
                if loading:
                    heap, toast = False, False
                elif table in profile.bloat and not enabled:
                    heap = False
                conn.execute(set_autovacuum(sql.Identifier(table), heap, toast))

    def check(self, hour: int, target: int, db_size: int | None = None, *, lazy: bool = False) -> int:
        """Emulate ANALYZE (recording the analyses in the run row's state), measure sizes and bloat, emulate
        VACUUM, record the measurement; returns the database size.

        `db_size` is the size measured just before, if any: it still holds unless a table is vacuumed or
        analysed. `lazy` (simulated hours of the schedule) reads a table's bloat only when it may have passed its
        set point since the last reading (`_bloat_due`), or at the target: the same VACUUMs, at less cost.
        """
        conn, profile = self.session.conn, self.session.profile
        tables = sorted(self.session.model.tables)
        due = self.analyse_due(hour)
        if due or self._analysed_before:  # first, so that the measurement holds the statistics as they are left
            with conn.transaction():  # (each unit's statistics were flushed at its commit)
                for table in due:
                    conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
                    self._analysed[table] = [hour, self._planned_rows(table, hour)]
                ledger.save_state(conn, self.session.state())
            db_size = None
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
        for table in {*due, *self._analysed_before}:
            sizes[table]["analysed"] = True
        self._analysed_before = set()
        if db_size is None:
            db_size = measure.database_size(conn)
        ledger.record_measurement(conn, hour, db_size, self.session.schedule.size_at(hour), sizes)
        return db_size

    def analysed_at(self, hour: int, tables: Iterable[str]) -> None:
        """Take `tables` as analysed at `hour` by someone else (the initial load, beside its other units): the next
        check records them in the run row's state and marks them in its measurement."""
        for table in sorted(set(tables) - set(self._analysed)):
            self._analysed[table] = [hour, self._planned_rows(table, hour)]
            self._analysed_before.add(table)

    def analyse_due(self, hour: int) -> list[str]:
        """The tables autoanalyze would analyse at `hour`: every table of the model not analysed yet (after the
        initial load: all of them, as production would have), and each written table whose modifications since
        its last analyse, counted from the schedule, pass its trigger."""
        written = self._written()
        due = []
        for table in sorted(self.session.model.tables):
            last = self._analysed.get(table)
            if last is None:
                due.append(table)
            elif table in written and hour > last[0]:
                threshold, scale_factor = self._trigger(table)
                if self._modified(written[table], last[0], hour) > threshold + scale_factor * last[1]:
                    due.append(table)
        return due

    @property
    def _analysed(self) -> dict[str, list[int]]:
        return self.session.row.state.setdefault(STATE_KEY, {})

    def _written(self) -> dict[str, tuple[str, ...]]:
        """Each table the simulated hours write, with the streams whose events modify it (its own inserts, then
        the updates and deletes of `changed_by`)."""
        model = self.session.model
        written = {t: (t,) for t in model.insert_order}
        for table, streams in model.changed_by.items():
            written[table] = (*written.get(table, ()), *streams)
        return written

    def _modified(self, streams: tuple[str, ...], start: int, stop: int) -> int:
        between = self.session.schedule.between
        return sum(between(s, start, stop) for s in streams if s in self.session.schedule.streams)

    def _planned_rows(self, table: str, hour: int) -> int:
        """The rows the schedule plans for `table` at `hour` (what ANALYZE's reltuples then holds); the reference
        tables, written once, count 0: nothing but the initial load writes them."""
        schedule = self.session.schedule
        return schedule.rows(table, hour) if table in schedule.streams else 0

    def _trigger(self, table: str) -> tuple[int, float]:
        """(autovacuum_analyze_threshold, autovacuum_analyze_scale_factor) of `table`: its own reloptions,
        else the server's settings."""
        if self._triggers is None:
            rows = self.session.conn.execute(
                """SELECT t.name,
                          coalesce((SELECT option_value FROM pg_options_to_table(c.reloptions)
                                    WHERE option_name = 'autovacuum_analyze_threshold'),
                                   current_setting('autovacuum_analyze_threshold'))::int,
                          coalesce((SELECT option_value FROM pg_options_to_table(c.reloptions)
                                    WHERE option_name = 'autovacuum_analyze_scale_factor'),
                                   current_setting('autovacuum_analyze_scale_factor'))::float8
                   FROM unnest(%s::text[]) AS t(name)
                   LEFT JOIN pg_class c ON c.oid = to_regclass(quote_ident(t.name))""",
                (sorted(self.session.model.tables),)).fetchall()
            self._triggers = {name: (threshold, factor) for name, threshold, factor in rows}
        return self._triggers[table]

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


def own_autovacuum(conn: psycopg.Connection, schema: str, tables: Iterable[str]) -> dict[str, list[bool | None]]:
    """The `autovacuum_enabled` of each of `tables` in `schema` and of its TOAST table, where one is set."""
    rows = conn.execute(
        "SELECT c.relname, (SELECT v::bool FROM pg_options_to_table(c.reloptions) o(k, v) WHERE k = %(k)s),"
        " (SELECT v::bool FROM pg_options_to_table(t.reloptions) o(k, v) WHERE k = %(k)s)"
        " FROM pg_class c LEFT JOIN pg_class t ON t.oid = c.reltoastrelid"
        " WHERE c.relnamespace = %(s)s::regnamespace AND c.relname = ANY(%(t)s)",
        {"k": "autovacuum_enabled", "s": schema, "t": sorted(tables)}).fetchall()
    return {name: [heap, toast] for name, heap, toast in rows if (heap, toast) != (None, None)}


def set_autovacuum(table: sql.Composable, heap: bool | None, toast: bool | None) -> sql.Composed:
    """The ALTER TABLE that sets `autovacuum_enabled` of `table` and of its TOAST (None: back to the default)."""
    options = [(sql.SQL("autovacuum_enabled"), heap), (sql.SQL("toast.autovacuum_enabled"), toast)]
    sets = [sql.SQL("{} = {}").format(name, sql.Literal(value)) for name, value in options if value is not None]
    resets = [name for name, value in options if value is None]
    actions = []
    if sets:
        actions.append(sql.SQL("SET ({})").format(sql.SQL(", ").join(sets)))
    if resets:
        actions.append(sql.SQL("RESET ({})").format(sql.SQL(", ").join(resets)))
    return sql.SQL("ALTER TABLE {} {}").format(table, sql.SQL(", ").join(actions))
