"""The growth engine against a real PostgreSQL: determinism, exactly-once after kill -9, integrity at week 1.

Every database here is grown by the real executor (library calls or the `growth-sim` command) on the session's
private cluster; the assertions are queries on what the server holds.
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
from psycopg.conninfo import conninfo_to_dict
from recipes import INITIAL_HUNDREDTH, PROFILE, Grown
from support import (
    content_digests,
    counts,
    growth_sim_command,
    query,
    scalar,
    wait_for_lock_release,
    with_source,
)

from growth_sim.db import ledger
from growth_sim.engine.advance import advance
from growth_sim.engine.checks import Checks
from growth_sim.engine.install import initialise
from growth_sim.fixtures.templates import FixtureDatabase
from growth_sim.models.taskpilot import TABLES
from growth_sim.observe import measure
from growth_sim.profile import load_profile
from growth_sim.timeline.schedule import Schedule

WEEK = 168


def grow(dsn: str, seed: int, scale: float, *targets: str) -> None:
    initialise(dsn, load_profile(PROFILE), seed, scale)
    for target in targets:
        advance(dsn, target)


# -- 1. determinism --------------------------------------------------------------------------------------
def test_split_run_equals_one_run(dsn_factory: Callable[[], str], shared_db: Callable[[Grown], FixtureDatabase]):
    one_go, split = dsn_factory(), dsn_factory()
    grow(one_go, 11, 0.01, "+12h")
    grow(split, 11, 0.01, "initial", "+5h", "+7h")

    for dsn in (one_go, split):
        assert scalar(dsn, "SELECT clock_hour FROM growth_sim.run") == 12
    hour_units = "SELECT count(*) FROM growth_sim.units WHERE unit LIKE 'hour/%'"
    assert scalar(one_go, hour_units) == scalar(split, hour_units) == 12

    assert content_digests(split) == content_digests(one_go)
    assert counts(split, TABLES) == counts(one_go, TABLES)
    attachment_keys = "SELECT array_agg((id, issue_id, user_id, created_at) ORDER BY id)::text FROM attachments"
    assert scalar(split, attachment_keys) == scalar(one_go, attachment_keys)

    other_seed = shared_db(INITIAL_HUNDREDTH)  # the initial dataset at 0.01 with seed 3
    initial = Schedule(load_profile(PROFILE), 0.01).initial("issues")
    ids_11 = set(scalar(one_go, "SELECT array_agg(id) FROM issues"))
    ids_3 = set(scalar(other_seed.dsn, "SELECT array_agg(id) FROM issues"))
    assert len(ids_3) == initial
    assert not ids_11 & ids_3


def test_the_data_ignores_what_autovacuum_did_to_the_template(dsn_factory: Callable[..., str]):
    """A database copied from a template before autovacuum analysed it gets the same data as one copied after:
    the share of the size plan the empty database takes is read without the statistics and maps it wrote."""
    template = dsn_factory()
    before = dsn_factory(template=conninfo_to_dict(template)["dbname"])
    with psycopg.connect(template, autocommit=True) as conn:
        conn.execute("ANALYZE")  # what autovacuum does to template1 once a new cluster is up for a while
        conn.execute("VACUUM")
    after = dsn_factory(template=conninfo_to_dict(template)["dbname"])
    assert scalar(after, "SELECT pg_database_size(current_database())") > \
        scalar(before, "SELECT pg_database_size(current_database())")

    for dsn in (before, after):
        grow(dsn, 5, 0.002, "initial")
    rooms = [scalar(dsn, "SELECT (state ->> 'room')::float8 FROM growth_sim.run") for dsn in (before, after)]
    assert rooms[0] == rooms[1] and 0.5 < rooms[0] < 1.0  # not clamped: the reading counts
    assert content_digests(after) == content_digests(before)


# -- 2. exactly once -------------------------------------------------------------------------------------
def _ledger_matches_tables(dsn: str) -> None:
    """Every committed unit's rows are in the tables, and nothing else is (the unit and its rows commit together)."""
    for table in ("issues", "comments", "activity_log"):
        recorded = scalar(dsn, "SELECT coalesce(sum((rows ->> %s)::bigint), 0) FROM growth_sim.units", (table,))
        assert counts(dsn, [table])[table] == recorded, table


def test_skipped_bloat_readings_were_below_the_set_point(fresh_db: str, monkeypatch: pytest.MonkeyPatch):
    """Where the hourly check skips a table's pgstattuple, the table's bloat really was below its set point,
    so reading it would not have vacuumed: the skips change no VACUUM."""
    skipped: list[tuple[int, str, float]] = []
    bloat_due = Checks._bloat_due

    def spy(checks: Checks, table: str, hour: int, now: dict) -> bool:
        due = bloat_due(checks, table, hour, now)
        if not due:
            skipped.append((hour, table, measure.bloat(checks.session.conn, table)["bloat_percent"]))
        return due

    monkeypatch.setattr(Checks, "_bloat_due", spy)
    # In two runs: VACUUMs of issues from hour 17 on (none in the last 24 h before the target).
    grow(fresh_db, 1, 0.01, "+12h", "+36h")
    targets = {table: policy.target for table, policy in load_profile(PROFILE).bloat.items()}
    assert len(skipped) > 24 and {table for _, table, _ in skipped} == set(targets)
    assert all(bloat < targets[table] for _, table, bloat in skipped), skipped
    read = query(fresh_db, "SELECT hour, tables -> 'issues' ? 'bloat_percent', tables -> 'notifications' ? "
                           "'bloat_percent', tables::text LIKE '%%vacuumed%%' FROM growth_sim.measurements")
    assert len(read) == 49
    # Each run's first check and each target read both tables.
    assert {(hour, i, n) for hour, i, n, _ in read if hour in (0, 12, 13, 48)} == \
        {(0, True, True), (12, True, True), (13, True, True), (48, True, True)}
    assert any(vacuumed for *_, vacuumed in read)


def test_kill_9_then_resume_is_exactly_once(dsn_factory: Callable[[], str], cli_env: dict[str, str]):
    scale, seed = 0.01, 5
    schedule = Schedule(load_profile(PROFILE), scale)
    end = schedule.time_of(24).isoformat()  # `+1d` from a new database; absolute so a resume aims at the same hour

    reference = dsn_factory()
    grow(reference, seed, scale, "+1d")
    total_units = scalar(reference, "SELECT count(*) FROM growth_sim.units")

    killed = dsn_factory()
    initialise(killed, load_profile(PROFILE), seed, scale)
    rng = random.Random(os.environ.get("GROWTH_SIM_TEST_SEED", time.time_ns()))
    kills = []
    for attempt, target in enumerate(("+1d", end)):
        done = scalar(killed, "SELECT count(*) FROM growth_sim.units")
        threshold = rng.randrange(done + 1, max(done + 2, total_units - 2))
        proc = subprocess.Popen([*growth_sim_command(), "advance", "--to", target, "--dsn", killed, "-q"],
                                env=with_source(cli_env), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            while proc.poll() is None and scalar(killed, "SELECT count(*) FROM growth_sim.units") < threshold:
                time.sleep(0.02)
            time.sleep(rng.uniform(0, 0.15))  # somewhere inside the next unit
            proc.send_signal(signal.SIGKILL)
        finally:
            _, err = proc.communicate(timeout=60)
        assert proc.returncode in (0, -signal.SIGKILL), err
        assert "Traceback" not in err
        wait_for_lock_release(killed)
        _ledger_matches_tables(killed)
        kills.append((attempt, threshold, proc.returncode, scalar(killed, "SELECT count(*) FROM growth_sim.units")))
    assert any(rc == -signal.SIGKILL and units < total_units for _, _, rc, units in kills), \
        f"no run was killed mid-way: {kills}"

    resumed = subprocess.run([*growth_sim_command(), "advance", "--to", end, "--dsn", killed, "-q"],
                             env=with_source(cli_env), capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, (kills, resumed.stderr)

    assert scalar(killed, "SELECT clock_hour FROM growth_sim.run") == 24
    assert scalar(killed, "SELECT count(*) FROM growth_sim.units") == total_units
    planned = {t: schedule.rows(t, 24) for t in schedule.streams if t in TABLES}
    assert planned and counts(killed, planned) == planned, kills
    _ledger_matches_tables(killed)
    for table in ("issues", "comments"):
        ids = f"SELECT array_agg(id ORDER BY id) FROM {table}"
        assert scalar(killed, ids) == scalar(reference, ids), (table, kills)


def test_second_concurrent_advance_is_refused(fresh_db: str, cli_env: dict[str, str]):
    initialise(fresh_db, load_profile(PROFILE), 1, 0.002)
    with psycopg.connect(fresh_db, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (ledger._LOCK_KEY,))
        run = subprocess.run([*growth_sim_command(), "advance", "--to", "+2h", "--dsn", fresh_db, "-q"],
                             env=with_source(cli_env), capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stderr
    assert "another" in run.stderr and "run" in run.stderr
    assert "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert scalar(fresh_db, "SELECT count(*) FROM growth_sim.units") == 0
    assert scalar(fresh_db, "SELECT count(*) FROM issues") == 0


# -- 3. integrity of grown databases ---------------------------------------------------------------------
@pytest.fixture
def week1_db(shared_db: Callable[[Grown], FixtureDatabase]) -> str:
    """Scale 0.01 grown to the week-1 milestone (a single organization at this scale)."""
    return shared_db(Grown("week-1", 0.01, 1)).dsn


@pytest.fixture
def tenants_db(shared_db: Callable[[Grown], FixtureDatabase]) -> str:
    """Scale 0.02 (two organizations, so that cross-tenant references would show) grown half a day."""
    return shared_db(Grown("+12h", 0.02, 2)).dsn


GROWN = pytest.mark.parametrize("grown", ["week1_db", "tenants_db"])

# Each query counts violations of one invariant; all must be 0.
TENANCY = {
    "issue creator/assignee outside the project's organization": """
        SELECT count(*) FROM issues i JOIN projects p ON p.id = i.project_id
        JOIN users c ON c.id = i.creator_id LEFT JOIN users a ON a.id = i.assignee_id
        WHERE c.organization_id <> p.organization_id OR a.organization_id <> p.organization_id""",
    "issue cycle of another project": """
        SELECT count(*) FROM issues i JOIN cycles c ON c.id = i.cycle_id WHERE c.project_id <> i.project_id""",
    "issue label of another project": """
        SELECT count(*) FROM issue_labels il JOIN issues i ON i.id = il.issue_id
        JOIN labels l ON l.id = il.label_id WHERE l.project_id <> i.project_id""",
    "comment author outside the issue's organization": """
        SELECT count(*) FROM comments c JOIN issues i ON i.id = c.issue_id JOIN projects p ON p.id = i.project_id
        JOIN users u ON u.id = c.user_id WHERE u.organization_id <> p.organization_id""",
    "activity row of another organization or project": """
        SELECT count(*) FROM activity_log a JOIN issues i ON i.id = a.issue_id JOIN projects p ON p.id = i.project_id
        JOIN users u ON u.id = a.user_id
        WHERE a.project_id <> i.project_id OR a.organization_id <> p.organization_id
           OR u.organization_id <> p.organization_id""",
    "notification recipient outside the issue's organization": """
        SELECT count(*) FROM notifications n JOIN issues i ON i.id = n.issue_id
        JOIN projects p ON p.id = i.project_id JOIN users u ON u.id = n.user_id
        WHERE u.organization_id <> p.organization_id""",
}

CAUSALITY = {
    "comment before its issue": """
        SELECT count(*) FROM comments c JOIN issues i ON i.id = c.issue_id WHERE c.created_at < i.created_at""",
    "issue updated_at before created_at": "SELECT count(*) FROM issues WHERE updated_at < created_at",
    "comment updated_at before created_at": "SELECT count(*) FROM comments WHERE updated_at < created_at",
    "completed_at on an open issue": """
        SELECT count(*) FROM issues WHERE completed_at IS NOT NULL AND status NOT IN ('done', 'cancelled')""",
    "closed issue without completed_at": """
        SELECT count(*) FROM issues WHERE completed_at IS NULL AND status IN ('done', 'cancelled')""",
    "completed_at before created_at": "SELECT count(*) FROM issues WHERE completed_at < created_at",
    "started_at before created_at": "SELECT count(*) FROM issues WHERE started_at < created_at",
    "activity before its issue": """
        SELECT count(*) FROM activity_log a JOIN issues i ON i.id = a.issue_id WHERE a.created_at < i.created_at""",
    "notification before its issue": """
        SELECT count(*) FROM notifications n JOIN issues i ON i.id = n.issue_id WHERE n.created_at < i.created_at""",
    "notification read before it was created": "SELECT count(*) FROM notifications WHERE read_at < created_at",
}


@GROWN
def test_invariants_have_rows_to_check(grown: str, request: pytest.FixtureRequest):
    """The checks above look at real cases: closed, started and updated issues, read notifications, cycles."""
    row = query(request.getfixturevalue(grown), """
        SELECT (SELECT count(*) FROM issues WHERE status IN ('done', 'cancelled')),
               (SELECT count(*) FROM issues WHERE started_at IS NOT NULL),
               (SELECT count(*) FROM issues WHERE cycle_id IS NOT NULL AND assignee_id IS NOT NULL),
               (SELECT count(*) FROM issues WHERE updated_at > created_at),
               (SELECT count(*) FROM notifications WHERE read_at IS NOT NULL),
               (SELECT count(*) FROM issue_labels), (SELECT count(*) FROM comments)""")[0]
    assert min(row) > 0, row


@GROWN
@pytest.mark.parametrize("invariant", sorted(TENANCY))
def test_multi_tenancy(grown: str, invariant: str, request: pytest.FixtureRequest):
    assert scalar(request.getfixturevalue(grown), TENANCY[invariant]) == 0


def test_tenancy_check_has_tenants(tenants_db: str):
    assert scalar(tenants_db, "SELECT count(*) FROM organizations") >= 2
    assert scalar(tenants_db, "SELECT count(DISTINCT p.organization_id) FROM issues i"
                              " JOIN projects p ON p.id = i.project_id") >= 2


@GROWN
@pytest.mark.parametrize("invariant", sorted(CAUSALITY))
def test_causality(grown: str, invariant: str, request: pytest.FixtureRequest):
    assert scalar(request.getfixturevalue(grown), CAUSALITY[invariant]) == 0


@GROWN
def test_issue_numbers_dense_per_project(grown: str, request: pytest.FixtureRequest):
    bad = query(request.getfixturevalue(grown), """
        SELECT project_id, count(*), count(DISTINCT number), min(number), max(number) FROM issues
        GROUP BY project_id HAVING count(*) <> count(DISTINCT number) OR min(number) <> 1
                                OR max(number) <> count(*)""")
    assert bad == []


@GROWN
@pytest.mark.parametrize("counter, child", [("comment_count", "comments"), ("attachment_count", "attachments")])
def test_issue_counters_match_children(grown: str, counter: str, child: str, request: pytest.FixtureRequest):
    assert scalar(request.getfixturevalue(grown), f"""
        SELECT count(*) FROM issues i LEFT JOIN (SELECT issue_id, count(*) AS n FROM {child} GROUP BY 1) c
        ON c.issue_id = i.id WHERE i.{counter} <> coalesce(c.n, 0)""") == 0


def test_week1_exact_counts(week1_db: str):
    assert counts(week1_db, ["issues", "comments", "activity_log"]) == {
        "issues": 6_000, "comments": 25_000, "activity_log": 40_000}
    schedule = Schedule(load_profile(PROFILE), 0.01)
    planned = {t: schedule.rows(t, WEEK) for t in schedule.streams if t in TABLES}
    assert counts(week1_db, planned) == planned


def test_week1_size_within_5_percent(week1_db: str):
    planned = int(Schedule(load_profile(PROFILE), 0.01).size([WEEK])[0])
    assert planned == pytest.approx(20 * 2**30 * 0.01, abs=1)  # the growth table's 20 GiB at week 1, scaled
    size = scalar(week1_db, "SELECT pg_database_size(current_database())")
    assert abs(size - planned) <= 0.05 * planned, f"{size / 2**20:.1f} MiB, planned {planned / 2**20:.1f} MiB"


def test_week1_issues_bloat(week1_db: str):
    bloat = scalar(week1_db, "SELECT dead_tuple_percent + free_percent FROM pgstattuple('issues')")
    assert bloat > 30


def test_week1_clock_and_simulated_time(week1_db: str):
    assert scalar(week1_db, "SELECT clock_hour FROM growth_sim.run") == WEEK
    profile = load_profile(PROFILE)
    start, week1 = profile.start, Schedule(profile, 0.01).time_of(WEEK)
    latest = query(week1_db, """
        SELECT (SELECT max(updated_at) FROM issues), (SELECT max(completed_at) FROM issues),
               (SELECT max(created_at) FROM comments), (SELECT max(created_at) FROM activity_log),
               (SELECT max(read_at) FROM notifications), (SELECT max(created_at) FROM notifications)""")[0]
    assert all(stamp <= week1 for stamp in latest), latest
    # Issues updated during the week carry simulated stamps from the trigger, not the wall clock.
    updated = scalar(week1_db, "SELECT count(*) FROM issues WHERE updated_at > %s AND created_at < %s",
                     (start, start))
    assert updated > 100
    ends = query(week1_db, "SELECT max(updated_at) FROM issues WHERE created_at < %s", (start,))[0][0]
    assert start < ends <= week1
