"""The simulator's own bookkeeping inside the target database (schema ``growth_sim``).

Every unit of work commits in the same transaction as its row in ``growth_sim.units``; the run row holds the
settings the database was initialised with and the simulated clock.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from growth_sim.errors import DatabaseError

SCHEMA = "growth_sim"
_LOCK_KEY = 0x67726F77  # advisory lock: one writer per database

DDL = """
CREATE SCHEMA growth_sim;
COMMENT ON SCHEMA growth_sim IS 'growth-sim ledger: run settings, units of work done, measurements';
CREATE TABLE growth_sim.run (
    id            int PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    profile       text        NOT NULL,
    profile_hash  text        NOT NULL,
    model         text        NOT NULL,
    seed          bigint      NOT NULL,
    scale         float8      NOT NULL,
    version       text        NOT NULL,
    clock_hour    int,                     -- NULL until the initial dataset is complete; then hours since week 0
    state         jsonb       NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE growth_sim.units (
    unit      text PRIMARY KEY,            -- 'initial/<table>/<chunk>' or 'hour/<n>'
    hour      int,
    rows      jsonb NOT NULL DEFAULT '{}',
    seconds   float8,
    done_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE growth_sim.measurements (
    hour          int PRIMARY KEY,
    db_size       bigint NOT NULL,
    planned_size  bigint NOT NULL,
    tables        jsonb  NOT NULL,         -- per table: rows, heap, indexes, toast, bloat, vacuumed
    taken_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);
"""


@dataclass
class Run:
    """The run row: what the database was initialised with, and where its clock stands."""

    profile: str
    profile_hash: str
    model: str
    seed: int
    scale: float
    version: str
    clock_hour: int | None = None
    state: dict[str, Any] = field(default_factory=dict)


def exists(conn: psycopg.Connection) -> bool:
    return conn.execute("SELECT to_regclass('growth_sim.run') IS NOT NULL").fetchone()[0]


def create(conn: psycopg.Connection, run: Run) -> None:
    conn.execute(DDL)
    conn.execute(
        "INSERT INTO growth_sim.run (profile, profile_hash, model, seed, scale, version, state)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (run.profile, run.profile_hash, run.model, run.seed, run.scale, run.version, Jsonb(run.state)))


def insert_sql(run: Run) -> str:
    """`run` as a self-contained INSERT of the run row, values quoted in (a fixture file's ledger)."""
    values = (run.profile, run.profile_hash, run.model, run.seed, run.scale, run.version, run.clock_hour,
              json.dumps(run.state))
    return ("INSERT INTO growth_sim.run (profile, profile_hash, model, seed, scale, version, clock_hour, state)"
            f" VALUES ({', '.join(sql.quote(v) for v in values)});\n")


def load(conn: psycopg.Connection) -> Run:
    """The run row; DatabaseError if the database was never initialised by growth-sim."""
    if not exists(conn):
        raise DatabaseError("this database is not initialised by growth-sim: run `growth-sim init` first")
    try:
        row = conn.execute(
            "SELECT profile, profile_hash, model, seed, scale, version, clock_hour, state FROM growth_sim.run"
        ).fetchone()
    except psycopg.errors.UndefinedColumn:
        raise DatabaseError("this database has a growth_sim.run table that growth-sim did not create: "
                            "use another database") from None
    if row is None:
        raise DatabaseError("this database's growth-sim ledger has no run row: re-initialise it with "
                            "`growth-sim init --force` or use another database")
    return Run(*row)


def clock_hour(conn: psycopg.Connection) -> int | None:
    """The run row's clock: hours since week 0, None until the initial dataset is complete."""
    return conn.execute("SELECT clock_hour FROM growth_sim.run").fetchone()[0]


def done_units(conn: psycopg.Connection, prefix: str) -> set[str]:
    rows = conn.execute("SELECT unit FROM growth_sim.units WHERE unit LIKE %s", (prefix + "%",)).fetchall()
    return {r[0] for r in rows}


def record_unit(conn: psycopg.Connection, unit: str, hour: int | None, rows: dict[str, int], seconds: float,
                *, clock_hour: int | None = None, state: dict[str, Any] | None = None,
                worker: str | None = None) -> None:
    """Record a finished unit (inside the unit's transaction) and move the clock/state with it.

    A claimed unit names its `worker` and leaves the run row alone, so that parallel units never wait on it.
    The unit's tuple counts reach the server's statistics right after its commit (`flush_statistics`).
    """
    flush_statistics(conn)
    if worker is not None:
        conn.execute("INSERT INTO growth_sim.units (unit, hour, rows, seconds, worker) VALUES (%s, %s, %s, %s, %s)",
                     (unit, hour, Jsonb(rows), seconds, worker))
        return
    conn.execute("INSERT INTO growth_sim.units (unit, hour, rows, seconds) VALUES (%s, %s, %s, %s)",
                 (unit, hour, Jsonb(rows), seconds))
    sets, params = ["updated_at = now()"], []
    if clock_hour is not None:
        sets.append("clock_hour = %s")
        params.append(clock_hour)
    if state is not None:
        sets.append("state = %s")
        params.append(Jsonb(state))
    conn.execute(sql.SQL("UPDATE growth_sim.run SET {}").format(sql.SQL(", ").join(map(sql.SQL, sets))), params)


def add_unit_rows(conn: psycopg.Connection, unit: str, rows: dict[str, int]) -> None:
    """Add `rows` to a recorded unit's counts (rows of the unit written in a transaction of their own)."""
    conn.execute("UPDATE growth_sim.units SET rows = rows || %s WHERE unit = %s", (Jsonb(rows), unit))


def unit_rows(conn: psycopg.Connection, unit: str) -> dict[str, int]:
    """A recorded unit's rows per table (none if it is not recorded)."""
    row = conn.execute("SELECT rows FROM growth_sim.units WHERE unit = %s", (unit,)).fetchone()
    return row[0] if row else {}


def flush_statistics(conn: psycopg.Connection) -> None:
    """Have the session's pending statistics flushed at its next idle moment: at once outside a transaction,
    else right after the commit of the one in progress (PostgreSQL 15 and later; before, a collector took them).

    Otherwise they wait up to a second, and an ANALYZE, ours or autovacuum's, that counts the committed rows in
    that second is then overtaken by them: the table's live tuples would count them twice.
    """
    if conn.info.server_version >= 150000:
        conn.execute("SELECT pg_stat_force_next_flush()")


def save_state(conn: psycopg.Connection, state: dict[str, Any]) -> None:
    """Replace the run row's state (a check's decisions between units, inside the check's transaction)."""
    conn.execute("UPDATE growth_sim.run SET state = %s, updated_at = now()", (Jsonb(state),))


def work_since(conn: psycopg.Connection, since: datetime) -> tuple[int, int]:
    """(units, rows) committed since `since` (server time): what one command did, however often it reconnected."""
    units, rows = conn.execute(
        "SELECT count(DISTINCT u.unit), coalesce(sum(v::bigint), 0) FROM growth_sim.units u"
        " LEFT JOIN LATERAL jsonb_each_text(u.rows) AS r(k, v) ON true WHERE u.done_at >= %s", (since,)).fetchone()
    return units, int(rows)


def throughput(conn: psycopg.Connection) -> tuple[int, float]:
    """(rows, seconds) of every unit recorded with its time: how fast this database has been written so far."""
    rows, seconds = conn.execute(
        "SELECT coalesce(sum(r.n), 0), coalesce(sum(u.seconds), 0) FROM growth_sim.units u, LATERAL"
        " (SELECT sum(v::bigint) AS n FROM jsonb_each_text(u.rows) AS e(k, v)) r WHERE u.seconds > 0").fetchone()
    return int(rows), float(seconds)


def initial_rows(conn: psycopg.Connection) -> int:
    """Rows the initial load has written so far (all of them once the clock is set)."""
    return int(conn.execute(
        "SELECT coalesce(sum(v::bigint), 0) FROM growth_sim.units u, jsonb_each_text(u.rows) AS e(k, v)"
        " WHERE u.unit LIKE 'initial/%%'").fetchone()[0])


def record_measurement(conn: psycopg.Connection, hour: int, db_size: int, planned: int,
                       tables: dict[str, dict[str, Any]]) -> None:
    conn.execute(
        "INSERT INTO growth_sim.measurements (hour, db_size, planned_size, tables) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (hour) DO UPDATE SET db_size = excluded.db_size, planned_size = excluded.planned_size,"
        " tables = excluded.tables, taken_at = clock_timestamp()",
        (hour, db_size, planned, Jsonb(tables)))


def measurements(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """All measurements in simulated-time order (for reports and plots)."""
    rows = conn.execute(
        "SELECT hour, db_size, planned_size, tables FROM growth_sim.measurements ORDER BY hour").fetchall()
    return [{"hour": h, "db_size": s, "planned_size": p, "tables": t} for h, s, p, t in rows]


def try_lock(conn: psycopg.Connection) -> bool:
    """Take the database's writer lock for this session if it is free."""
    return conn.execute("SELECT pg_try_advisory_lock(%s)", (_LOCK_KEY,)).fetchone()[0]


def acquire_lock(conn: psycopg.Connection, also: str = "") -> None:
    """Hold the database's writer lock for this session, or refuse clearly (`also`: another way out to offer)."""
    if try_lock(conn):
        return
    holder = lock_holder(conn)
    who = f" (server pid {holder[0]}, {holder[1] or 'unnamed'}, since {holder[2]:%Y-%m-%d %H:%M:%S})" \
        if holder else ""
    raise DatabaseError(f"another growth-sim run is writing to this database{who}; wait for it or stop it{also}")


def lock_holder(conn: psycopg.Connection) -> tuple | None:
    """(server pid, application name, backend start) of the session holding the writer lock, if any."""
    return conn.execute(
        "SELECT a.pid, a.application_name, a.backend_start FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
        " WHERE l.locktype = 'advisory' AND l.objid = %s AND l.granted AND l.database ="
        " (SELECT oid FROM pg_database WHERE datname = current_database())", (_LOCK_KEY,)).fetchone()


def to_json(run: Run) -> str:
    return json.dumps(run.__dict__, default=str)
