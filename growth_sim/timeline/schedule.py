"""The schedule: a pure function from (profile, scale) to what happens in every simulated hour.

Every stream (a table's inserts, or an operation such as issue updates) has a cumulative count F(t) at each
whole simulated hour t (t = 0 is week 0). Counts of hour h are F(h + 1) - F(h), so any split of a time range
sums to the plan of the whole range, and milestones are exact because F equals the scaled growth table there.
Between milestones F follows the cumulative weight of the daily curve (and weekends).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction

import numpy as np

from growth_sim.errors import GrowthSimError
from growth_sim.profile import HOURS_PER_WEEK, Profile, hour_of_label
from growth_sim.timeline.quantities import parse_scale

_RELATIVE_RE = re.compile(r"^\+(\d+)\s*([hdw])$")
_RELATIVE_HOURS = {"h": 1, "d": 24, "w": HOURS_PER_WEEK}


@dataclass(frozen=True)
class HourPlan:
    """What one simulated hour does: for each stream, the first ordinal and how many."""

    hour: int
    start: dict[str, int]
    count: dict[str, int]
    size: int  # planned database size in bytes at the end of the hour


def scaled(count: float, scale: float) -> int:
    """A count multiplied by the scale, rounded half up once."""
    return int(math.floor(count * scale + 0.5))


def curve_weights(profile: Profile, hours: int) -> np.ndarray:
    """Cumulative activity weight (daily curve x weekends) at each whole hour 0..hours."""
    h = np.arange(hours, dtype=np.int64)
    hour_of_day = (h + profile.start.hour) % 24
    weekday = (h // 24 + profile.start.weekday()) % 7
    weekend = np.where(weekday >= 5, round(profile.weekend_factor * 100), 100)
    weights = np.asarray(profile.curve, dtype=np.int64)[hour_of_day] * weekend
    return np.concatenate([[0], np.cumsum(weights)])


class Schedule:
    """Cumulative counts of every stream of a profile at a scale."""

    def __init__(self, profile: Profile, scale: float) -> None:
        parse_scale(scale)
        self.profile, self.scale = profile, scale
        self.last_hour = profile.last_hour
        self._cumw = curve_weights(profile, self.last_hour)
        self._week_weight = int(self._cumw[HOURS_PER_WEEK]) if self.last_hour >= HOURS_PER_WEEK \
            else int(self._cumw[-1] * HOURS_PER_WEEK // max(self.last_hour, 1))
        if max([*profile.milestones[-1].counts.values(), *profile.rates.values()]) * scale >= 2**62:
            raise GrowthSimError(f"--scale {scale:g} is too large for profile {profile.name!r}")
        self._milestones = [(m.hour, {k: scaled(v, scale) for k, v in m.counts.items()}, m.size * scale)
                            for m in profile.milestones]
        rates = [scaled(r, scale) for r in profile.rates.values()]
        biggest = max([*self._milestones[-1][1].values(), *rates])
        if biggest * int(self._cumw[-1]) * 2 >= 2**62:
            raise GrowthSimError(f"--scale {scale:g} is too large for profile {profile.name!r}")
        self._derived = {d.name: d for d in profile.derived}
        self._lagged = {lg.name: lg for lg in profile.lagged}
        self._lag_share = {lg.name: Fraction(lg.share).limit_denominator(10_000) for lg in profile.lagged}
        self.streams: tuple[str, ...] = (
            *profile.milestone_tables, *self._derived, *profile.rates, *self._lagged)
        self._order_derived()

    def _order_derived(self) -> None:
        """Refuse derived streams that depend on each other in a circle."""
        state: dict[str, int] = {}

        def visit(name: str, path: tuple[str, ...]) -> None:
            if state.get(name) == 2 or name not in self._derived:
                return
            if state.get(name) == 1:
                raise GrowthSimError(
                    f"{self.profile.path}: derived streams form a cycle: {' -> '.join(path)}")
            state[name] = 1
            for per in self._derived[name].per:
                visit(per, (*path, per))
            state[name] = 2

        for name in self._derived:
            visit(name, (name,))

    # -- cumulative counts -------------------------------------------------------------------------------
    def initial(self, stream: str) -> int:
        """Rows of a stream in the initial dataset (hour 0)."""
        return int(self.cumulative(stream, np.array([0]))[0])

    def cumulative(self, stream: str, t: np.ndarray) -> np.ndarray:
        """F(t): how many of `stream` exist (were done) by simulated hour t; t may be negative (history)."""
        t = np.asarray(t, dtype=np.int64)
        if np.any(t > self.last_hour):
            raise GrowthSimError(f"hour {int(t.max())} is past the profile's last milestone")
        past = t < 0
        tc = np.clip(t, 0, self.last_hour)
        if stream in self.profile.milestone_tables:
            out = self._interpolate(lambda counts: counts[stream], tc)
        elif stream in self._derived:
            d = self._derived[stream]
            if d.proportional:
                ratio = self.ratio(stream)
                return -((-self.cumulative(d.per[0], t) * ratio.numerator) // ratio.denominator)
            growth = sum(self.cumulative(p, tc) - self.cumulative(p, np.zeros(1, np.int64)) for p in d.per)
            out = scaled(d.initial, self.scale) + np.floor(growth * d.ratio + 0.5).astype(np.int64)
        elif stream in self.profile.rates:
            rate = scaled(self.profile.rates[stream], self.scale)
            out = (rate * self._cumw[tc] * 2 + self._week_weight) // (2 * self._week_weight)
        elif stream in self._lagged:
            lg, share = self._lagged[stream], self._lag_share[stream]
            return self.cumulative(lg.of, t - lg.delay_hours) * share.numerator // share.denominator
        else:
            raise KeyError(f"unknown stream {stream!r}")
        if past.any():
            out = np.where(past, self._history(stream, t), out)
        return out

    def ratio(self, stream: str) -> Fraction:
        """The ratio of a proportional derived stream as an exact fraction."""
        return Fraction(self._derived[stream].ratio).limit_denominator(10_000)

    def parents(self, stream: str, ordinals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For rows of a proportional stream: the parent row and the row's slot among its siblings."""
        ratio = self.ratio(stream)
        m = np.asarray(ordinals, dtype=np.int64)
        parent = m * ratio.denominator // ratio.numerator
        first = -((-parent * ratio.numerator) // ratio.denominator)
        return parent, m - first

    def _history(self, stream: str, t: np.ndarray) -> np.ndarray:
        """Before week 0 the initial rows of a stream were created evenly over its history window."""
        initial = self.initial(stream) if stream not in self._lagged else 0
        days = self._derived[stream].history_days if stream in self._derived else self.profile.history_days
        window = days * 24
        return np.floor(initial * np.clip(1 + t / window, 0, 1)).astype(np.int64)

    def _interpolate(self, pick, t: np.ndarray) -> np.ndarray:
        out = np.zeros_like(t)
        for (ha, ca, _), (hb, cb, _) in zip(self._milestones, self._milestones[1:], strict=False):
            inside = (t >= ha) & (t <= hb)
            wa, wb = self._cumw[ha], self._cumw[hb]
            a, b = pick(ca), pick(cb)
            num = (b - a) * (self._cumw[t[inside]] - wa) * 2 + (wb - wa)
            out[inside] = a + num // (2 * (wb - wa))
        return out

    def size(self, t: np.ndarray) -> np.ndarray:
        """Planned database size in bytes at simulated hour t."""
        t = np.asarray(t, dtype=np.int64)
        out = np.zeros(t.shape, dtype=np.float64)
        for (ha, _, sa), (hb, _, sb) in zip(self._milestones, self._milestones[1:], strict=False):
            inside = (t >= ha) & (t <= hb)
            wa, wb = self._cumw[ha], self._cumw[hb]
            out[inside] = sa + (sb - sa) * (self._cumw[t[inside]] - wa) / (wb - wa)
        return np.floor(out + 0.5).astype(np.int64)

    def size_at(self, hour: int) -> int:
        """Planned database size in bytes at one simulated hour."""
        return int(self.size(np.array([hour]))[0])

    def lagged_rows(self, stream: str, first: int, stop: int) -> np.ndarray:
        """Ordinals (in the `of` stream) of the lagged operations with indices [first, stop)."""
        share = self._lag_share[stream]
        k = np.arange(first, stop, dtype=np.int64)
        # The k-th acted-on row is the smallest n with floor((n + 1) * share) > k.
        return -((-(k + 1) * share.denominator) // share.numerator) - 1

    # -- ordinals in time -------------------------------------------------------------------------------
    def _full(self, stream: str) -> np.ndarray:
        """F(t) for every whole hour 0..last_hour (cached)."""
        cache = self.__dict__.setdefault("_full_cache", {})
        if stream not in cache:
            cache[stream] = self.cumulative(stream, np.arange(self.last_hour + 1, dtype=np.int64))
        return cache[stream]

    def between(self, stream: str, start: int, stop: int) -> int:
        """How many of `stream` happen in the whole hours [start, stop) (0 <= start <= stop <= last hour)."""
        if not 0 <= start <= stop <= self.last_hour:
            raise GrowthSimError(f"hours {start}..{stop} are outside the profile (0..{self.last_hour})")
        full = self._full(stream)
        return int(full[stop] - full[start])

    def _window(self, stream: str) -> float:
        days = self._derived[stream].history_days if stream in self._derived else self.profile.history_days
        return days * 24.0

    def ordinal_hours(self, stream: str, ordinals: np.ndarray) -> np.ndarray:
        """When row `ordinal` of a stream happens, in fractional simulated hours (negative: history).

        Rows of an hour are spread evenly through it in ordinal order; initial rows evenly through the
        stream's history window before week 0.
        """
        full = self._full(stream)
        o = np.asarray(ordinals, dtype=np.int64)
        n0 = int(full[0])
        out = np.empty(o.shape, dtype=np.float64)
        hist = o < n0
        out[hist] = -self._window(stream) * (1.0 - (o[hist] + 0.5) / max(n0, 1))
        live = ~hist
        h = np.searchsorted(full, o[live], side="right") - 1
        h = np.clip(h, 0, self.last_hour - 1)
        count = np.maximum(full[h + 1] - full[h], 1)
        out[live] = h + (o[live] - full[h] + 0.5) / count
        return out

    def count_before(self, stream: str, hours: np.ndarray) -> np.ndarray:
        """How many rows of a stream happened before each (fractional) simulated hour."""
        full = self._full(stream)
        t = np.asarray(hours, dtype=np.float64)
        n0 = int(full[0])
        out = np.empty(t.shape, dtype=np.int64)
        hist = t < 0
        out[hist] = np.clip(np.ceil(n0 * (1 + t[hist] / self._window(stream)) - 0.5 - 1e-7), 0, n0)
        live = ~hist
        h = np.clip(np.floor(t[live]).astype(np.int64), 0, self.last_hour - 1)
        count = full[h + 1] - full[h]
        out[live] = full[h] + np.clip(np.ceil((t[live] - h) * count - 0.5 - 1e-7), 0, count)
        return out

    # -- plans -----------------------------------------------------------------------------------------
    def hours(self, start: int, stop: int) -> Iterator[HourPlan]:
        """Plans of the hours in [start, stop)."""
        if not 0 <= start <= stop <= self.last_hour:
            raise GrowthSimError(f"hours {start}..{stop} are outside the profile (0..{self.last_hour})")
        t = np.arange(start, stop + 1, dtype=np.int64)
        cum = {s: self.cumulative(s, t) for s in self.streams}
        sizes = self.size(t)
        for i, hour in enumerate(range(start, stop)):
            yield HourPlan(
                hour=hour,
                start={s: int(c[i]) for s, c in cum.items()},
                count={s: int(c[i + 1] - c[i]) for s, c in cum.items()},
                size=int(sizes[i + 1]),
            )

    def totals(self, start: int, stop: int) -> dict[str, int]:
        """How many of each stream happen in [start, stop)."""
        t = np.array([start, stop], dtype=np.int64)
        return {s: int(np.diff(self.cumulative(s, t))[0]) for s in self.streams}

    def rows(self, table: str, t: int) -> int:
        """Rows a table holds at hour t according to the plan (inserts minus deletes)."""
        at = np.array([t], dtype=np.int64)
        n = int(self.cumulative(table, at)[0])
        for lg in self._lagged.values():
            if lg.kind == "delete" and lg.of == table:
                n -= int(self.cumulative(lg.name, at)[0])
        return n

    def time_of(self, hour: float) -> datetime:
        """The simulated timestamp of a (fractional) simulated hour."""
        return self.profile.start + timedelta(hours=hour)

    def resolve_target(self, text: str, current: int) -> int:
        """The simulated hour named by a target: ``initial``, ``week-N``, ``+3d``/``+12h``, or an ISO time."""
        text = text.strip()
        hour = self.parse_target(text, current)
        if hour < current:
            raise GrowthSimError(
                f"target {text!r} (hour {hour}) is before the database's simulated clock (hour {current}, "
                f"{self.time_of(current):%Y-%m-%d %H:%M}); growth-sim only moves forward")
        if hour > self.last_hour:
            raise GrowthSimError(
                f"target {text!r} is past the profile's last milestone "
                f"({self.profile.milestones[-1].label}); to keep growing past it use `growth-sim steady`")
        if hour < 0:
            raise GrowthSimError(f"target {text!r} is before week 0 ({self.time_of(0):%Y-%m-%d})")
        return hour

    def parse_target(self, text: str, current: int) -> int:
        """The simulated hour a target names (relative targets count from `current`), unchecked."""
        text = text.strip()
        hour = hour_of_label(text)
        if hour is None and (match := _RELATIVE_RE.match(text)):
            hour = current + int(match.group(1)) * _RELATIVE_HOURS[match.group(2)]
        if hour is None:
            try:
                stamp = datetime.fromisoformat(text)
            except ValueError:
                raise GrowthSimError(
                    f"target {text!r} not understood: write initial, week-N, +3d, +12h or an ISO time "
                    f"such as {self.time_of(HOURS_PER_WEEK).isoformat()}") from None
            if stamp.tzinfo is None:
                stamp = stamp.replace(tzinfo=self.profile.start.tzinfo)
            seconds = (stamp - self.profile.start).total_seconds()
            if seconds % 3600:
                raise GrowthSimError(f"target {text!r} must fall on a whole hour of simulated time")
            hour = int(seconds // 3600)
        return hour
