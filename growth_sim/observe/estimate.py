"""The statistics-based bloat estimate most checkups use, heap and TOAST apart and summed as they sum them.

The widely copied table-bloat estimator reads no page: it expects each table to need
``ceil(reltuples / tuples per page)`` heap pages, a tuple being its header (23 bytes plus a null bitmap when a
column has nulls, aligned) and its columns' ``pg_stats.avg_width`` weighted by ``1 - null_frac`` (aligned), plus
a 4-byte line pointer, packed into the page less its 24-byte header at the table's fillfactor; and its TOAST
table to need ``ceil(chunks / 4)`` pages. Bloat is the share of ``relpages`` above what it expects. Checkups
add heap and TOAST together, so a large, dense TOAST table (whose chunks the estimate takes as full while the
last chunk of each value is not) hides the heap's bloat. Without planner statistics the estimate has nothing
to work from.
"""

from __future__ import annotations

from typing import Any

import psycopg

TOAST_CHUNKS_PER_PAGE = 4  # TOAST_MAX_CHUNK_SIZE is chosen so that four chunks fill a page

ESTIMATE_SQL = """
WITH cols AS (
    SELECT c.oid, c.relname, c.reltuples, c.relpages, c.reltoastrelid,
           coalesce(substring(array_to_string(c.reloptions, ' ') FROM 'fillfactor=([0-9]+)')::int, 100) AS fillfactor,
           count(s.attname) AS with_stats, count(*) AS columns,
           coalesce(max(s.null_frac), 0) > 0 AS has_nulls,
           sum((1 - coalesce(s.null_frac, 0)) * coalesce(s.avg_width, 0)) AS data_bytes
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname AND s.attname = a.attname
                        AND NOT s.inherited
    WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname = ANY(%(tables)s)
    GROUP BY c.oid
), sized AS (
    SELECT cols.*, current_setting('block_size')::int AS bs,
           CASE WHEN version() ~ '64-bit|x86_64|ppc64|ia64|amd64|aarch64|mingw32' THEN 8 ELSE 4 END AS ma,
           23 + CASE WHEN has_nulls THEN (7 + columns) / 8 ELSE 0 END AS header_bytes,
           greatest(t.relpages, 0) AS toast_pages, greatest(t.reltuples, 0) AS toast_chunks
    FROM cols LEFT JOIN pg_class t ON t.oid = cols.reltoastrelid
)
SELECT relname, reltuples, relpages, toast_pages, toast_chunks, with_stats, columns, fillfactor,
       4 + ceil(header_bytes::numeric / ma) * ma + ceil(data_bytes / ma) * ma AS tuple_bytes,
       ceil(greatest(reltuples, 0)
            / ((bs - 24) * fillfactor / (100 * (4 + ceil(header_bytes::numeric / ma) * ma
                                                + ceil(data_bytes / ma) * ma)))) AS expected_heap_pages,
       ceil(toast_chunks / %(chunks_per_page)s) AS expected_toast_pages
FROM sized ORDER BY relname"""


def estimates(conn: psycopg.Connection, tables: list[str]) -> dict[str, dict[str, Any]]:
    """The statistics-based estimate of each table: pages expected and found, heap, TOAST and summed."""
    rows = conn.execute(ESTIMATE_SQL, {"tables": tables, "chunks_per_page": TOAST_CHUNKS_PER_PAGE}).fetchall()
    out = {}
    for (name, reltuples, heap, toast, chunks, with_stats, columns, fillfactor, tuple_bytes, expected_heap,
         expected_toast) in rows:
        expected_heap, expected_toast = int(expected_heap), int(expected_toast)
        out[name] = {
            "statistics": with_stats > 0, "columns_with_statistics": with_stats, "columns": columns,
            "reltuples": reltuples, "fillfactor": fillfactor, "tuple_bytes": int(tuple_bytes),
            "heap_pages": heap, "expected_heap_pages": expected_heap,
            "toast_pages": toast, "toast_chunks": int(chunks), "expected_toast_pages": expected_toast,
            "toast_share_percent": _percent(toast, heap + toast),
            "heap_percent": _extra(heap, expected_heap), "toast_percent": _extra(toast, expected_toast),
            "combined_percent": _extra(heap + toast, expected_heap + expected_toast),
        }
    return out


def literal_sql(table: str) -> str:
    """`ESTIMATE_SQL` for one table, to paste into psql."""
    return ESTIMATE_SQL.replace("%(tables)s", f"ARRAY['{table}']").replace(
        "%(chunks_per_page)s", str(TOAST_CHUNKS_PER_PAGE)).strip() + ";"


def _extra(pages: int, expected: int) -> float:
    """The estimator's bloat: pages above the expected as a share of the pages, never below zero."""
    return _percent(max(pages - expected, 0), pages)


def _percent(part: float, whole: float) -> float:
    return round(100 * part / whole, 1) if whole > 0 else 0.0


def describe(estimate: dict[str, Any]) -> str:
    """The estimate in one line."""
    if not estimate["statistics"]:
        return "statistics estimate: none (no planner statistics)"
    return (f"statistics estimate: heap {estimate['heap_percent']:.1f} %, TOAST {estimate['toast_percent']:.1f} %,"
            f" heap+TOAST {estimate['combined_percent']:.1f} % (as checkups sum them)")


def checkup_miss(estimate: dict[str, Any], threshold: float, measured_percent: float | None) -> str | None:
    """One line saying why a checkup using the estimate will not flag the table above `threshold`, or None
    when it will (or when there is no bloat for it to miss).

    No planner statistics: the estimate is blind. Heap above and heap+TOAST at or below the threshold: the
    TOAST pages hide the heap's bloat. Both below while pgstattuple (`measured_percent`) is above: the
    statistics are off (stale ``reltuples``, or widths the statistics do not see).
    """
    if not estimate["statistics"]:
        return "no planner statistics (pg_stats has no row for it): run ANALYZE; a checkup skips it or guesses"
    heap, combined = estimate["heap_percent"], estimate["combined_percent"]
    if heap > threshold >= combined:
        expected_toast, toast = estimate["expected_toast_pages"], estimate["toast_pages"]
        return (f"TOAST is {estimate['toast_share_percent']:.0f} % of the pages and the estimate expects "
                f"{expected_toast:,} TOAST pages (chunks / {TOAST_CHUNKS_PER_PAGE}) for {toast:,}: a heap+TOAST "
                f"estimate shows {combined:.1f} % where the heap alone is {heap:.1f} % (threshold {threshold:g} %)")
    if measured_percent is not None and measured_percent > threshold >= max(heap, combined):
        return (f"the estimate shows {heap:.1f} % (heap) and {combined:.1f} % (heap+TOAST) where pgstattuple "
                f"measures {measured_percent:.1f} %: reltuples {estimate['reltuples']:,.0f} and the average widths "
                "of pg_stats do not describe the heap now (ANALYZE, or widths the statistics do not see)")
    return None
