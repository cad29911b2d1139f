"""A model generated from any PostgreSQL schema: the application's DDL plus a growth table (`ModelPackage`).

A profile names the DDL file in its ``[model]`` table (``schema = "app.sql"``, relative to the profile); the
engine binds this package to that table (`bind`) and gets a package whose tables are the schema's. The schema
is read through the catalog once, by `new_profile` (``growth-sim profile new --schema app.sql``), which keeps it
next to the DDL as ``app.catalog.json``: validating a profile or planning a run then needs no server.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from growth_sim.errors import ModelError

if TYPE_CHECKING:
    import psycopg

    from growth_sim.models.api import ModelPackage

TABLES: frozenset[str] = frozenset()  # unbound: a profile's [model] schema gives the tables
SCENARIOS: tuple[str, ...] = ("app",)  # the generic read mix: rows by key, children by parent


def _unbound() -> ModelError:
    return ModelError("model 'schema' needs its DDL file: set [model] schema = \"app.sql\" in the profile")


def build_schema_sql() -> str:
    raise _unbound()


def build(schedule, seed):  # noqa: ANN001, ANN201 - unbound: always an error
    raise _unbound()


def read_mix():  # noqa: ANN201
    from growth_sim.models.schema.bound import empty_read_mix

    return empty_read_mix()


def expected_findings() -> tuple:
    return ()


def bind(params: Mapping[str, Any], base: Path) -> ModelPackage:
    """This model for the DDL file ``params["schema"]`` (relative to `base`, the profile's folder)."""
    from growth_sim.models.schema.bound import SchemaPackage

    schema = params.get("schema")
    if not isinstance(schema, str) or not schema:
        raise _unbound()
    return SchemaPackage((base / schema).resolve(), params)


def new_profile(conn: psycopg.Connection, schema: Path, output: Path) -> dict[Path, str]:
    """The files of a starting profile for DDL file `schema`, already loaded into the database behind `conn`:
    the profile at `output` and the schema's catalog next to the DDL."""
    from growth_sim.models.schema.catalog import catalog_path, read_catalog
    from growth_sim.models.schema.starter import starting_profile

    catalog = read_catalog(conn, schema.read_text(encoding="utf-8"))
    empty = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    return {catalog_path(schema): catalog.to_json(), output: starting_profile(catalog, schema, output, empty)}
