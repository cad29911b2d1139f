"""`growth-sim fixture`: build a grown database as one deterministic SQL file, and load one."""

from __future__ import annotations

import json
from pathlib import Path

import click

from growth_sim.cli.options import dsn_option, examples, target_option
from growth_sim.db.connect import resolve_dsn
from growth_sim.timeline.quantities import format_size


@click.group("fixture", epilog=examples(
    "growth-sim fixture build --to week-1 -o week1.sql.gz",
    "growth-sim fixture load week1.sql.gz --dsn postgresql://localhost/scratch"))
def fixture_group() -> None:
    """Deterministic fixture files: a grown database as one SQL file, loaded in seconds."""


@fixture_group.command("build", epilog=examples(
    "growth-sim fixture build --to week-1 -o week1.sql.gz",
    "growth-sim fixture build --to initial --scale 0.01 --seed 7 -o initial.sql"))
@dsn_option
@click.option("--profile", "profile_name", default="taskpilot", show_default=True, metavar="NAME",
              help="A shipped profile's name or the path of a profile .toml file.")
@target_option("--to", "target", required=True,
               help="How far to grow: initial, week-N, +3d, +12h or an ISO time on the simulated clock.")
@click.option("--scale", type=float, default=0.001, show_default=True, metavar="X",
              help="Multiply every count and size.")
@click.option("--seed", type=int, default=1, show_default=True, metavar="N", help="Seed of all generated data.")
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), metavar="FILE",
              help="The fixture file to write (gzip when it ends in .gz); FILE.manifest.json goes next to it.")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON only.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def fixture_build(dsn: str | None, profile_name: str, target: str, scale: float, seed: int, output: Path,
                  as_json: bool, quiet: bool) -> None:
    """Grow a scratch database and write it as a self-contained SQL file (schema, COPY data, ANALYZE).

    The same inputs give a byte-identical file on any server: sizes come from the profile alone (open-loop).
    The scratch database is created on the --dsn server (default: the private cluster) and dropped after.
    """
    import time

    from growth_sim.cli.progress import ProgressBar
    from growth_sim.fixtures.fixture import FixtureSpec, build, manifest_path

    spec = FixtureSpec.of(profile_name, target, scale, seed)
    server = resolve_dsn(dsn)
    started = time.monotonic()
    with ProgressBar(disabled=quiet or as_json) as bar:
        manifest = build(spec, server.dsn, output, bar.update)
    if as_json:
        click.echo(json.dumps(manifest))
        return
    click.echo(f"{output}: {format_size(manifest['bytes'])}, {len(manifest['tables'])} tables, "
               f"{manifest['rows']:,} rows at {manifest['target']} (hour {manifest['hour']}) "
               f"in {time.monotonic() - started:.1f} s")
    click.echo(f"sha256 {manifest['sha256']}; manifest {manifest_path(output)}")


@fixture_group.command("load", epilog=examples(
    "growth-sim fixture load week1.sql.gz",
    "growth-sim fixture load week1.sql.gz --dsn postgresql://localhost/scratch --force"))
@dsn_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Load into a database that holds tables: drop its public and "
              "growth_sim schemas first.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def fixture_load(dsn: str | None, file: Path, force: bool, as_json: bool) -> None:
    """Load fixture FILE into the database (created if missing), in one transaction.

    An existing database must be empty unless --force. With FILE.manifest.json next to it, the file is
    checked against its sha256 and the loaded rows against its counts.
    """
    from growth_sim.fixtures.fixture import load

    result = load(resolve_dsn(dsn).dsn, file, force=force)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if as_json:
        click.echo(json.dumps(result.__dict__))
        return
    checked = ", as the manifest says" if result.checked else " (no manifest to check against)"
    click.echo(f"{result.database}: loaded {file}: {len(result.tables)} tables, {sum(result.tables.values()):,} "
               f"rows{checked}, in {result.seconds:.1f} s")
