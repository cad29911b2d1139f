"""An application's schema as the server's catalog describes it, read once and kept as plain data (JSON).

`read_catalog` asks ``pg_class``, ``pg_attribute``, ``pg_constraint``, ``pg_type``, ``pg_enum``, ``pg_index``
and ``pg_trigger`` about one schema of a database: the current schema of a scratch database into which the
application's DDL was just loaded, or the schema of an existing database that already holds the application's
tables. The result is written next to the DDL (``app.catalog.json``), or next to the profile for an existing
database, so that validating a profile needs no server.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from growth_sim.errors import ModelError

VERSION = 2  # 2: the columns indexes hold


@dataclass(frozen=True)
class Column:
    """One column: `kind` is the base type's name (a domain's base type, an array's element type)."""

    name: str
    type: str  # as format_type() writes it
    kind: str  # int2, int4, int8, numeric, float8, bool, text, varchar, bpchar, uuid, timestamptz, ..., enum
    not_null: bool
    has_default: bool
    identity: str = ""  # 'a' (ALWAYS), 'd' (BY DEFAULT) or ''
    generated: bool = False
    serial: bool = False  # a default from a sequence
    array: bool = False
    length: int | None = None  # varchar(n) / char(n)
    precision: int | None = None  # numeric(p, s)
    scale: int | None = None
    labels: tuple[str, ...] = ()  # enum labels, in order
    domain: str = ""
    domain_checks: tuple[str, ...] = ()  # the domain's CHECK definitions (with VALUE)


@dataclass(frozen=True)
class ForeignKey:
    name: str
    columns: tuple[str, ...]
    parent: str
    parent_columns: tuple[str, ...]
    on_delete: str  # a (no action), r (restrict), c (cascade), n (set null), d (set default)


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    unique: tuple[tuple[str, ...], ...] = ()  # unique constraints and unique indexes on plain columns
    partial_unique: tuple[tuple[str, tuple[str, ...], str], ...] = ()  # (index, columns, predicate)
    foreign_keys: tuple[ForeignKey, ...] = ()
    checks: tuple[tuple[str, str], ...] = ()  # (name, definition)
    triggers: tuple[str, ...] = ()
    expression_indexes: tuple[str, ...] = ()  # unique indexes on expressions (names)
    indexed: tuple[str, ...] = ()  # columns some index holds

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


@dataclass(frozen=True)
class Catalog:
    tables: tuple[Table, ...]
    ddl_sha256: str = ""
    unsupported: tuple[str, ...] = field(default=())  # schema features found that no rule covers
    schema: str = ""  # the database schema read in place (`growth-sim profile new --dsn`); "" for a DDL file

    def table(self, name: str) -> Table:
        return next(t for t in self.tables if t.name == name)

    def to_json(self) -> str:
        return json.dumps({"version": VERSION, **asdict(self)}, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Catalog:
        raw = json.loads(text)
        if raw.pop("version", None) != VERSION:
            raise ValueError("written by another version")
        tables = []
        for t in raw["tables"]:
            columns = tuple(Column(**{k: tuple(v) if isinstance(v, list) else v for k, v in c.items()})
                            for c in t["columns"])
            fks = tuple(ForeignKey(f["name"], tuple(f["columns"]), f["parent"], tuple(f["parent_columns"]),
                                   f["on_delete"]) for f in t["foreign_keys"])
            tables.append(Table(
                t["name"], columns, tuple(t["primary_key"]), tuple(tuple(u) for u in t["unique"]),
                tuple((p[0], tuple(p[1]), p[2]) for p in t["partial_unique"]), fks,
                tuple((c[0], c[1]) for c in t["checks"]), tuple(t["triggers"]), tuple(t["expression_indexes"]),
                tuple(t["indexed"])))
        return cls(tuple(tables), raw["ddl_sha256"], tuple(raw["unsupported"]), raw.get("schema", ""))

    def fingerprint(self) -> str:
        """A hash of what was read (tables and unsupported features): equal for the same schema read twice."""
        read = json.dumps([asdict(t) for t in self.tables] + list(self.unsupported))
        return hashlib.sha256(read.encode()).hexdigest()


def ddl_hash(ddl: str) -> str:
    return hashlib.sha256(ddl.encode()).hexdigest()


def catalog_path(schema: Path) -> Path:
    """Where the catalog of DDL file `schema` is kept: ``app.sql`` -> ``app.catalog.json``."""
    return schema.with_suffix(".catalog.json")


def read_catalog_file(path: Path, again: str) -> Catalog:
    """The catalog in file `path`; `ModelError` (ending with `again`, how to read it) if missing or unreadable."""
    try:
        return Catalog.from_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"catalog {path} does not exist; {again}") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"catalog {path}: unreadable ({exc}); {again}") from None


def load_catalog(schema: Path) -> Catalog:
    """The catalog kept next to `schema`; `ModelError` if it is missing or older than the DDL file."""
    path = catalog_path(schema)
    try:
        ddl = schema.read_text(encoding="utf-8")
    except OSError as exc:
        raise ModelError(f"schema file {schema}: cannot be read: {exc.strerror or exc}") from None
    again = f"run `growth-sim profile new --schema {schema} -o NEW.toml` to read it"
    if not path.exists():
        raise ModelError(f"schema file {schema} has no catalog {path.name} yet; {again}")
    catalog = read_catalog_file(path, f"{again} again")
    if catalog.ddl_sha256 != ddl_hash(ddl):
        raise ModelError(f"schema file {schema} changed since its catalog {path.name} was read; {again} again")
    return catalog


_COLUMNS = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull OR t.typnotnull, a.atthasdef,
       a.attidentity, a.attgenerated <> '', coalesce(pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%%', false),
       t.typtype, t.typname, bt.typname, et.typname, a.atttypmod, coalesce(bt.typtypmod, -1), t.oid, bt.oid,
       et.oid
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = %(schema)s
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_type bt ON bt.oid = t.typbasetype AND t.typtype = 'd'
LEFT JOIN pg_type et ON et.oid = coalesce(nullif(bt.typelem, 0), nullif(t.typelem, 0))
         AND coalesce(bt.typcategory, t.typcategory) = 'A'
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
ORDER BY c.relname, a.attnum"""

_CONSTRAINTS = """
SELECT c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid),
       ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY u(n, i)
             JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.i)::text[],
       p.relname,
       ARRAY(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY u(n, i)
             JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.i)::text[],
       k.confdeltype
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = %(schema)s
LEFT JOIN pg_class p ON p.oid = k.confrelid
ORDER BY c.relname, k.conname"""

_UNIQUE_INDEXES = """
SELECT c.relname, i.relname, x.indexprs IS NOT NULL, pg_get_expr(x.indpred, x.indrelid),
       ARRAY(SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY u(n, o)
             JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = u.n ORDER BY u.o)::text[]
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class c ON c.oid = x.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = %(schema)s
WHERE x.indisunique AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = x.indexrelid)
ORDER BY c.relname, i.relname"""

_INDEXED = """
SELECT DISTINCT c.relname, a.attname FROM pg_index x
JOIN pg_class c ON c.oid = x.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = %(schema)s
JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = ANY (x.indkey)
ORDER BY 1, 2"""

_TRIGGERS = """
SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = %(schema)s
WHERE NOT t.tgisinternal ORDER BY 1, 2"""

_ENUMS = "SELECT enumtypid, array_agg(enumlabel::text ORDER BY enumsortorder) FROM pg_enum GROUP BY 1"
_DOMAIN_CHECKS = """
SELECT k.contypid, array_agg(pg_get_constraintdef(k.oid) ORDER BY k.conname) FROM pg_constraint k
WHERE k.contypid <> 0 AND k.contype = 'c' GROUP BY 1"""
_OTHER = """
SELECT 'partitioned or inherited table ' || c.relname FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = %(schema)s
WHERE c.relispartition OR c.relkind = 'p' OR EXISTS (SELECT FROM pg_inherits i WHERE i.inhrelid = c.oid)
UNION ALL
SELECT 'exclusion constraint ' || k.conname || ' on ' || c.relname FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = %(schema)s
WHERE k.contype = 'x'"""


def read_catalog(conn: psycopg.Connection, schema: str, ddl: str = "") -> Catalog:
    """Schema `schema` of the database behind `conn`: the one into which DDL file text `ddl` was just loaded, or
    (`ddl` empty) one read in place, whose name the catalog keeps."""
    with conn.transaction():
        before = conn.execute("SELECT current_setting('search_path')").fetchone()[0]
        # Type names and constraint definitions as the schema's own clients see them, whatever the connection's.
        conn.execute("SELECT set_config('search_path', quote_ident(%s), true)", (schema,))
        catalog = _read(conn, schema, ddl)
        conn.execute("SELECT set_config('search_path', %s, true)", (before,))
    return catalog


def _read(conn: psycopg.Connection, schema: str, ddl: str) -> Catalog:
    named = {"schema": schema}
    enums = dict(conn.execute(_ENUMS).fetchall())
    domain_checks = dict(conn.execute(_DOMAIN_CHECKS).fetchall())
    columns: dict[str, list[Column]] = {}
    for (table, name, type_, not_null, has_default, identity, generated, serial, typtype, typname, base, elem,
         typmod, base_typmod, oid, base_oid, elem_oid) in conn.execute(_COLUMNS, named).fetchall():
        mod = typmod if typmod >= 0 else base_typmod
        element = elem if elem else None
        kind = element or base or typname
        kind_oid = elem_oid or base_oid or oid
        length = precision = scale = None
        if kind in ("varchar", "bpchar") and mod >= 4:
            length = mod - 4
        if kind == "numeric" and mod >= 4:
            precision, scale = ((mod - 4) >> 16) & 0xFFFF, (mod - 4) & 0xFFFF
        labels = tuple(enums.get(kind_oid, ()))
        columns.setdefault(table, []).append(Column(
            name=name, type=type_, kind="enum" if labels else kind, not_null=not_null,
            has_default=has_default, identity=identity, generated=generated, serial=serial,
            array=element is not None, length=length, precision=precision, scale=scale, labels=labels,
            domain=typname if typtype == "d" else "", domain_checks=tuple(domain_checks.get(oid, ()))))
    parts: dict[str, dict] = {t: {"primary_key": (), "unique": [], "partial_unique": [], "foreign_keys": [],
                                  "checks": [], "triggers": [], "expression_indexes": [], "indexed": []}
             for t in columns}
    for table, name, contype, definition, cols, parent, parent_cols, on_delete in conn.execute(_CONSTRAINTS, named):
        if table not in parts:
            continue
        part = parts[table]
        if contype == "p":
            part["primary_key"] = tuple(cols)
        elif contype == "u":
            part["unique"].append(tuple(cols))
        elif contype == "f":
            part["foreign_keys"].append(ForeignKey(name, tuple(cols), parent, tuple(parent_cols), on_delete))
        elif contype == "c":
            part["checks"].append((name, definition))
    for table, index, on_expression, predicate, cols in conn.execute(_UNIQUE_INDEXES, named):
        if table not in parts:
            continue
        if on_expression:
            parts[table]["expression_indexes"].append(index)
        elif predicate:
            parts[table]["partial_unique"].append((index, tuple(cols), predicate))
        else:
            parts[table]["unique"].append(tuple(cols))
    for table, column in conn.execute(_INDEXED, named):
        if table in parts:
            parts[table]["indexed"].append(column)
    for table, trigger in conn.execute(_TRIGGERS, named):
        if table in parts:
            parts[table]["triggers"].append(trigger)
    unsupported = tuple(row[0] for row in conn.execute(_OTHER, named))
    tables = tuple(Table(name, tuple(cols), **{k: tuple(v) for k, v in parts[name].items()})
                   for name, cols in sorted(columns.items()))
    return Catalog(tables, ddl_hash(ddl) if ddl else "", unsupported, "" if ddl else schema)


def read_again(schema: str) -> str:
    """How to read schema `schema` in place again (the end of a refusal)."""
    return f"run `growth-sim profile new --dsn URL --schema-name {schema} -o NEW.toml` to read it again"


def check_in_place(conn: psycopg.Connection, stored: Catalog, origin: Path, *, empty: bool) -> None:
    """`ModelError` in one line unless schema ``stored.schema`` of the database behind `conn` still is what
    `stored` (read from file `origin`) describes and, if `empty`, its tables hold no rows."""
    if read_catalog(conn, stored.schema).fingerprint() != stored.fingerprint():
        raise ModelError(f"schema {stored.schema} of this database changed since its catalog {origin.name} was "
                         f"read (or is not there); {read_again(stored.schema)}")
    if empty:
        refuse_rows(conn, stored)


def refuse_rows(conn: psycopg.Connection, catalog: Catalog) -> None:
    """`ModelError` naming the first table of `catalog` (read in place) that holds a row."""
    if not catalog.tables:
        return
    exists = sql.SQL(" UNION ALL ").join(
        sql.SQL("SELECT {} FROM (SELECT FROM {} LIMIT 1) r").format(
            sql.Literal(t.name), sql.Identifier(catalog.schema, t.name)) for t in catalog.tables)
    full = conn.execute(exists).fetchone()
    if full:
        raise ModelError(f"table {catalog.schema}.{full[0]} holds rows: growth-sim grows a schema in place from "
                         "empty tables only (the counts it plans start at zero)")
