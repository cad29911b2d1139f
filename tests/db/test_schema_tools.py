"""The rest of the toolbox on a schema nobody designed for growth-sim (the shop of ``tests/db/schemas/``): kill -9
during `advance` and resume, `steady`, `plot` and the pytest plugin, each as on TaskPilot.

The shop is grown at scale 0.05; after each run the counts are exact, every foreign key and CHECK holds when the
server validates it again, and an interrupted run ends with the same rows as an uninterrupted one.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from schema_support import SHOP_CHURN, new_profile, revalidate, schema_env, schema_model_registered, shop_digests
from support import counts, growth_sim_command, module_database, run_cli, run_plugin_suite, scalar

from growth_sim import models
from growth_sim.db.cluster import Cluster
from growth_sim.profile import load_profile
from growth_sim.timeline.schedule import Schedule

pytest_plugins = ["pytester"]

SCALE = 0.05
WEEK = 168


@pytest.fixture(scope="module")
def env(pg_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with schema_model_registered(tmp_path_factory.mktemp("site")) as paths:
        yield schema_env(pg_cluster, paths)


@pytest.fixture(scope="module")
def profile(env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shop's starting profile with its churn."""
    return new_profile(env, tmp_path_factory.mktemp("shop"), "shop", SHOP_CHURN)


@pytest.fixture(scope="module")
def week1(env: dict[str, str], profile: Path, pg_cluster: Cluster) -> Iterator[str]:
    """The shop grown to week 1 in one uninterrupted run: its DSN."""
    with module_database(pg_cluster, "shop_week1") as dsn:
        run = run_cli(env, *_advance(dsn, profile), timeout=600)
        assert run.returncode == 0, run.stderr
        yield dsn


def _advance(dsn: str, profile: Path) -> tuple[str, ...]:
    return ("advance", "--dsn", dsn, "--profile", str(profile), "--scale", str(SCALE), "--to", "week-1", "-q")


def _planned(profile: Path, hour: int) -> dict[str, int]:
    p = load_profile(str(profile))
    schedule = Schedule(p, SCALE)
    return {t: schedule.rows(t, hour) for t in sorted(models.model_for(p).TABLES)}


def _units(dsn: str, prefix: str) -> int:
    """Units of the ledger whose names start with `prefix` (none before the ledger exists)."""
    if scalar(dsn, "SELECT to_regclass('growth_sim.units')") is None:
        return 0
    return scalar(dsn, "SELECT count(*) FROM growth_sim.units WHERE unit LIKE %s", (prefix + "%",))


def _recorded(dsn: str, stream: str) -> int:
    """The rows of a stream that the ledger's units record."""
    return scalar(dsn, "SELECT coalesce(sum((rows ->> %s)::bigint), 0) FROM growth_sim.units", (stream,))


def _assert_whole(dsn: str) -> None:
    """No constraint left NOT VALID, and every foreign key and CHECK validated again by the server."""
    assert scalar(dsn, "SELECT count(*) FROM pg_constraint WHERE NOT convalidated") == 0
    assert revalidate(dsn) >= 15


@pytest.mark.parametrize(("prefix", "jobs"), [("hour/", "2"), ("initial/", "1")], ids=["hours", "initial-load"])
def test_kill_9_then_the_same_command_finishes_the_same_run(
        prefix: str, jobs: str, env: dict[str, str], profile: Path, week1: str, fresh_db: str) -> None:
    """Killed once half the units of the hours (or of the initial load) are written, as the uninterrupted run
    wrote them; the same command (resumed with `jobs` writers) then ends with that run's rows, the size knob's
    payloads aside."""
    at_least = _units(week1, prefix) // 2
    assert at_least >= 2
    proc = subprocess.Popen([*growth_sim_command(), *_advance(fresh_db, profile)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while proc.poll() is None and _units(fresh_db, prefix) < at_least:
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate(timeout=60)
    assert "Traceback" not in err
    if prefix == "initial/":
        assert _units(fresh_db, "hour/") == 0  # killed within the initial load

    resumed = run_cli(env, *_advance(fresh_db, profile), "--jobs", jobs, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    planned = _planned(profile, WEEK)
    assert counts(fresh_db, planned) == planned
    assert _units(fresh_db, "hour/") == WEEK
    assert shop_digests(fresh_db) == shop_digests(week1)
    _assert_whole(fresh_db)


def test_steady_grows_the_shop(env: dict[str, str], profile: Path, fresh_db: str) -> None:
    init = run_cli(env, "advance", "--dsn", fresh_db, "--profile", str(profile), "--scale", str(SCALE),
                   "--to", "initial", "-q", timeout=600)
    assert init.returncode == 0, init.stderr
    planned = _planned(profile, 0)
    assert counts(fresh_db, planned) == planned
    run = run_cli(env, "steady", "--dsn", fresh_db, "--rate", "2GiB/day", "--speed", "3600", "--duration", "6s",
                  "--json", timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["stopped_by"] is None
    grown = counts(fresh_db, planned)
    assert grown["orders"] > planned["orders"] and grown["order_lines"] > planned["order_lines"]
    # The tables hold exactly the rows the ledger's units recorded, less the carts that expired.
    recorded = {t: _recorded(fresh_db, t) for t in planned}
    assert _recorded(fresh_db, "cart_expiry") > 0
    assert grown == {**recorded, "carts": recorded["carts"] - _recorded(fresh_db, "cart_expiry")}
    steady_hours = scalar(fresh_db, "SELECT clock_hour FROM growth_sim.run")
    assert steady_hours >= 5
    _assert_whole(fresh_db)


def test_plot_draws_the_shop(env: dict[str, str], week1: str, tmp_path: Path) -> None:
    out = tmp_path / "shop.png"
    run = run_cli(env, "plot", "--dsn", week1, "-o", str(out), timeout=300)
    assert run.returncode == 0, run.stderr
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width >= 600 and height >= 400 and len(data) > 20_000


SAMPLE = '''
import psycopg

def test_the_shop_holds_its_planned_rows(growth_db):
    db = growth_db(profile={profile!r}, to="week-1", scale={scale}, seed=5)
    with psycopg.connect(db.dsn) as conn:
        held = {{t: conn.execute(f"SELECT count(*) FROM {{t}}").fetchone()[0] for t in db.manifest["tables"]}}
    assert held == db.manifest["tables"] == {planned!r}
'''


def test_pytest_plugin_serves_a_schema_profile(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                                profile: Path, env: dict[str, str], pg_cluster: Cluster) -> None:
    planned = _planned(profile, WEEK)
    pytester.makepyfile(test_shop=SAMPLE.format(profile=str(profile), scale=SCALE, planned=planned))
    result = run_plugin_suite(pytester, monkeypatch, "--growth-dsn", pg_cluster.dsn("postgres"))
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["growth-sim: 1 template(s) built*1 database copies*"])
