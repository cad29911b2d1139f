"""Plans: what growing from one simulated hour to another writes, per day or per week, as plain data.

`build_plan` needs no database: it reads the schedule of a profile at a scale. Its result is JSON-serialisable
(``growth-sim plan --json`` prints it as is); `format_plan` renders it as an aligned table for people.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np

from growth_sim.errors import GrowthSimError
from growth_sim.profile import HOURS_PER_WEEK, Profile
from growth_sim.timeline.budget import budget_check
from growth_sim.timeline.quantities import format_size
from growth_sim.timeline.schedule import Schedule

PERIOD_HOURS = {"day": 24, "week": HOURS_PER_WEEK}


def resolve_range(schedule: Schedule, start: str, stop: str) -> tuple[int, int]:
    """The simulated hours named by the targets `start` and `stop` (``stop`` relative to ``start``)."""
    start_hour = schedule.resolve_target(start, 0)
    if not stop.strip().startswith("+") and (stop_hour := schedule.resolve_target(stop, 0)) < start_hour:
        raise GrowthSimError(f"--to {stop!r} (hour {stop_hour}) comes before --from {start!r} (hour {start_hour}); "
                             "a plan only moves forward")
    return start_hour, schedule.resolve_target(stop, start_hour)


def build_plan(
    profile: Profile, scale: float, start_hour: int, stop_hour: int, by: str = "day"
) -> dict[str, Any]:
    """What growing `profile` at `scale` over the simulated hours [start_hour, stop_hour) writes.

    The result holds, per day or per week (periods cut at whole simulated days or weeks since week 0), how
    many of each stream happen and the planned database size at the period's end; the totals of the range;
    the initial dataset (counts at hour 0) when the range starts at week 0; the rows of each table at the end;
    and the rows and size of every milestone in the range. ``start_hour == stop_hour == 0`` is the initial
    dataset alone.
    """
    if by not in PERIOD_HOURS:
        raise GrowthSimError(f"plan periods must be one of {', '.join(PERIOD_HOURS)}, got {by!r}")
    schedule = Schedule(profile, scale)
    if not 0 <= start_hour <= stop_hour <= schedule.last_hour:
        raise GrowthSimError(
            f"hours {start_hour}..{stop_hour} are outside the profile (0..{schedule.last_hour})")
    step = PERIOD_HOURS[by]
    bounds = sorted({start_hour, stop_hour, *range((start_hour // step + 1) * step, stop_hour, step)})
    t = np.asarray(bounds, dtype=np.int64)
    cumulative = {s: schedule.cumulative(s, t) for s in schedule.streams}
    sizes = schedule.size(t)
    periods = [
        {
            "label": f"{by} {a // step + 1}",
            "start_hour": a,
            "stop_hour": b,
            "start": _iso(schedule.time_of(a)),
            "stop": _iso(schedule.time_of(b)),
            "counts": {s: int(c[i + 1] - c[i]) for s, c in cumulative.items()},
            "size": int(sizes[i + 1]),
        }
        for i, (a, b) in enumerate(zip(bounds, bounds[1:], strict=False))
    ]
    tables = [*profile.milestone_tables, *(d.name for d in profile.derived if not d.operation)]
    labels = {m.hour: m.label for m in profile.milestones}
    return {
        "profile": profile.name,
        "profile_path": str(profile.path),
        "scale": scale,
        "by": by,
        "from": _point(schedule, start_hour, labels),
        "to": _point(schedule, stop_hour, labels),
        "hours": stop_hour - start_hour,
        "streams": list(schedule.streams),
        "tables": tables,
        "milestone_tables": list(profile.milestone_tables),
        "initial": {s: int(c[0]) for s, c in cumulative.items()} if start_hour == 0 else None,
        "initial_size": int(sizes[0]) if start_hour == 0 else None,
        "periods": periods,
        "totals": {s: int(c[-1] - c[0]) for s, c in cumulative.items()},
        "rows": {table: schedule.rows(table, stop_hour) for table in tables},
        "size": int(sizes[-1]),
        "budget": budget_check(profile, scale, start_hour, stop_hour),
        "milestones": [
            {
                "label": m.label,
                "hour": m.hour,
                "time": _iso(schedule.time_of(m.hour)),
                "rows": {table: schedule.rows(table, m.hour) for table in tables},
                "size": schedule.size_at(m.hour),
            }
            for m in profile.milestones
            if start_hour <= m.hour <= stop_hour
        ],
    }


def format_plan(plan: dict[str, Any]) -> str:
    """A plan as people read it: a header, an aligned table of the periods and the milestones in range."""
    streams: list[str] = plan["streams"]
    start, stop = plan["from"], plan["to"]
    if plan["hours"]:
        span = f"{_describe(start)} to {_describe(stop)}, {plan['hours']:,} simulated hours, by {plan['by']}"
    elif plan["initial"] is not None:
        span = f"the initial dataset (week 0, {datetime.fromisoformat(stop['time']):%Y-%m-%d %H:%M})"
    else:
        span = f"nothing to grow at {_describe(stop)}"
    lines = [f"Plan for profile {plan['profile']} at scale {plan['scale']:g}: {span}", ""]
    header = ["period", "starts", *streams, "size at end"]
    rows: list[list[str]] = []
    if plan["initial"] is not None:
        rows.append(["initial", "history", *(_n(plan["initial"][s]) for s in streams),
                     format_size(plan["initial_size"])])
    starts_format = "%a %m-%d %H:%M" if any(p["start_hour"] % 24 for p in plan["periods"]) else "%a %m-%d"
    for period in plan["periods"]:
        starts = datetime.fromisoformat(period["start"])
        counts = (_n(period["counts"][s]) for s in streams)
        rows.append([period["label"], f"{starts:{starts_format}}", *counts, format_size(period["size"])])
    if plan["periods"]:
        rows.append(["total", "", *(_n(plan["totals"][s]) for s in streams), ""])
    rows.append([f"rows at {stop['label'] or 'end'}", "", *(_n(plan["rows"].get(s)) for s in streams),
                 format_size(plan["size"])])
    lines += _table(header, rows)
    lines += ["", "Milestones in range:" if plan["milestones"] else "No milestone in range."]
    for m in plan["milestones"]:
        counts = "  ".join(f"{table} {m['rows'][table]:,}" for table in plan["milestone_tables"])
        stamp = datetime.fromisoformat(m["time"])
        lines.append(f"  {m['label']:<9} {stamp:%Y-%m-%d %H:%M}  size {format_size(m['size']):>10}  {counts}")
    if plan["budget"] is not None:
        lines += ["", plan["budget"]["line"]]
    lines.append("")
    lines.append("Counts are rows inserted, or operations applied, in each period; `rows at` are what the "
                 "tables hold (inserts minus deletes).")
    return "\n".join(lines)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Right-aligned columns (the first two left-aligned) under headers split over two lines at '_'."""
    heads = [h.split("_", 1) if "_" in h and len(h) > 10 else ["", h] for h in header]
    heads = [[a, b] if b else ["", a] for a, b in heads]
    widths = [max(len(heads[i][0]), len(heads[i][1]), *(len(r[i]) for r in rows)) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        out = [cells[i].ljust(widths[i]) if i < 2 else cells[i].rjust(widths[i]) for i in range(len(cells))]
        return "  ".join(out).rstrip()

    return [line([h[0] for h in heads]), line([h[1] for h in heads]), line(["-" * w for w in widths]),
            *(line(r) for r in rows)]


def _n(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def _iso(stamp: datetime) -> str:
    return stamp.isoformat()


def _point(schedule: Schedule, hour: int, labels: dict[int, str]) -> dict[str, Any]:
    """An end of the plan: its hour, time and name (a milestone's, or week-N at a whole week)."""
    label = labels.get(hour) or (f"week-{hour // HOURS_PER_WEEK}" if hour % HOURS_PER_WEEK == 0 else None)
    return {"hour": hour, "time": _iso(schedule.time_of(hour)), "label": label}


def _describe(point: dict[str, Any]) -> str:
    stamp = datetime.fromisoformat(point["time"])
    where = f"{stamp:%Y-%m-%d %H:%M}"
    return f"{point['label']} ({where})" if point["label"] else f"hour {point['hour']} ({where})"
