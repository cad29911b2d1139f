"""`--jobs`: parallel and joined runs write the same data as one connection, each unit exactly once.

Databases are grown by the real executor on the session's private cluster; the assertions query the server. The
write path without a server (sub-batches, prefetching) is in tests/unit/test_parallel.py.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import psycopg
import pytest
from psycopg import sql
from recipes import INITIAL_HUNDREDTH, PROFILE, Grown
from support import content_digests, counts, growth_sim_command, query, scalar, with_source

from growth_sim.db import ledger
from growth_sim.engine import beside, claims
from growth_sim.engine.advance import advance
from growth_sim.engine.initial import CALIBRATION_CHUNKS
from growth_sim.engine.install import initialise
from growth_sim.engine.run import Run
from growth_sim.fixtures.templates import FixtureDatabase
from growth_sim.models.api import Widths
from growth_sim.profile import load_profile

SCALE, SEED = INITIAL_HUNDREDTH.scale, INITIAL_HUNDREDTH.seed  # 0.01, 3


def attachment_keys(dsn: str) -> str:
    return scalar(dsn, "SELECT md5(array_agg((id, issue_id, user_id, created_at) ORDER BY id)::text) FROM attachments")


@pytest.fixture
def one_connection(shared_db: Callable[[Grown], FixtureDatabase]) -> str:
    """The initial dataset written on one connection: what every other way of writing it must equal."""
    return shared_db(INITIAL_HUNDREDTH).dsn


def assert_same_data(dsn: str, reference: str) -> None:
    assert content_digests(dsn) == content_digests(reference)
    assert attachment_keys(dsn) == attachment_keys(reference)
    tables = [r[0] for r in query(reference, "SELECT relname FROM pg_stat_user_tables WHERE schemaname = 'public'")]
    assert counts(dsn, tables) == counts(reference, tables)
    assert scalar(dsn, "SELECT count(*) FROM growth_sim.claims") == 0
    units = "SELECT array_agg(unit ORDER BY unit) FROM growth_sim.units"
    assert scalar(dsn, units) == scalar(reference, units)


# -- --jobs --------------------------------------------------------------------------------------------------
def test_jobs_2_writes_the_same_data_as_one_connection(dsn_factory: Callable[[], str], one_connection: str):
    dsn = dsn_factory()
    initialise(dsn, load_profile(PROFILE), SEED, SCALE)
    advance(dsn, "initial", jobs=2)
    assert_same_data(dsn, one_connection)
    workers = query(dsn, "SELECT DISTINCT split_part(worker, '/', 2) FROM growth_sim.units WHERE worker IS NOT NULL")
    assert sorted(w for (w,) in workers) == ["0", "1"]  # both connections wrote units
    # calibrated tables: the first chunks were measured one by one, the rest claimed by the workers
    per_table = dict(query(dsn, "SELECT split_part(unit, '/', 2), count(*) FILTER (WHERE worker IS NULL)"
                                " FROM growth_sim.units WHERE unit ~ '^initial/[^/]+/[0-9]+$' GROUP BY 1"))
    assert per_table["issues"] == per_table["comments"] == CALIBRATION_CHUNKS
    assert per_table["issue_labels"] == 0
    assert per_table["attachments"] == len([u for u in Run(dsn).initial.units()
                                            if u.stream == "attachments" and u.statement is None])


def test_a_second_process_joins_and_the_units_split_without_overlap(dsn_factory: Callable[[], str],
                                                                    cli_env: dict[str, str], one_connection: str):
    dsn = dsn_factory()
    initialise(dsn, load_profile(PROFILE), SEED, SCALE)
    command = [*growth_sim_command(), "advance", "--to", "initial", "--dsn", dsn, "-q", "--jobs", "1"]
    # Started together: one takes the writer lock and leads, the other joins it.
    procs = [subprocess.Popen(command, env=with_source(cli_env), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    results = [proc.communicate(timeout=300) for proc in procs]
    for proc, (_, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert "Traceback" not in err

    assert_same_data(dsn, one_connection)
    by_process = dict(query(dsn, "SELECT split_part(worker, '/', 1), count(*) FROM growth_sim.units"
                                 " WHERE worker IS NOT NULL GROUP BY 1"))
    assert len(by_process) == 2, by_process  # both processes wrote claimed units
    assert scalar(dsn, "SELECT count(*) FROM growth_sim.units") == len(Run(dsn).initial.units())


def test_a_claim_is_taken_once_and_freed_when_its_worker_rolls_back(fresh_db: str):
    initialise(fresh_db, load_profile(PROFILE), SEED, SCALE)
    with psycopg.connect(fresh_db, autocommit=True) as a, psycopg.connect(fresh_db, autocommit=True) as b, \
            psycopg.connect(fresh_db, autocommit=True) as observer:
        claims.ensure(a)
        published = {"initial/issues/00007": (70, 80), "initial/issues/00008": (80, 90)}
        claims.publish(a, [claims.Claim(u, "issues", *r, Widths({"issues": 0.5})) for u, r in published.items()])
        with a.transaction():
            first = claims.claim(a)
            with b.transaction():
                second = claims.claim(b)
                assert {first.unit, second.unit} == set(published)
                assert (second.first, second.stop) == published[second.unit]
                assert first.widths == Widths({"issues": 0.5})
                assert claims.claim(b) is None  # the other one is held by a
                assert claims.pending(observer) == 2  # taken, not yet written
                raise psycopg.Rollback()  # b's worker dies: its unit rolls back
            ledger.record_unit(a, first.unit, None, {"issues": 10}, 0.0, worker="a")
        assert claims.pending(observer) == 1
        with b.transaction():
            assert claims.claim(b).unit == second.unit  # free again for the next worker


def test_a_claim_waits_for_the_claims_it_is_published_after(fresh_db: str):
    initialise(fresh_db, load_profile(PROFILE), SEED, SCALE)
    with psycopg.connect(fresh_db, autocommit=True) as a, psycopg.connect(fresh_db, autocommit=True) as b:
        claims.ensure(a)
        claims.publish(a, [claims.Claim("initial/issues/00001", "issues", 0, 10, rank=2),
                           claims.Claim("initial/issues/00002", "issues", 10, 20, rank=3),
                           claims.Claim("initial/~index/idx_issues_status", "issues", statement="SELECT 1", rank=0,
                                        after=("initial/issues/",)),
                           claims.Claim("initial/~history/issues", "issues", rank=1,
                                        after=("initial/issues/", "initial/~index/idx_issues_status"))])
        with a.transaction():
            assert claims.claim(a).unit == "initial/issues/00001"  # the build waits, whatever its rank
            with b.transaction():
                assert claims.claim(b).unit == "initial/issues/00002"
                raise psycopg.Rollback()  # b's worker dies
            ledger.record_unit(a, "initial/issues/00001", None, {"issues": 10}, 0.0, worker="a")
        with b.transaction():
            assert claims.claim(b).unit == "initial/issues/00002"
            with a.transaction():
                assert claims.claim(a) is None  # the build waits for the chunk b is writing
            ledger.record_unit(b, "initial/issues/00002", None, {"issues": 10}, 0.0, worker="b")
        with a.transaction():
            assert claims.claim(a).unit == "initial/~index/idx_issues_status"
            with b.transaction():
                assert claims.claim(b) is None  # the history waits for the build a holds
        with a.transaction():
            assert claims.claim(a).unit == "initial/~history/issues"
        assert claims.pending(a) == 0


# -- the hours: each one's independent streams beside the rest of it -------------------------------------------
HOURS = 12
BESIDE = ("attachments", "activity_log", "webhook_deliveries")  # TaskPilot's independent streams


def grown_hours(copy_db: Callable[[Grown], FixtureDatabase], jobs: int) -> str:
    dsn = copy_db(INITIAL_HUNDREDTH).dsn
    advance(dsn, f"+{HOURS}h", jobs=jobs)
    return dsn


def written_with_comments(dsn: str, table: str) -> int:
    """The rows of `table` committed by a transaction that also wrote comments (an hour's, on one connection)."""
    return scalar(dsn, sql.SQL("SELECT count(*) FROM {} WHERE xmin::text IN (SELECT xmin::text FROM comments)").format(
        sql.Identifier(table)))


def ledger_units(dsn: str) -> list[str]:
    return scalar(dsn, "SELECT array_agg((unit, hour, rows)::text ORDER BY unit) FROM growth_sim.units")


def test_jobs_2_writes_each_hours_independent_streams_beside_the_rest_and_the_same_data(
        copy_db: Callable[[Grown], FixtureDatabase]):
    reference, dsn, initial = grown_hours(copy_db, 1), grown_hours(copy_db, 2), copy_db(INITIAL_HUNDREDTH).dsn
    assert Run(dsn).session.model.independent_streams == BESIDE
    assert_same_data(dsn, reference)
    assert ledger_units(dsn) == ledger_units(reference)  # their counts joined their hour's ledger row
    for table in (*BESIDE[:2], "issue_labels"):  # issue_labels: written with the rest of the hour, never changed
        written = counts(reference, [table])[table] - counts(initial, [table])[table]
        assert written >= HOURS, table  # the hours wrote rows of the table...
        assert written_with_comments(reference, table) == written, table  # ...with the rest on one connection
        assert written_with_comments(dsn, table) == (written if table == "issue_labels" else 0), table  # beside


class _Crash(Exception):
    """The process dies between a unit's commit and the commit of the rows beside it."""


def test_a_crash_between_the_two_commits_loses_no_row(
        copy_db: Callable[[Grown], FixtureDatabase], monkeypatch: pytest.MonkeyPatch):
    reference, dsn = grown_hours(copy_db, 1), copy_db(INITIAL_HUNDREDTH).dsn
    commits: list[str] = []

    def crash_at_the_third(self: beside.Beside, unit: str, rows: dict[str, int]) -> None:
        commits.append(unit)
        if len(commits) == 3:
            self.abort()  # the transaction beside is lost, its unit's is committed
            raise _Crash
        real_commit(self, unit, rows)

    real_commit = beside.Beside.commit
    monkeypatch.setattr(beside.Beside, "commit", crash_at_the_third)
    with pytest.raises(_Crash):
        advance(dsn, f"+{HOURS}h", jobs=2)
    monkeypatch.undo()
    with psycopg.connect(dsn, autocommit=True) as conn:
        lost = commits[-1]
        hour = ledger.clock_hour(conn)
        assert hour == int(lost.split("/")[1]) + 1  # the unit committed...
        assert set(BESIDE).isdisjoint(ledger.unit_rows(conn, lost))  # ...without the rows beside it
        assert ledger.load(conn).state[beside.STATE_KEY]["unit"] == lost

    advance(dsn, f"+{HOURS - hour}h", jobs=2)
    assert_same_data(dsn, reference)
    assert ledger_units(dsn) == ledger_units(reference)
