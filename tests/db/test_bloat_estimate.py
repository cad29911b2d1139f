"""The statistics-based bloat estimate: its pages against pg_class, its tuple size computed here from pg_stats,
its heap figure against pgstattuple, and the checkup-miss line exactly when heap and heap+TOAST disagree."""

from __future__ import annotations

import math
from collections.abc import Callable

import psycopg
import pytest
from support import query, scalar

from growth_sim.observe import estimate
from growth_sim.observe.findings import check


def independent(conn: psycopg.Connection, table: str) -> tuple[int, int]:
    """Expected heap and TOAST pages, computed from pg_stats and pg_class without the project's SQL."""
    reltuples, toast_oid = conn.execute("SELECT reltuples, reltoastrelid FROM pg_class WHERE relname = %s",
                                        (table,)).fetchone()
    stats = conn.execute("SELECT a.attname, s.null_frac, s.avg_width FROM pg_attribute a LEFT JOIN pg_stats s"
                         " ON s.tablename = %s AND s.attname = a.attname AND s.schemaname = 'public'"
                         " WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped",
                         (table, table)).fetchall()
    header = 23 + ((7 + len(stats)) // 8 if any((nf or 0) > 0 for _, nf, _ in stats) else 0)
    data = sum((1 - (nf or 0)) * (w or 0) for _, nf, w in stats)
    tuple_bytes = 4 + math.ceil(header / 8) * 8 + math.ceil(data / 8) * 8
    heap = math.ceil(max(reltuples, 0) / ((8192 - 24) / tuple_bytes))
    chunks = conn.execute("SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = %s", (toast_oid,)).fetchone()
    return heap, math.ceil(chunks[0] / 4) if chunks else 0


@pytest.mark.parametrize("table", ["issues", "notifications", "comments"])
def test_estimate_matches_an_independent_computation(grown_week1: str, table: str) -> None:
    with psycopg.connect(grown_week1, autocommit=True) as conn:
        got = estimate.estimates(conn, [table])[table]
        heap, toast = independent(conn, table)
    relpages, toastpages = query(grown_week1, "SELECT c.relpages, coalesce(t.relpages, 0) FROM pg_class c"
                                 " LEFT JOIN pg_class t ON t.oid = c.reltoastrelid WHERE c.relname = %s",
                                 (table,))[0]
    assert got["statistics"] and (got["heap_pages"], got["toast_pages"]) == (relpages, toastpages)
    assert (got["expected_heap_pages"], got["expected_toast_pages"]) == (heap, toast)
    assert got["heap_percent"] == pytest.approx(max(0, 100 * (relpages - heap) / relpages), abs=0.05)
    combined = relpages + toastpages
    assert got["combined_percent"] == pytest.approx(max(0, 100 * (combined - heap - toast) / combined), abs=0.05)


def test_heap_estimate_is_near_pgstattuple_where_statistics_are_fresh(grown_week1: str) -> None:
    """notifications has no TOAST: after the ANALYZE the estimate and pgstattuple agree within a few points."""
    with psycopg.connect(grown_week1, autocommit=True) as conn:
        got = estimate.estimates(conn, ["notifications"])["notifications"]
    measured = scalar(grown_week1, "SELECT dead_tuple_percent + free_percent FROM pgstattuple('notifications')")
    assert got["toast_pages"] == 0 and got["heap_percent"] == got["combined_percent"]
    assert got["heap_percent"] == pytest.approx(measured, abs=6)


def test_findings_give_both_views_and_the_miss_line_exactly_when_they_disagree(grown_week1: str) -> None:
    bloat = next(f for f in check(grown_week1)["findings"] if f["id"] == "issues_bloat")["evidence"]
    with psycopg.connect(grown_week1, autocommit=True) as conn:
        heap, toast = independent(conn, "issues")
    relpages, toastpages = query(grown_week1, "SELECT c.relpages, t.relpages FROM pg_class c JOIN pg_class t"
                                 " ON t.oid = c.reltoastrelid WHERE c.relname = 'issues'")[0]
    heap_pct = max(0, 100 * (relpages - heap) / relpages)
    combined_pct = max(0, 100 * (relpages + toastpages - heap - toast) / (relpages + toastpages))
    threshold = bloat["threshold_percent"]
    hides = heap_pct > threshold >= combined_pct
    assert ("TOAST is" in (bloat["checkup_miss"] or "")) == hides
    assert bloat["bloat_percent"] == pytest.approx(
        scalar(grown_week1, "SELECT dead_tuple_percent + free_percent FROM pgstattuple('issues')"), abs=0.5)


@pytest.fixture
def toasted(dsn_factory: Callable[[], str]) -> str:
    """A table whose rows carry two TOAST chunks each (the second short) and whose every row was updated once
    outside the TOASTed column: the heap is about half dead, the TOAST table untouched and larger."""
    dsn = dsn_factory()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION pgstattuple")
        conn.execute("CREATE TABLE t (id int, n int, body text) WITH (autovacuum_enabled = false)")
        conn.execute("ALTER TABLE t ALTER body SET STORAGE EXTERNAL")
        conn.execute("INSERT INTO t SELECT i, 0, (SELECT string_agg(md5(i::text || j::text), '') FROM"
                     " generate_series(1, 80) j) FROM generate_series(1, 3000) i")
        conn.execute("UPDATE t SET n = 1")
    return dsn


def test_no_statistics_then_the_toast_line_exactly_across_the_threshold(toasted: str) -> None:
    with psycopg.connect(toasted, autocommit=True) as conn:
        before = estimate.estimates(conn, ["t"])["t"]
        assert not before["statistics"]
        assert "run ANALYZE" in estimate.checkup_miss(before, 30, None)
        conn.execute("VACUUM (ANALYZE) t")  # counts pages and TOAST chunks, and gathers the statistics
        got = estimate.estimates(conn, ["t"])["t"]
    heap, combined = got["heap_percent"], got["combined_percent"]
    assert got["statistics"] and heap > 30 > combined, got  # the TOAST table hides the heap's dead half
    for threshold in range(0, 101, 5):
        line = estimate.checkup_miss(got, threshold, None)
        assert (line is not None and line.startswith("TOAST is")) == (heap > threshold >= combined), threshold
    assert heap == pytest.approx(scalar(toasted, "SELECT dead_tuple_percent + free_percent FROM pgstattuple('t')"),
                                 abs=8)
