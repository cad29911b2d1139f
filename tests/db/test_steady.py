"""`growth-sim steady` against a real PostgreSQL: pacing, the daily curve, clean stops, resume after kill -9,
reconnection, and the one-line refusals.

Every database starts as a copy of one initialised at a tiny scale (the initial dataset loaded); the library
runs in this process where pacing is measured, the command line in a subprocess where signals are sent.
Assertions are queries on what the server holds: the ledger's units, the tables' rows, pg_database_size.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from recipes import INITIAL, Grown
from support import counts, growth_sim_command, query, run_main, scalar, wait_for_lock_release, with_source

from growth_sim.engine.advance import advance
from growth_sim.engine.install import initialise
from growth_sim.engine.steady import steady
from growth_sim.fixtures.templates import FixtureDatabase
from growth_sim.profile import load_profile
from growth_sim.timeline.quantities import parse_rate

SCALE = INITIAL.scale  # 0.002
START = load_profile("taskpilot").start
GROWING = ("issues", "comments", "activity_log", "notifications", "attachments")


@pytest.fixture
def copies(copy_db: Callable[[Grown], FixtureDatabase]) -> Callable[[], str]:
    """Make copies of a database initialised at SCALE with its initial dataset; each call returns a DSN. Dropped
    after the test."""
    return lambda: copy_db(INITIAL).dsn


def units(dsn: str) -> list[tuple[int, int, dict, datetime]]:
    """(start, stop, rows, done_at) of the steady units, in simulated order."""
    rows = query(dsn, "SELECT unit, rows, done_at FROM growth_sim.units WHERE unit LIKE 'steady/%' ORDER BY unit")
    out = []
    for unit, counted, done in rows:
        start, stop = unit.removeprefix("steady/").split("-")
        out.append((int(start), int(stop), counted, done))
    return out


def assert_continuous_ledger(dsn: str, start: int, stop: int) -> list[tuple[int, int, dict, datetime]]:
    """Units tile [start, stop) with no gap or overlap; the clock stands at `stop`; the rows in the tables
    are exactly those the ledger's units recorded (initial units included)."""
    done = units(dsn)
    assert done and done[0][0] == start and done[-1][1] == stop, (done[:2], done[-2:])
    assert all(a[1] == b[0] for a, b in zip(done, done[1:], strict=False)), "gap or overlap in the units"
    state, hour = query(dsn, "SELECT state -> 'steady', clock_hour FROM growth_sim.run")[0]
    assert state["clock"] == stop and hour == stop // 3600
    for table in GROWING:
        recorded = scalar(dsn, "SELECT coalesce(sum((rows ->> %s)::bigint), 0) FROM growth_sim.units", (table,))
        deleted = scalar(dsn, "SELECT coalesce(sum((rows ->> %s)::bigint), 0) FROM growth_sim.units",
                         (f"{table[:-1]}_deletes",)) if table == "notifications" else 0
        assert counts(dsn, [table])[table] == recorded - deleted, table
    return done


# -- pacing and shape ------------------------------------------------------------------------------------
def test_accelerated_pacing_follows_the_wall_clock_and_the_daily_curve(copies):
    """--speed 14400 for 4 s: 16 simulated hours, one unit per simulated hour, none written before its time."""
    dsn = copies()
    speed, seconds = 14400, 4.0
    started = datetime.now(UTC)
    t0 = time.monotonic()
    result = steady(dsn, parse_rate("20MiB/day"), speed=speed, duration=seconds, status_every=60)
    wall = time.monotonic() - t0
    assert result.stopped_by is None
    assert result.status.sim_seconds == speed * seconds
    assert seconds <= wall < seconds + 3, wall
    done = assert_continuous_ledger(dsn, 0, 16 * 3600)
    assert [b - a for a, b, _, _ in done] == [3600] * 16  # at this speed a unit is a simulated hour
    for _, b, _, at in done:  # never ahead of the paced clock (which starts after `started`)
        assert (at - started).total_seconds() >= b / speed, (b, at)
    spread = (done[-1][3] - done[0][3]).total_seconds()  # paced, not written in a burst
    assert spread == pytest.approx(15 * 3600 / speed, abs=1.0)
    # The daily curve: 02:00-06:00 runs at 10 % of the 09:00-12:00 peak, in rows and in measured bytes.
    night = sum(r.get("comments", 0) for a, _, r, _ in done if 2 * 3600 <= a < 5 * 3600)
    peak = sum(r.get("comments", 0) for a, _, r, _ in done if 9 * 3600 <= a < 12 * 3600)
    assert peak == pytest.approx(10 * night, rel=0.15)
    sizes = dict(query(dsn, "SELECT hour, db_size FROM growth_sim.measurements"))
    assert sizes[12] - sizes[9] > 4 * (sizes[5] - sizes[2]) > 0
    # Closed loop: what the server measured over the run is what the rate, shaped by the curve, plans.
    assert result.status.growth == pytest.approx(result.status.planned_growth, rel=0.1)


def test_ledger_row_counts_match_the_rate_plan_exactly(copies):
    from growth_sim.timeline.rateplan import RatePlan, Segment

    dsn = copies()
    result = steady(dsn, parse_rate("60MiB/day"), speed=20000, until="+6h", status_every=60)
    plan = RatePlan(load_profile("taskpilot"), SCALE, [Segment(0, parse_rate("60MiB/day"))], 3000)
    for table in ("issues", "comments", "activity_log", "notifications"):
        assert counts(dsn, [table])[table] == plan.rows(table, 6), table
    assert result.end.startswith("2026-01-05T06:00:00")


def test_short_units_and_a_mid_hour_stop_write_the_same_rows_as_hour_units(copies, monkeypatch):
    """Sub-hour units (as in real time), stopped and resumed mid-hour, write the rows hour units write."""
    hourly, sliced = copies(), copies()
    steady(hourly, parse_rate("100MiB/day"), speed=36000, until="+2h", status_every=60)
    monkeypatch.setattr("growth_sim.engine.steady.UNIT_WALL_SECONDS", 0.05)  # 3 simulated minutes per unit at 3600x
    steady(sliced, parse_rate("100MiB/day"), speed=3600, duration=0.75, status_every=60)  # stops at 00:45
    assert units(sliced)[-1][1] == 45 * 60
    steady(sliced, parse_rate("100MiB/day"), speed=3600, until="+2h", status_every=60)  # from 00:45
    done = assert_continuous_ledger(sliced, 0, 7200)
    assert {b - a for a, b, _, _ in done} == {180} and len(done) == 40
    for table, key in (("issues", "id"), ("comments", "id"), ("activity_log", "id"), ("notifications", "id"),
                       ("attachments", "id"), ("webhook_deliveries", "id")):
        keys = f"SELECT count(*), md5(string_agg(({key})::text, ',' ORDER BY {key})) FROM {table}"
        assert query(sliced, keys) == query(hourly, keys), table
    content = "SELECT md5(string_agg(c::text, '' ORDER BY id)) FROM comments c"  # rows are pure functions
    assert scalar(sliced, content) == scalar(hourly, content)


# -- stopping, resuming, reconnecting --------------------------------------------------------------------
def _start(dsn: str, cli_env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*growth_sim_command(), "steady", "--dsn", dsn, *args], env=with_source(cli_env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_units(dsn: str, proc: subprocess.Popen[str], n: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(units(dsn)) < n:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no progress"
        time.sleep(0.05)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_cleanly_after_the_current_unit(copies, cli_env, sig):
    dsn = copies()
    proc = _start(dsn, cli_env, "--rate", "200MiB/day", "--speed", "7200", "--status-every", "0.3")
    _wait_for_units(dsn, proc, 3)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert f"stopped by {sig.name}" in out and "run the same command to continue" in out
    assert " sim (+" in err  # status lines were printed while it ran
    done = units(dsn)
    assert_continuous_ledger(dsn, 0, done[-1][1])
    assert scalar(dsn, "SELECT array_agg(relname ORDER BY relname) FROM pg_class"
                       " WHERE 'autovacuum_enabled=false' = ANY(reloptions)") == ["issues", "notifications"]
    after = _start(dsn, cli_env, "--rate", "200MiB/day", "--speed", "7200", "--duration", "1s", "-q", "--json")
    out, err = after.communicate(timeout=60)
    assert after.returncode == 0, err
    assert json.loads(out)["start"] == (START + timedelta(seconds=done[-1][1])).isoformat()
    assert_continuous_ledger(dsn, 0, units(dsn)[-1][1])


def test_kill_9_then_rerun_continues_the_same_timeline(copies, cli_env):
    until = START.replace(hour=6).isoformat()
    args = ("--rate", "200MiB/day", "--speed", "7200", "--until", until, "-q")
    reference = copies()
    steady(reference, parse_rate("200MiB/day"), speed=7200, until=until, status_every=60)

    killed = copies()
    proc = _start(killed, cli_env, *args)
    _wait_for_units(killed, proc, 3)
    time.sleep(0.2)  # somewhere inside a unit or a wait
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    wait_for_lock_release(killed)
    stopped_at = units(killed)[-1][1]
    assert stopped_at < 6 * 3600
    assert_continuous_ledger(killed, 0, stopped_at)

    rerun = subprocess.run([*growth_sim_command(), "steady", "--dsn", killed, *args], env=with_source(cli_env),
                           capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert [u[:3] for u in assert_continuous_ledger(killed, 0, 6 * 3600)] == [u[:3] for u in units(reference)]
    for table, key in (("issues", "id"), ("comments", "id"), ("activity_log", "id"), ("notifications", "id"),
                       ("attachments", "id"), ("issue_labels", "issue_id, label_id")):
        keys = f"SELECT md5(string_agg(({key})::text, ',' ORDER BY {key})) FROM {table}"
        assert scalar(killed, keys) == scalar(reference, keys), table


def test_a_server_side_disconnect_is_survived(copies, cli_env):
    dsn = copies()
    proc = _start(dsn, cli_env, "--rate", "200MiB/day", "--speed", "3600", "--until",
                  START.replace(hour=5).isoformat(), "-q")
    _wait_for_units(dsn, proc, 2)
    with psycopg.connect(dsn, autocommit=True) as admin:
        killed = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname ="
                               " current_database() AND application_name = 'growth-sim'").fetchall()
    assert killed
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "reconnecting" in err and "reconnected; continuing at" in err
    assert_continuous_ledger(dsn, 0, 5 * 3600)


# -- refusals --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("args", "words"), [
    (("--rate", "10GiB/fortnight"), ("'fortnight' is not a period",)),
    (("--rate", "ten gigs/week"), ("is not a size",)),
    (("--rate", "1GiB/day", "--vus", "50"), ("one of --rate",)),
    (("--rate", "1GiB/day", "--duration", "soon"), ("--duration", "not a duration")),
    (("--preset", "marathon"), ("unknown --preset", "quick")),
    (("--rate", "1GiB/day", "--until", "week-0"), ("not after the database's simulated clock",)),
    (("--rate", "1GiB/day", "--until", "tomorrow"), ("not understood",)),
    (("--rate", "1GiB/day", "--speed", "0"), ("--speed must be a positive number",)),
])
def test_bad_input_is_one_line_and_writes_nothing(copies, args, words):
    dsn = copies()
    before = scalar(dsn, "SELECT count(*) FROM growth_sim.units")
    run = run_main(["steady", "--dsn", dsn, *args])  # the console entry point, in this process
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), run.stderr
    assert all(w in lines[0] for w in words), lines[0]
    assert scalar(dsn, "SELECT count(*) FROM growth_sim.units") == before
    assert "steady" not in scalar(dsn, "SELECT state FROM growth_sim.run")


def test_advance_refuses_a_database_grown_by_steady(copies, cli_env):
    dsn = copies()
    steady(dsn, parse_rate("60MiB/day"), speed=36000, until="+1h", status_every=60)
    run = subprocess.run([*growth_sim_command(), "advance", "--dsn", dsn, "--to", "week-1"],
                         env=with_source(cli_env), capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "growth-sim steady" in run.stderr, run.stderr
    assert scalar(dsn, "SELECT count(*) FROM growth_sim.units WHERE unit LIKE 'hour/%'") == 0


def test_steady_on_a_new_database_loads_the_initial_dataset_first(fresh_db, cli_env):
    run = subprocess.run([*growth_sim_command(), "steady", "--dsn", fresh_db, "--scale", "0.0005", "--rate",
                          "60MiB/day", "--speed", "36000", "--until", "+2h", "-q", "--json"],
                         env=with_source(cli_env), capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["start"] == START.isoformat() and summary["simulated_seconds"] == 7200
    assert scalar(fresh_db, "SELECT count(*) FROM growth_sim.units WHERE unit LIKE 'initial/%'") > 0
    assert_continuous_ledger(fresh_db, 0, 7200)


# -- the acceptance run --------------------------------------------------------------------------
@pytest.mark.slow
def test_one_simulated_day_in_a_minute_grows_the_database_by_the_rate(fresh_db, cli_env):
    """`steady --rate 1GiB/day --speed 1440 --duration 60s` on an initialised scale-0.01 database: 1 GiB +- 5 %
    measured with pg_database_size, each 6-hour window within 10 % of the curve-shaped plan."""
    initialise(fresh_db, load_profile("taskpilot"), 1, 0.01)
    advance(fresh_db, "initial")
    before = scalar(fresh_db, "SELECT pg_database_size(current_database())")
    run = subprocess.run([*growth_sim_command(), "steady", "--dsn", fresh_db, "--rate", "1GiB/day", "--speed",
                          "1440", "--duration", "60s", "--json", "-q"], env=with_source(cli_env),
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    grown = scalar(fresh_db, "SELECT pg_database_size(current_database())") - before
    print(f"\ngrowth {grown / 2**30:.4f} GiB in {summary['wall_seconds']:.1f} s wall; plan "
          f"{summary['planned_growth_bytes'] / 2**30:.4f} GiB")
    assert grown == pytest.approx(2**30, rel=0.05)
    sizes = dict(query(fresh_db, "SELECT hour, db_size FROM growth_sim.measurements WHERE hour > 0"))
    planned = dict(query(fresh_db, "SELECT hour, planned_size FROM growth_sim.measurements WHERE hour > 0"))
    sizes[0] = planned[0] = before
    for a in range(0, 24, 6):
        measured, plan = sizes[a + 6] - sizes[a], planned[a + 6] - planned[a]
        print(f"hours {a:2d}-{a + 6:2d}: grew {measured / 2**20:7.1f} MiB, plan {plan / 2**20:7.1f} MiB")
        assert measured == pytest.approx(plan, rel=0.10), a
    assert_continuous_ledger(fresh_db, 0, 24 * 3600)
