"""Workers that write published units (see `growth_sim.claims`), each on its own connection.

`--jobs N` runs N of them: the run's own connection plus N - 1 threads. Generation is numpy work that
releases the GIL for much of its time, and each worker overlaps it with its COPY (`pipeline.prefetched`), so
N workers keep up to N server backends busy. Other processes, on this machine or another, add their own
workers by joining the run (`growth-sim advance --jobs N` while another advance holds the writer lock).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import psycopg

from growth_sim.db import ledger
from growth_sim.db.connect import connect
from growth_sim.engine import claims, deferred, pipeline

POLL_SECONDS = 0.2
MAX_DEFAULT_JOBS = 4  # beyond this, more connections on one machine's cores only contend


def default_jobs() -> int:
    """The connections an initial load on the private cluster uses unless told: the cores this process may run
    on (its CPU affinity, as a container's cpuset sets it), at most `MAX_DEFAULT_JOBS`."""
    return max(1, min(MAX_DEFAULT_JOBS, len(os.sched_getaffinity(0))))

Steps = Callable[[claims.Claim], Iterable[pipeline.Step]]  # what a claim without a statement writes


class Workers:
    """Claim and write published units on several connections.

    As a context (`started`): `jobs - 1` connections in threads for as long as it lasts, and the caller's own
    connection whenever it waits for the published units to be written (`drain`). `run` works until
    `keep_going()` says stop instead. `on_unit(rows)` is called (under a lock) after each unit a worker commits.
    """

    def __init__(self, dsn: str, steps: Steps, clock: str, on_unit: Callable[[int], None]) -> None:
        self.dsn, self.steps, self.clock = dsn, steps, clock
        self._on_unit, self._lock = on_unit, threading.Lock()
        self._stop, self._finished = threading.Event(), threading.Event()
        self._conns: list[psycopg.Connection] = []
        self._errors: list[BaseException] = []
        self._threads: list[threading.Thread] = []

    @contextmanager
    def started(self, jobs: int) -> Iterator[Workers]:
        """`jobs - 1` workers in threads, writing units as they are published, until the context ends."""
        self._start(jobs, lambda conn: not self._finished.is_set())
        with self._stopping_on_error():
            yield self
        self._finished.set()
        self._join()

    def drain(self, conn: psycopg.Connection) -> None:
        """Write published units on `conn` too, until none is left (those other workers hold included)."""
        with self._stopping_on_error():
            self._work(conn, _worker_name(0), lambda c: claims.pending(c) > 0)
        if self._errors:
            raise self._errors[0]

    def run(self, conn: psycopg.Connection, jobs: int, keep_going: Callable[[psycopg.Connection], bool]) -> None:
        """Work on `conn` in this thread and on `jobs - 1` new connections in threads, until all are idle."""
        self._start(jobs, keep_going)
        with self._stopping_on_error():
            self._work(conn, _worker_name(0), keep_going)
        self._join()

    def _start(self, jobs: int, keep_going: Callable[[psycopg.Connection], bool]) -> None:
        self._threads = [threading.Thread(target=self._thread, args=(n, keep_going), name=f"growth-sim-worker-{n}",
                                          daemon=True) for n in range(1, jobs)]
        for thread in self._threads:
            thread.start()

    @contextmanager
    def _stopping_on_error(self) -> Iterator[None]:
        try:
            yield
        except BaseException:
            self._stop.set()
            for other in list(self._conns):
                other.cancel_safe()  # the unit in progress rolls back; its claim is free again
            self._join_threads()
            raise

    def _join(self) -> None:
        self._join_threads()
        if self._errors:
            raise self._errors[0]

    def _join_threads(self) -> None:
        for thread in self._threads:
            thread.join()
        self._threads = []

    def _thread(self, n: int, keep_going: Callable[[psycopg.Connection], bool]) -> None:
        try:
            with connect(self.dsn, autocommit=True) as conn:
                conn.execute("SET synchronous_commit = off")  # as the run's own connection (see Session)
                self._conns.append(conn)
                self._work(conn, _worker_name(n), keep_going)
        except BaseException as exc:
            if not self._stop.is_set():
                self._errors.append(exc)
                self._stop.set()

    def _work(self, conn: psycopg.Connection, name: str, keep_going: Callable[[psycopg.Connection], bool]) -> None:
        while not self._stop.is_set():
            t0 = time.monotonic()
            rows: dict[str, int] = {}
            with conn.transaction():
                claim = claims.claim(conn)
                if claim is not None:
                    pipeline.set_clock(conn, self.clock)
                    if claim.statement is not None:
                        deferred.run(conn, claim.statement)
                    else:
                        rows = pipeline.write(conn, pipeline.prefetched(self.steps(claim)))
                    ledger.record_unit(conn, claim.unit, None, rows, time.monotonic() - t0, worker=name)
            if claim is not None:
                with self._lock:
                    self._on_unit(sum(rows.values()))
            elif keep_going(conn):
                time.sleep(POLL_SECONDS)
            else:
                return


def _worker_name(n: int) -> str:
    return f"{socket.gethostname()}:{os.getpid()}/{n}"
