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
