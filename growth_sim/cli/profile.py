"""`growth-sim profile`: profiles for applications of one's own."""

from __future__ import annotations

from pathlib import Path

import click

from growth_sim.cli.options import dsn_option, examples
from growth_sim.db.connect import resolve_dsn


@click.group("profile", epilog=examples(
    "growth-sim profile new --schema shop.sql -o shop.toml"))
def profile_group() -> None:
    """Write profiles."""


@profile_group.command("new", epilog=examples(
    "growth-sim profile new --schema shop.sql -o shop.toml",
    "growth-sim profile new --schema shop.sql -o shop.toml --force"))
@dsn_option
@click.option("--schema", "schema", type=click.Path(path_type=Path), required=True,
              metavar="FILE", help="The application's DDL file (CREATE TABLE, TYPE, DOMAIN, INDEX ...).")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, metavar="FILE",
              help="Where to write the profile (its catalog goes next to the DDL: APP.catalog.json).")
@click.option("--force", is_flag=True, help="Replace an existing profile file.")
def profile_new(dsn: str | None, schema: Path, output: Path, force: bool) -> None:
    """Write a starting profile for the schema in a DDL file, read through the catalog of a scratch database.

    Every table gets growth (milestones for tables without parents, a ratio to the deepest parent for the
    others) and milestone sizes that a size knob holds (the payload column of the largest table that has one);
    updates, deletes, bloat bands and widths are written as comments to edit. A schema feature the model cannot
    honour is refused with one line and nothing is written.
    """
    from growth_sim.profile.new import new_profile

    for path in new_profile(resolve_dsn(dsn).dsn, schema, output, force=force):
        click.echo(f"wrote {path}")
