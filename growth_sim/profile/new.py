"""`growth-sim profile new`: a starting profile for an application's own schema, read through the catalog (of a
scratch database the DDL file is loaded into, or of the existing database that holds the schema)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import psycopg
from psycopg import sql

from growth_sim.db.connect import connect
from growth_sim.errors import DatabaseError, ModelError, ProfileError
from growth_sim.models import model_module

_MAINTENANCE_DB = "postgres"


def new_profile(dsn: str, schema: Path, output: Path, *, model: str = "schema", force: bool = False) -> list[Path]:
    """Load DDL file `schema` into a scratch database on the server behind `dsn`, have model `model` read it and
    write its starting profile at `output` (and what else the model keeps); the files written.

    Nothing is written when the DDL fails, the model refuses the schema or `output` exists (unless `force`).
    """
    make = _maker(model, "new_profile", output, force)
    try:
        ddl = schema.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(f"schema file {schema}: cannot be read: {exc.strerror or exc}") from None
    scratch = f"growth_sim_schema_{os.getpid()}"
    with connect(dsn, autocommit=True, dbname=_MAINTENANCE_DB) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(scratch)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(scratch)))
        try:
            with connect(dsn, dbname=scratch) as conn:
                try:
                    conn.execute(ddl)
                except psycopg.Error as exc:
                    raise DatabaseError(f"schema file {schema}: the server refused it: "
                                        f"{exc.diag.message_primary or exc}") from None
                files = make(conn, schema, output)
        finally:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(scratch)))
    return _write(files)


def profile_in_place(dsn: str, output: Path, schema_name: str | None = None, *, model: str = "schema",
                     force: bool = False) -> list[Path]:
    """Have model `model` read schema `schema_name` (default: the connection's current schema) of the existing
    database behind `dsn`, whose tables hold no rows, and write its starting profile at `output` (and what else
    the model keeps); the files written. Nothing is written when the model refuses."""
    make = _maker(model, "profile_in_place", output, force)
    with connect(dsn, autocommit=True) as conn:
        name = schema_name or conn.execute("SELECT current_schema()").fetchone()[0]
        if name is None:
            raise DatabaseError("the connection has no current schema (none of its search_path exists); "
                                "give --schema-name")
        if conn.execute("SELECT to_regnamespace(%s) IS NULL", (name,)).fetchone()[0]:
            raise DatabaseError(f"the database has no schema {name!r}")
        files = make(conn, name, output)
    return _write(files)


def _maker(model: str, member: str, output: Path, force: bool) -> Callable[..., dict[Path, str]]:
    """Model `model`'s function `member` that makes a starting profile; refuses an existing `output` unless
    `force`."""
    make = getattr(model_module(model), member, None)
    if make is None:
        raise ModelError(f"model {model!r} does not read schemas (it has no {member})")
    if output.exists() and not force:
        raise ProfileError(f"{output} already exists; use --force to replace it")
    return make


def _write(files: dict[Path, str]) -> list[Path]:
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    return list(files)
