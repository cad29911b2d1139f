"""The `growth-sim` command line: a thin click layer over the library API."""

from __future__ import annotations

import sys

import click

from . import __version__
from .errors import GrowthSimError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="growth-sim")
def cli() -> None:
    """Grow a real PostgreSQL database the way a busy SaaS issue tracker grows it.

    Without --dsn, DATABASE_URL or PG* variables every command uses a private
    PostgreSQL cluster under $GROWTH_SIM_HOME (default ./.growth-sim).
    """


@cli.command("plan")
@click.option(
    "--to",
    "to_target",
    required=True,
    metavar="TARGET",
    help="Where the plan ends: initial, week-N, +3d, +12h (after --from) or an ISO time.",
)
@click.option(
    "--from",
    "from_target",
    default="initial",
    show_default=True,
    metavar="TARGET",
    help="Where the plan starts (same forms as --to).",
)
@click.option(
    "--profile",
    "profile_name",
    default="taskpilot",
    show_default=True,
    metavar="NAME",
    help="A shipped profile's name or the path of a profile .toml file.",
)
@click.option(
    "--scale",
    default="1",
    show_default=True,
    metavar="X",
    help="Multiply every count and size by X (row widths stay the same).",
)
@click.option(
    "--by",
    type=click.Choice(["day", "week"]),
    default="day",
    show_default=True,
    help="Sum the streams per simulated day or week.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON only.")
def plan_command(
    to_target: str, from_target: str, profile_name: str, scale: str, by: str, as_json: bool
) -> None:
    """Show what growing from --from to --to writes, per day or week, and the milestones on the way.

    Needs no database: the plan comes from the profile alone. `--to initial` shows the initial dataset.
    """
    import json

    from .plan import build_plan, format_plan, parse_scale, resolve_range
    from .profile import load_profile
    from .schedule import Schedule

    profile = load_profile(profile_name)
    factor = parse_scale(scale)
    start, stop = resolve_range(Schedule(profile, factor), from_target, to_target)
    result = build_plan(profile, factor, start, stop, by)
    click.echo(json.dumps(result, indent=2) if as_json else format_plan(result))


def main() -> None:
    """Console entry point: user errors become one line on stderr and exit code 2."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except GrowthSimError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
