"""Inspecting a grown database: `report`, `findings`, `reads` and `plot`."""

from __future__ import annotations

import json

import click

from growth_sim.cli.model_choices import ScenarioChoice
from growth_sim.cli.options import dsn_option, examples
from growth_sim.db.connect import resolve_dsn
from growth_sim.errors import GrowthSimError


@click.command("plot", epilog=examples(
    "growth-sim plot",
    "growth-sim plot -o docs/growth.png --dpi 120"))
@dsn_option
@click.option("-o", "--output", default="growth.png", show_default=True, metavar="FILE",
              help="Where to write the figure (PNG; another suffix matplotlib knows, such as .svg or .pdf, works too).")
@click.option("--dpi", type=click.IntRange(40, 400), default=100, show_default=True, metavar="N",
              help="Resolution of the image, 40 to 400.")
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


@click.command("report", epilog=examples(
    "growth-sim report",
    "growth-sim report --dsn postgresql://localhost/taskpilot --json"))
@dsn_option
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (keys in the README).")
def report_command(dsn: str | None, as_json: bool) -> None:
    """Show the simulated clock, rows and sizes against the plan, bloat, vacuum, index usage, top statements
    and the milestones reached."""
    from growth_sim.observe.report import format_report, gather

    result = gather(resolve_dsn(dsn).dsn)
    click.echo(json.dumps(result, indent=2) if as_json else format_report(result))


@click.command("reads", epilog=examples(
    "growth-sim reads --duration 90s",
    "growth-sim reads --scenario power --clients 8 --queries 1000"))
@dsn_option
@click.option("--duration", default="10m", show_default=True, metavar="DURATION",
              help="How long to replay: 90s, 10m, 1h.")
@click.option("--queries", type=int, default=None, metavar="N", help="Stop after N queries (before --duration).")
@click.option("--clients", type=click.IntRange(min=1), default=4, show_default=True, metavar="N",
              help="Connections replaying the interactive scenarios (background jobs get one more, paced at their "
              "rate).")
@click.option("--scenario", "scenarios", multiple=True,
              type=ScenarioChoice(), show_default="all four",
              help="Replay only these scenarios (repeatable).")
@click.option("--seed", type=int, default=None, metavar="N", show_default="random",
              help="Seed of the parameter draws.")
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


@click.command("findings", epilog=examples(
    "growth-sim findings",
    "growth-sim findings --json"))
@dsn_option
@click.option("--json", "as_json", is_flag=True, help="Print the findings with evidence and SQL as JSON.")
def findings_command(dsn: str | None, as_json: bool) -> None:
    """Check the load guide's expected findings and the README's alerts: present or absent, with the numbers
    behind each answer and the SQL to see them yourself."""
    from growth_sim.observe.findings import check, format_findings

    result = check(resolve_dsn(dsn).dsn)
    click.echo(json.dumps(result, indent=2, default=str) if as_json else format_findings(result))
