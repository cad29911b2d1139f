"""`growth-sim reads`: replay the model's read mix as SQL, with client threads, and measure latencies.

Interactive scenarios (TaskPilot's regular users, power users, dashboards) run on `clients` connections, each
drawing query classes with the mix's proportions and no think time; background jobs run on a connection of their
own at their arrival rate (see `growth_sim.models.api.ReadMix`). Every connection is read-only, autocommit (no
snapshot held across statements) and gives up on a lock after a short wait, so reads never hold back VACUUM or
block a writer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import psycopg
from psycopg.conninfo import make_conninfo

from growth_sim.db import ledger
from growth_sim.db.connect import connect
from growth_sim.errors import DatabaseError, GrowthSimError
from growth_sim.models import model_for
from growth_sim.profile import load_profile
from growth_sim.timeline.schedule import Schedule

_SESSION_OPTIONS = "-c default_transaction_read_only=on -c lock_timeout=1s -c statement_timeout=5min"
_POLL_SECONDS = 0.5


@dataclass
class ClassStats:
    """Latencies (ms) and errors of one query class."""

    scenario: str
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None

    def merge(self, other: ClassStats) -> None:
        self.latencies += other.latencies
        self.errors += other.errors
        self.first_error = self.first_error or other.first_error

    def summary(self) -> dict[str, Any]:
        ms = np.asarray(self.latencies)
        p50, p95, p99 = (np.percentile(ms, [50, 95, 99]).round(3).tolist() if len(ms) else (None, None, None))
        return {"scenario": self.scenario, "count": len(ms), "errors": self.errors, "p50_ms": p50, "p95_ms": p95,
                "p99_ms": p99, "mean_ms": round(float(ms.mean()), 3) if len(ms) else None,
                "max_ms": round(float(ms.max()), 3) if len(ms) else None, "first_error": self.first_error}


@dataclass
class ReadsResult:
    """What a replay did: per query class counts, errors and latency percentiles."""

    seconds: float
    clients: int
    scenarios: list[str]
    simulated_hour: int | None
    classes: dict[str, dict[str, Any]]

    @property
    def queries(self) -> int:
        return sum(c["count"] for c in self.classes.values())

    @property
    def errors(self) -> int:
        return sum(c["errors"] for c in self.classes.values())

    def as_dict(self) -> dict[str, Any]:
        return {"seconds": round(self.seconds, 3), "clients": self.clients, "scenarios": self.scenarios,
                "simulated_hour": self.simulated_hour, "queries": self.queries, "errors": self.errors,
                "queries_per_second": round(self.queries / self.seconds, 1) if self.seconds else 0.0,
                "classes": self.classes}


class Runner:
    """Client threads replaying the read mix against one database until stopped."""

    def __init__(self, dsn: str, *, clients: int = 4, scenarios: Sequence[str] | None = None,
                 follow_clock: bool = False, seed: int | None = None) -> None:
        if clients < 1:
            raise GrowthSimError(f"--clients must be at least 1, got {clients}")
        with connect(dsn) as conn:
            run = ledger.load(conn)
        profile = load_profile(run.profile)
        self.mix = model_for(profile).read_mix()
        chosen = list(scenarios or self.mix.scenarios)
        unknown = sorted(set(chosen) - set(self.mix.scenarios))
        if unknown:
            raise GrowthSimError(f"unknown scenario {', '.join(unknown)}; choose from {', '.join(self.mix.scenarios)}")
        self.dsn = make_conninfo(dsn, application_name=self.mix.application_name, options=_SESSION_OPTIONS)
        self.control_dsn = dsn
        self.clients, self.scenarios, self.follow_clock = clients, chosen, follow_clock
        self.schedule = Schedule(profile, run.scale)
        self.seed = run.seed
        self.hour: int | None = run.clock_hour
        self.sampler = self._sampler(run.clock_hour)
        if self.hour is None and not follow_clock:
            raise DatabaseError("the database has no data yet: grow it first with `growth-sim advance --to initial`")
        self._rng = np.random.default_rng(seed)
        self._stop = threading.Event()
        self._budget: int | None = None
        self._budget_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._stats: list[dict[str, ClassStats]] = []
        self._fatal: list[str] = []
        self._started = 0.0
        self._seconds = 0.0

    # -- lifecycle -------------------------------------------------------------------------------------
    def start(self, queries: int | None = None) -> None:
        self._budget = queries
        self._started = time.monotonic()
        chosen = [q for q in self.mix.catalogue if q.scenario in self.scenarios]
        interactive = [q for q in chosen if q.scenario not in self.mix.background]
        background = [q for q in chosen if q.scenario in self.mix.background]
        workers: list[Callable[[psycopg.Connection, dict[str, ClassStats], np.random.Generator], None]] = []
        if interactive:
            workers += [lambda c, s, r: self._interactive(c, s, r, interactive)] * self.clients
        if background:
            workers.append(lambda c, s, r: self._background(c, s, r, background))
        for worker in workers:
            stats: dict[str, ClassStats] = {}
            self._stats.append(stats)
            rng = np.random.default_rng(self._rng.integers(2**63))
            thread = threading.Thread(target=self._client, args=(worker, stats, rng), daemon=True)
            self._threads.append(thread)
            thread.start()

    def halt(self) -> None:
        """Stop the clients and wait for them (each finishes its statement in progress)."""
        self._stop.set()
        for thread in self._threads:
            thread.join()
        self._seconds = time.monotonic() - self._started

    def stop(self) -> ReadsResult:
        """Halt, and raise if a client lost its connection."""
        self.halt()
        if self._fatal:
            raise DatabaseError(f"reads stopped: {self._fatal[0]}")
        return self.result()

    def run(self, duration: float | None = None, queries: int | None = None,
            report: Callable[[float, int, int], None] = lambda elapsed, done, errors: None) -> ReadsResult:
        """Replay for `duration` seconds or until `queries` queries ran (whichever comes first)."""
        self.start(queries)
        try:
            while not self._stop.is_set():
                elapsed = time.monotonic() - self._started
                report(elapsed, self.done(), self.failed())
                if (duration is not None and elapsed >= duration) or not any(t.is_alive() for t in self._threads):
                    break
                self._stop.wait(min(_POLL_SECONDS, max(duration - elapsed, 0.01)) if duration else _POLL_SECONDS)
                if self.follow_clock:
                    self._refresh_clock()
        finally:
            result = self.stop()
        report(result.seconds, result.queries, result.errors)
        return result

    def done(self) -> int:
        return sum(len(c.latencies) for stats in self._stats for c in list(stats.values()))

    def failed(self) -> int:
        return sum(c.errors for stats in self._stats for c in list(stats.values()))

    def result(self) -> ReadsResult:
        merged: dict[str, ClassStats] = {q.name: ClassStats(q.scenario) for q in self.mix.catalogue
                                         if q.scenario in self.scenarios}
        for stats in self._stats:
            for name, c in stats.items():
                merged[name].merge(c)
        return ReadsResult(self._seconds, self.clients, self.scenarios, self.hour,
                           {name: c.summary() for name, c in merged.items()})

    # -- clients ---------------------------------------------------------------------------------------
    def _client(self, worker, stats: dict[str, ClassStats], rng: np.random.Generator) -> None:
        try:
            with connect(self.dsn, autocommit=True) as conn:
                worker(conn, stats, rng)
        except (GrowthSimError, psycopg.Error) as exc:
            self._fatal.append(str(exc).splitlines()[0])
            self._stop.set()

    def _interactive(self, conn: psycopg.Connection, stats: dict[str, ClassStats], rng: np.random.Generator,
                     classes: list) -> None:
        weights = np.array([q.weight for q in classes], dtype=np.float64)
        p = weights / weights.sum()
        while self._wait_for_data():
            if not self._execute(conn, classes[rng.choice(len(classes), p=p)], stats, rng):
                return

    def _background(self, conn: psycopg.Connection, stats: dict[str, ClassStats], rng: np.random.Generator,
                    classes: list) -> None:
        period = 1.0 / self.mix.background_rate
        due = time.monotonic()
        while self._wait_for_data():
            for query in classes:
                if not self._execute(conn, query, stats, rng):
                    return
            due = max(due + period, time.monotonic() - 1.0)  # a slow server is not owed a burst
            if self._stop.wait(max(due - time.monotonic(), 0.0)):
                return

    def _execute(self, conn: psycopg.Connection, query, stats: dict[str, ClassStats],
                 rng: np.random.Generator) -> bool:
        """Run one query; False when the replay should stop (stopped, or the query budget is spent)."""
        if self._stop.is_set() or not self._take():
            return False
        entry = stats.setdefault(query.name, ClassStats(query.scenario))
        params = query.params(self.sampler, rng)
        started = time.perf_counter()
        try:
            conn.execute(query.sql, params).fetchall()
        except psycopg.Error as exc:
            if conn.broken:
                raise
            entry.errors += 1
            entry.first_error = entry.first_error or str(exc).splitlines()[0]
        else:
            entry.latencies.append((time.perf_counter() - started) * 1000)
        return True

    def _take(self) -> bool:
        if self._budget is None:
            return True
        with self._budget_lock:
            if self._budget <= 0:
                self._stop.set()
                return False
            self._budget -= 1
            return True

    def _wait_for_data(self) -> bool:
        """True once there is data to read (at once unless following a run still in its initial load)."""
        while self.hour is None:
            if self._stop.wait(_POLL_SECONDS):
                return False
        return not self._stop.is_set()

    # -- the simulated clock ---------------------------------------------------------------------------
    def _sampler(self, hour: int | None):
        return None if hour is None else self.mix.sampler(self.schedule, self.seed, hour)

    def _refresh_clock(self) -> None:
        try:
            with connect(self.control_dsn, autocommit=True) as conn:
                hour = ledger.clock_hour(conn)
        except (GrowthSimError, psycopg.Error):
            return  # the writer may be between units; the next poll tries again
        if hour != self.hour:
            self.sampler, self.hour = self._sampler(hour), hour  # the sampler first: `hour` says it is ready


@contextmanager
def background(dsn: str, clients: int = 2, scenarios: Sequence[str] | None = None) -> Iterator[Runner]:
    """Replay the read mix while the body runs (e.g. a growth run); follows the simulated clock as it moves.

    After the block, ``runner.result()`` holds the replay's statistics.
    """
    runner = Runner(dsn, clients=clients, scenarios=scenarios, follow_clock=True)
    stopper = threading.Thread(target=_follow, args=(runner,), daemon=True)
    runner.start()
    stopper.start()
    try:
        yield runner
    except BaseException:
        runner.halt()  # the body's exception is the one to report
        raise
    else:
        runner.stop()
    finally:
        stopper.join()


def _follow(runner: Runner) -> None:
    while not runner._stop.wait(_POLL_SECONDS):
        runner._refresh_clock()


def format_result(result: ReadsResult) -> str:
    """Per query class: scenario, count, errors, p50/p95/p99 latency; then the totals."""
    width = max([20, *(len(name) + 2 for name in result.classes)])
    lines = [f"{'query class':<{width}}{'scenario':<12}{'count':>9}{'errors':>8}{'p50 ms':>10}{'p95 ms':>10}"
             f"{'p99 ms':>10}"]

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    for name, c in result.classes.items():
        lines.append(f"{name:<{width}}{c['scenario']:<12}{c['count']:>9,}{c['errors']:>8,}{ms(c['p50_ms']):>10}"
                     f"{ms(c['p95_ms']):>10}{ms(c['p99_ms']):>10}")
    qps = result.queries / result.seconds if result.seconds else 0.0
    lines += ["", f"{result.queries:,} queries in {result.seconds:.1f} s ({qps:,.0f}/s) on {result.clients} "
                  f"client(s), {result.errors:,} error(s); scenarios: {', '.join(result.scenarios)}"]
    for name, c in result.classes.items():
        if c["first_error"]:
            lines.append(f"  {name}: {c['first_error']}")
    return "\n".join(lines)
