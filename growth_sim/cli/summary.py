"""The table printed at the end of a run."""

from __future__ import annotations

from growth_sim.engine.advance import AdvanceResult
from growth_sim.timeline.quantities import format_size


def format_summary(result: AdvanceResult) -> str:
    """Per table: rows (planned), size, bloat; then the database size against the plan."""
    week = result.end_hour / 168
    lines = [f"simulated clock: hour {result.end_hour} (week {week:.2f}); {result.units} units, "
             f"{result.rows_written:,} rows written in {result.seconds:.1f} s",
             "",
             f"{'table':<26}{'rows':>12}{'planned':>12}{'size':>12}{'bloat':>8}{'dead':>9}"]
    for name, t in sorted(result.tables.items(), key=lambda kv: -kv[1]["total"]):
        planned = f"{t['planned_rows']:,}" if "planned_rows" in t else "-"
        bloat = f"{t['bloat_percent']:.1f}%" if "bloat_percent" in t else ""
        lines.append(f"{name:<26}{t['rows']:>12,}{planned:>12}{format_size(t['total']):>12}{bloat:>8}"
                     f"{t['dead']:>9,}")
    off = (result.db_size / result.planned_size - 1) * 100 if result.planned_size else 0.0
    lines += ["", f"database size: {format_size(result.db_size)} (plan {format_size(result.planned_size)}, "
                  f"{off:+.1f} %)"]
    return "\n".join(lines)
