"""What `growth-sim steady` prints: a status line every few seconds, the summary at the end, and its JSON."""

from __future__ import annotations

from typing import Any

from growth_sim.engine.steady import Status, SteadyResult
from growth_sim.timeline.quantities import format_rate, format_size

WIDTH = 120
"""Status lines fit a terminal this wide."""


def _rows(rows: dict[str, int], limit: int | None = None) -> str:
    ranked = sorted(rows.items(), key=lambda kv: -kv[1])[:limit]
    return ", ".join(f"{name} +{n:,}" for name, n in ranked) or "no rows yet"


def _span(seconds: float) -> str:
    """Simulated time in the unit that reads best: 40 s, 12.5 min, 3.25 h."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min" if seconds < 7200 else f"{seconds / 3600:.2f} h"


def _short_rate(per_second: float, period: str) -> str:
    return format_rate(per_second, period).split(" (")[0]


def _rates(s: Status, period: str) -> str:
    """The asked rate, then in one unit what the daily curve plans for the window run so far and what was achieved
    (the curve is quiet at night and busy by day: over a week it averages the asked rate)."""
    larger = _short_rate(max(s.planned_rate, s.achieved_rate), period)
    value, unit = larger.split(" ", 1)
    top = max(s.planned_rate, s.achieved_rate)
    curve, achieved = (float(value) * rate / top if top else 0.0 for rate in (s.planned_rate, s.achieved_rate))
    off = f" ({(s.growth / s.planned_growth - 1) * 100:+.0f} %)" if s.planned_growth > 0 else ""
    return f"asked {_short_rate(s.rate, period)} | daily curve {curve:.1f}, achieved {achieved:.1f} {unit}{off}"


def format_status(s: Status, period: str) -> str:
    """One line of at most WIDTH columns: simulated time, how far behind, the rates (asked, the curve's for this
    window, achieved), then the growth and as many of the busiest streams as fit."""
    behind = f", {_span(s.behind)} behind" if s.behind >= 60 else ""
    line = f"{s.clock:%m-%d %H:%M:%S} sim (+{_span(s.sim_seconds)}{behind}) | {_rates(s, period)}"
    for extra in (f"+{format_size(s.growth)}", *(_rows(s.rows, n) for n in range(len(s.rows), 0, -1))):
        if len(f"{line} | {extra}") <= WIDTH:
            line = f"{line} | {extra}"
            if extra[0] != "+":
                break
    return line


def format_summary(result: SteadyResult, period: str) -> str:
    s = result.status
    off = (s.growth / s.planned_growth - 1) * 100 if s.planned_growth else 0.0
    lines = [
        f"simulated clock: {result.start} -> {result.end} ({_span(s.sim_seconds)} in {s.wall_seconds:.1f} s"
        f" at speed {result.speed:g}); {s.units} units",
        f"rate: {_rates(s, period)} (the daily curve averages the asked rate over a week)",
        f"growth: {format_size(s.growth)} measured (pg_database_size), {format_size(s.planned_growth)} planned for "
        f"this window by the daily curve ({off:+.1f} %); database size {format_size(result.db_size)}",
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
