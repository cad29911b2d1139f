"""`growth-sim profile new`: a starting profile for an application's own schema, read through the catalog."""

from __future__ import annotations

import os
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
    package = model_module(model)
    make = getattr(package, "new_profile", None)
    if make is None:
        raise ModelError(f"model {model!r} does not read schemas (it has no new_profile)")
    if output.exists() and not force:
        raise ProfileError(f"{output} already exists; use --force to replace it")
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
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    return list(files)
