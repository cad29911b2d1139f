"""The `growth-sim` command line: a thin click layer over the library API."""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click
import psycopg

from growth_sim import __version__
from growth_sim.cli.status_line import status_line
from growth_sim.db import usage
from growth_sim.db.cluster import Cluster
from growth_sim.db.connect import connect, describe, ensure_database, external_target, resolve_dsn
from growth_sim.errors import GrowthSimError
from growth_sim.timeline.quantities import format_size

F = TypeVar("F", bound=Callable[..., object])


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="growth-sim")
def cli() -> None:
    """Grow a real PostgreSQL database the way a busy SaaS issue tracker grows it.

    Without --dsn, DATABASE_URL or PG* variables every command uses a private
    PostgreSQL cluster under $GROWTH_SIM_HOME (default ./.growth-sim).
    """


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


@cli.group()
def db() -> None:
    """Manage the private PostgreSQL cluster under $GROWTH_SIM_HOME.

    Other commands start it when they need it and stop it when they end, unless `db start` started it
    (it then runs until `db stop`) or another command or connection still uses it.
    """


@db.command("start")
@click.option(
    "--tcp/--no-tcp",
    default=None,
    help="Also listen on 127.0.0.1 with a generated password (default: keep the current setting).",
)
def db_start(tcp: bool | None) -> None:
    """Create the cluster if needed and start it; it runs until `db stop`."""
    cluster = Cluster.from_env()
    cluster.start(tcp=tcp, on_step=status_line(False))
    status = cluster.status()
    click.echo(f"PostgreSQL {status.version} running, data in {status.data_dir}")
    click.echo(cluster.dsn())
    if status.tcp:
        click.echo(f"TCP: 127.0.0.1:{status.port} (password in {cluster.password_file})")


@db.command("stop")
def db_stop() -> None:
    """Stop the cluster (fast shutdown)."""
    Cluster.from_env().stop()
    click.echo("stopped")


@db.command("status")
@dsn_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def db_status(dsn: str | None, as_json: bool) -> None:
    """Show whether the cluster runs, its version, data directory, socket and size, and every private cluster
    of this user on this machine (running or not).

    With --dsn, DATABASE_URL or PG* variables: the server and database they point at instead.
    """
    from growth_sim.cli.cluster_list import format_clusters
    from growth_sim.db.registry import clusters

    target = external_target(dsn)
    if target is None:
        status = Cluster.from_env().status()
        everywhere = clusters()
        info: dict[str, object] = {"target": "private cluster", **status.as_dict(),
                                   "clusters": [c.as_dict() for c in everywhere]}
        lines = [
            f"private cluster: {'running' if status.running else 'stopped'}",
            f"PostgreSQL:      {status.version or '(not created)'}",
            f"data directory:  {status.data_dir}",
            f"socket:          {status.socket_dir}" + (f" port {status.port}" if status.port else ""),
            f"size:            {format_size(status.size_bytes) if status.size_bytes is not None else '-'}",
        ]
        if status.tcp:
            lines.append(f"TCP:             127.0.0.1:{status.port}")
        lines += ["", *format_clusters(everywhere, status.home)]
    else:
        with connect(target.dsn) as conn:
            version, database, size, data_dir = conn.execute(
                "SELECT current_setting('server_version'), current_database(),"
                " pg_database_size(current_database()),"
                " (SELECT setting FROM pg_settings WHERE name = 'data_directory')"
            ).fetchone()  # type: ignore[misc]
        info = {
            "target": describe(target.dsn),
            "running": True,
            "version": version,
            "database": database,
            "database_size_bytes": size,
            "data_dir": data_dir,
        }
        lines = [
            f"server:          {describe(target.dsn)}: running",
            f"PostgreSQL:      {version}",
            f"database:        {database} ({format_size(size)})",
            f"data directory:  {data_dir or '(not visible to this user)'}",
        ]
    click.echo(json.dumps(info, indent=2) if as_json else "\n".join(lines))


@db.command("url")
@click.option("--tcp", is_flag=True, help="The TCP URL, password included (needs `db start --tcp`).")
def db_url(tcp: bool) -> None:
    """Print the private cluster's connection URL (starting it if needed: it then runs until `db stop`)."""
    cluster = Cluster.from_env()
    cluster.ensure_running(on_step=status_line(False))
    click.echo(cluster.dsn(tcp=tcp))


@db.command("destroy")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def db_destroy(yes: bool) -> None:
    """Stop the cluster and delete its data for good."""
    cluster = Cluster.from_env()
    if not yes:
        click.confirm(f"Delete the private cluster under {cluster.home} and all its data?", abort=True)
    cluster.destroy()
    click.echo("destroyed")


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
    from growth_sim.profile import load_profile
    from growth_sim.timeline.plan import build_plan, format_plan, parse_scale, resolve_range
    from growth_sim.timeline.schedule import Schedule

    profile = load_profile(profile_name)
    factor = parse_scale(scale)
    start, stop = resolve_range(Schedule(profile, factor), from_target, to_target)
    result = build_plan(profile, factor, start, stop, by)
    click.echo(json.dumps(result, indent=2) if as_json else format_plan(result))


@cli.command("init")
@dsn_option
@click.option("--profile", "profile_name", default="taskpilot", show_default=True,
              help="Profile name (profiles/NAME.toml) or path to a profile file.")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of all generated data.")
@click.option("--scale", type=float, default=1.0, show_default=True,
              help="Multiply every count and size target (row widths stay realistic).")
@click.option("--force", is_flag=True, help="Drop the data of a database initialised with other settings.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def init_command(dsn: str | None, profile_name: str, seed: int, scale: float, force: bool, as_json: bool) -> None:
    """Create the database (if missing), the application schema and the growth-sim ledger."""
    from growth_sim.engine.install import check_seed_scale, initialise
    from growth_sim.profile import load_profile

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


@cli.command("advance")
@dsn_option
@click.option("--to", "target", required=True, metavar="TARGET",
              help="Where to grow to: initial, week-N, +3d, +12h or an ISO time on the simulated clock.")
@new_database_options
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON only.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--with-reads", "with_reads", type=int, default=None, is_flag=False, flag_value=2, metavar="[N]",
              help="Replay the read mix on N client connections (default 2) while growing.")
@click.option("--jobs", type=click.IntRange(1, 64), default=None, metavar="N",
              help="Write the initial load's independent chunks on N connections; if another advance is running "
              "on the database, join it (from any machine) instead of refusing.")
def advance_command(dsn: str | None, target: str, profile_name: str | None, seed: int | None,
                    scale: float | None, as_json: bool, quiet: bool, with_reads: int | None,
                    jobs: int | None) -> None:
    """Grow the database along the simulated calendar to TARGET, as fast as the server allows.

    A new database is initialised first (with --profile/--seed/--scale); an initialised one must be
    given the same settings or none. Interrupted runs resume where the ledger says.
    """
    from growth_sim.cli.progress import ProgressBar
    from growth_sim.cli.summary import format_summary
    from growth_sim.engine.run import advance

    target_db = resolve_dsn(dsn)
    _prepare(target_db.dsn, profile_name, seed, scale, target)
    from growth_sim.engine.diskspace import check_space

    if warning := check_space(target_db.dsn, target):
        click.echo(f"warning: {warning}", err=True)
    with _reads_alongside(target_db.dsn, with_reads) as reads, ProgressBar(disabled=quiet or as_json) as bar:
        result = advance(target_db.dsn, target, bar.update, jobs=jobs)
    if as_json:
        click.echo(json.dumps({**result.__dict__, **({"reads": reads.result().as_dict()} if reads else {})},
                              default=str))
    else:
        click.echo(format_summary(result))
        if reads:
            from growth_sim.observe.reads import format_result

            click.echo("\nreads during the run:\n" + format_result(reads.result()))


@cli.command("steady")
@dsn_option
@click.option("--rate", metavar="RATE", help="On-disk growth per period, decimal or binary units: 10GiB/week, "
              "1.5GB/day, 200MiB/h, 500KB/s.")
@click.option("--vus", type=int, metavar="N", help="The load guide's virtual users instead of a rate "
              "(taskpilot: 50 ~ 1 GiB/week, 500 ~ 10 GiB/week).")
@click.option("--preset", metavar="NAME", help="A load-guide run (virtual users and wall-clock duration): quick "
              "(10, 5m), standard (50, 1h), heavy (200, 8h), continuous (500, 168h).")
@click.option("--speed", type=float, default=1.0, show_default=True, metavar="N",
              help="Simulated seconds per wall-clock second (1440: a simulated day per minute).")
@click.option("--duration", metavar="DURATION", help="Wall-clock time to run (60s, 8h, 7d); it covers DURATION x "
              "speed of simulated time. Default: until --until, or until stopped.")
@click.option("--until", metavar="TARGET", help="Simulated time to stop at: week-N, +3d, +12h or an ISO time.")
@click.option("--status-every", type=float, default=10.0, show_default=True, metavar="SECONDS",
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
    from growth_sim.db import ledger
    from growth_sim.engine.steady import resolve_rate, steady
    from growth_sim.profile import Profile, load_profile
    from growth_sim.timeline.quantities import parse_duration

    try:
        wall = parse_duration(duration) if duration is not None else None
    except ValueError as exc:
        raise GrowthSimError(f"--duration {exc}") from None
    target_db = resolve_dsn(dsn)

    def prepared_profile() -> Profile:
        _prepare(target_db.dsn, profile_name, seed, scale)
        with connect(target_db.dsn) as conn:
            return load_profile(ledger.load(conn).profile)

    per_second, preset_seconds, period = resolve_rate(rate, vus, preset, prepared_profile)
    if rate is not None:
        _prepare(target_db.dsn, profile_name, seed, scale)
    if wall is None and until is None:
        wall = preset_seconds

    def warn(line: str) -> None:
        click.echo(line, err=True)

    with ProgressBar(disabled=quiet or as_json) as bar:
        result = steady(target_db.dsn, per_second, speed=speed, duration=wall, until=until,
                        status_every=status_every, on_message=warn, on_initial=bar.update,
                        on_status=(lambda s: None) if quiet else (lambda s: warn(format_status(s, period))))
    click.echo(json.dumps(summary_json(result)) if as_json else format_summary(result, period))
    if result.stopped_by:
        sys.exit(130)


@cli.group()
def fixture() -> None:
    """Deterministic fixture files: a grown database as one SQL file, loaded in seconds."""


@fixture.command("build")
@dsn_option
@click.option("--profile", "profile_name", default="taskpilot", show_default=True,
              help="Profile name (profiles/NAME.toml) or path to a profile file.")
@click.option("--to", "target", required=True, metavar="TARGET",
              help="How far to grow: initial, week-N, +3d, +12h or an ISO time on the simulated clock.")
@click.option("--scale", type=float, default=0.001, show_default=True, help="Multiply every count and size.")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of all generated data.")
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


@fixture.command("load")
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


@cli.command("release")
@dsn_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def release_command(dsn: str | None, as_json: bool) -> None:
    """Hand the hot tables back to the server's autovacuum.

    While a database is being grown, autovacuum is held off on the tables whose VACUUM the runs emulate in
    simulated time (issues, notifications), also between runs, so a grown database keeps the dead tuples a
    checkup should find. Release them when the database should age in wall-clock time again; the next
    `advance` or `steady` takes them back.
    """
    from growth_sim.engine.run import release

    target_db = resolve_dsn(dsn)
    tables = release(target_db.dsn)
    if as_json:
        click.echo(json.dumps({"released": tables}))
    else:
        click.echo(f"autovacuum is back on for: {', '.join(tables)}")


@cli.command("plot")
@dsn_option
@click.option("-o", "--output", default="growth.png", show_default=True, metavar="FILE",
              help="Where to write the figure (PNG; another suffix matplotlib knows, such as .svg or .pdf, works too).")
@click.option("--dpi", type=click.IntRange(40, 400), default=100, show_default=True, help="Resolution of the image.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def plot_command(dsn: str | None, output: str, dpi: int, as_json: bool) -> None:
    """Draw a grown database's history as one figure: rows against the plan, size against the milestones,
    bloat and dead tuples of the hot tables, vacuum events, and the size of every table at the end.
    """
    from growth_sim.observe.history import load_history
    from growth_sim.observe.plot import save_growth_figure

    history = load_history(resolve_dsn(dsn).dsn)
    path = save_growth_figure(history, output, dpi=dpi)
    if as_json:
        click.echo(json.dumps({"path": str(path), "measurements": len(history.samples),
                               "last_hour": history.hours[-1], "bytes": path.stat().st_size}))
    else:
        click.echo(f"wrote {path}: {history.describe()}")


def _prepare(dsn: str, profile_name: str | None, seed: int | None, scale: float | None,
             target: str | None = None) -> None:
    """Initialise a new database; an initialised one keeps its settings (flags given must match them)."""
    from growth_sim.db import ledger
    from growth_sim.engine.install import check_seed_scale, initialise
    from growth_sim.profile import load_profile
    from growth_sim.timeline.schedule import Schedule

    check_seed_scale(seed, scale)
    if ensure_database(dsn):
        existing = None
    else:
        with connect(dsn) as conn:
            existing = ledger.load(conn) if ledger.exists(conn) else None
    if existing is not None and profile_name is None and seed is None and scale is None:
        return
    profile = load_profile(profile_name or (existing.profile if existing else "taskpilot"))
    scale = scale if scale is not None else (existing.scale if existing else 1.0)
    if existing is None and target is not None:
        Schedule(profile, scale).resolve_target(target, 0)  # a bad target creates nothing
    initialise(dsn, profile, seed if seed is not None else (existing.seed if existing else 1), scale)


# -- inspecting a grown database: report, reads, findings ---------------------------------------------------
def _reads_alongside(dsn: str, clients: int | None):
    """`reads.background` when --with-reads was given, else a context that yields None."""
    from contextlib import nullcontext

    from growth_sim.observe.reads import background

    return background(dsn, clients) if clients else nullcontext()


@cli.command("report")
@dsn_option
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (keys in the README).")
def report_command(dsn: str | None, as_json: bool) -> None:
    """Show the simulated clock, rows and sizes against the plan, bloat, vacuum, index usage, top statements
    and the milestones reached."""
    from growth_sim.observe.report import format_report, gather

    result = gather(resolve_dsn(dsn).dsn)
    click.echo(json.dumps(result, indent=2) if as_json else format_report(result))


@cli.command("reads")
@dsn_option
@click.option("--duration", default="10m", show_default=True, metavar="DURATION",
              help="How long to replay: 90s, 10m, 1h.")
@click.option("--queries", type=int, default=None, metavar="N", help="Stop after N queries (before --duration).")
@click.option("--clients", type=int, default=4, show_default=True, help="Connections replaying the interactive "
              "scenarios (background jobs get one more, paced at their rate).")
@click.option("--scenario", "scenarios", multiple=True,
              type=click.Choice(["regular", "power", "background", "dashboards"]),
              help="Replay only these scenarios (repeatable). Default: all four.")
@click.option("--seed", type=int, default=None, help="Seed of the parameter draws (default: random).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON only.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def reads_command(dsn: str | None, duration: str, queries: int | None, clients: int, scenarios: tuple[str, ...],
                  seed: int | None, as_json: bool, quiet: bool) -> None:
    """Replay the load guide's read mix as SQL and print per-query-class counts and p50/p95/p99 latency.

    Read-only: it never writes, holds no snapshot between statements and gives up on locks quickly.
    """
    from tqdm import tqdm

    from growth_sim.observe.reads import Runner, format_result
    from growth_sim.timeline.quantities import parse_duration

    try:
        seconds = parse_duration(duration)
    except ValueError as exc:
        raise GrowthSimError(f"--duration: {exc}") from None
    if queries is not None and queries < 1:
        raise GrowthSimError(f"--queries must be at least 1, got {queries}")
    runner = Runner(resolve_dsn(dsn).dsn, clients=clients, scenarios=scenarios or None, seed=seed)
    with tqdm(total=round(seconds), unit="s", desc="reads", disable=quiet or as_json, dynamic_ncols=True) as bar:
        def show(elapsed: float, done: int, errors: int) -> None:
            bar.n = min(round(elapsed), bar.total)
            bar.set_postfix({"queries": f"{done:,}", "errors": errors}, refresh=True)

        result = runner.run(seconds, queries, show)
    click.echo(json.dumps(result.as_dict(), indent=2) if as_json else format_result(result))


@cli.command("findings")
@dsn_option
@click.option("--json", "as_json", is_flag=True, help="Print the findings with evidence and SQL as JSON.")
def findings_command(dsn: str | None, as_json: bool) -> None:
    """Check the load guide's expected findings and the README's alerts: present or absent, with the numbers
    behind each answer and the SQL to see them yourself."""
    from growth_sim.observe.findings import check, format_findings

    result = check(resolve_dsn(dsn).dsn)
    click.echo(json.dumps(result, indent=2, default=str) if as_json else format_findings(result))


def main() -> None:
    """Console entry point: user errors become one line on stderr and exit code 2."""
    # growth-sim's own warnings only: the driver's (a rollback it could not do after Ctrl-C during a commit) would
    # add a line to the one that already says what happened.
    warnings = logging.StreamHandler()
    warnings.addFilter(logging.Filter("growth_sim"))
    logging.basicConfig(format="warning: %(message)s", level=logging.WARNING, handlers=[warnings])
    try:
        cli.main(standalone_mode=False)
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
    except psycopg.Error as exc:  # a server error no command anticipated: still one line, nothing half-written
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        click.echo(f"error: the database refused: {first}; the work in progress was rolled back", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
