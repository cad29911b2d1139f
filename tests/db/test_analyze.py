"""ANALYZE in simulated time: every table the model writes carries planner statistics after `advance`, analysed
at the hours autoanalyze's trigger gives, counted from the schedule, the same however the run was split."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from support import module_database, query

from growth_sim.db.cluster import Cluster
from growth_sim.engine.advance import advance
from growth_sim.engine.install import initialise
from growth_sim.models.taskpilot.model import TaskPilot
from growth_sim.profile import load_profile

SCALE = 0.003
WRITTEN = sorted({*TaskPilot.insert_order, *TaskPilot.changed_by})  # the tables the simulated hours write


def _grow(cluster: Cluster, name: str, *targets: str) -> Iterator[str]:
    with module_database(cluster, name) as dsn:
        initialise(dsn, load_profile("taskpilot"), 1, SCALE)
        for target in targets:
            advance(dsn, target)
        yield dsn


@pytest.fixture(scope="module")
def week1(pg_cluster: Cluster) -> Iterator[str]:
    yield from _grow(pg_cluster, "analyse_week1", "week-1")


@pytest.fixture(scope="module")
def week1_split(pg_cluster: Cluster) -> Iterator[str]:
    yield from _grow(pg_cluster, "analyse_split", "+61h", "week-1")


def _analysed(dsn: str) -> list[tuple[int, str]]:
    """(hour, table) of every ANALYZE the ledger's measurements record."""
    return query(dsn, "SELECT m.hour, t.key FROM growth_sim.measurements m, jsonb_each(m.tables) t"
                      " WHERE (t.value->>'analysed')::boolean ORDER BY 1, 2")


def test_hot_tables_have_statistics(week1: str) -> None:
    counts = dict(query(week1, "SELECT tablename, count(*) FROM pg_stats WHERE schemaname = 'public'"
                               " AND tablename IN ('issues', 'notifications') GROUP BY 1"))
    assert counts.get("issues", 0) > 10 and counts.get("notifications", 0) > 5, counts


def test_reltuples_close_to_live_rows(week1: str) -> None:
    with psycopg.connect(week1, autocommit=True) as conn:
        for table in WRITTEN:
            live = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            reltuples, = conn.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", (table,)).fetchone()
            if live < 1000:  # autoanalyze's fixed threshold (50 rows) is more than a tenth of such a table
                continue
            assert abs(reltuples - live) <= 0.1 * live, (table, reltuples, live)


def test_every_model_table_analysed(week1: str) -> None:
    never = query(week1, "SELECT relname FROM pg_stat_user_tables WHERE schemaname = 'public'"
                         " AND last_analyze IS NULL AND last_autoanalyze IS NULL ORDER BY 1")
    assert never == []


def test_analyse_events_in_the_ledger(week1: str) -> None:
    events = _analysed(week1)
    at_zero = {table for hour, table in events if hour == 0}
    assert set(WRITTEN) <= at_zero  # after the initial load, every table
    later = {table for hour, table in events if hour > 0}
    assert {"issues", "notifications", "comments", "activity_log"} <= later
    issues_hours = [hour for hour, table in events if table == "issues"]
    assert len(issues_hours) >= 3, issues_hours  # about every 10 % of the table's rows modified


def test_same_analyse_hours_when_split(week1: str, week1_split: str) -> None:
    assert _analysed(week1) == _analysed(week1_split)
