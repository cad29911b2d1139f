"""What `growth-sim steady` prints: a status line every few seconds, the summary at the end, and its JSON."""

from __future__ import annotations

from typing import Any

from growth_sim.engine.steady import Status, SteadyResult
from growth_sim.timeline.quantities import format_rate, format_size


def _rows(rows: dict[str, int], limit: int | None = None) -> str:
    ranked = sorted(rows.items(), key=lambda kv: -kv[1])[:limit]
    return ", ".join(f"{name} +{n:,}" for name, n in ranked) or "no rows yet"


def _span(seconds: float) -> str:
    """Simulated time in the unit that reads best: 40 s, 12.5 min, 3.25 h."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min" if seconds < 7200 else f"{seconds / 3600:.2f} h"


def format_status(s: Status, period: str) -> str:
    """One line: simulated time, achieved vs target rate, how far behind, the busiest streams."""
    behind = f", {_span(s.behind)} behind" if s.behind >= 60 else ""
    return (f"{s.clock:%Y-%m-%d %H:%M:%S} sim (+{_span(s.sim_seconds)} in {s.wall_seconds:.0f} s{behind}) | "
            f"grew {format_size(s.growth)} of {format_size(s.planned_growth)} planned | "
            f"achieved {format_rate(s.achieved_rate, period).split(' (')[0]}, "
            f"target {format_rate(s.planned_rate, period).split(' (')[0]} by the daily curve | "
            f"{_rows(s.rows, 4)}")


def format_summary(result: SteadyResult, period: str) -> str:
    s = result.status
    off = (s.growth / s.planned_growth - 1) * 100 if s.planned_growth else 0.0
    lines = [
        f"simulated clock: {result.start} -> {result.end} ({_span(s.sim_seconds)} in {s.wall_seconds:.1f} s"
        f" at speed {result.speed:g}); {s.units} units",
        f"rate: {format_rate(result.rate, period)}",
        f"growth: {format_size(s.growth)} measured (pg_database_size), {format_size(s.planned_growth)} planned"
        f" ({off:+.1f} %); database size {format_size(result.db_size)}",
        f"rows: {_rows(s.rows)}",
    ]
    if result.stopped_by:
        lines.append(f"stopped by {result.stopped_by} after a complete unit; run the same command to continue")
    return "\n".join(lines)


def summary_json(result: SteadyResult) -> dict[str, Any]:
    s = result.status
    return {"start": result.start, "end": result.end, "speed": result.speed, "rate_bytes_per_second": result.rate,
            "simulated_seconds": s.sim_seconds, "wall_seconds": round(s.wall_seconds, 3), "units": s.units,
            "growth_bytes": s.growth, "planned_growth_bytes": s.planned_growth, "db_size": result.db_size,
            "behind_seconds": s.behind, "rows": s.rows, "stopped_by": result.stopped_by}
