"""No traps between commands: a refused run leaves the database as it was, says what it will cost before it
writes, and its messages name commands that work."""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import time
import uuid

from support import assert_user_error, growth_sim_command, query, run_cli, scalar

SCALE = "0.002"
HUGE = "1000"  # week-8 at this scale needs petabytes: every disk refuses it


def _objects(dsn: str) -> list[tuple]:
    """Schemas, relations and extensions a command may have created in a database."""
    return query(dsn, "SELECT 'schema', nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%'"
                      " UNION ALL SELECT 'relation', relname FROM pg_class WHERE relnamespace ="
                      " 'public'::regnamespace UNION ALL SELECT 'extension', extname FROM pg_extension ORDER BY 1, 2")


def test_refused_run_on_an_empty_database_leaves_it_empty(cli_env, fresh_db):
    before = _objects(fresh_db)
    line = assert_user_error(run_cli(cli_env, "advance", "--dsn", fresh_db, "--to", "week-8", "--scale", HUGE, "-q"),
                             "disk space")
    assert "--scale" in line
    assert _objects(fresh_db) == before
    # the natural retry with a smaller scale works at once
    assert run_cli(cli_env, "advance", "--dsn", fresh_db, "--to", "initial", "--scale", SCALE, "-q").returncode == 0
    assert scalar(fresh_db, "SELECT scale FROM growth_sim.run") == float(SCALE)


def test_refused_run_on_a_missing_database_does_not_create_it(cli_env, pg_cluster):
    name = f"test_missing_{uuid.uuid4().hex[:10]}"
    assert_user_error(run_cli(cli_env, "advance", "--dsn", pg_cluster.dsn(name), "--to", "week-8", "--scale", HUGE,
                              "-q"), "disk space")
    assert not query(pg_cluster.dsn("postgres"), "SELECT 1 FROM pg_database WHERE datname = %s", (name,))


def test_other_settings_name_the_command_that_works(cli_env, fresh_db):
    assert run_cli(cli_env, "init", "--dsn", fresh_db, "--scale", SCALE).returncode == 0
    line = assert_user_error(run_cli(cli_env, "advance", "--dsn", fresh_db, "--to", "initial", "--scale", "0.001",
                                     "-q"), "scale: has 0.002, asked 0.001")
    command = re.search(r"`growth-sim ([^`]+)`", line).group(1)
    assert command == "init --scale 0.001 --force"
    assert run_cli(cli_env, *command.split(), "--dsn", fresh_db).returncode == 0
    assert scalar(fresh_db, "SELECT scale FROM growth_sim.run") == 0.001


def test_advance_states_its_plan_before_writing(cli_env, fresh_db):
    scale = "0.01"  # an initial load long enough (several seconds) for its rate to count as measured
    plan = json.loads(run_cli(cli_env, "plan", "--to", "initial", "--scale", scale, "--json").stdout)["estimate"]
    run = run_cli(cli_env, "advance", "--dsn", fresh_db, "--to", "initial", "--scale", scale)
    assert run.returncode == 0, run.stderr
    first = run.stderr.splitlines()[0]
    assert first.startswith(f"plan: grow to initial at scale {scale}: {plan['rows']:,} rows"), first
    assert "default rate" in first and "of disk" in first
    # the next run's estimate comes from what this machine measured on this database
    from growth_sim.engine.estimate import estimate

    cost = estimate(fresh_db, "+12h")
    assert cost.measured and cost.rows_per_second > 0 and cost.rows > 0
    assert "measured on this database" in cost.line()


def test_plan_shows_the_estimate_and_the_disk_needed(cli_env):
    run = run_cli(cli_env, "plan", "--to", "week-1", "--scale", "0.01")
    last = run.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"plan: grow to week-1 at scale 0\.01: [\d,]+ rows, .* needs .* of disk\), about .*", last)
    cost = json.loads(run_cli(cli_env, "plan", "--to", "week-1", "--scale", "0.01", "--json").stdout)["estimate"]
    assert cost["disk_needed"] > cost["growth"] > 200 << 20
    assert cost["seconds"] > 0 and not cost["measured"]


def test_a_big_run_asks_on_a_terminal_and_a_no_leaves_nothing(cli_env, fresh_db):
    """Week 1 at scale 0.3 plans about 6 GiB: above the threshold, so a terminal is asked; "n" writes nothing."""
    before = _objects(fresh_db)
    primary, secondary = os.openpty()
    proc = subprocess.Popen([*growth_sim_command(), "advance", "--dsn", fresh_db, "--to", "week-1", "--scale", "0.3"],
                            env=cli_env, stdin=secondary, stdout=subprocess.PIPE, stderr=secondary, text=True)
    os.close(secondary)
    try:
        said, deadline = b"", time.monotonic() + 60
        while b"[y/N]" not in said and time.monotonic() < deadline and proc.poll() is None:
            if select.select([primary], [], [], 1)[0]:
                said += os.read(primary, 1024)
        asked = b"[y/N]" in said
        if asked:
            os.write(primary, b"n\n")
            proc.wait(timeout=60)
    finally:
        proc.kill()
        proc.wait()
        os.close(primary)
    assert asked, said
    assert proc.returncode != 0
    assert b"plan: grow to week-1 at scale 0.3" in said
    assert _objects(fresh_db) == before


# -- messages that name only what the user can set, and output that fits a terminal ---------------------------

def test_a_fixture_loaded_database_takes_its_own_settings(cli_env, fresh_db):
    """A database sized independently of the server (as fixtures are) is not 'other settings'."""
    from growth_sim.engine.install import initialise
    from growth_sim.profile import load_profile

    initialise(fresh_db, load_profile("taskpilot"), 1, float(SCALE), sizing="open")
    run = run_cli(cli_env, "init", "--dsn", fresh_db, "--scale", SCALE)
    assert run.returncode == 0 and "nothing to do" in run.stdout, run.stderr
    assert "sizing" not in run.stderr


def test_connection_errors_show_the_dsn_given(cli_env, pg_cluster):
    missing = pg_cluster.dsn(f"test_missing_{uuid.uuid4().hex[:10]}")
    for command in ("report", "findings"):
        line = assert_user_error(run_cli(cli_env, command, "--dsn", missing), "does not exist")
        assert "options=" not in line and "pg_stat_statements" not in line, line
    line = assert_user_error(run_cli(cli_env, "report", "--dsn", "growth_sim"), "dbname=growth_sim")
    assert "rolled back" not in line and "refused" not in line


def test_only_advance_is_told_to_join_a_running_advance(cli_env, fresh_db):
    import psycopg

    from growth_sim.db import ledger

    assert run_cli(cli_env, "init", "--dsn", fresh_db, "--scale", SCALE).returncode == 0
    with psycopg.connect(fresh_db, autocommit=True) as holder:
        assert ledger.try_lock(holder)
        steady = assert_user_error(run_cli(cli_env, "steady", "--dsn", fresh_db, "--rate", "1GiB/day",
                                           "--duration", "5s", "-q"), "another growth-sim run")
        advance = assert_user_error(run_cli(cli_env, "advance", "--dsn", fresh_db, "--to", "initial", "-q"),
                                    "another growth-sim run")
    assert "--jobs" not in steady
    assert "`growth-sim advance --jobs N`" in advance


def test_findings_read_as_text_within_120_columns(grown_week1):
    from growth_sim.observe.findings import check, format_findings

    text = format_findings(check(grown_week1))
    assert max(len(line) for line in text.splitlines()) <= 120
    assert not re.search(r"\[\[|\]\]|\bTrue\b|\bFalse\b|\bNone\b|\{'", text), text


def test_report_shows_the_applications_statements_and_labels_its_clocks(grown_week1):
    from growth_sim.observe import report, statements

    with statements.observer(grown_week1) as conn:
        shown = [s["query"] for s in statements.top(conn, 10_000)]
    pattern = r"growth_sim\.|\b(CREATE|DROP) DATABASE\b|pg_database_size\(|pgstattuple\(|advisory_(xact_)?lock\("
    own = [q for q in shown if re.search(pattern, q, re.I)]
    assert not own, own
    assert any(q.startswith("COPY") for q in shown)
    text = report.format_report(report.gather(grown_week1))
    assert "wall clock" in text and "milestones (simulated clock)" in text


# -- steady: warned before it leaves the schedule, status lines that agree with the rate asked -----------------

def test_steady_warns_before_leaving_the_schedule_and_advance_says_what_to_do(cli_env, fresh_db):
    assert run_cli(cli_env, "advance", "--dsn", fresh_db, "--to", "initial", "--scale", SCALE, "-q").returncode == 0
    first = run_cli(cli_env, "steady", "--dsn", fresh_db, "--rate", "1GiB/day", "--speed", "720", "--duration", "2s",
                    "-q")
    assert first.returncode == 0, first.stderr
    warning = [line for line in first.stderr.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and "week-1" in warning[0] and "`advance` will refuse" in warning[0], first.stderr
    assert "fixture" in warning[0]
    again = run_cli(cli_env, "steady", "--dsn", fresh_db, "--rate", "1GiB/day", "--speed", "720", "--duration", "2s",
                    "-q")
    assert again.returncode == 0 and "warning" not in again.stderr, again.stderr
    line = assert_user_error(run_cli(cli_env, "advance", "--dsn", fresh_db, "--to", "week-1", "-q"), "steady")
    assert "init --force" in line and "fixture" in line


def test_steady_status_lines_show_the_asked_rate_the_curve_and_the_achieved(cli_env, fresh_db):
    assert run_cli(cli_env, "advance", "--dsn", fresh_db, "--to", "initial", "--scale", SCALE, "-q").returncode == 0
    run = run_cli(cli_env, "steady", "--dsn", fresh_db, "--rate", "10GiB/week", "--speed", "720", "--duration", "4s",
                  "--status-every", "1")
    assert run.returncode == 0, run.stderr
    status = [line for line in run.stderr.splitlines() if " sim (" in line]
    assert status, run.stderr
    rates = re.compile(r"asked 10\.0 GiB/week \| daily curve [\d.]+, achieved [\d.]+ \w+/week")
    for line in status:
        assert len(line) <= 120 and rates.search(line), line
    assert rates.search(run.stdout) and "planned for this window by the daily curve" in run.stdout, run.stdout
