"""Options several commands share."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import click

from growth_sim.cli.status_line import status_line
from growth_sim.db import usage

F = TypeVar("F", bound=Callable[..., object])


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
        help="PostgreSQL URL or key=value string. Default: $DATABASE_URL, then the libpq PG* variables "
        "(PGHOST, PGDATABASE, PGSERVICE, ...), then the private cluster under $GROWTH_SIM_HOME.",
    )(command)  # type: ignore[return-value]


def new_database_options(func: F) -> F:
    """Add ``--profile``, ``--seed`` and ``--scale``, used only when the command finds the database new."""
    func = click.option("--scale", type=float, default=None,
                        help="Scale when initialising a new database (default 1).")(func)
    func = click.option("--seed", type=int, default=None,
                        help="Seed when initialising a new database (default 1).")(func)
    return click.option("--profile", "profile_name", default=None,
                        help="Initialise with this profile first if the database is new (default taskpilot).")(func)
