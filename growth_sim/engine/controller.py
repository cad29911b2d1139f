"""Closed loop: steer row widths and payload bytes toward the planned size, and VACUUM toward the bloat band.

The controller's state lives in the ledger's run row (``state``) and is committed with each unit, so a resumed
run steers exactly as an uninterrupted one would from the same measurements.

A run initialised with ``sizing = "open"`` (its state says so) steers nothing: every width factor stays 1 and
the payload knob keeps the profile's nominal size, so the data depends on the profile and the seed alone, not
on the server's measurements.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from growth_sim.generate import payload
from growth_sim.profile import HOURS_PER_WEEK, Profile
from growth_sim.timeline.schedule import Schedule

_FACTOR_STEP = (0.5, 2.0)
_FACTOR_RANGE = (0.02, 50.0)
_LOGNORMAL_MEAN = math.exp(payload.SIGMA ** 2 / 2)  # mean / median of the payload size distribution


@dataclass
class SizeController:
    """Width factors per table (calibrated during the initial load) and the payload knob's share."""

    factors: dict[str, float]
    other_ratio: float = 0.5  # measured growth not due to the knob / planned growth (moving average)
    room: float = 1.0  # share of the initial size plan left to the tables by the empty schema's own size
    fixed_median: int | None = None  # open loop: the knob's median payload, never steered

    @classmethod
    def from_state(cls, state: dict[str, Any], nominal: int = 0) -> SizeController:
        """The controller of a run's state; `nominal` is the knob median an open-loop run keeps."""
        fixed = nominal if state.get("sizing") == "open" else None
        return cls(dict(state.get("factors", {})), float(state.get("other_ratio", 0.5)),
                   float(state.get("room", 1.0)), fixed)

    def to_state(self) -> dict[str, Any]:
        return {"factors": self.factors, "other_ratio": self.other_ratio, "room": self.room}

    def calibrate(self, table: str, bytes_per_row: int, rows_before: int, size_before: int, rows_after: int,
                  size_after: int, rows_total: int) -> None:
        """After a chunk of the initial load: aim the remaining rows at the table's bytes per row."""
        if self.fixed_median is not None:
            return
        chunk_rows = rows_after - rows_before
        remaining = rows_total - rows_after
        if chunk_rows <= 0 or remaining <= 0:
            return
        per_row = max(1.0, (size_after - size_before) / chunk_rows)
        need = max(1.0, (bytes_per_row * self.room * rows_total - size_after) / remaining)
        step = min(max(need / per_row, _FACTOR_STEP[0]), _FACTOR_STEP[1])
        factor = self.factors.get(table, 1.0) * step
        self.factors[table] = min(max(factor, _FACTOR_RANGE[0]), _FACTOR_RANGE[1])

    def knob_median(self, planned_size: int, size_now: int, planned_growth: float, count: int,
                    upper: int) -> int:
        """Median payload bytes per knob row that brings the database to `planned_size`."""
        if count <= 0:
            return 0
        if self.fixed_median is not None:
            return self.fixed_median
        expected_other = self.other_ratio * max(planned_growth, 0.0)
        deficit = planned_size - size_now - expected_other
        per_row = min(max(deficit / count, 0.0), float(upper))
        return int(per_row / _LOGNORMAL_MEAN)

    def observe(self, planned_growth: float, measured_growth: int, knob_bytes: int) -> None:
        """Learn how much of the planned growth the other sources make."""
        if planned_growth <= 0:
            return
        observed = max(0.0, (measured_growth - knob_bytes) / planned_growth)
        self.other_ratio = 0.7 * self.other_ratio + 0.3 * min(observed, 5.0)


def initial_room(empty_size: int, planned_initial: int) -> float:
    """The share of the initial size plan the empty database leaves to the tables' widths (the state's ``room``).

    Negligible at full scale; at scale 0.01 the catalog and empty indexes are several percent of the plan.
    """
    return min(1.0, max(0.5, 1.0 - empty_size / planned_initial)) if planned_initial > 0 else 1.0


def nominal_median(profile: Profile, knob: str) -> int:
    """The knob's median payload per row that its budget implies: the budget's weekly bytes over the rows the
    knob gains in week 1 (at scale 1, like the budget), clipped to the table's preview range."""
    budget = profile.budget.get(knob, 0)
    width = profile.widths.get(knob)
    schedule = Schedule(profile, 1.0)
    rows = schedule.rows(knob, HOURS_PER_WEEK) - schedule.initial(knob)
    if not budget or width is None or rows <= 0:
        return 0
    return int(min(budget / rows, width.preview_max) / _LOGNORMAL_MEAN)


def preview_mean(median: int) -> int:
    """Expected payload bytes per knob row for a median."""
    return int(median * _LOGNORMAL_MEAN)


def wants_vacuum(profile: Profile, table: str, bloat_percent: float, hour: int, target_hour: int) -> bool:
    """Emulated autovacuum in simulated time: vacuum a table whose bloat passed its set point.

    In the profile's quiet hours before a target nothing is vacuumed, so the run ends with tables that
    need VACUUM, as a busy database does.
    """
    policy = profile.bloat.get(table)
    if policy is None or hour >= target_hour - profile.vacuum_quiet_hours:
        return False
    return bloat_percent > policy.target
