"""Simulated hours: each hour (or slice of one) is a unit written with the simulated clock at its end.

A unit's inserts come first (parents before children), then its updates and deletes at their simulated times.
After each unit the database size is measured and the size controller adjusts the next one; the rows of later
hours are generated while earlier ones are written (`pipeline.Prefetch`). With two connections, the streams
nothing else of a unit needs are written beside the rest of it (`growth_sim.engine.beside`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator

from growth_sim.db import ledger
from growth_sim.engine import beside, pipeline
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
        self.beside: beside.Beside | None = None

    def use_connections(self, connections: int) -> None:
        """Write the model's independent streams beside the rest of each unit when `connections` allow it and their
        rows need no foreign key check (`growth_sim.engine.beside`); else everything on the session's connection."""
        independent = set(self.session.model.independent_streams)
        if connections > 1 and independent and independent <= self.session.unchecked:
            self.beside = self.beside or beside.Beside(self.session)
        else:
            self.close()

    def close(self) -> None:
        if self.beside is not None:
            self.beside.close()
            self.beside = None

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
        counts = {k: v for k, v in plan.count.items() if v}
        rows = {s: (plan.start[s], plan.start[s] + counts[s]) for s in session.model.independent_streams
                if counts.get(s)} if self.beside is not None else {}
        aside = self.beside if rows else None
        try:
            with session.unit(end):
                if aside is not None:
                    aside.start(beside.steps(session, rows, widths), end)
                pipeline.write(session.conn, steps, session.unchecked)
                if aside is not None:
                    aside.wait()
                size_after = measure.database_size(session.conn)
                session.size.observe(planned_growth, size_after - size_now, preview_mean(median) * counts.get(knob, 0))
                state = {k: v for k, v in session.state().items() if k != beside.STATE_KEY}
                if aside is not None:
                    state |= beside.pending(unit, rows, median, end)
                ledger.record_unit(session.conn, unit, plan.hour, {k: v for k, v in counts.items() if k not in rows},
                                   time.monotonic() - t0, clock_hour=math.floor(end), state=state)
        except BaseException:
            if aside is not None:
                aside.abort()
            raise
        if aside is not None:
            aside.commit(unit, {s: counts[s] for s in rows})
        return counts, size_after

    def _steps(self, plan: HourPlan, end: float, widths: Callable[[], Widths]) -> Iterator[Step]:
        """A unit's inserts (parents first), then its updates and deletes at their simulated times (<= `end`).

        Only the size knob's rows need `widths()` (it waits for the size measured after the previous unit, and
        is called exactly once per unit); the rest is generated without waiting. The streams written beside
        are not among the steps.
        """
        session = self.session
        knob_widths = None
        for stream in session.model.insert_order:
            if self.beside is not None and stream in session.model.independent_streams:
                continue
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
