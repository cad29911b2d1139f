"""Helpers for the database tests of the schema model (tests/db/test_schema_*.py): the test schemas of
``tests/db/schemas/``, the shop's churn, a starting profile from `growth-sim profile new`, the model registered for
`growth-sim` processes, re-validation of every constraint by the server, and digests that leave out the size knob's
payloads.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql
from support import query, run_cli, table_digests, with_source

from growth_sim import models
from growth_sim.db.cluster import FAST_INITDB_ENV, Cluster

SCHEMAS = Path(__file__).resolve().parent / "db" / "schemas"
# The shop's churn: order status changes, cart edits, carts expiring three days after creation, carts' bloat.
SHOP_CHURN = """
[model.updates.order_status]
table = "orders"
columns = ["status", "updated_at"]

[model.updates.cart_edits]
table = "carts"
columns = ["items", "item_count", "updated_at"]

[rates]
order_status = 400
cart_edits = 1500

[lagged.cart_expiry]
of = "carts"
kind = "delete"
share = 0.6
delay_hours = 72

[bloat.carts]
band = [10, 60]
target = 40
"""


@contextmanager
def schema_model_registered(site: Path) -> Iterator[list[str]]:
    """The schema model registered in this process; yields the path entries its `growth-sim` processes need (an
    installation made before its entry point existed does not list it: a dist-info under `site` then does)."""
    models.refresh()
    if "schema" in models.names():
        yield []
        return
    dist = site / "schema_model-0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: schema-model\nVersion: 0\n")
    (dist / "entry_points.txt").write_text("[growth_sim.models]\nschema = growth_sim.models.schema\n")
    sys.path.insert(0, str(site))
    models.refresh()
    try:
        yield [str(site)]
    finally:
        sys.path.remove(str(site))
        models.refresh()


def schema_env(cluster: Cluster, model_paths: list[str]) -> dict[str, str]:
    """The environment of a `growth-sim` process on the session's cluster that knows the schema model."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("PG") and k != "DATABASE_URL"}
    base = with_source({**base, "GROWTH_SIM_HOME": str(cluster.home), FAST_INITDB_ENV: "1"})
    return {**base, "PYTHONPATH": os.pathsep.join([base["PYTHONPATH"], *model_paths])}


def new_profile(env: dict[str, str], folder: Path, name: str, extra: str = "") -> Path:
    """`growth-sim profile new --schema` on a copy of the test schema `name` in `folder`, with `extra` appended."""
    shutil.copy(SCHEMAS / f"{name}.sql", folder / f"{name}.sql")
    run = run_cli(env, "profile", "new", "--schema", str(folder / f"{name}.sql"), "-o", str(folder / f"{name}.toml"))
    assert run.returncode == 0, run.stderr
    assert (folder / f"{name}.catalog.json").is_file()
    profile = folder / f"{name}.toml"
    profile.write_text(profile.read_text() + extra)
    return profile


def revalidate(dsn: str, schema: str = "public") -> int:
    """Re-check every foreign key and CHECK (tables and domains) of `schema` by the server: each is dropped, added
    back NOT VALID and validated, in a transaction rolled back afterwards. Returns how many were validated."""
    with psycopg.connect(dsn) as conn:
        conn.execute(sql.SQL("SET search_path = {}").format(sql.Identifier(schema)))
        rows = conn.execute("""
            SELECT c.relname, NULL, k.conname, pg_get_constraintdef(k.oid) FROM pg_constraint k
            JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = %(schema)s AND k.contype IN ('f', 'c')
            UNION ALL
            SELECT NULL, t.typname, k.conname, pg_get_constraintdef(k.oid) FROM pg_constraint k
            JOIN pg_type t ON t.oid = k.contypid JOIN pg_namespace n ON n.oid = t.typnamespace
            WHERE n.nspname = %(schema)s AND k.contype = 'c'""", {"schema": schema}).fetchall()
        for table, domain, name, definition in rows:
            kind, target = ("TABLE", table) if table else ("DOMAIN", domain)
            ident = sql.SQL(f"ALTER {kind} {{}}").format(sql.Identifier(schema, target))
            conn.execute(ident + sql.SQL(" DROP CONSTRAINT {}").format(sql.Identifier(name)))
            conn.execute(ident + sql.SQL(" ADD CONSTRAINT {} ").format(sql.Identifier(name))
                         + sql.SQL(definition + " NOT VALID"))  # noqa: S608 - the server's own definition
            conn.execute(ident + sql.SQL(" VALIDATE CONSTRAINT {}").format(sql.Identifier(name)))
        conn.rollback()
    return len(rows)


def shop_digests(dsn: str) -> dict[str, object]:
    """`table_digests`, the shop's orders without their notes: the size knob's payloads, whose sizes follow the sizes
    measured during the run (as TaskPilot's attachment previews do); the rest of every row is the seed's."""
    digests = table_digests(dsn)
    digests["orders"] = query(dsn, "SELECT md5(string_agg(r, E'\\n' ORDER BY r)), count(note) FROM "
                                   "(SELECT (to_jsonb(o) - 'note')::text AS r, note FROM orders o) x")[0]
    return digests
