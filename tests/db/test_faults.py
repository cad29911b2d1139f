"""Faults during `advance`: kill -9 at random moments, a server restart, lock and statement timeouts, the
database dropped under the run. After each: exact counts, a consistent ledger, no duplicate keys.

``GROWTH_SIM_FAULT_TRIALS`` sets how many kill -9 trials run (2 by default; the README gives the full run).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections.abc import Callable

import psycopg
import pytest
from recipes import THIRTY_HOURS, Grown
from support import assert_user_error, counts, growth_sim_command, run_cli, scalar

from growth_sim.db.cluster import Cluster
from growth_sim.engine.install import initialise
from growth_sim.fixtures.templates import FixtureDatabase
from growth_sim.models.taskpilot import TABLES
from growth_sim.profile import load_profile
from growth_sim.timeline.schedule import Schedule

SCALE, SEED = THIRTY_HOURS.scale, THIRTY_HOURS.seed  # 0.002, 3: the uninterrupted run is shared
TRIALS = int(os.environ.get("GROWTH_SIM_FAULT_TRIALS", "2"))
HOURS = 30  # the hours THIRTY_HOURS grows


def _units(dsn: str) -> int:
    return scalar(dsn, "SELECT count(*) FROM growth_sim.units")


def _start(env: dict[str, str], dsn: str, target: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*growth_sim_command(), "advance", "--to", target, "--dsn", dsn, "-q"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _wait_units(dsn: str, proc: subprocess.Popen[str], at_least: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while proc.poll() is None and _units(dsn) < at_least:
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.02)


def _assert_consistent(dsn: str, hour: int | None) -> None:
    """The clock where the ledger says; each committed unit's rows in the tables and nothing else; keys unique."""
    schedule = Schedule(load_profile("taskpilot"), SCALE)
    if hour is not None:
        assert scalar(dsn, "SELECT clock_hour FROM growth_sim.run") == hour
        assert scalar(dsn, "SELECT count(*) FROM growth_sim.units WHERE unit LIKE 'hour/%'") == hour
        planned = {t: schedule.rows(t, hour) for t in schedule.streams if t in TABLES}
        assert counts(dsn, planned) == planned
    for table in ("issues", "comments", "activity_log", "notifications"):
        recorded = scalar(dsn, "SELECT coalesce(sum((rows ->> %s)::bigint), 0) FROM growth_sim.units", (table,))
        deleted = scalar(dsn, "SELECT coalesce(sum((rows ->> 'notification_deletes')::bigint), 0)"
                              " FROM growth_sim.units") if table == "notifications" else 0
        assert counts(dsn, [table])[table] == recorded - deleted, table
        assert scalar(dsn, f"SELECT count(*) - count(DISTINCT id) FROM {table}") == 0, table
    # a foreign key is NOT VALID only between the restore path's steps, before its validation's unit is written
    assert scalar(dsn, "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND NOT convalidated AND EXISTS ("
                       " SELECT FROM growth_sim.units WHERE unit = 'initial/~validate/' || conrelid::regclass::text"
                       " || '.' || conname)") == 0
    if hour is not None:  # and none is once the run is past its initial load
        assert scalar(dsn, "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND NOT convalidated") == 0


@pytest.fixture
def reference(shared_db: Callable[[Grown], FixtureDatabase]) -> str:
    """The primary keys of an uninterrupted run to HOURS (grown once per run)."""
    return _keys(shared_db(THIRTY_HOURS).dsn)


def _keys(dsn: str) -> str:
    return scalar(dsn, "SELECT md5(string_agg(id::text, ',' ORDER BY id)) FROM comments") + \
        scalar(dsn, "SELECT md5(string_agg(id::text, ',' ORDER BY id)) FROM issues")


@pytest.mark.parametrize("trial", range(TRIALS))
def test_kill_9_at_a_random_moment(trial: int, fresh_db: str, env: dict[str, str], reference: str):
    initialise(fresh_db, load_profile("taskpilot"), SEED, SCALE)
    end = Schedule(load_profile("taskpilot"), SCALE).time_of(HOURS).isoformat()
    rng = random.Random(f"{os.environ.get('GROWTH_SIM_TEST_SEED', time.time_ns())}/{trial}")
    proc = _start(env, fresh_db, end)
    _wait_units(fresh_db, proc, rng.randrange(1, 40))
    time.sleep(rng.uniform(0, 0.3))
    proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate(timeout=60)
    assert "Traceback" not in err
    _assert_consistent(fresh_db, None)

    resumed = run_cli(env, "advance", "--to", end, "--dsn", fresh_db, "-q")
    assert resumed.returncode == 0, resumed.stderr
    _assert_consistent(fresh_db, HOURS)
    assert _keys(fresh_db) == reference


def test_server_restart_mid_run_reconnects_and_finishes(fresh_db: str, env: dict[str, str],
                                                        pg_cluster: Cluster, reference: str):
    initialise(fresh_db, load_profile("taskpilot"), SEED, SCALE)
    proc = _start(env, fresh_db, f"+{HOURS}h")
    _wait_units(fresh_db, proc, 20)
    pg_cluster.restart()
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "reconnecting" in err and "Traceback" not in err
    _assert_consistent(fresh_db, HOURS)
    assert _keys(fresh_db) == reference


def test_lock_timeout_stops_cleanly_and_resumes(fresh_db: str, env: dict[str, str]):
    initialise(fresh_db, load_profile("taskpilot"), SEED, SCALE)
    assert run_cli(env, "advance", "--to", "+2h", "--dsn", fresh_db, "-q").returncode == 0
    before = (_units(fresh_db), counts(fresh_db, ["issues", "comments"]))
    with psycopg.connect(fresh_db, autocommit=True) as admin:
        admin.execute(f"ALTER DATABASE {admin.info.dbname} SET lock_timeout = '300ms'")
        with psycopg.connect(fresh_db) as holder:
            holder.execute("LOCK TABLE comments IN ACCESS EXCLUSIVE MODE")
            line = assert_user_error(run_cli(env, "advance", "--to", "+4h", "--dsn", fresh_db, "-q"), "lock")
        admin.execute(f"ALTER DATABASE {admin.info.dbname} RESET lock_timeout")
    assert "resume" in line
    assert (_units(fresh_db), counts(fresh_db, ["issues", "comments"])) == before
    assert run_cli(env, "advance", "--to", "+4h", "--dsn", fresh_db, "-q").returncode == 0
    _assert_consistent(fresh_db, 6)  # +4h from hour 2, the same target both times


def test_statement_timeout_is_one_clear_line(fresh_db: str, env: dict[str, str]):
    initialise(fresh_db, load_profile("taskpilot"), SEED, SCALE)
    slow = {**env, "PGOPTIONS": "-c statement_timeout=1"}
    run = run_cli(slow, "advance", "--to", "+6h", "--dsn", fresh_db, "-q")
    line = assert_user_error(run, "statement timeout")
    assert "resume" in line or "rolled back" in line or "nothing was written" in line
    assert scalar(fresh_db, "SELECT count(*) FROM issues") == \
        scalar(fresh_db, "SELECT coalesce(sum((rows ->> 'issues')::bigint), 0) FROM growth_sim.units")
    assert run_cli(env, "advance", "--to", "+6h", "--dsn", fresh_db, "-q").returncode == 0
    _assert_consistent(fresh_db, 6)


def test_database_dropped_under_the_run(dsn_factory: Callable[[], str], env: dict[str, str],
                                        pg_cluster: Cluster):
    dsn = dsn_factory()
    initialise(dsn, load_profile("taskpilot"), SEED, SCALE)
    proc = _start(env, dsn, f"+{HOURS}h")
    _wait_units(dsn, proc, 10)
    name = psycopg.conninfo.conninfo_to_dict(dsn)["dbname"]
    with psycopg.connect(pg_cluster.dsn("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, err
    lines = [line for line in err.strip().splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "does not exist" in lines[0] and "Traceback" not in err


@pytest.mark.parametrize("second", [("advance", "--to", "+3d"), ("steady", "--rate", "1GiB/day", "--duration", "5s")],
                         ids=["advance", "steady"])
def test_a_second_writer_is_refused_while_advance_runs(second: tuple[str, ...], fresh_db: str, env: dict[str, str]):
    initialise(fresh_db, load_profile("taskpilot"), SEED, SCALE)
    proc = _start(env, fresh_db, "+14d")  # long enough to be running still when the second one starts
    try:
        _wait_units(fresh_db, proc, 3)
        refused = run_cli(env, *second, "--dsn", fresh_db, "-q")
        assert proc.poll() is None
        assert_user_error(refused, "another growth-sim run")
        assert not scalar(fresh_db, "SELECT count(*) FROM growth_sim.units WHERE unit LIKE 'steady/%'")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=120)
    _assert_consistent(fresh_db, None)
