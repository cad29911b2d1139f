"""Growing a database: `plan` (no database needed), `init`, `advance`, `steady` and `release`."""

from __future__ import annotations

import json
import sys

import click
import psycopg

from growth_sim.cli.options import dsn_option, examples, new_database_options, target_option
from growth_sim.db.connect import resolve_dsn
from growth_sim.errors import GrowthSimError, first_line


@click.command("plan", epilog=examples(
    "growth-sim plan --to week-1 --scale 0.01",
    "growth-sim plan --from week-4 --to week-8 --by week",
    "growth-sim plan --to initial --json"))
@target_option("--to", "to_target", required=True,
               help="Where the plan ends: initial, week-N, +3d, +12h (after --from) or an ISO time.")
@target_option("--from", "from_target", default="initial", show_default=True,
               help="Where the plan starts (same forms as --to).")
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
    from growth_sim.engine.estimate import planned
    from growth_sim.profile import load_profile
    from growth_sim.timeline.plan import build_plan, format_plan, resolve_range
    from growth_sim.timeline.quantities import parse_scale
    from growth_sim.timeline.schedule import Schedule

    profile = load_profile(profile_name)
    factor = parse_scale(scale)
    schedule = Schedule(profile, factor)
    start, stop = resolve_range(schedule, from_target, to_target)
    result = build_plan(profile, factor, start, stop, by)
    # From --from's planned size; the initial dataset grows an empty database (as `advance` sees it).
    cost = planned(schedule, start, stop, to_target, 0 if start == 0 else None)
    if as_json:
        click.echo(json.dumps({**result, "estimate": cost.as_dict()}, indent=2))
    else:
        click.echo(f"{format_plan(result)}\n{cost.line()}")


@click.command("init", epilog=examples(
    "growth-sim init --scale 0.01",
    "growth-sim init --scale 0.01 --force",
    "growth-sim init --dsn postgresql://localhost/taskpilot --seed 7"))
@dsn_option
@click.option("--profile", "profile_name", default="taskpilot", show_default=True, metavar="NAME",
              help="A shipped profile's name or the path of a profile .toml file.")
@click.option("--seed", type=int, default=1, show_default=True, metavar="N", help="Seed of all generated data.")
@click.option("--scale", type=float, default=1, show_default=True, metavar="X",
              help="Multiply every count and size (row widths stay the same).")
@click.option("--force", is_flag=True, help="Drop the data of a database initialised with other settings.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def init_command(dsn: str | None, profile_name: str, seed: int, scale: float, force: bool, as_json: bool) -> None:
    """Create the database (if missing), the application schema and the growth-sim ledger."""
    from growth_sim.engine.install import initialise
    from growth_sim.profile import load_profile
    from growth_sim.timeline.quantities import check_seed_scale

    profile = load_profile(profile_name)
    check_seed_scale(seed, scale)
    target = resolve_dsn(dsn)
    result = initialise(target.dsn, profile, seed, scale, force=force)
    if as_json:
        click.echo(json.dumps({"database": target.display, "action": result.action, "profile": profile.name,
                               "seed": seed, "scale": scale, "database_created": result.database_created}))
        return
    said = {"created": "initialised", "replaced": "re-initialised (old data dropped)",
            "unchanged": "already initialised with these settings; nothing to do"}[result.action]
    click.echo(f"{target.display}: {said} (profile {profile.name}, seed {seed}, scale {scale:g})")


@click.command("advance", epilog=examples(
    "growth-sim advance --to week-1 --scale 0.01",
    "growth-sim advance --to +3d --with-reads",
    "growth-sim advance --to week-4 --jobs 4 --yes"))
@dsn_option
@target_option("--to", "target", required=True,
               help="Where to grow to: initial, week-N, +3d, +12h or an ISO time on the simulated clock.")
@new_database_options
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON only.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--with-reads", "with_reads", type=int, default=None, is_flag=False, flag_value=2, metavar="[N]",
              help="Replay the read mix on N client connections (2 when N is left out) while growing.")
@click.option("--jobs", type=click.IntRange(1, 64), default=None, metavar="N",
              show_default="the machine's cores, up to 4, on the private cluster; 1 on another server",
              help="Write the initial load's independent chunks on N connections, and from 2 the rows of each "
              "simulated hour that nothing else of it needs (TaskPilot's attachments, activity log, webhook "
              "deliveries) beside the rest of the hour; if another advance is running on the database, join it "
              "(from any machine) instead of refusing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before a run that plans to add more than 5 GiB "
              "(asked only on a terminal).")
def advance_command(dsn: str | None, target: str, profile_name: str | None, seed: int | None,
                    scale: float | None, as_json: bool, quiet: bool, with_reads: int | None,
                    jobs: int | None, yes: bool) -> None:
    """Grow the database along the simulated calendar to TARGET, as fast as the server allows.

    A new database is initialised first (with --profile/--seed/--scale); an initialised one must be
    given the same settings or none. Interrupted runs resume where the ledger says.
    """
    from growth_sim.cli.progress import ProgressBar
    from growth_sim.cli.summary import format_summary
    from growth_sim.engine.advance import advance
    from growth_sim.engine.diskspace import check_space
    from growth_sim.engine.estimate import CONFIRM_ABOVE, estimate
    from growth_sim.engine.install import initialised
    from growth_sim.engine.parallel import default_jobs

    target_db = resolve_dsn(dsn)
    # Whatever refuses the run here (disk, a declined confirmation) leaves the database as it was before.
    with initialised(target_db.dsn, profile_name, seed, scale, target):
        try:
            if warning := check_space(target_db.dsn, target):
                click.echo(f"warning: {warning}", err=True)
            cost = estimate(target_db.dsn, target)
        except psycopg.Error as exc:
            raise GrowthSimError(f"the database refused the checks before the run: {first_line(exc)}; "
                                 "nothing was written") from None
        if not (quiet or as_json):
            click.echo(cost.line(), err=True)
        if cost.growth > CONFIRM_ABOVE and not yes and sys.stdin.isatty() and sys.stderr.isatty():
            click.confirm("Start writing?", abort=True, err=True)
    with _reads_alongside(target_db.dsn, with_reads) as reads, ProgressBar(disabled=quiet or as_json) as bar:
        result = advance(target_db.dsn, target, bar.update, jobs=jobs,
                         default_jobs=default_jobs() if target_db.embedded else 1)
    if as_json:
        click.echo(json.dumps({**result.__dict__, **({"reads": reads.result().as_dict()} if reads else {})},
                              default=str))
    else:
        click.echo(format_summary(result))
        if reads:
            from growth_sim.observe.reads import format_result

            click.echo("\nreads during the run:\n" + format_result(reads.result()))


@click.command("steady", epilog=examples(
    "growth-sim steady --rate 10GiB/week --duration 1h",
    "growth-sim steady --preset quick --speed 1440",
    "growth-sim steady --rate 1GiB/day --until week-12"))
@dsn_option
@click.option("--rate", metavar="RATE", help="On-disk growth per period, decimal or binary units: 10GiB/week, "
              "1.5GB/day, 200MiB/h, 500KB/s.")
@click.option("--vus", type=int, metavar="N", help="The load guide's virtual users instead of a rate "
              "(taskpilot: 50 ~ 1 GiB/week, 500 ~ 10 GiB/week).")
@click.option("--preset", metavar="NAME", help="A load-guide run (virtual users and wall-clock duration): quick "
              "(10, 5m), standard (50, 1h), heavy (200, 8h), continuous (500, 168h).")
@click.option("--speed", type=float, default=1, show_default=True, metavar="X",
              help="Simulated seconds per wall-clock second (1440: a simulated day per minute).")
@click.option("--duration", metavar="DURATION", help="Wall-clock time to run (60s, 8h, 7d); it covers DURATION x "
              "speed of simulated time.", show_default="until --until, or until stopped")
@target_option("--until", help="Simulated time to stop at: week-N, +3d, +12h or an ISO time.")
@click.option("--status-every", type=float, default=10, show_default=True, metavar="SECONDS",
              help="Print a status line this often (stderr).")
@new_database_options
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON only.")
@click.option("--quiet", "-q", is_flag=True, help="No status lines (reconnection notices still show).")
def steady_command(dsn: str | None, rate: str | None, vus: int | None, preset: str | None, speed: float,
                   duration: str | None, until: str | None, status_every: float, profile_name: str | None,
                   seed: int | None, scale: float | None, as_json: bool, quiet: bool) -> None:
    """Keep the database growing at a rate, paced in real time (or --speed N times faster).

    Rows trickle in continuously with "now" timestamps on the simulated clock, in the profile's mix of tables,
    updates and deletes, shaped by its daily curve; the rate is on-disk growth measured on the server. A new
    database gets the initial dataset first. Ctrl-C or SIGTERM stops after the current unit; running the same
    command again continues the same timeline.
    """
    from growth_sim.cli.progress import ProgressBar
    from growth_sim.cli.steady_report import format_status, format_summary, summary_json
    from growth_sim.engine.install import ensure_initialised, recorded_profile
    from growth_sim.engine.steady import resolve_rate, steady
    from growth_sim.profile import Profile
    from growth_sim.timeline.quantities import parse_duration

    try:
        wall = parse_duration(duration) if duration is not None else None
    except ValueError as exc:
        raise GrowthSimError(f"--duration {exc}") from None
    target_db = resolve_dsn(dsn)

    def prepared_profile() -> Profile:
        ensure_initialised(target_db.dsn, profile_name, seed, scale)
        return recorded_profile(target_db.dsn)

    per_second, preset_seconds, period = resolve_rate(rate, vus, preset, prepared_profile)
    if rate is not None:
        ensure_initialised(target_db.dsn, profile_name, seed, scale)
    if wall is None and until is None:
        wall = preset_seconds

    with ProgressBar(disabled=quiet or as_json) as bar:
        warn = bar.write
        result = steady(target_db.dsn, per_second, speed=speed, duration=wall, until=until,
                        status_every=status_every, on_message=warn, on_initial=bar.update,
                        on_status=(lambda s: None) if quiet else (lambda s: warn(format_status(s, period))))
    click.echo(json.dumps(summary_json(result)) if as_json else format_summary(result, period))
    if result.stopped_by:
        sys.exit(130)


@click.command("release", epilog=examples(
    "growth-sim release",
    "growth-sim release --dsn postgresql://localhost/taskpilot --json"))
@dsn_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def release_command(dsn: str | None, as_json: bool) -> None:
    """Hand the hot tables back to the server's autovacuum.

    While a database is being grown, autovacuum is held off on the tables whose VACUUM the runs emulate in
    simulated time (issues, notifications), also between runs, so a grown database keeps the dead tuples a
    checkup should find. Release them when the database should age in wall-clock time again; the next
    `advance` or `steady` takes them back.
    """
    from growth_sim.engine.advance import release

    target_db = resolve_dsn(dsn)
    tables = release(target_db.dsn)
    if as_json:
        click.echo(json.dumps({"released": tables}))
    else:
        click.echo(f"autovacuum is back on for: {', '.join(tables)}")


def _reads_alongside(dsn: str, clients: int | None):
    """`reads.background` when --with-reads was given, else a context that yields None."""
    from contextlib import nullcontext

    from growth_sim.observe.reads import background

    return background(dsn, clients) if clients else nullcontext()
