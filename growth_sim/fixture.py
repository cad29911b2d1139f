"""Fixtures: a grown database as one self-contained SQL file, byte-identical for the same inputs.

`build` grows a scratch database on a server in open-loop sizing (the data depends on profile, target, scale and
seed only), then writes the file: the application schema, the ledger with a static run row (so that `growth-sim
advance` can grow a loaded fixture further), every table's rows as a ``COPY ... FROM stdin`` block in foreign-key
order and primary-key order, sequence positions, ``ANALYZE``. Nothing measured on the server and no wall-clock
value goes into it. Next to it, ``FILE.manifest.json`` holds the parameters, rows per table and the sha256.

`load` streams such a file into a database with psycopg (``psql -f`` loads it just as well).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import os
import re
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from graphlib import TopologicalSorter
from pathlib import Path
from typing import IO, Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from . import __version__, ledger
from .connect import connect, describe, ensure_database
from .errors import DatabaseError, GrowthSimError
from .executor import Interrupted, Progress, advance
from .install import EXTENSIONS, check_seed_scale, drop_everything, foreign_tables, initialise, profile_reference
from .models import model_module
from .profile import Profile, load_profile
from .resources import data_dir
from .schedule import Schedule

FORMAT = 1
MAGIC = "-- growth-sim fixture"
MANIFEST_SUFFIX = ".manifest.json"
SCRATCH_PREFIX = "growth_sim_scratch_"
_COPY_LINE = re.compile(rb"^COPY .* FROM stdin;\n$")
_GZIP_MAGIC = b"\x1f\x8b"
_DUMP_SETTINGS = {"TimeZone": "UTC", "DateStyle": "ISO, YMD", "IntervalStyle": "postgres", "extra_float_digits": "1",
                  "bytea_output": "hex"}


@dataclass(frozen=True)
class FixtureSpec:
    """What a fixture holds: a profile grown to a target at a scale with a seed."""

    profile: Profile
    target: str
    scale: float
    seed: int

    @classmethod
    def of(cls, profile: str | Profile, target: str, scale: float, seed: int) -> FixtureSpec:
        """A spec from a profile name or path; bad targets, scales and seeds are refused here."""
        check_seed_scale(seed, scale)
        spec = cls(profile if isinstance(profile, Profile) else load_profile(profile), target, scale, seed)
        Schedule(spec.profile, scale).resolve_target(target, 0)  # refuses a bad target before any work
        return spec

    @property
    def hour(self) -> int:
        """The simulated hour the target names."""
        return Schedule(self.profile, self.scale).resolve_target(self.target, 0)

    @property
    def key(self) -> str:
        """A content key: equal keys, equal fixtures (the profile by content, the target by its hour, the code
        that grows and writes it by the contents of its files)."""
        parts = {"format": FORMAT, "version": __version__, "code": _code_hash(), "profile": self.profile.content_hash,
                 "hour": self.hour, "scale": repr(float(self.scale)), "seed": self.seed}
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()

    def parameters(self) -> dict[str, Any]:
        hour = self.hour
        return {"profile": self.profile.name, "profile_hash": self.profile.content_hash, "model": self.profile.model,
                "target": self.target, "hour": hour,
                "clock": Schedule(self.profile, self.scale).time_of(hour).isoformat(),
                "scale": self.scale, "seed": self.seed, "sizing": "open"}


@functools.cache
def _code_hash() -> str:
    """The sha256 of growth-sim's modules and schema files, so that a changed generator never reuses a template."""
    package = Path(__file__).parent
    digest = hashlib.sha256()
    for path in sorted([*package.rglob("*.py"), *data_dir("schema").glob("*.sql")]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class LoadResult:
    """What `load` did: rows per table, and whether they were checked against a manifest."""

    database: str
    tables: dict[str, int]
    seconds: float
    checked: bool
    warnings: list[str]


def manifest_path(path: Path) -> Path:
    """Where the manifest of fixture file `path` lives."""
    return path.with_name(path.name + MANIFEST_SUFFIX)


def read_manifest(path: Path) -> dict[str, Any] | None:
    """The manifest next to fixture file `path`, or None if there is none."""
    try:
        return json.loads(manifest_path(path).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise GrowthSimError(f"cannot read {manifest_path(path)}: {exc}; delete it or rebuild the fixture") from None


# -- build ---------------------------------------------------------------------------------------------------
def build(spec: FixtureSpec, server_dsn: str, output: Path,
          report: Callable[[Progress], None] = lambda p: None) -> dict[str, Any]:
    """Grow `spec` in a scratch database on the server of `server_dsn` and write it to `output` (gzip if the
    name ends in ``.gz``) and its manifest; returns the manifest."""
    output = Path(output)
    if output.is_dir():
        raise GrowthSimError(f"{output} is a directory; give the fixture file's name, e.g. {output / 'db.sql.gz'}")
    if not output.parent.is_dir():
        raise GrowthSimError(f"directory {output.parent} does not exist; create it or write the fixture elsewhere")
    with scratch_database(server_dsn) as dsn:
        initialise(dsn, spec.profile, spec.seed, spec.scale, sizing="open")
        try:
            advance(dsn, spec.target, report)
        except Interrupted:
            raise Interrupted(f"interrupted; nothing was written to {output}") from None
        with connect(dsn, autocommit=True) as conn:
            manifest = _write_atomically(output, lambda stream: dump(conn, spec, stream))
    manifest_path(output).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


@contextmanager
def scratch_database(server_dsn: str) -> Iterator[str]:
    """A new, empty database on the server of `server_dsn` for the duration of the block (then dropped)."""
    name = SCRATCH_PREFIX + uuid.uuid4().hex[:12]
    with connect(server_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:  # a scratch database need not survive a crash: its commits do not wait for the disk
            admin.execute(sql.SQL("ALTER DATABASE {} SET synchronous_commit = off").format(sql.Identifier(name)))
            yield make_conninfo(server_dsn, dbname=name)
        finally:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _write_atomically(output: Path, write: Callable[[IO[bytes]], dict[str, Any]]) -> dict[str, Any]:
    """Write through a temporary file renamed into place, so a failed build leaves no half-written file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent)
    try:
        with os.fdopen(fd, "wb") as raw, _HashingWriter(raw) as hashed:
            if output.name.endswith(".gz"):
                with gzip.GzipFile(filename="", mode="wb", fileobj=hashed, mtime=0, compresslevel=1) as gz:
                    manifest = write(gz)
            else:
                manifest = write(hashed)
        manifest.update(file=output.name, bytes=hashed.size, sha256=hashed.sha256.hexdigest())
        os.chmod(tmp, 0o644)
        os.replace(tmp, output)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return manifest


class _HashingWriter:
    """A binary file wrapper that hashes and counts what goes through it."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw, self.sha256, self.size = raw, hashlib.sha256(), 0

    def write(self, data: bytes | memoryview) -> int:
        self.sha256.update(data)
        self.size += len(data)
        return self.raw.write(data)

    def flush(self) -> None:
        self.raw.flush()

    def __enter__(self) -> _HashingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.flush()


def dump(conn: psycopg.Connection, spec: FixtureSpec, stream: IO[bytes]) -> dict[str, Any]:
    """Write the fixture SQL of the database on `conn` (grown from `spec`); returns the manifest so far."""
    for name, value in _DUMP_SETTINGS.items():
        conn.execute("SELECT set_config(%s, %s, false)", (name, value))
    out = _HashingWriter(stream)
    params = spec.parameters()
    out.write(_header(spec, params).encode())
    tables: dict[str, int] = {}
    for table in table_order(conn):
        tables[table] = _copy_out(conn, table, out)
    out.write(_sequences(conn).encode())
    out.write(b"COMMIT;\nANALYZE;\n")
    model_tables = sorted(model_module(spec.profile.model).TABLES)
    if sorted(tables) != model_tables:
        raise DatabaseError(f"the scratch database holds tables {sorted(tables)}, expected {model_tables}")
    return {"format": FORMAT, "growth_sim": __version__, "key": spec.key, **params, "tables": tables,
            "rows": sum(tables.values()), "content_sha256": out.sha256.hexdigest()}


def _header(spec: FixtureSpec, params: dict[str, Any]) -> str:
    run = ledger.Run(profile=profile_reference(spec.profile), profile_hash=spec.profile.content_hash,
                     model=spec.profile.model, seed=spec.seed, scale=spec.scale, version=__version__,
                     clock_hour=params["hour"], state={"sizing": "open"})
    settings = "".join(f"SET {name} = {sql.quote(value)};\n" for name, value in {
        "client_encoding": "UTF8", "standard_conforming_strings": "on", "check_function_bodies": "false",
        "client_min_messages": "warning", "DateStyle": "ISO, YMD"}.items())
    extensions = "".join(  # measuring instruments for `advance`; a role that may not create them still loads
        f"DO $$ BEGIN CREATE EXTENSION IF NOT EXISTS {name}; EXCEPTION WHEN insufficient_privilege OR undefined_file"
        f" THEN RAISE WARNING 'extension {name} not created (%); growth-sim advance needs it', SQLERRM; END $$;\n"
        for name in EXTENSIONS)
    return (
        f"{MAGIC} (format {FORMAT}): profile {spec.profile.name}, target {spec.target} (hour {params['hour']},"
        f" {params['clock']}), scale {spec.scale:g}, seed {spec.seed}, growth-sim {__version__}\n"
        "-- Load: growth-sim fixture load FILE, or psql -v ON_ERROR_STOP=1 -f FILE (gunzip -c FILE.gz | psql ...)\n"
        f"{settings}BEGIN;\n{extensions}"
        f"{model_module(spec.profile.model).build_schema_sql().rstrip()}\n{ledger.DDL.strip()}\n"
        "INSERT INTO growth_sim.run (profile, profile_hash, model, seed, scale, version, clock_hour, state) VALUES ("
        + ", ".join(sql.quote(v) for v in (run.profile, run.profile_hash, run.model, run.seed, run.scale,
                                             run.version, run.clock_hour, json.dumps(run.state)))
        + ");\n")


def table_order(conn: psycopg.Connection) -> list[str]:
    """The application's tables, referenced before referencing, ties by name."""
    rows = conn.execute(
        "SELECT c.relname, coalesce(array_agg(r.relname) FILTER (WHERE r.oid IS NOT NULL), '{}')"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " LEFT JOIN pg_constraint f ON f.conrelid = c.oid AND f.contype = 'f' AND f.confrelid <> c.oid"
        " LEFT JOIN pg_class r ON r.oid = f.confrelid"
        " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') GROUP BY c.relname").fetchall()
    sorter = TopologicalSorter({table: set(parents) for table, parents in rows})
    sorter.prepare()
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        order += ready
        sorter.done(*ready)
    return order


def _copy_out(conn: psycopg.Connection, table: str, out: _HashingWriter) -> int:
    """One table's COPY block, rows in primary-key order (byte order for text); returns the row count."""
    columns = [r[0] for r in conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped"
        " AND attgenerated = '' ORDER BY attnum", (f"public.{table}",)).fetchall()]
    key = conn.execute(
        "SELECT a.attname, a.attcollation <> 0 FROM pg_index i CROSS JOIN unnest(i.indkey) WITH ORDINALITY k(attnum, n)"
        " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
        " WHERE i.indrelid = %s::regclass AND i.indisprimary ORDER BY k.n", (f"public.{table}",)).fetchall()
    order = [sql.SQL("{} COLLATE \"C\"" if collatable else "{}").format(sql.Identifier(name))
             for name, collatable in key] or [sql.SQL("t::text COLLATE \"C\"")]
    names = sql.SQL(", ").join(map(sql.Identifier, columns))
    target = sql.Identifier("public", table)
    out.write(sql.SQL("COPY {} ({}) FROM stdin;\n").format(target, names).as_string(conn).encode())
    rows = 0
    query = sql.SQL("COPY (SELECT {} FROM {} t ORDER BY {}) TO STDOUT").format(
        names, target, sql.SQL(", ").join(order))
    with conn.cursor() as cur, cur.copy(query) as copy:
        for data in copy:
            rows += bytes(data).count(b"\n")
            out.write(data)
    out.write(b"\\.\n")
    return rows


def _sequences(conn: psycopg.Connection) -> str:
    rows = conn.execute("SELECT schemaname, sequencename, last_value FROM pg_sequences"
                        " WHERE schemaname IN ('public', 'growth_sim') AND last_value IS NOT NULL"
                        " ORDER BY 1, 2").fetchall()
    return "".join(f"SELECT pg_catalog.setval({sql.quote(f'{s}.{n}')}, {v}, true);\n" for s, n, v in rows)


# -- load ----------------------------------------------------------------------------------------------------
def load(dsn: str, path: Path, *, force: bool = False) -> LoadResult:
    """Load fixture file `path` into the database of `dsn` (created if missing), in one transaction.

    Refuses a database that holds tables unless `force` (which drops its ``public`` and ``growth_sim`` schemas
    first). With a manifest next to the file, the file must match its sha256 and the loaded rows its counts.
    """
    path = Path(path)
    manifest = read_manifest(path)
    _check_file(path, manifest)
    started = time.monotonic()
    ensure_database(dsn)
    with connect(dsn, autocommit=True) as conn:
        existing = foreign_tables(conn)
        if existing and force:
            drop_everything(conn)
            existing = foreign_tables(conn)
        if existing:
            shown = ", ".join(existing[:5]) + (" ..." if len(existing) > 5 else "")
            hint = "load into a new database" if force else \
                "load into a new database, or pass --force to drop its public and growth_sim schemas first"
            raise DatabaseError(f"{describe(dsn)} is not empty: it holds {len(existing)} table(s) ({shown}); {hint}")
        warnings: list[str] = []
        conn.add_notice_handler(lambda d: warnings.append(d.message_primary or "") if d.severity == "WARNING" else None)
        try:
            with _open(path) as lines:
                _execute_script(conn, lines)
        except psycopg.Error as exc:
            conn.close()  # the server rolls the load back
            raise DatabaseError(f"cannot load {path}: {exc.diag.message_primary or exc}; nothing was loaded") from None
        tables = {t: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("public", t))
                                  ).fetchone()[0] for t in table_order(conn)}
    if manifest is not None and tables != manifest["tables"]:
        raise DatabaseError(f"{describe(dsn)}: the loaded rows {tables} differ from the manifest's "
                            f"{manifest['tables']}")
    return LoadResult(describe(dsn), tables, time.monotonic() - started, manifest is not None, warnings)


def _check_file(path: Path, manifest: dict[str, Any] | None) -> None:
    """Refuse a file that is missing, not a fixture, or does not match its manifest."""
    try:
        with _open(path) as lines:
            first = next(lines, b"")
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise GrowthSimError(f"cannot read {path}: {exc}") from None
    if not first.startswith(MAGIC.encode()):
        raise GrowthSimError(f"{path} is not a growth-sim fixture; build one with `growth-sim fixture build`")
    if manifest is None:
        return
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != manifest.get("sha256"):
        raise GrowthSimError(f"{path} does not match its manifest {manifest_path(path).name} (sha256 differs): "
                             "the file is damaged or the manifest is another build's; rebuild, or remove the manifest")


@contextmanager
def _open(path: Path) -> Iterator[Iterator[bytes]]:
    """The lines of a fixture file, gzip or not (told by its first bytes, not its name)."""
    with path.open("rb") as raw:
        gzipped = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        with (gzip.GzipFile(fileobj=raw, mode="rb") if gzipped else raw) as f:
            yield iter(f)


def _execute_script(conn: psycopg.Connection, lines: Iterator[bytes]) -> None:
    """Run a fixture script as psql would: statements as they come, COPY blocks streamed from the lines."""
    pending: list[bytes] = []
    for line in lines:
        if not _COPY_LINE.match(line):
            pending.append(line)
            continue
        if pending:
            conn.execute(b"".join(pending))
            pending = []
        with conn.cursor() as cur, cur.copy(line.rstrip(b";\n")) as copy:
            for data in lines:
                if data == b"\\.\n":
                    break
                copy.write(data)
            else:
                raise DatabaseError("the fixture file ends inside a COPY block: it is truncated; rebuild it")
    if pending:
        conn.execute(b"".join(pending))
