"""`growth-sim init` and `growth-sim advance` as a user runs them: exit codes, one-line errors, --json.

Every command runs as a subprocess of the installed console script against the session's private cluster
(``--dsn`` of a test database); a user error is one line on stderr, exit code 2, and never a traceback.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time
from collections.abc import Callable

import psycopg
import pytest
from recipes import TWO_HOURS, Grown
from support import assert_user_error, growth_sim_command, run_cli, scalar

from growth_sim.engine.advance import advance
from growth_sim.engine.install import initialise
from growth_sim.engine.run import Run
from growth_sim.fixtures.templates import FixtureDatabase
from growth_sim.profile import load_profile
from growth_sim.timeline.schedule import Schedule

SCALE = "0.002"


def run_row(dsn: str) -> tuple | None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        if not conn.execute("SELECT to_regclass('growth_sim.run') IS NOT NULL").fetchone()[0]:
            return None
        return conn.execute("SELECT seed, scale, clock_hour FROM growth_sim.run").fetchone()


@pytest.fixture
def grown(shared_db: Callable[[Grown], FixtureDatabase]) -> tuple[str, dict]:
    """The database grown to +2h by `advance --json` at scale 0.002 with seed 4 (shared: read only), and the JSON
    it printed."""
    database = shared_db(TWO_HOURS)
    return database.dsn, database.manifest["advance"]


@pytest.fixture
def grown_copy(copy_db: Callable[[Grown], FixtureDatabase]) -> tuple[str, dict]:
    """A copy of it, for a test that changes the database."""
    database = copy_db(TWO_HOURS)
    return database.dsn, database.manifest["advance"]


# -- advance --------------------------------------------------------------------------------------------
def test_json_summary(grown: tuple[str, dict]):
    dsn, summary = grown
    assert summary["start_hour"] is None and summary["end_hour"] == 2
    planned = Schedule(load_profile("taskpilot"), float(SCALE)).rows("issues", 2)
    assert summary["tables"]["issues"]["rows"] == planned == scalar(dsn, "SELECT count(*) FROM issues")
    assert summary["db_size"] == pytest.approx(scalar(dsn, "SELECT pg_database_size(current_database())"),
                                               rel=0.05)
    assert scalar(dsn, "SELECT clock_hour FROM growth_sim.run") == 2


def test_json_of_a_resumed_advance(grown_copy: tuple[str, dict], env: dict[str, str]):
    dsn, _ = grown_copy
    run = run_cli(env, "advance", "--dsn", dsn, "--to", "+0h", "--json")
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["start_hour"] == summary["end_hour"] == 2
    assert summary["rows_written"] == 0


@pytest.mark.parametrize("target", ["initial", "2026-01-05T00:00:00Z", "2026-01-05T01:00:00+00:00"])
def test_moving_backwards_is_refused(grown: tuple[str, dict], env: dict[str, str], target: str):
    dsn, _ = grown
    clock = scalar(dsn, "SELECT clock_hour FROM growth_sim.run")
    line = assert_user_error(run_cli(env, "advance", "--dsn", dsn, "--to", target, "-q"), "forward")
    assert f"hour {clock}" in line
    assert scalar(dsn, "SELECT clock_hour FROM growth_sim.run") == clock


def test_past_the_last_milestone_points_to_steady(fresh_db: str, env: dict[str, str]):
    run = run_cli(env, "advance", "--dsn", fresh_db, "--to", "week-99", "--scale", SCALE, "-q")
    assert_user_error(run, "steady")
    assert run.stdout == ""
    assert run_row(fresh_db) is None  # the target is checked before anything is created


def test_unknown_target(fresh_db: str, env: dict[str, str]):
    assert_user_error(run_cli(env, "advance", "--dsn", fresh_db, "--to", "next-tuesday",
                                     "--scale", SCALE, "-q"), "next-tuesday")


@pytest.mark.parametrize("scale", ["-1", "0", "nan", "inf"])
@pytest.mark.parametrize("command", ["advance", "init"])
def test_bad_scale_is_refused_before_touching_the_database(fresh_db: str, env: dict[str, str], command: str,
                                                          scale: str):
    args = ["--to", "+1h", "-q"] if command == "advance" else []
    assert_user_error(run_cli(env, command, "--dsn", fresh_db, "--scale", scale, *args), "--scale")
    assert run_row(fresh_db) is None


def test_advance_with_other_settings_is_refused(grown: tuple[str, dict], env: dict[str, str]):
    dsn, _ = grown
    before = run_row(dsn)
    assert_user_error(run_cli(env, "advance", "--dsn", dsn, "--to", "+1h", "--seed", "5", "-q"), "seed")
    assert run_row(dsn) == before


def test_database_with_a_foreign_table_is_left_alone(fresh_db: str, env: dict[str, str]):
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE invoices (id int PRIMARY KEY, total numeric)")
        conn.execute("INSERT INTO invoices SELECT g, g * 1.5 FROM generate_series(1, 100) g")
        before = conn.execute("SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM invoices t").fetchone()[0]
    for args in (["advance", "--to", "initial", "--scale", SCALE, "-q"], ["advance", "--to", "+1h", "-q"],
                 ["init", "--scale", SCALE]):
        assert_user_error(run_cli(env, *args, "--dsn", fresh_db), "invoices")
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        assert conn.execute("SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM invoices t").fetchone()[0] \
            == before
        tables = conn.execute("SELECT array_agg(c.relname::text) FROM pg_class c JOIN pg_namespace n"
                              " ON n.oid = c.relnamespace WHERE c.relkind = 'r'"
                              " AND n.nspname NOT IN ('pg_catalog', 'information_schema')").fetchone()[0]
        schemas = conn.execute("SELECT array_agg(nspname::text) FROM pg_namespace WHERE nspname"
                               " NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'").fetchone()[0]
    assert tables == ["invoices"]
    assert schemas == ["public"]


def test_ctrl_c_rolls_back_the_unit_and_resume_finishes(fresh_db: str, env: dict[str, str]):
    init = run_cli(env, "init", "--dsn", fresh_db, "--scale", "0.005", "--seed", "9")
    assert init.returncode == 0, init.stderr
    end = "2026-01-05T06:00:00Z"  # +6h from week 0, absolute so that a resume aims at the same hour
    rng = random.Random()
    interrupts = []
    for _ in range(2):  # Ctrl-C at random moments: inside a COPY, between statements, between units
        done = scalar(fresh_db, "SELECT count(*) FROM growth_sim.units")
        threshold = done + rng.randrange(3, 30)
        proc = subprocess.Popen([*growth_sim_command(), "advance", "--dsn", fresh_db, "--to", end, "-q"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline \
                and scalar(fresh_db, "SELECT count(*) FROM growth_sim.units") < threshold:
            time.sleep(0.02)
        time.sleep(rng.uniform(0, 0.1))
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        interrupts.append((threshold, proc.returncode, err))
        assert "Traceback" not in err, err
        if proc.returncode == 0:  # it finished just before the signal
            break
        assert proc.returncode == 130, interrupts
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "interrupted" in lines[0] and "resume" in lines[0], interrupts
        # The unit in progress was rolled back with its ledger row.
        assert scalar(fresh_db, "SELECT count(*) FROM issues") == scalar(
            fresh_db, "SELECT coalesce(sum((rows ->> 'issues')::int), 0) FROM growth_sim.units")
    done = run_cli(env, "advance", "--dsn", fresh_db, "--to", end, "-q")
    assert done.returncode == 0, (interrupts, done.stderr)
    assert scalar(fresh_db, "SELECT clock_hour FROM growth_sim.run") == 6
    schedule = Schedule(load_profile("taskpilot"), 0.005)
    for table in ("issues", "comments", "activity_log", "notifications"):
        assert scalar(fresh_db, f"SELECT count(*) FROM {table}") == schedule.rows(table, 6), table


# -- init -----------------------------------------------------------------------------------------------
def test_init_twice_with_the_same_settings(fresh_db: str, env: dict[str, str]):
    first = run_cli(env, "init", "--dsn", fresh_db, "--seed", "3", "--scale", SCALE)
    assert first.returncode == 0, first.stderr
    assert "initialised" in first.stdout and "already" not in first.stdout
    second = run_cli(env, "init", "--dsn", fresh_db, "--seed", "3", "--scale", SCALE)
    assert second.returncode == 0, second.stderr
    assert "already initialised" in second.stdout
    assert run_row(fresh_db) == (3, float(SCALE), None)


def test_init_with_another_seed_needs_force(fresh_db: str, env: dict[str, str]):
    grow = run_cli(env, "advance", "--dsn", fresh_db, "--to", "+1h", "--seed", "3", "--scale", SCALE, "-q")
    assert grow.returncode == 0, grow.stderr
    issues = scalar(fresh_db, "SELECT count(*) FROM issues")
    assert issues > 0

    refused = run_cli(env, "init", "--dsn", fresh_db, "--seed", "4", "--scale", SCALE)
    assert_user_error(refused, "seed", "--force")
    assert run_row(fresh_db) == (3, float(SCALE), 1)
    assert scalar(fresh_db, "SELECT count(*) FROM issues") == issues

    forced = run_cli(env, "init", "--dsn", fresh_db, "--seed", "4", "--scale", SCALE, "--force", "--json")
    assert forced.returncode == 0, forced.stderr
    assert json.loads(forced.stdout)["action"] == "replaced"
    assert run_row(fresh_db) == (4, float(SCALE), None)
    assert scalar(fresh_db, "SELECT count(*) FROM issues") == 0
    assert scalar(fresh_db, "SELECT count(*) FROM growth_sim.units") == 0


HELD_OFF = "SELECT array_agg(relname ORDER BY relname) FROM pg_class WHERE 'autovacuum_enabled=false' = ANY(reloptions)"


def test_autovacuum_held_off_between_runs_until_released(grown_copy: tuple[str, dict], env: dict[str, str]):
    dsn, _ = grown_copy
    assert scalar(dsn, HELD_OFF) == ["issues", "notifications"]
    run = run_cli(env, "release", "--dsn", dsn, "--json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {"released": ["issues", "notifications"]}
    assert scalar(dsn, HELD_OFF) is None
    assert run_cli(env, "advance", "--dsn", dsn, "--to", "+1h", "-q").returncode == 0
    assert scalar(dsn, HELD_OFF) == ["issues", "notifications"]


def test_the_initial_load_holds_autovacuum_off_every_written_table_and_its_toast(dsn_factory: Callable[[], str]):
    # Its widths are calibrated on measured sizes, which a VACUUM between two chunks would change.
    dsn = dsn_factory()
    initialise(dsn, load_profile("taskpilot"), 4, float(SCALE))
    run = Run(dsn)
    try:
        run.hold()
        written = run.session.model.insert_order
    finally:
        run.close()
    held = set(scalar(dsn, HELD_OFF))
    toast = set(scalar(dsn, "SELECT array_agg(t.relname) FROM pg_class c JOIN pg_class t ON t.oid = c.reltoastrelid"
                            " WHERE c.relname = ANY(%s)", (list(written),)))
    assert toast and held == {*written, *toast}
    advance(dsn, "initial")  # the load done, only the tables whose VACUUM is emulated stay held
    assert scalar(dsn, HELD_OFF) == ["issues", "notifications"]
