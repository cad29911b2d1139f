"""ANALYZEs beside the session: on a connection of their own, recorded only once done, errors raised to the caller."""

from __future__ import annotations

import time

import psycopg
import pytest
from support import scalar

from growth_sim.engine import analyses
from growth_sim.engine.analyses import Analyses

ANALYSED = "SELECT analyze_count FROM pg_stat_user_tables WHERE relname = %s"


def until(conn: psycopg.Connection, query: str, seconds: float = 30) -> None:
    """Wait until `query` returns a true count (failing after `seconds`); inside a transaction too, whose first
    read of the statistics views would otherwise be kept for all the others."""
    deadline = time.monotonic() + seconds
    while True:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        if conn.execute(query).fetchone()[0]:
            return
        assert time.monotonic() < deadline, query
        time.sleep(0.01)


@pytest.fixture
def db(fresh_db: str) -> str:
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        for table in ("a", "b"):
            conn.execute(f"CREATE TABLE {table} AS SELECT g AS id FROM generate_series(1, 1000) g")
    return fresh_db


def test_a_batch_runs_on_its_own_connection_and_is_handed_over_once_done(db: str):
    with psycopg.connect(db, autocommit=True) as conn:
        side = Analyses(db)
        try:
            mine = conn.info.backend_pid
            # The session holds a lock ANALYZE waits for: the batch cannot finish, and is not handed over.
            conn.execute("BEGIN")
            conn.execute("LOCK TABLE b IN SHARE UPDATE EXCLUSIVE MODE")
            side.start({"a": [5, 1000], "b": [5, 1000]}, conn)
            until(conn, "SELECT count(*) FROM pg_stat_activity WHERE query = 'ANALYZE \"b\"'"
                        " AND wait_event_type = 'Lock'")
            assert side.finished() == {} and side.pending == {"a": [5, 1000], "b": [5, 1000]}
            other = conn.execute("SELECT pid FROM pg_stat_activity WHERE query = 'ANALYZE \"b\"'").fetchone()[0]
            assert other != mine
            conn.execute("COMMIT")
            assert side.wait() == {"a": [5, 1000], "b": [5, 1000]} and side.pending == {}
        finally:
            side.close()
        conn.execute("SELECT pg_stat_force_next_flush()")
        assert [conn.execute(ANALYSED, (t,)).fetchone()[0] for t in ("a", "b")] == [1, 1]


def test_an_error_is_raised_in_the_callers_thread_and_nothing_stays_pending(db: str):
    side = Analyses(db)
    try:
        with psycopg.connect(db, autocommit=True) as conn:
            side.start({"a": [1, 0], "missing": [1, 0]}, conn)
        with pytest.raises(psycopg.errors.UndefinedTable):
            side.wait()
        assert side.pending == {} and side.wait() == {}
    finally:
        side.close()


def test_close_cancels_a_running_batch(db: str):
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("BEGIN")
        conn.execute("LOCK TABLE a IN SHARE UPDATE EXCLUSIVE MODE")
        side = Analyses(db)
        side.start({"a": [1, 0]}, conn)
        until(conn, "SELECT count(*) FROM pg_stat_activity WHERE query = 'ANALYZE \"a\"' AND wait_event_type = 'Lock'")
        side.close()  # returns although the lock is still held: the ANALYZE was cancelled
        assert side.pending == {}
        conn.execute("COMMIT")
    assert scalar(db, ANALYSED, ("a",)) == 0


def test_not_aside_the_batch_runs_on_the_callers_connection_at_once(db: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(analyses, "ASIDE", False)
    side = Analyses(db)
    with psycopg.connect(db, autocommit=True) as conn:
        side.start({"b": [2, 1000]}, conn)
        conn.execute("SELECT pg_stat_force_next_flush()")
        assert conn.execute(ANALYSED, ("b",)).fetchone()[0] == 1  # done before start returned
    assert side.wait() == {"b": [2, 1000]}
    side.close()
