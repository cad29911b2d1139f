"""Options several commands share, and the examples that end every command's help.

Options are written one way everywhere: a metavar naming the kind of value (N, X, NAME, TARGET, DURATION), and
the default in click's ``[default: ...]`` form (for settings a database keeps, "the database's, or ... if new").
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

from growth_sim.cli.status_line import status_line
from growth_sim.db import usage

F = TypeVar("F", bound=Callable[..., object])
KEPT = "the database's, or {} if new"
"""The shown default of a setting that an initialised database keeps (--profile, --seed, --scale)."""


def examples(*lines: str) -> str:
    """A command's epilog: its examples, kept on their own lines by click's ``\\b`` marker."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


@functools.cache
def _milestones(profile_name: str = "taskpilot") -> str:
    from growth_sim.profile import load_profile

    return ", ".join(m.label for m in load_profile(profile_name).milestones)


class TargetOption(click.Option):
    """A simulated-time option (``--to``, ``--until``) whose help names the default profile's milestones."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        own, self.help = self.help, f"{self.help} Milestones of taskpilot: {_milestones()}."
        try:
            return super().get_help_record(ctx)
        finally:
            self.help = own


def target_option(*names: str, **attrs: Any) -> Callable[[F], F]:
    """A ``TARGET`` option: initial, week-N (any case), +3d, +12h or an ISO time."""
    return click.option(*names, cls=TargetOption, metavar="TARGET", **attrs)


def dsn_option(func: F) -> F:
    """Add the common ``--dsn`` option; the command gets ``dsn: str | None`` for `connect.resolve_dsn`, and
    holds the private cluster it starts until it ends (`usage.command_scope`)."""

    @functools.wraps(func)
    def command(*args: object, **kwargs: object) -> object:
        with usage.command_scope(on_step=status_line(bool(kwargs.get("quiet") or kwargs.get("as_json")))):
            return func(*args, **kwargs)

    return click.option(
        "--dsn",
        metavar="DSN",
        default=None,
        show_default="$DATABASE_URL, then the libpq PG* variables, then the private cluster",
        help="PostgreSQL URL or key=value string; the PG* variables are PGHOST, PGDATABASE, PGSERVICE and the "
        "others libpq reads, the private cluster is the one under $GROWTH_SIM_HOME.",
    )(command)  # type: ignore[return-value]


def new_database_options(func: F) -> F:
    """Add ``--profile``, ``--seed`` and ``--scale``, used only when the command finds the database new."""
    func = click.option("--scale", type=float, default=None, metavar="X", show_default=KEPT.format(1),
                        help="Multiply every count and size when initialising a new database.")(func)
    func = click.option("--seed", type=int, default=None, metavar="N", show_default=KEPT.format(1),
                        help="Seed of all generated data when initialising a new database.")(func)
    return click.option("--profile", "profile_name", default=None, metavar="NAME",
                        show_default=KEPT.format("taskpilot"),
                        help="Initialise a new database with this profile (a shipped name or a .toml path).")(func)
