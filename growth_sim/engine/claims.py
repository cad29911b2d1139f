"""Units any worker may take: published in the ledger, claimed with ``FOR UPDATE SKIP LOCKED``.

The run holding the writer lock publishes the initial chunks that no longer depend on a measurement (their
widths are frozen in the row), and the index builds and foreign-key validations of the restore path (their
statement is in the row, see `growth_sim.engine.deferred`). Any worker, in this process or another one on any
machine, claims a row inside the transaction that writes the unit: the claim is deleted, the rows and the unit's
ledger row are inserted, all in one commit. A worker that dies rolls back, and its claim is there again for the
next one; two workers never hold the same claim, so every unit is written exactly once.

A claim may wait for others (`Claim.after`: it is taken only once no claim named with one of those prefixes is
left, a table's index builds for its chunks, say); among those that may be taken, the lowest `Claim.rank` first.
A claim is published after those it waits for, so a worker never waits for a unit nobody can take.
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
ALTER TABLE growth_sim.claims ADD COLUMN IF NOT EXISTS rank int NOT NULL DEFAULT 0;  -- taken lowest first
ALTER TABLE growth_sim.claims ADD COLUMN IF NOT EXISTS after text[] NOT NULL DEFAULT '{}';  -- see Claim.after
"""
_EMPTY = Widths({}, 0)


@dataclass(frozen=True)
class Claim:
    """A published unit: rows [first, stop) of `stream`, generated with `widths`; or a `statement` on `stream`;
    or, with neither rows nor statement, a step its worker knows by name (the history of a table).

    It is taken after every claim whose unit name starts with one of `after` is written, `rank` lowest first.
    """

    unit: str
    stream: str
    first: int = 0
    stop: int = 0
    widths: Widths = _EMPTY
    statement: str | None = None
    rank: int = 0
    after: tuple[str, ...] = ()


def ensure(conn: psycopg.Connection) -> None:
    """Create the claims table (databases initialised before it existed get it on their next run).

    Processes started together serialise on a transaction-level advisory lock, so the second one finds the
    table there (two concurrent CREATE TABLE IF NOT EXISTS can both miss it, and one then fails).
    """
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('growth_sim.claims'))")
        conn.execute(DDL)


def publish(conn: psycopg.Connection, units: list[Claim]) -> None:
    """Offer `units` to every worker; units already offered stay as they are."""
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany("INSERT INTO growth_sim.claims (unit, stream, first, stop, widths, statement, rank, after)"
                        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (unit) DO NOTHING",
                        [(u.unit, u.stream, u.first, u.stop,
                          Jsonb({"factors": u.widths.factors, "preview_bytes": u.widths.preview_bytes}),
                          u.statement, u.rank, list(u.after)) for u in units])


def claim(conn: psycopg.Connection) -> Claim | None:
    """Take the first free unit that waits for nothing left, for the current transaction (its row is gone when the
    transaction commits)."""
    row = conn.execute(
        "DELETE FROM growth_sim.claims WHERE unit = (SELECT c.unit FROM growth_sim.claims c WHERE NOT EXISTS ("
        "SELECT FROM growth_sim.claims o, unnest(c.after) AS a(prefix) WHERE starts_with(o.unit, a.prefix)"
        " AND o.unit <> c.unit) ORDER BY c.rank, c.unit FOR UPDATE OF c SKIP LOCKED LIMIT 1)"
        " RETURNING unit, stream, first, stop, widths, statement, rank, after").fetchone()
    if row is None:
        return None
    unit, stream, first, stop, widths, statement, rank, after = row
    return Claim(unit, stream, first, stop, Widths(widths["factors"], widths["preview_bytes"]), statement, rank,
                 tuple(after))


def pending(conn: psycopg.Connection) -> int:
    """Published units not yet written (including those being written right now)."""
    return conn.execute("SELECT count(*) FROM growth_sim.claims").fetchone()[0]
