"""`growth-sim db`: the private PostgreSQL cluster under $GROWTH_SIM_HOME, and the status of any server."""

from __future__ import annotations

import json

import click

from growth_sim.cli.cluster_list import format_clusters
from growth_sim.cli.options import dsn_option, examples
from growth_sim.cli.status_line import status_line
from growth_sim.db.cluster import Cluster
from growth_sim.db.connect import describe, external_target, server_status
from growth_sim.db.registry import clusters
from growth_sim.timeline.quantities import format_size


@click.group("db", epilog=examples("growth-sim db status", "growth-sim db start --tcp", "growth-sim db destroy --yes"))
def db_group() -> None:
    """Manage the private PostgreSQL cluster under $GROWTH_SIM_HOME.

    Other commands start it when they need it and stop it when they end, unless `db start` started it
    (it then runs until `db stop`) or another command or connection still uses it.
    """


@db_group.command("start", epilog=examples("growth-sim db start", "growth-sim db start --tcp"))
@click.option("--tcp/--no-tcp", default=None, show_default="keep the current setting",
              help="Also listen on 127.0.0.1 with a generated password.")
def db_start(tcp: bool | None) -> None:
    """Create the cluster if needed and start it; it runs until `db stop`."""
    cluster = Cluster.from_env()
    cluster.start(tcp=tcp, on_step=status_line(False))
    status = cluster.status()
    click.echo(f"PostgreSQL {status.version} running, data in {status.data_dir}")
    click.echo(cluster.dsn())
    if status.tcp:
        click.echo(f"TCP: 127.0.0.1:{status.port} (password in {cluster.password_file})")


@db_group.command("stop", epilog=examples("growth-sim db stop"))
def db_stop() -> None:
    """Stop the cluster (fast shutdown)."""
    Cluster.from_env().stop()
    click.echo("stopped")


@db_group.command("status", epilog=examples(
    "growth-sim db status", "growth-sim db status --dsn postgresql://localhost/taskpilot --json"))
@dsn_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def db_status(dsn: str | None, as_json: bool) -> None:
    """Show whether the cluster runs, its version, data directory, socket and size, and every private cluster
    of this user on this machine (running or not).

    With --dsn, DATABASE_URL or PG* variables: the server and database they point at instead.
    """
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
            f"preloaded:       {', '.join(status.preloaded) or '-'}",
        ]
        if status.tcp:
            lines.append(f"TCP:             127.0.0.1:{status.port}")
        settings = status.settings
        info["settings"] = {s.name: {"value": s.value, "reason": s.reason} for s in settings}
        lines += ["", "settings for bulk growth (written on every start; ALTER SYSTEM overrides them):",
                  *(f"  {s.name} = {s.value}: {s.reason}" for s in settings)]
        lines += ["", *format_clusters(everywhere, status.home)]
    else:
        server = server_status(target.dsn)
        info = {"target": describe(target.dsn), "running": True, **server}
        lines = [
            f"server:          {describe(target.dsn)}: running",
            f"PostgreSQL:      {server['version']}",
            f"database:        {server['database']} ({format_size(server['database_size_bytes'])})",
            f"data directory:  {server['data_dir'] or '(not visible to this user)'}",
        ]
    click.echo(json.dumps(info, indent=2) if as_json else "\n".join(lines))


@db_group.command("url", epilog=examples("growth-sim db url", "growth-sim db url --tcp"))
@click.option("--tcp", is_flag=True, help="The TCP URL, password included (needs `db start --tcp`).")
def db_url(tcp: bool) -> None:
    """Print the private cluster's connection URL (starting it if needed: it then runs until `db stop`)."""
    cluster = Cluster.from_env()
    cluster.ensure_running(on_step=status_line(False))
    click.echo(cluster.dsn(tcp=tcp))


@db_group.command("destroy", epilog=examples("growth-sim db destroy", "growth-sim db destroy --yes"))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def db_destroy(yes: bool) -> None:
    """Stop the cluster and delete its data for good."""
    cluster = Cluster.from_env()
    if not yes:
        click.confirm(f"Delete the private cluster under {cluster.home} and all its data?", abort=True)
    cluster.destroy()
    click.echo("destroyed")
