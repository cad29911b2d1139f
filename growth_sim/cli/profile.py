"""`growth-sim profile`: profiles for applications of one's own."""

from __future__ import annotations

from pathlib import Path

import click

from growth_sim.cli.options import dsn_option, examples
from growth_sim.db.connect import external_target, resolve_dsn


@click.group("profile", epilog=examples(
    "growth-sim profile new --schema shop.sql -o shop.toml",
    "growth-sim profile new --dsn postgresql://localhost/shop -o shop.toml"))
def profile_group() -> None:
    """Write profiles."""


@profile_group.command("new", epilog=examples(
    "growth-sim profile new --schema shop.sql -o shop.toml --force",
    "growth-sim profile new --dsn postgresql://localhost/shop -o shop.toml",
    "growth-sim profile new --dsn postgresql://localhost/shop --schema-name app -o shop.toml"))
@dsn_option
@click.option("--schema", "schema", type=click.Path(path_type=Path), default=None,
              metavar="FILE", help="The application's DDL file (CREATE TABLE, TYPE, DOMAIN, INDEX ...). Without it, "
                                   "the schema is read in place from the --dsn database.")
@click.option("--schema-name", default=None, metavar="NAME", show_default="the connection's current schema",
              help="Without --schema: the schema of the --dsn database to read (its tables must hold no rows).")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, metavar="FILE",
              help="Where to write the profile (its catalog goes next to the DDL, APP.catalog.json, or without "
                   "--schema next to the profile).")
@click.option("--force", is_flag=True, help="Replace an existing profile file.")
def profile_new(dsn: str | None, schema: Path | None, schema_name: str | None, output: Path, force: bool) -> None:
    """Write a starting profile for the schema in a DDL file, read through the catalog of a scratch database, or
    for the schema of an existing database without data (--dsn without --schema), which is then grown in place.

    Every table gets growth (milestones for tables without parents, a ratio to the deepest parent for the
    others) and milestone sizes that a size knob holds (the payload column of the largest table that has one);
    updates, deletes, bloat bands and widths are written as comments to edit. A schema feature the model cannot
    honour is refused with one line and nothing is written.
    """
    from growth_sim.profile.new import new_profile, profile_in_place

    if schema is not None:
        if schema_name is not None:
            raise click.UsageError("--schema-name reads a schema in place: give it without --schema")
        written = new_profile(resolve_dsn(dsn).dsn, schema, output, force=force)
    else:
        target = external_target(dsn)
        if target is None:
            raise click.UsageError("give --schema FILE (a DDL file), or --dsn DSN of a database holding the schema")
        written = profile_in_place(target.dsn, output, schema_name, force=force)
    for path in written:
        click.echo(f"wrote {path}")
