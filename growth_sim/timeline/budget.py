"""Whether the profile's ``[budget]`` can hold with its growth table's sizes.

The budget says where a week's growth comes from, per source (at scale 1). The growth table fixes the rows,
the profile's ``[widths]`` their bytes, and the ``[bloat]`` bands bound the dead and free space: a table held
at most ``high`` percent bloated carries at most ``high / (100 - high)`` of its row bytes as bloat, however
many updates it takes. What the planned size leaves over goes to the size knob (the table whose width is a
preview payload), so the knob's share follows from the rest and not from its budget line.
"""

from __future__ import annotations

from typing import Any

from growth_sim.profile import HOURS_PER_WEEK, Profile
from growth_sim.timeline.quantities import format_size
from growth_sim.timeline.schedule import Schedule

HOLDS_WITHIN = 0.10  # the knob may need this much more than its budget before the budget is said not to hold


def size_knob(profile: Profile) -> str | None:
    """The table whose width is a preview payload: the one that absorbs what the size plan leaves over."""
    return next((table for table, width in profile.widths.items() if width.preview_max > 0), None)


def budget_check(profile: Profile, scale: float, start_hour: int, stop_hour: int) -> dict[str, Any] | None:
    """The growth of [start_hour, stop_hour) by source as the growth table makes it, against the budget (None
    without a budget, a knob or any growth)."""
    knob, schedule = size_knob(profile), Schedule(profile, scale)
    planned = schedule.size_at(stop_hour) - schedule.size_at(start_hour)
    if not profile.budget or knob is None or knob not in profile.budget or planned <= 0:
        return None
    weeks = (stop_hour - start_hour) / HOURS_PER_WEEK
    rows = {table: (schedule.rows(table, stop_hour) - schedule.rows(table, start_hour)) * width.bytes_per_row
            for table, width in sorted(profile.widths.items())
            if width.bytes_per_row and table != knob and table in schedule.streams}
    bloat = {table: round(rows[table] * band.high / (100 - band.high))
             for table, band in sorted(profile.bloat.items()) if table in rows}
    knob_needed = planned - sum(rows.values()) - sum(bloat.values())
    budget = {key: round(value * scale * weeks) for key, value in profile.budget.items()}
    holds = knob_needed <= budget[knob] * (1 + HOLDS_WITHIN)
    return {"weeks": round(weeks, 3), "planned_growth": planned, "rows": rows, "bloat_at_most": bloat,
            "knob": knob, "knob_needed": knob_needed, "knob_needed_percent": round(100 * knob_needed / planned, 1),
            "budget": budget, "knob_budget_percent": round(100 * budget[knob] / planned, 1), "holds": holds,
            "line": _line(planned, rows, bloat, knob, knob_needed, budget, holds)}


def _line(planned: int, rows: dict[str, int], bloat: dict[str, int], knob: str, needed: int,
          budget: dict[str, int], holds: bool) -> str:
    made = (f"the growth table's rows at the profile's widths ({format_size(sum(rows.values()))}) and bloat held "
            f"in its bands (at most {format_size(sum(bloat.values()))}) make "
            f"{format_size(sum(rows.values()) + sum(bloat.values()))} of the {format_size(planned)} planned, so "
            f"{knob} must carry {format_size(needed)} ({100 * needed / planned:.0f} %)")
    if holds:
        return f"budget holds: {made}, within its budget of {format_size(budget[knob])}"
    others = sum(budget.values()) - budget[knob]
    return (f"budget cannot hold: {made} where [budget] gives it {format_size(budget[knob])} "
            f"({100 * budget[knob] / planned:.0f} %) and expects {format_size(others)} from the other sources")
