"""A model generated from any PostgreSQL schema: the application's DDL plus a growth table (`ModelPackage`).

A profile names the DDL file in its ``[model]`` table (``schema = "app.sql"``, relative to the profile), or,
for a schema already in place in the target database, that schema and its catalog (``schema_name = "app"``,
``catalog = "app.catalog.json"``); the engine binds this package to that table (`bind`) and gets a package
whose tables are the schema's. The schema is read through the catalog once, by `new_profile` (``growth-sim
profile new --schema app.sql``, which keeps it next to the DDL as ``app.catalog.json``) or `profile_in_place`
(``growth-sim profile new --dsn URL``, next to the profile): validating a profile or planning a run then needs
no server.
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
    return ModelError("model 'schema' needs its DDL file or its schema in place: set [model] schema = \"app.sql\" "
                      "(or schema_name and catalog, as `growth-sim profile new --dsn` writes them) in the profile")


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
    """This model for the DDL file ``params["schema"]``, or for the schema in place ``params["schema_name"]`` read
    into catalog ``params["catalog"]`` (files relative to `base`, the profile's folder)."""
    from growth_sim.models.schema.bound import SchemaPackage

    schema, catalog, name = params.get("schema"), params.get("catalog"), params.get("schema_name")
    if schema is not None and (catalog is not None or name is not None):
        raise ModelError("[model]: give either schema (a DDL file) or schema_name and catalog (a schema in place)")
    if isinstance(schema, str) and schema:
        return SchemaPackage((base / schema).resolve(), params)
    if isinstance(catalog, str) and catalog and isinstance(name, str) and name:
        return SchemaPackage((base / catalog).resolve(), params, in_place=name)
    raise _unbound()


def new_profile(conn: psycopg.Connection, schema: Path, output: Path) -> dict[Path, str]:
    """The files of a starting profile for DDL file `schema`, already loaded into the database behind `conn`:
    the profile at `output` and the schema's catalog next to the DDL."""
    from growth_sim.models.schema.catalog import catalog_path, read_catalog
    from growth_sim.models.schema.starter import starting_profile

    current = conn.execute("SELECT current_schema()").fetchone()[0]
    catalog = read_catalog(conn, current, schema.read_text(encoding="utf-8"))
    empty = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    return {catalog_path(schema): catalog.to_json(), output: starting_profile(catalog, schema, output, empty)}


def profile_in_place(conn: psycopg.Connection, schema_name: str, output: Path) -> dict[Path, str]:
    """The files of a starting profile at `output` for schema `schema_name` of the database behind `conn`, which
    holds the application's tables without rows: the profile and the schema's catalog next to it."""
    from growth_sim.models.schema.catalog import catalog_path, read_catalog, refuse_rows
    from growth_sim.models.schema.starter import starting_profile

    catalog = read_catalog(conn, schema_name)
    if not catalog.tables:
        raise ModelError(f"schema {schema_name} of this database has no tables to grow")
    refuse_rows(conn, catalog)
    empty = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    where = catalog_path(output)
    return {where: catalog.to_json(), output: starting_profile(catalog, where, output, empty)}
