"""Simulated hours: each hour (or slice of one) is a unit written with the simulated clock at its end.

A unit's inserts come first (parents before children), then its updates and deletes at their simulated times.
After each unit the database size is measured and the size controller adjusts the next one; the rows of later
hours are generated while earlier ones are written (`pipeline.Prefetch`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator

from growth_sim.db import ledger
from growth_sim.engine import pipeline
from growth_sim.engine.checks import Checks
from growth_sim.engine.controller import preview_mean
from growth_sim.engine.pipeline import Statement, Step
from growth_sim.engine.progress import Progress
from growth_sim.engine.session import Session
from growth_sim.models.api import Widths
from growth_sim.observe import measure
from growth_sim.timeline.schedule import HourPlan


class Hours:
    """The simulated hours of one session, checked by `checks`."""

    def __init__(self, session: Session, checks: Checks) -> None:
        self.session, self.checks = session, checks

    def run(self, target: int, report: Callable[[Progress], None]) -> None:
        """Write every hour from the ledger's clock up to `target`, checking every `vacuum.check_every_hours`
        and at every hour a table is due for ANALYZE."""
        session = self.session
        start = ledger.clock_hour(session.conn) or 0
        started, written, written_bytes = time.monotonic(), 0, 0
        size_now = measure.database_size(session.conn)

        def every_hour(take: Callable[[], Widths]) -> Iterator[Step | object]:
            for plan in session.schedule.hours(start, target):
                yield from self._steps(plan, plan.hour + 1, take)
                yield pipeline.END

        with pipeline.Prefetch(every_hour) as ahead:
            for plan in session.schedule.hours(start, target):
                planned_growth = float(plan.size - session.schedule.size_at(plan.hour))
                counts, size_after = self.unit(plan, f"hour/{plan.hour:05d}", plan.hour + 1, planned_growth,
                                               size_now, ahead)
                written += sum(counts.values())
                written_bytes += size_after - size_now
                size_now = size_after
                hour = plan.hour + 1
                if hour % session.profile.vacuum_check_hours == 0 or hour == target or self.checks.analyse_due(hour):
                    size_now = self.checks.check(hour, target, size_after, lazy=True)
                report(Progress("hours", hour - start, target - start, hour, written, written_bytes,
                                time.monotonic() - started))

    def unit(self, plan: HourPlan, unit: str, end: float, planned_growth: float, size_now: int,
             ahead: pipeline.Prefetch | None = None) -> tuple[dict[str, int], int]:
        """Write `plan` (an hour, or a slice of one ending at simulated hour `end`) with its ledger row.

        Statements run with the simulated clock at their slice's end, never past `end`. Returns the unit's
        counts and the database size measured after it; the ledger's clock moves to ``floor(end)``. With
        `ahead` (producing `_steps` of successive plans), the rows were generated while earlier units ran.
        """
        session = self.session
        t0 = time.monotonic()
        knob = session.model.size_knob
        width = session.profile.widths.get(knob)
        median = session.size.knob_median(plan.size, size_now, planned_growth, plan.count.get(knob, 0),
                                          width.preview_max if width else 0)
        widths = session.widths(median)
        if ahead is None:
            steps = pipeline.prefetched(self._steps(plan, end, lambda: widths))
        else:
            ahead.give(widths)
            steps = ahead.unit()
        with session.unit(end):
            pipeline.write(session.conn, steps, session.unchecked)
            size_after = measure.database_size(session.conn)
            session.size.observe(planned_growth, size_after - size_now,
                                 preview_mean(median) * plan.count.get(knob, 0))
            counts = {k: v for k, v in plan.count.items() if v}
            ledger.record_unit(session.conn, unit, plan.hour, counts, time.monotonic() - t0,
                               clock_hour=math.floor(end), state=session.state())
        return counts, size_after

    def _steps(self, plan: HourPlan, end: float, widths: Callable[[], Widths]) -> Iterator[Step]:
        """A unit's inserts (parents first), then its updates and deletes at their simulated times (<= `end`).

        Only the size knob's rows need `widths()` (it waits for the size measured after the previous unit, and
        is called exactly once per unit); the rest is generated without waiting.
        """
        session = self.session
        knob_widths = None
        for stream in session.model.insert_order:
            if plan.count.get(stream):
                if knob_widths is None and stream == session.model.size_knob:
                    knob_widths = widths()
                first = plan.start[stream]
                yield from session.inserts(stream, first, first + plan.count[stream],
                                           knob_widths or session.widths())
        for op in session.model.hour_operations(plan):
            yield Statement(op.sql, op.params, session.clock(min(op.hour, end)))
        if knob_widths is None:
            widths()
