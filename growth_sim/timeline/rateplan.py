"""The rate plan: a database's timeline continued at a rate of on-disk growth, for `growth-sim steady`.

Up to its anchor (the simulated hour at which steady first ran on the database) the plan is the database's
milestone Schedule. After it, every base stream (the milestone tables and the [rates] operations) grows at its
average pace over the profile's milestones per unit of activity weight W (the daily curve and weekends), times a
multiplier m that turns the profile's pace of planned bytes into the requested rate:

    F_s(t) = F_s(anchor) + round(pace_s * G(t)),    G(t) = sum over segments k of m_k * (W(t) - W(start_k))

(each segment counted from its start to the next one's). Derived and lagged streams follow from the base streams
through the Schedule's own formulas, so notifications, labels, attachments, webhook deliveries, notification
reads and the retention deletes keep the profile's ratios and delays. The planned size grows by
``bytes_pace * G(t)``: on-disk bytes per simulated week equal the rate, shaped by the daily curve (nights quiet).
Counts do not depend on --scale (pace and bytes scale together); the size controller steers attachment payloads
toward the planned size, measured with pg_database_size (closed loop, bloat included).

A segment starts at a whole simulated hour, so a new rate never changes the counts of an hour already begun,
and the plan is a pure function of (profile, scale, segments): the ledger stores the segments, and a resumed run
rebuilds the same timeline and the same rows. Rows of a slice of an hour are the ordinals `count_before` puts in
it (a proportional stream's rows go with their parents'), so any split of simulated time into units writes the
same rows, children never before their parents.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from growth_sim.errors import GrowthSimError
from growth_sim.profile import Profile
from growth_sim.timeline.schedule import HourPlan, Schedule, curve_weights

SECONDS_PER_WEEK = 604_800


@dataclass(frozen=True)
class Segment:
    """From simulated hour `hour` on, grow at `rate` bytes per second (a week's average)."""

    hour: int
    rate: float

    def to_state(self) -> list[float]:
        return [self.hour, self.rate]

    @classmethod
    def from_state(cls, value: Sequence[float]) -> Segment:
        return cls(int(value[0]), float(value[1]))


class RatePlan(Schedule):
    """The Schedule up to the first segment's hour, then growth at each segment's rate, up to `horizon`."""

    def __init__(self, profile: Profile, scale: float, segments: Sequence[Segment], horizon: int) -> None:
        super().__init__(profile, scale)
        if not segments or any(b.hour <= a.hour for a, b in zip(segments, segments[1:], strict=False)):
            raise GrowthSimError("a rate plan needs segments in increasing hours")
        self.segments = tuple(segments)
        self.anchor = segments[0].hour
        if not 0 <= self.anchor <= profile.last_hour < horizon or segments[-1].hour >= horizon:
            raise GrowthSimError(f"rate plan anchored at hour {self.anchor} cannot reach hour {horizon}")
        ends = np.array([0, profile.last_hour], dtype=np.int64)
        span = float(self._cumw[profile.last_hour])
        base = (*profile.milestone_tables, *profile.rates)
        self._pace = {s: float(np.diff(Schedule.cumulative(self, s, ends))[0]) / span for s in base}
        self.bytes_pace = float(np.diff(Schedule.size(self, ends))[0]) / span  # planned bytes per unit of W
        if self.bytes_pace <= 0:
            raise GrowthSimError(f"profile {profile.name!r} plans no growth in size: it cannot set a rate")
        self._at_anchor = {s: int(Schedule.cumulative(self, s, np.array([self.anchor]))[0]) for s in base}
        self._size_at_anchor = float(Schedule.size(self, np.array([self.anchor]))[0])
        self.size_offset = 0.0
        self.last_hour = horizon
        self._cumw = curve_weights(profile, horizon)

    def multiplier(self, rate: float) -> float:
        """m of a rate in bytes per second: the profile's pace of planned bytes times m is the rate."""
        return rate * SECONDS_PER_WEEK / self._week_weight / self.bytes_pace

    def effective_weight(self, t: np.ndarray) -> np.ndarray:
        """G(t) at whole hours t >= anchor: activity weight since the anchor, each segment's times its m."""
        t = np.asarray(t, dtype=np.int64)
        out = np.zeros(t.shape, dtype=np.float64)
        for k, seg in enumerate(self.segments):
            stop = self.segments[k + 1].hour if k + 1 < len(self.segments) else self.last_hour
            w = self._cumw[np.clip(t, seg.hour, stop)] - self._cumw[seg.hour]
            out += self.multiplier(seg.rate) * w
        return out

    def cumulative(self, stream: str, t: np.ndarray) -> np.ndarray:
        if stream not in self._pace:
            return super().cumulative(stream, t)  # derived and lagged streams: formulas of the base streams
        t = np.asarray(t, dtype=np.int64)
        if np.any(t > self.last_hour):
            raise GrowthSimError(f"hour {int(t.max())} is past the rate plan's horizon")
        out = super().cumulative(stream, np.minimum(t, self.anchor))
        after = t > self.anchor
        if after.any():
            grown = np.floor(self._pace[stream] * self.effective_weight(t[after]) + 0.5).astype(np.int64)
            out[after] = self._at_anchor[stream] + grown
        return out

    def size(self, t: np.ndarray) -> np.ndarray:
        """Planned database size at whole hours (after the anchor: anchored where `rebase` measured it)."""
        t = np.asarray(t, dtype=np.int64)
        steady = self._size_at_anchor + self.size_offset + self.bytes_pace * self.effective_weight(t)
        return np.where(t > self.anchor, np.floor(steady + 0.5).astype(np.int64),
                        super().size(np.minimum(t, self.anchor)))

    def size_at(self, hour: float) -> float:
        """Planned size at a fractional hour >= anchor (linear inside the hour, as rows are spread)."""
        h = min(math.floor(hour), self.last_hour - 1)
        g = self.effective_weight(np.array([h, h + 1]))
        return self._size_at_anchor + self.size_offset + self.bytes_pace * (g[0] + (hour - h) * (g[1] - g[0]))

    def rebase(self, hour: float, measured: int) -> None:
        """Aim the planned size from here on: it is `measured` at `hour` and grows at the rate."""
        self.size_offset = 0.0
        self.size_offset = measured - self.size_at(hour)

    def slice_plan(self, start: float, stop: float) -> HourPlan:
        """The work of simulated time [start, stop) (fractional hours inside one hour) as an HourPlan."""
        hour = math.floor(start)
        if not (self.anchor <= start < stop <= hour + 1 and stop <= self.last_hour):
            raise GrowthSimError(f"slice {start}..{stop} is not inside one hour of the rate plan")
        t = np.array([start, stop], dtype=np.float64)
        cum = {s: self._rows_before(s, t) for s in self.streams}
        return HourPlan(hour=hour, start={s: int(c[0]) for s, c in cum.items()},
                        count={s: int(c[1] - c[0]) for s, c in cum.items()}, size=int(self.size_at(stop)))

    def _rows_before(self, stream: str, t: np.ndarray) -> np.ndarray:
        """Rows of a stream before fractional hours t; a proportional stream's rows go with their parent rows
        (the labels of an issue are in the slice of the issue, never before it)."""
        derived = self._derived.get(stream)
        if derived is None or not derived.proportional:
            return self.count_before(stream, t)
        ratio = self.ratio(stream)
        return -((-self._rows_before(derived.per[0], t) * ratio.numerator) // ratio.denominator)

    def extended(self, hour: int) -> RatePlan:
        """The same plan reaching at least `hour` (the horizon doubles, so extensions stay rare)."""
        horizon = max(hour + 1, 2 * self.last_hour)
        plan = RatePlan(self.profile, self.scale, self.segments, horizon)
        plan.size_offset = self.size_offset
        return plan
