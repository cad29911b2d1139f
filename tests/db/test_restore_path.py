"""The initial load by the restore path (`growth_sim.engine.deferred`): the model's secondary indexes and foreign
keys set aside while the data is copied, built after it, each a unit of the ledger. The schema comes out as its
DDL defines it, every constraint validated, and a kill -9 during an index build or a constraint step resumes to
the same database."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

import psycopg
from recipes import INITIAL, INITIAL_HUNDREDTH
from support import content_digests, counts, growth_sim_command, query, run_cli, scalar, wait_for_lock_release

from growth_sim.engine.install import initialise
from growth_sim.fixtures.templates import FixtureDatabase
from growth_sim.models.taskpilot import TABLES
from growth_sim.profile import load_profile


def _catalog(dsn: str) -> dict[str, list[tuple]]:
    """The public schema's indexes and constraints as the server prints them, and whether each is validated."""
    return {
        "indexes": query(dsn, "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
                              " ORDER BY 1, 2"),
        "constraints": query(dsn, "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), convalidated"
                                  " FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2"),
    }


def test_the_load_leaves_the_schema_its_ddl_defines(grown_initial: str, fresh_db: str):
    initialise(fresh_db, load_profile("taskpilot"), INITIAL.seed, INITIAL.scale)  # the schema, no rows
    grown, ddl = _catalog(grown_initial), _catalog(fresh_db)
    assert grown == ddl
    assert all(validated for *_, validated in grown["constraints"])
    # the restore path did set them aside: each build and each validation is a unit of the ledger
    units = {u for (u,) in query(grown_initial, "SELECT unit FROM growth_sim.units WHERE unit LIKE 'initial/~%'")}
    assert "initial/~index/idx_issues_sort_order" in units
    assert "initial/~validate/comments.comments_issue_id_fkey" in units
    assert "initial/~key/comments.comments_pkey" in units  # the knob's keys to comments were set aside too
    assert "initial/~validate/attachments.attachments_comment_id_fkey" in units
    deferred = query(grown_initial, "SELECT kind, count(*) FROM growth_sim.deferred GROUP BY 1 ORDER BY 1")
    assert dict(deferred) == {
        "foreign key": sum(1 for u in units if u.startswith("initial/~validate/")),
        "index": sum(1 for u in units if u.startswith("initial/~index/")),
        "unique key": sum(1 for u in units if u.startswith("initial/~key/")),
    }
    assert dict(deferred)["index"] >= 25 and dict(deferred)["foreign key"] >= 15
    assert dict(deferred)["unique key"] >= 8


def _waiting(dsn: str, statement: str, proc: subprocess.Popen[str], timeout: float = 120) -> str:
    """Wait until the run's backend waits on a lock in a statement like `statement`; its text.

    (Other waits come and go: an index build also waits, for a moment, for autovacuum's pass over a new table.)"""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, (statement, proc.stderr.read() if proc.stderr else proc.returncode)
        rows = query(dsn, "SELECT query FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE %s",
                     (statement,))
        if rows:
            return rows[0][0]
        time.sleep(0.02)
    raise AssertionError(f"the run never waited in {statement}")


def _wait_unit(dsn: str, unit: str, proc: subprocess.Popen[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not scalar(dsn, "SELECT count(*) FROM growth_sim.units WHERE unit = %s", (unit,)):
        assert proc.poll() is None and time.monotonic() < deadline, f"the run never wrote {unit}"
        time.sleep(0.02)


def _start(env: dict[str, str], dsn: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*growth_sim_command(), "advance", "--to", "initial", "--dsn", dsn, "-q"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _kill(proc: subprocess.Popen[str], dsn: str, blocker: psycopg.Connection) -> None:
    proc.kill()
    proc.wait()
    blocker.rollback()
    wait_for_lock_release(dsn)


def test_kill_9_in_an_index_build_and_in_a_constraint_step_resumes_to_the_same_database(
        fresh_db: str, cli_env: dict[str, str], shared_db: Callable[..., FixtureDatabase]):
    reference = shared_db(INITIAL_HUNDREDTH).dsn
    initialise(fresh_db, load_profile("taskpilot"), INITIAL_HUNDREDTH.seed, INITIAL_HUNDREDTH.scale)
    with psycopg.connect(fresh_db) as first, psycopg.connect(fresh_db) as second:
        # Once activity_log's indexes and keys are dropped, lock it against their builds: the run copies the
        # tables, builds the keys and indexes of each as soon as its rows are in and waits in activity_log's.
        run = _start(cli_env, fresh_db)
        _wait_unit(fresh_db, "initial/activity_log/~drop-indexes", run)
        second.execute("LOCK TABLE activity_log IN ROW EXCLUSIVE MODE")
        assert "ON public.activity_log" in _waiting(fresh_db, "CREATE INDEX % ON public.activity_log %", run)
        _kill(run, fresh_db, second)
        built = scalar(fresh_db, "SELECT count(*) FROM growth_sim.units WHERE unit LIKE 'initial/~index/%'")
        assert 0 < built < scalar(fresh_db, "SELECT count(*) FROM growth_sim.deferred WHERE kind = 'index'")
        assert scalar(fresh_db, "SELECT count(*) FROM pg_indexes WHERE tablename = 'activity_log'") == 0  # no key
        assert scalar(fresh_db, "SELECT count(*) FROM pg_indexes WHERE tablename = 'issues'") > 0

        # Resumed, the run builds the rest and waits in the constraint step (labels is a parent it locks).
        first.execute("LOCK TABLE labels IN EXCLUSIVE MODE")
        run = _start(cli_env, fresh_db)
        assert "ADD CONSTRAINT" in _waiting(fresh_db, "ALTER TABLE % ADD CONSTRAINT %", run)
        _kill(run, fresh_db, first)
        assert scalar(fresh_db, "SELECT count(*) FROM pg_constraint WHERE contype = 'f'"
                                " AND conrelid = 'comments'::regclass") == 0

    finished = run_cli(cli_env, "advance", "--to", "initial", "--dsn", fresh_db, "-q")
    assert finished.returncode == 0, finished.stderr
    assert _catalog(fresh_db) == _catalog(reference)
    assert content_digests(fresh_db) == content_digests(reference)
    assert counts(fresh_db, TABLES) == counts(reference, TABLES)
    assert scalar(fresh_db, "SELECT count(*) FROM growth_sim.claims") == 0


def test_a_table_with_an_after_trigger_has_its_history_after_the_foreign_keys(
        fresh_db: str, cli_env: dict[str, str], shared_db: Callable[..., FixtureDatabase]):
    reference = shared_db(INITIAL_HUNDREDTH).dsn
    initialise(fresh_db, load_profile("taskpilot"), INITIAL_HUNDREDTH.seed, INITIAL_HUNDREDTH.scale)
    with psycopg.connect(fresh_db, autocommit=True) as conn:  # an AFTER trigger may read any table: no early edits
        conn.execute("CREATE FUNCTION audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$")
        conn.execute("CREATE TRIGGER audit AFTER UPDATE ON notifications FOR EACH ROW EXECUTE FUNCTION audit()")
    finished = run_cli(cli_env, "advance", "--to", "initial", "--dsn", fresh_db, "--jobs", "2", "-q")
    assert finished.returncode == 0, finished.stderr

    units = dict(query(fresh_db, "SELECT unit, rows FROM growth_sim.units WHERE unit LIKE 'initial/~history%'"))
    assert set(units) == {"initial/~history/issues", "initial/~history"}
    assert set(units["initial/~history/issues"]) == {"issue_updates"}
    assert set(units["initial/~history"]) == {"notification_reads"}
    # with a history after the foreign keys, the load analyses nothing itself: the first check analyses all
    assert scalar(fresh_db, "SELECT count(*) FROM growth_sim.units WHERE unit LIKE 'initial/~analyse/%'") == 0
    assert query(fresh_db, "SELECT relname FROM pg_stat_user_tables WHERE schemaname = 'public'"
                           " AND last_analyze IS NULL") == []
    assert content_digests(fresh_db) == content_digests(reference)
    assert counts(fresh_db, TABLES) == counts(reference, TABLES)


def test_the_load_analyses_each_table_once_nothing_changes_it(fresh_db: str, cli_env: dict[str, str]):
    initialise(fresh_db, load_profile("taskpilot"), INITIAL_HUNDREDTH.seed, INITIAL_HUNDREDTH.scale)
    finished = run_cli(cli_env, "advance", "--to", "initial", "--dsn", fresh_db, "--jobs", "2", "-q")
    assert finished.returncode == 0, finished.stderr

    units = {u for (u,) in query(fresh_db, "SELECT unit FROM growth_sim.units WHERE unit LIKE 'initial/~%'")}
    assert {"initial/~history/issues", "initial/~history/notifications"} <= units and "initial/~history" not in units
    analysed = {u.removeprefix("initial/~analyse/") for u in units if u.startswith("initial/~analyse/")}
    assert analysed == set(TABLES) - {"attachments"}  # the size knob's is the first check's
    # each table analysed once: the first check analysed only what the load had not
    assert dict(query(fresh_db, "SELECT relname, analyze_count FROM pg_stat_user_tables"
                                " WHERE schemaname = 'public'")) == {t: 1 for t in TABLES}
    marked = query(fresh_db, "SELECT t.key FROM growth_sim.measurements m, jsonb_each(m.tables) t"
                             " WHERE m.hour = 0 AND (t.value->>'analysed')::boolean ORDER BY 1")
    assert [t for (t,) in marked] == sorted(TABLES)
    edited = scalar(fresh_db, "SELECT (rows->>'issue_updates')::int FROM growth_sim.units"
                              " WHERE unit = 'initial/~history/issues'")
    dead = scalar(fresh_db, "SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'issues'")
    assert 0.9 * edited <= dead <= 1.1 * edited, (dead, edited)  # the edits' dead rows, counted once


def test_a_load_another_version_cut_otherwise_is_not_resumed(fresh_db: str, cli_env: dict[str, str]):
    initialise(fresh_db, load_profile("taskpilot"), INITIAL_HUNDREDTH.seed, INITIAL_HUNDREDTH.scale)
    with psycopg.connect(fresh_db) as conn:  # what an interrupted load cut otherwise left: a first chunk of 999 rows
        conn.execute("INSERT INTO growth_sim.units (unit, rows) VALUES ('initial/issues/00000', '{\"issues\": 999}')")
    run = run_cli(cli_env, "advance", "--to", "initial", "--dsn", fresh_db, "-q")
    assert run.returncode == 2, run.stderr
    assert "started by another version of growth-sim" in run.stderr and "Traceback" not in run.stderr
    assert scalar(fresh_db, "SELECT count(*) FROM issues") == 0
    assert scalar(fresh_db, "SELECT count(*) FROM growth_sim.units") == 1
