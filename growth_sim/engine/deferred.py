"""The restore path of the initial load: indexes, keys and foreign keys set aside while the data is copied.

pg_restore and ``pgbench -i`` copy rows into tables without their indexes and constraints, then build each index
with one sort and check each foreign key with one join, where a loaded table pays a B-tree insert per row and
index and a parent lookup per row and key. The initial load does the same for the model's tables (all its
streams but the size knob, which is written last and measured): the definitions are kept in
``growth_sim.deferred`` in the transaction that drops them, so that a resumed run builds the same ones, and
every drop, build and validation is a unit of the ledger. Primary keys and unique constraints are set aside too
and added back before the foreign keys (which need them) and the history's updates, unless a foreign key that
stays refers to them; exclusion constraints, CHECK constraints and triggers stay.

The result is the schema's own: the same index definitions (``pg_get_indexdef``), the same constraints, all
validated. What differs from a table grown row by row is what the application's past would have left: compact
indexes (the history's edits run after the builds, as they did after the rows were written) and no lock-only
``xmax`` from foreign-key checks on the parents' rows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import psycopg
from psycopg import sql

INDEX, KEY, FOREIGN_KEY = "index", "unique key", "foreign key"  # built in this order (see `plan`)
MAINTENANCE_WORK_MEM = "512MB"  # at least, per build: the largest indexes at scale 1 sort in memory, two at once

DDL = """
CREATE TABLE IF NOT EXISTS growth_sim.deferred (
    position    int  PRIMARY KEY,          -- catalog order, so that builds are published in a stable order
    kind        text NOT NULL,             -- 'unique key', 'index' or 'foreign key'
    table_name  text NOT NULL,             -- the table it is on (qualified as regclass prints it)
    name        text NOT NULL,             -- the index (qualified) or the constraint
    definition  text NOT NULL              -- pg_get_indexdef, or pg_get_constraintdef
);
"""

_CATALOG = """
SELECT %(index)s, i.indrelid::regclass::text, i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
  FROM pg_index i
 WHERE i.indrelid = ANY(%(tables)s::regclass[])
   AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid
                   AND c.contype IN ('p', 'u', 'x'))
UNION ALL
SELECT %(key)s, c.conrelid::regclass::text, c.conname::text, pg_get_constraintdef(c.oid)
  FROM pg_constraint c
 WHERE c.contype IN ('p', 'u') AND c.conrelid = ANY(%(tables)s::regclass[])
   AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = c.conindid
                   AND NOT f.conrelid = ANY(%(keyed)s::regclass[]))
UNION ALL
SELECT %(fk)s, c.conrelid::regclass::text, c.conname::text, pg_get_constraintdef(c.oid)
  FROM pg_constraint c
 WHERE c.contype = 'f' AND c.conrelid = ANY(%(keyed)s::regclass[])
 ORDER BY 1 DESC, 2, 3
"""


@dataclass(frozen=True)
class Deferred:
    """An index or a foreign key the initial load builds after the data."""

    kind: str
    table: str
    name: str
    definition: str

    @property
    def unit(self) -> str:
        """The ledger's name for its build (an index, a key) or its validation (a foreign key)."""
        if self.kind == INDEX:
            return f"initial/~index/{self.name}"
        if self.kind == KEY:
            return f"initial/~key/{self.table}.{self.name}"
        return f"initial/~validate/{self.table}.{self.name}"

    @property
    def parent(self) -> str | None:
        """The table a foreign key refers to (as regclass prints it); None for an index."""
        m = re.search(r" REFERENCES (.+?)\(", self.definition) if self.kind == FOREIGN_KEY else None
        return m.group(1) if m else None

    def drop(self) -> sql.Composable:
        if self.kind == INDEX:
            return sql.SQL("DROP INDEX {}").format(sql.SQL(self.name))
        return sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(sql.SQL(self.table), sql.Identifier(self.name))

    def build(self) -> sql.Composable:
        """The index or the key as the schema defines it, or the foreign key added without checking the rows (see
        `validate`)."""
        if self.kind == INDEX:
            return sql.SQL(self.definition)
        return sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}{}").format(
            sql.SQL(self.table), sql.Identifier(self.name), sql.SQL(self.definition),
            sql.SQL(" NOT VALID" if self.kind == FOREIGN_KEY else ""))

    def validate(self) -> sql.Composable:
        """Check a foreign key's rows: one join, holding no lock that keeps other validations waiting."""
        return sql.SQL("ALTER TABLE {} VALIDATE CONSTRAINT {}").format(sql.SQL(self.table), sql.Identifier(self.name))


def ensure(conn: psycopg.Connection) -> None:
    conn.execute(DDL)


def plan(conn: psycopg.Connection, tables: Iterable[str], keyed: Iterable[str] = ()) -> list[Deferred]:
    """What the load sets aside: the indexes and keys of `tables` and the foreign keys of `tables` and `keyed`,
    as recorded by `set_aside`, or (before it ran) as the catalog has them: keys first, foreign keys last."""
    rows = conn.execute("SELECT kind, table_name, name, definition FROM growth_sim.deferred ORDER BY position"
                        ).fetchall()
    if not rows:
        tables = list(tables)
        rows = conn.execute(_CATALOG, {"tables": tables, "keyed": [*tables, *keyed], "index": INDEX, "key": KEY,
                                       "fk": FOREIGN_KEY}).fetchall()
    return [Deferred(*row) for row in rows]


def restore(conn: psycopg.Connection) -> None:
    """Put back what an interrupted initial load set aside and has not built or validated yet: for a schema that
    outlives its ledger (grown in place), before the ledger is dropped."""
    if conn.execute("SELECT to_regclass('growth_sim.deferred') IS NULL").fetchone()[0]:
        return
    for step in plan(conn, ()):
        if step.kind == INDEX:
            if conn.execute("SELECT to_regclass(%s) IS NULL", (step.name,)).fetchone()[0]:
                conn.execute(step.build())
            continue
        valid = conn.execute("SELECT convalidated FROM pg_constraint WHERE conrelid = %s::regclass AND conname = %s",
                             (step.table, step.name)).fetchone()
        if valid is None:
            conn.execute(step.build())
        if step.kind == FOREIGN_KEY and (valid is None or not valid[0]):
            conn.execute(step.validate())


def set_aside(conn: psycopg.Connection, steps: list[Deferred]) -> None:
    """Record `steps` and drop the foreign keys among them (inside the unit's transaction).

    The indexes and keys are dropped table by table, once the table's widths are calibrated (`drop_indexes`).
    """
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO growth_sim.deferred (position, kind, table_name, name, definition)"
                        " VALUES (%s, %s, %s, %s, %s)",
                        [(n, s.kind, s.table, s.name, s.definition) for n, s in enumerate(steps)])
    for step in steps:
        if step.kind == FOREIGN_KEY:
            conn.execute(step.drop())


def drop_indexes(conn: psycopg.Connection, steps: list[Deferred], table: str) -> None:
    """Drop the indexes and keys `steps` set aside on `table`."""
    for step in steps:
        if step.kind in (INDEX, KEY) and step.table == table:
            conn.execute(step.drop())


def with_insert_triggers(conn: psycopg.Connection, tables: Iterable[str]) -> set[str]:
    """Those of `tables` with a trigger on INSERT (it may read the parents, so their rows must be there first)."""
    return _triggered(conn, tables, "g.tgtype & 4 <> 0")


def with_other_triggers(conn: psycopg.Connection, tables: Iterable[str]) -> set[str]:
    """Those of `tables` with a trigger that is not BEFORE ... FOR EACH ROW (one that is computes its row)."""
    return _triggered(conn, tables, "g.tgtype & 3 <> 3")


def _triggered(conn: psycopg.Connection, tables: Iterable[str], condition: str) -> set[str]:
    """Those of `tables` with a trigger of their own (not a constraint's) whose `pg_trigger` row meets `condition`."""
    rows = conn.execute(sql.SQL("SELECT DISTINCT t.name FROM unnest(%s::text[]) AS t(name)"
                                " JOIN pg_trigger g ON g.tgrelid = t.name::regclass"
                                " WHERE NOT g.tgisinternal AND {}").format(sql.SQL(condition)),
                        (list(tables),)).fetchall()
    return {r[0] for r in rows}


def run(conn: psycopg.Connection, statement: str) -> None:
    """A build or a validation (inside the unit's transaction), with at least `MAINTENANCE_WORK_MEM` for its sort
    (a server set higher keeps its own)."""
    conn.execute("SELECT set_config('maintenance_work_mem', %(m)s, true) WHERE"
                 " pg_size_bytes(current_setting('maintenance_work_mem')) < pg_size_bytes(%(m)s)",
                 {"m": MAINTENANCE_WORK_MEM})
    conn.execute(statement)
