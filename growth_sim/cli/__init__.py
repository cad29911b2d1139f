"""The `growth-sim` command line: a thin click layer over the library API.

The commands live by group: `grow` (plan, init, advance, steady, release), `observe` (report, findings, reads,
plot), `db` (the private cluster) and `fixture`; `options` holds the options they share.
"""

from __future__ import annotations

import logging
import sys

import click
import psycopg

from growth_sim import __version__
from growth_sim.cli import grow, observe
from growth_sim.cli.db import db_group
from growth_sim.cli.fixture import fixture_group
from growth_sim.cli.options import examples
from growth_sim.cli.profile import profile_group
from growth_sim.errors import GrowthSimError, first_line


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=examples(
    "growth-sim advance --to week-1 --scale 0.01",
    "growth-sim report",
    "growth-sim advance --help"))
@click.version_option(__version__, prog_name="growth-sim")
def cli() -> None:
    """Grow a real PostgreSQL database the way a busy SaaS issue tracker grows it.

    Without --dsn, DATABASE_URL or PG* variables every command uses a private
    PostgreSQL cluster under $GROWTH_SIM_HOME (default ./.growth-sim).
    """


for command in (db_group, fixture_group, profile_group, grow.plan_command, grow.init_command, grow.advance_command,
                grow.steady_command, grow.release_command, observe.report_command, observe.findings_command,
                observe.reads_command, observe.plot_command):
    cli.add_command(command)


def main() -> None:
    """Console entry point: user errors become one line on stderr and exit code 2."""
    # growth-sim's own warnings only: the driver's (a rollback it could not do after Ctrl-C during a commit) would
    # add a line to the one that already says what happened.
    warnings = logging.StreamHandler()
    warnings.addFilter(logging.Filter("growth_sim"))
    logging.basicConfig(format="warning: %(message)s", level=logging.WARNING, handlers=[warnings])
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:  # `growth-sim` alone: the command list, not an error
        click.echo(exc.format_message())
        sys.exit(0)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.UsageError as exc:
        where = f"; see `{exc.ctx.command_path} --help`" if exc.ctx else ""
        click.echo(f"error: {exc.format_message().rstrip('.')}{where}", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except GrowthSimError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except psycopg.Error as exc:  # a server error no command anticipated: still one line (a run says what it undid)
        click.echo(f"error: the database refused: {first_line(exc)}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
