"""Units any worker may take: published in the ledger, claimed with ``FOR UPDATE SKIP LOCKED``.

The run holding the writer lock publishes the initial chunks that no longer depend on a measurement (their
widths are frozen in the row), and the index builds and foreign-key validations of the restore path (their
statement is in the row, see `growth_sim.engine.deferred`). Any worker, in this process or another one on any
machine, claims a row inside the transaction that writes the unit: the claim is deleted, the rows and the unit's
ledger row are inserted, all in one commit. A worker that dies rolls back, and its claim is there again for the
next one; two workers never hold the same claim, so every unit is written exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg.types.json import Jsonb

from growth_sim.models.api import Widths

DDL = """
CREATE TABLE IF NOT EXISTS growth_sim.claims (
    unit    text PRIMARY KEY,              -- the ledger name the unit gets when it is done
    stream  text   NOT NULL,
    first   bigint NOT NULL,
    stop    bigint NOT NULL,
    widths  jsonb  NOT NULL                -- the width factors (and knob size) the rows are generated with
);
ALTER TABLE growth_sim.units ADD COLUMN IF NOT EXISTS worker text;  -- who wrote a claimed unit
ALTER TABLE growth_sim.claims ADD COLUMN IF NOT EXISTS statement text;  -- instead of rows: DDL to run
"""


@dataclass(frozen=True)
class Claim:
    """A published unit: rows [first, stop) of `stream`, generated with `widths`; or a `statement` on `stream`."""

    unit: str
    stream: str
    first: int
    stop: int
    widths: Widths
    statement: str | None = None


def ensure(conn: psycopg.Connection) -> None:
    """Create the claims table (databases initialised before it existed get it on their next run).

    Processes started together serialise on a transaction-level advisory lock, so the second one finds the
    table there (two concurrent CREATE TABLE IF NOT EXISTS can both miss it, and one then fails).
    """
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('growth_sim.claims'))")
        conn.execute(DDL)


def publish(conn: psycopg.Connection, units: list[tuple[str, str, int, int]], widths: Widths) -> None:
    """Offer `units` (name, stream, first, stop) to every worker; units already offered stay as they are."""
    state = Jsonb({"factors": widths.factors, "preview_bytes": widths.preview_bytes})
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany("INSERT INTO growth_sim.claims (unit, stream, first, stop, widths) VALUES (%s, %s, %s, %s, %s)"
                        " ON CONFLICT (unit) DO NOTHING", [(u, s, a, b, state) for u, s, a, b in units])


def publish_statements(conn: psycopg.Connection, units: list[tuple[str, str, str]]) -> None:
    """Offer `units` (name, table, statement) to every worker; units already offered stay as they are."""
    empty = Jsonb({"factors": {}, "preview_bytes": 0})
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany("INSERT INTO growth_sim.claims (unit, stream, first, stop, widths, statement)"
                        " VALUES (%s, %s, 0, 0, %s, %s) ON CONFLICT (unit) DO NOTHING",
                        [(u, t, empty, s) for u, t, s in units])


def claim(conn: psycopg.Connection) -> Claim | None:
    """Take the first free unit for the current transaction (its row is gone when the transaction commits)."""
    row = conn.execute(
        "DELETE FROM growth_sim.claims WHERE unit = (SELECT unit FROM growth_sim.claims ORDER BY unit"
        " FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING unit, stream, first, stop, widths, statement").fetchone()
    if row is None:
        return None
    unit, stream, first, stop, widths, statement = row
    return Claim(unit, stream, first, stop, Widths(widths["factors"], widths["preview_bytes"]), statement)


def pending(conn: psycopg.Connection) -> int:
    """Published units not yet written (including those being written right now)."""
    return conn.execute("SELECT count(*) FROM growth_sim.claims").fetchone()[0]
