"""`growth-sim steady`: keep a database growing at a rate, paced in real (or accelerated) time.

- Timeline. The rate plan (`rateplan.RatePlan`) continues the database's timeline from where its ledger stands.
  A database not yet at `initial` gets the initial dataset first. The first steady run anchors the rate plan at
  the database's clock; `advance` refuses such a database afterwards (its milestones' exact counts no longer lie
  on its timeline), so a database is grown by `advance` up to some point and by `steady` from there on. A new
  rate is a new segment of the plan from the next whole simulated hour.
- Pacing. The simulated clock follows the wall clock at --speed N simulated seconds per second, from where the
  ledger's clock stands when the run starts (time the run was stopped is not made up). Each unit is a slice of
  simulated time written when the wall clock has reached its end, so every timestamp is in the simulated past
  and rows trickle in continuously: a unit covers about UNIT_WALL_SECONDS of wall time (5 simulated seconds in
  real time, one simulated hour at --speed 720 and above), cut at whole hours and on a fixed grid so that a
  resumed run cuts the same units. Waiting is a sleep. A run that cannot keep up writes its units back to back
  and reports how far behind it is; --duration always covers its whole simulated span (duration x speed).
- Exactly once. Each unit commits with its ledger row and the clock (``run.state.steady``: the plan's segments
  and the clock in simulated seconds; ``run.clock_hour`` is its whole hours), so a run killed at any point
  resumes on the same timeline with the same rows. Rows are functions of (seed, table, ordinal); the timestamps
  of updates fall at the end of the unit (or quarter hour) that makes them.
- Size. After every unit the database size is measured and the size controller steers the next units'
  attachment payloads toward the planned size, which starts at the size measured when the run starts. Bloat is
  measured and VACUUM emulated at every whole simulated hour, as `advance` does, without its quiet end.
- Stopping. SIGINT or SIGTERM while waiting stops at once; during a unit the unit is finished first (a second
  signal rolls it back). A lost connection (server restart) is retried with `advance`'s backoff, but for as
  long as it takes, and the run continues from the ledger.
"""

from __future__ import annotations

import itertools
import math
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import FrameType
from typing import Any

import psycopg

from growth_sim.db import ledger
from growth_sim.engine.progress import Progress
from growth_sim.engine.run import RECONNECT_DELAYS, Run, interrupted, reconnect
from growth_sim.errors import GrowthSimError
from growth_sim.observe import measure
from growth_sim.profile import HOURS_PER_WEEK, Profile, load_profile
from growth_sim.timeline.quantities import parse_rate, rate_period
from growth_sim.timeline.rateplan import RatePlan, Segment

UNIT_WALL_SECONDS = 5.0
HORIZON_HOURS = 4 * HOURS_PER_WEEK  # how far ahead the rate plan is built (extended as the clock nears it)
NO_TARGET = 2**31 - 1  # steady has no end to keep quiet before: emulated VACUUM runs whenever bloat calls for it
_DIVISORS = [d for d in range(1, 3601) if 3600 % d == 0]


def unit_seconds(speed: float) -> int:
    """Simulated seconds per unit at a speed: about UNIT_WALL_SECONDS of wall time, a divisor of an hour."""
    return max(d for d in _DIVISORS if d <= max(1.0, speed * UNIT_WALL_SECONDS))


def unit_name(start: int, stop: int) -> str:
    """Ledger name of the unit writing simulated seconds [start, stop) since week 0."""
    return f"steady/{start:010d}-{stop:010d}"


@dataclass
class Status:
    """Where a steady run stands (reported every --status-every seconds and at the end)."""

    clock: datetime  # simulated time reached
    sim_seconds: float  # simulated time written by this run
    wall_seconds: float
    units: int
    growth: int  # bytes, measured with pg_database_size since the run started
    planned_growth: int  # what the rate, shaped by the daily curve, plans for the same simulated time
    rate: float  # target bytes per second (a week's average)
    behind: float  # simulated seconds the run lags behind the wall clock
    rows: dict[str, int] = field(default_factory=dict)  # written by this run, per stream

    @property
    def achieved_rate(self) -> float:
        return self.growth / self.sim_seconds if self.sim_seconds else 0.0

    @property
    def planned_rate(self) -> float:
        return self.planned_growth / self.sim_seconds if self.sim_seconds else 0.0


@dataclass
class SteadyResult:
    """The summary of a steady run."""

    start: str
    end: str
    speed: float
    rate: float
    status: Status
    db_size: int
    stopped_by: str | None  # "SIGINT"/"SIGTERM" when a signal ended the run


class _Stop(Exception):
    """A signal arrived while waiting: stop now (nothing is in progress)."""


class _Signals:
    """SIGINT/SIGTERM handling by phase: "abort" rolls the unit back at once (initial load), "unit" lets it finish
    (a second signal aborts it), "wait" stops at once."""

    def __init__(self) -> None:
        self.received: str | None = None
        self.mode = "abort"
        self._previous: dict[int, object] = {}

    def __enter__(self) -> _Signals:
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        again = self.received is not None
        self.received = signal.Signals(signum).name
        if self.mode == "wait":
            raise _Stop
        if self.mode == "abort" or again:
            raise KeyboardInterrupt

    @contextmanager
    def phase(self, mode: str) -> Iterator[None]:
        previous, self.mode = self.mode, mode
        try:
            if mode == "wait" and self.received:
                raise _Stop
            yield
        finally:
            self.mode = previous


class SteadyRun:
    """One `growth-sim steady` invocation on a database."""

    def __init__(self, dsn: str, rate: float, *, speed: float = 1.0, duration: float | None = None,
                 until: str | None = None, status_every: float = 10.0,
                 on_status: Callable[[Status], None] = lambda s: None,
                 on_message: Callable[[str], None] = lambda m: None,
                 on_initial: Callable[[Progress], None] = lambda p: None) -> None:
        if not (rate > 0 and math.isfinite(rate)):
            raise GrowthSimError("the rate must be above zero, e.g. --rate 10GiB/week")
        if not (speed > 0 and math.isfinite(speed)):
            raise GrowthSimError(f"--speed must be a positive number, got {speed!r}")
        if duration is not None and until is not None:
            raise GrowthSimError("give --duration or --until, not both")
        if duration is not None and not (duration > 0 and math.isfinite(duration)):
            raise GrowthSimError("--duration must be longer than zero")
        if not status_every > 0:
            raise GrowthSimError("--status-every must be above zero seconds")
        self.dsn, self.rate, self.speed = dsn, rate, speed
        self.duration, self.until, self.status_every = duration, until, status_every
        self.on_status, self.on_message, self.on_initial = on_status, on_message, on_initial
        self.step = unit_seconds(speed)
        self.signals = _Signals()
        self.rows: dict[str, int] = {}
        self.units = 0

    # -- connection and timeline ---------------------------------------------------------------------------
    def _take(self, run: Run) -> Run:
        """Hold the writer lock on `run`'s session and hold autovacuum off on the bloat tables (as advance does)."""
        try:
            run.hold()
        except BaseException:
            run.close()
            raise
        return run

    def _timeline(self, run: Run, horizon_hour: int) -> tuple[int, RatePlan]:
        """The ledger's clock (simulated seconds) and the rate plan continuing from it at this run's rate."""
        session = run.session
        saved = session.row.state.get("steady")
        clock = _clock(session.row)
        if saved is None:
            segments = [Segment(session.row.clock_hour, self.rate)]
        else:
            segments = [Segment.from_state(s) for s in saved["segments"]]
            if segments[-1].rate != self.rate:
                start = -(-clock // 3600)
                segments = [s for s in segments if s.hour < start] + [Segment(start, self.rate)]
        session.row.state["steady"] = {"segments": [s.to_state() for s in segments], "clock": clock}
        horizon = max(horizon_hour, math.ceil(clock / 3600) + HORIZON_HOURS, session.profile.last_hour + 1)
        plan = RatePlan(session.profile, session.row.scale, segments, horizon)
        session.use_schedule(plan)
        return clock, plan

    def _end(self, run: Run, clock: int) -> int | None:
        """The simulated second the run ends at (None: until stopped)."""
        if self.duration is not None:
            return clock + max(1, round(self.duration * self.speed))
        if self.until is None:
            return None
        hour = run.session.schedule.parse_target(self.until, clock // 3600)
        if hour * 3600 <= clock:
            raise GrowthSimError(
                f"--until {self.until!r} (hour {hour}) is not after the database's simulated clock "
                f"({run.session.schedule.time_of(clock / 3600):%Y-%m-%d %H:%M:%S}); growth-sim only moves forward")
        return hour * 3600

    # -- the run ---------------------------------------------------------------------------------------------
    def execute(self) -> SteadyResult:
        with self.signals:
            try:
                return self._execute()
            except KeyboardInterrupt:
                raise interrupted(self.dsn, _at_clock, say_rolled_back=True) from None

    def _execute(self) -> SteadyResult:
        run = self._take(Run(self.dsn))
        try:
            end = self._end(run, _clock(run.session.row))
            if run.session.row.clock_hour is None:
                run.load_initial(self.on_initial, NO_TARGET)
                run.session.reload()
            first = "steady" not in run.session.row.state
            clock, plan = self._timeline(run, -(-end // 3600) if end else 0)
            if first:
                self._warn_off_schedule(run)
            size_now = measure.database_size(run.session.conn)
            plan.rebase(clock / 3600, size_now)
            self.sim0, self.wall0, self.size0, self.clock = clock, time.monotonic(), size_now, clock
            self.size_now, self.end, self.plan = size_now, end, plan
            self._next_status = self.wall0 + self.status_every
            self.signals.mode = "unit"  # from here on a signal stops the run between units
            try:
                while (end is None or self.clock < end) and not self.signals.received:
                    try:
                        run = self._unit(run)
                    except psycopg.OperationalError as exc:
                        run = self._reconnect(run, exc)
            except _Stop:
                pass
            status = self.status()
            return SteadyResult(plan.time_of(self.sim0 / 3600).isoformat(), status.clock.isoformat(), self.speed,
                                self.rate, status, self.size_now, self.signals.received)
        finally:
            run.close()

    def _warn_off_schedule(self, run: Run) -> None:
        """Before a database's first steady unit: `advance` will refuse it afterwards, with milestones still ahead."""
        profile, hour = run.session.profile, run.session.row.clock_hour or 0
        ahead = [m.label for m in profile.milestones if m.hour > hour]
        if ahead:
            self.on_message(
                f"warning: from its first unit `steady` takes this database off the milestone schedule "
                f"({', '.join(ahead)} ahead): `advance` will refuse it afterwards; to keep a database that can still "
                "advance, stop now (Ctrl-C writes nothing) and save a fixture (`growth-sim fixture build`) or a copy")

    def _unit(self, run: Run) -> Run:
        """Wait for the next unit's end on the paced clock, then write it (and check bloat at whole hours)."""
        t0 = self.clock
        t1 = min((t0 // self.step + 1) * self.step, (t0 // 3600 + 1) * 3600, self.end or math.inf)
        if t1 > self.plan.last_hour * 3600:
            self.plan = self.plan.extended(t1 // 3600 + HORIZON_HOURS)
            run.session.use_schedule(self.plan)
        with self.signals.phase("wait"):
            self._wait(self._due(t1))
        with self.signals.phase("unit"):
            work = self.plan.slice_plan(t0 / 3600, t1 / 3600)
            planned = self.plan.size_at(t1 / 3600) - self.plan.size_at(t0 / 3600)
            run.session.row.state["steady"]["clock"] = t1
            counts, self.size_now = run.hours.unit(work, unit_name(t0, t1), t1 / 3600, planned, self.size_now)
            self.clock = t1
            self.units += 1
            for stream, n in counts.items():
                self.rows[stream] = self.rows.get(stream, 0) + n
            if t1 % 3600 == 0:
                self.size_now = run.checks.check(t1 // 3600, NO_TARGET)
        if time.monotonic() >= self._next_status:
            self._status_tick()
        return run

    def _due(self, sim: int) -> float:
        """The wall-clock moment (monotonic) the paced clock reaches simulated second `sim`."""
        return self.wall0 + (sim - self.sim0) / self.speed

    def _wait(self, due: float) -> None:
        while (now := time.monotonic()) < due:
            if now >= self._next_status:
                self._status_tick()
            time.sleep(min(due, self._next_status) - now)

    def _status_tick(self) -> None:
        self.on_status(self.status())
        self._next_status = time.monotonic() + self.status_every

    def _reconnect(self, run: Run, exc: psycopg.OperationalError) -> Run:
        """After a lost connection, retry as `advance` does but without giving up (a run lasts days); continue
        from the ledger's clock. A server error on a live connection stops the run."""
        delays = itertools.chain(RECONNECT_DELAYS, itertools.repeat(RECONNECT_DELAYS[-1]))
        run = reconnect(run, exc, delays, then="continue", waiting=lambda: self.signals.phase("wait"),
                        take=self._take)
        offset = self.plan.size_offset
        self.clock, self.plan = self._timeline(run, self.plan.last_hour)
        self.plan.size_offset = offset
        self.size_now = measure.database_size(run.session.conn)
        self.on_message(f"reconnected; continuing at {self.plan.time_of(self.clock / 3600):%Y-%m-%d %H:%M:%S}")
        return run

    def status(self) -> Status:
        sim = self.clock - self.sim0
        planned = self.plan.size_at(self.clock / 3600) - self.plan.size_at(self.sim0 / 3600)
        behind = max(0.0, (time.monotonic() - self._due(self.clock)) * self.speed - self.step)
        return Status(self.plan.time_of(self.clock / 3600), sim, time.monotonic() - self.wall0, self.units,
                      self.size_now - self.size0, round(planned), self.rate, behind, dict(self.rows))


def steady(dsn: str, rate: float, **options: Any) -> SteadyResult:
    """Grow the database at `rate` bytes per second (see `SteadyRun` for the options)."""
    return SteadyRun(dsn, rate, **options).execute()


def _clock(run: ledger.Run) -> int:
    """The database's simulated clock in seconds since week 0 (0 before the initial dataset is complete)."""
    saved = run.state.get("steady")
    return int(saved["clock"]) if saved else (run.clock_hour or 0) * 3600


def _at_clock(run: ledger.Run) -> str:
    """Where the database's simulated clock stands, to the second."""
    return f"at simulated {load_profile(run.profile).start + timedelta(seconds=_clock(run)):%Y-%m-%d %H:%M:%S}"


def resolve_rate(rate: str | None, vus: int | None, preset: str | None,
                 profile_of: Callable[[], Profile]) -> tuple[float, float | None, str]:
    """(bytes per second, a preset's wall-clock seconds or None, the period to show rates in) from exactly one
    of --rate, --vus and --preset; virtual users and presets come from the [steady] section of the profile
    `profile_of` returns (called only for them)."""
    given = [name for name, value in (("--rate", rate), ("--vus", vus), ("--preset", preset)) if value is not None]
    if len(given) != 1:
        raise GrowthSimError("give one of --rate (e.g. 10GiB/week), --vus N or --preset NAME"
                             + (f", not {' and '.join(given)}" if given else ""))
    if rate is not None:
        try:
            per_second = parse_rate(rate)
        except ValueError as exc:
            raise GrowthSimError(f"--rate {exc}") from None
        if per_second <= 0:
            raise GrowthSimError(f"--rate {rate!r} must be above zero, e.g. 10GiB/week")
        return per_second, None, rate_period(rate)
    profile = profile_of()
    settings = profile.steady
    if settings is None:
        raise GrowthSimError(f"profile {profile.name!r} has no [steady] section to translate "
                             f"{given[0]}; give --rate instead")
    if preset is not None:
        if preset not in settings.presets:
            raise GrowthSimError(f"unknown --preset {preset!r}; profile {profile.name!r} has "
                                 f"{', '.join(sorted(settings.presets)) or 'none'}")
        users, seconds = settings.presets[preset]
        return settings.rate_of(users), seconds, "week"
    if vus is None or vus < 1:
        raise GrowthSimError(f"--vus must be a whole number of virtual users above zero, got {vus}")
    return settings.rate_of(vus), None, "week"
