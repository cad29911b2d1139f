"""`python -m benchmarks`: growth-sim against the raw-COPY limit, the restore of a `pg_dump` of the same database,
a naive loader and `pgbench -i`, in one run.

Everything runs on one private PostgreSQL cluster started for the benchmark (and destroyed after it). The limit,
growth-sim and the restore take turns, repeated, so that the noise of a shared machine hits them alike; the best
time of each is compared and the spread reported. growth-sim runs as the `growth-sim advance` command in a child
process, whose wall time and peak RSS are measured. Every timed run starts after a CHECKPOINT and is followed by
one (outside its time), so that the shared buffers it wrote, however they were written (by backends evicting them,
by checkpoints, by the background writer), and its WAL are its own.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import click
from psycopg import sql

from growth_sim.db.cluster import Cluster
from growth_sim.db.connect import connect
from growth_sim.engine.install import initialise
from growth_sim.engine.parallel import default_jobs
from growth_sim.profile import load_profile

from . import tape
from .baselines import Throughput, dump, naive_load, pgbench_init, restore

PHASES = ("initial", "week-1")  # the initial load, then one simulated week
SETTINGS = ("server_version", "shared_buffers", "max_wal_size", "checkpoint_timeout", "wal_level", "fsync",
            "synchronous_commit", "full_page_writes", "wal_compression", "max_parallel_maintenance_workers")
_SOURCE = Path(__file__).resolve().parents[1]
# `growth-sim` reporting its own peak RSS at exit: VmHWM of the process image, which (unlike ru_maxrss) does not
# count the benchmark's pages shared with the child between fork and exec.
_PEAK_RSS_WRAPPER = """
import atexit, sys
def peak():
    with open("/proc/self/status") as status:
        kib = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    sys.stderr.write(f"\\npeak-rss-kib {kib}\\n")
atexit.register(peak)
sys.argv[0] = "growth-sim"
from growth_sim.cli import main
main()
"""
MB = 1e6
FULL_SCALE = 0.2  # --full: about 2 GB initially, 2 GB more in the week


@dataclass
class Sample:
    """One timed phase: rows written, seconds, on-disk bytes added, CPU seconds of the server (all its processes)
    and of the client, peak RSS of the client process (growth-sim only), bytes of shared buffers the server wrote
    to disk and bytes of WAL it generated."""

    rows: int
    seconds: float
    disk_bytes: int = 0
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    rss_bytes: int | None = None
    buffer_writes: int = 0
    wal_bytes: int = 0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds

    @property
    def mb_per_second(self) -> float:
        return self.disk_bytes / MB / self.seconds


@dataclass
class Series:
    """Repeated samples of one measurement; the best (fastest) one is the figure, the others give the spread."""

    samples: list[Sample] = field(default_factory=list)

    @property
    def best(self) -> Sample:
        return min(self.samples, key=lambda s: s.seconds)

    @property
    def spread(self) -> str:
        times = sorted(s.seconds for s in self.samples)
        return f"{times[0]:.2f}-{times[-1]:.2f}" if len(times) > 1 else f"{times[0]:.2f}"


class Bench:
    """The benchmark's cluster and the databases it creates on it."""

    def __init__(self, home: Path, profile: str, seed: int, jobs: int) -> None:
        self.cluster = Cluster(home)
        self.cluster.ensure_running()
        self.profile, self.seed, self.jobs = load_profile(profile), seed, jobs
        self.home = home
        self.names: dict[str, str] = {}

    def settings(self) -> dict[str, str]:
        with connect(self.cluster.dsn("postgres"), autocommit=True) as conn:
            rows = conn.execute("SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(%s)",
                                (list(SETTINGS),)).fetchall()
        return dict(rows)

    def database(self, name: str, scale: float | None = None) -> str:
        """A new empty database (initialised for growth-sim at `scale` if given); its DSN."""
        with connect(self.cluster.dsn("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        dsn = self.cluster.dsn(name)
        self.names[dsn] = name
        if scale is not None:
            initialise(dsn, self.profile, self.seed, scale)
        return dsn

    def server_cpu(self) -> float:
        """CPU seconds used so far by the cluster, once the backends of closed connections are reaped."""
        previous, reading = -1.0, self._server_cpu()
        for _ in range(40):  # an ended backend's CPU time moves to the postmaster when it reaps it
            if reading - previous < 0.01:
                break
            time.sleep(0.05)
            previous, reading = reading, self._server_cpu()
        return reading

    def _server_cpu(self) -> float:
        """CPU seconds used so far by the postmaster, its live children and those it reaped."""
        postmaster = int((self.cluster.data_dir / "postmaster.pid").read_text().split()[0])
        ticks = sum(_stat(postmaster)[11:15])
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = _stat(int(entry.name))
                except (OSError, ValueError):
                    continue
                if stat[1] == postmaster:
                    ticks += stat[11] + stat[12]
        return ticks / os.sysconf("SC_CLK_TCK")

    def written(self) -> int:
        """Bytes of shared buffers written so far (backends' evictions, checkpoints, the background writer)."""
        with connect(self.cluster.dsn("postgres"), autocommit=True) as conn:
            return conn.execute("SELECT (buffers_backend + buffers_checkpoint + buffers_clean)"
                                " * current_setting('block_size')::bigint FROM pg_stat_bgwriter").fetchone()[0]

    def wal(self) -> int:
        """The WAL position, in bytes."""
        with connect(self.cluster.dsn("postgres"), autocommit=True) as conn:
            return conn.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint").fetchone()[0]

    def timed(self, dsn: str, work: Callable[[], Sample]) -> Sample:
        """`work`'s own sample (rows, seconds, client figures) with the on-disk growth of `dsn`, the server's CPU
        seconds, its buffer writes and its WAL added; the buffers left dirty are written by a checkpoint after it."""
        self.settle()
        size, written, wal = database_size(dsn), self.written(), self.wal()
        cpu = self.server_cpu()
        sample = work()
        cpu = self.server_cpu() - cpu
        wal = self.wal() - wal
        self.settle()
        return replace(sample, disk_bytes=database_size(dsn) - size, server_cpu=cpu,
                       buffer_writes=self.written() - written, wal_bytes=wal)

    def settle(self) -> None:
        """Write out what earlier runs left dirty, so that no run pays for another's checkpoint."""
        with connect(self.cluster.dsn("postgres"), autocommit=True) as conn:
            conn.execute("CHECKPOINT")

    def drop(self, dsn: str) -> None:
        name = self.names[dsn]
        with connect(self.cluster.dsn("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def growth_sim(self, dsn: str, target: str) -> Sample:
        """`growth-sim advance --to target` in a child process: wall time, peak RSS, rows, on-disk growth."""
        return self.timed(dsn, lambda: self._advance(dsn, target))

    def _advance(self, dsn: str, target: str) -> Sample:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(_SOURCE), os.environ.get("PYTHONPATH")])),
               "GROWTH_SIM_HOME": str(self.home)}
        command = [sys.executable, "-c", _PEAK_RSS_WRAPPER, "advance", "--dsn", dsn, "--to", target, "--json"]
        if self.jobs > 1:
            command += ["--jobs", str(self.jobs)]
        with tempfile.TemporaryFile() as err:
            started = time.perf_counter()
            proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=err)
            out = proc.stdout.read()  # type: ignore[union-attr]
            _, status, usage = os.wait4(proc.pid, 0)
            seconds = time.perf_counter() - started
            proc.returncode = os.waitstatus_to_exitcode(status)
            err.seek(0)
            stderr = err.read().decode()
            if proc.returncode != 0:
                raise click.ClickException(f"growth-sim advance failed: {stderr.strip()}")
        peak_kib = int(stderr.rsplit("peak-rss-kib ", 1)[1].split()[0])
        return Sample(json.loads(out)["rows_written"], seconds, client_cpu=usage.ru_utime + usage.ru_stime,
                      rss_bytes=peak_kib * 1024)

    def limit(self, dsn: str, recorded: tape.Tape) -> Sample:
        """The replay of `recorded` into `dsn`; the client is this process."""
        def replay() -> Sample:
            cpu = _cpu(resource.RUSAGE_SELF)
            seconds = tape.replay(dsn, recorded)
            return Sample(recorded.rows, seconds, client_cpu=_cpu(resource.RUSAGE_SELF) - cpu)

        return self.timed(dsn, replay)

    def restore(self, dsn: str, dumped: Path, rows: int, jobs: int) -> Sample:
        """`pg_restore -j jobs` of `dumped` (holding `rows` rows) into the empty database of `dsn`."""
        def run_restore() -> Sample:
            cpu = _cpu(resource.RUSAGE_CHILDREN)
            seconds = restore(self.cluster.bin_dir, dsn, dumped, jobs)
            return Sample(rows, seconds, client_cpu=_cpu(resource.RUSAGE_CHILDREN) - cpu)

        return self.timed(dsn, run_restore)

    def pgbench(self, dsn: str, scale: int) -> Sample:
        """`pgbench -i -s scale` into the empty database of `dsn`."""
        return self.timed(dsn, lambda: Sample(100_000 * scale, pgbench_init(self.cluster.bin_dir, dsn, scale)))


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _stat(pid: int) -> list[int]:
    """The numeric fields of /proc/PID/stat after the command name (index 1: parent pid, 11-14: CPU ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return [int(f) if f.lstrip("-").isdigit() else 0 for f in fields]


def database_size(dsn: str) -> int:
    with connect(dsn, autocommit=True) as conn:
        return conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]


def say(message: str) -> None:
    click.echo(f"[{time.strftime('%H:%M:%S')}] {message}", err=True)


@dataclass
class Measured:
    """Everything one benchmark run measured."""

    scale: float
    pair: tuple[float, float]
    repeat: int
    restore_jobs: int
    tapes: dict[str, tape.Tape]
    limit: dict[str, Series]
    ours: dict[str, Series]
    restored: Series
    naive: Throughput
    pgbench_scale: int
    pgbench: Series
    scaled: dict[float, dict[str, Sample]]


def run(bench: Bench, scale: float, pair: tuple[float, float], repeat: int, naive_seconds: float,
        restore_jobs: int, work: Path) -> Measured:
    """All measurements."""
    say(f"recording the workload at scale {scale:g} (the limit's payload)")
    recording = bench.database("bench_tape", scale)
    tapes = {}
    for phase in PHASES:
        tapes[phase] = tape.record(recording, phase, work / f"{phase}.tape")
        if phase == "initial":
            say("pg_dump of the initial database (the restore's input)")
            dump(bench.cluster.bin_dir, recording, work / "initial.dump")
    bench.drop(recording)

    limit = {phase: Series() for phase in PHASES}
    ours = {phase: Series() for phase in PHASES}
    restored = Series()
    last_gs = None
    turns = ("limit", "growth-sim", "restore")
    for r in range(repeat):
        for who in turns[r % 3:] + turns[:r % 3]:
            say(f"round {r + 1}/{repeat}: {who}")
            if who == "limit":
                dsn = bench.database(f"bench_limit_{r}", scale)
                for phase in PHASES:
                    limit[phase].samples.append(bench.limit(dsn, tapes[phase]))
                bench.drop(dsn)
            elif who == "restore":
                dsn = bench.database(f"bench_restore_{r}")
                restored.samples.append(bench.restore(dsn, work / "initial.dump", tapes["initial"].rows,
                                                      restore_jobs))
                bench.drop(dsn)
            else:
                dsn = bench.database(f"bench_gs_{r}", scale)
                for phase in PHASES:
                    ours[phase].samples.append(bench.growth_sim(dsn, phase))
                if last_gs:
                    bench.drop(last_gs)
                last_gs = dsn
    (work / "initial.dump").unlink()

    say(f"naive loader for {naive_seconds:g} s")
    naive = naive_load(last_gs, naive_seconds)
    bench.drop(last_gs)

    pgbench_scale = max(1, round(limit["initial"].best.disk_bytes / (15 * MB)))
    pg = Series()
    for r in range(repeat):
        say(f"pgbench -i -s {pgbench_scale} ({r + 1}/{repeat})")
        dsn = bench.database("bench_pgbench")
        pg.samples.append(bench.pgbench(dsn, pgbench_scale))
        bench.drop(dsn)

    scaled = {}
    for n, size in enumerate(pair):
        if size == scale:  # the rounds' first growth-sim run is this scale's
            scaled[size] = {phase: ours[phase].samples[0] for phase in PHASES}
            continue
        say(f"growth-sim at scale {size:g} (memory and scaling)")
        dsn = bench.database(f"bench_gs_scale_{n}", size)
        scaled[size] = {phase: bench.growth_sim(dsn, phase) for phase in PHASES}
        bench.drop(dsn)

    return Measured(scale, pair, repeat, restore_jobs, tapes, limit, ours, restored, naive, pgbench_scale, pg, scaled)


def summarise(m: Measured) -> dict:
    """The figures and every sample; a JSON-ready dict."""
    small, big = (m.scaled[size] for size in m.pair)
    small_rss = max(small[p].rss_bytes for p in PHASES)
    big_rss = max(big[p].rss_bytes for p in PHASES)
    small_time = sum(small[p].seconds for p in PHASES)
    big_time = sum(big[p].seconds for p in PHASES)
    limit, ours = m.limit, m.ours
    figures = {
        "limit_ratio_initial": limit["initial"].best.seconds / ours["initial"].best.seconds,
        "limit_ratio_week": limit["week-1"].best.seconds / ours["week-1"].best.seconds,
        # Load-independent views of the same ratio, from CPU seconds: the server work growth-sim adds
        # (measurements, ledger), and the ratio expected with a free core for each of server and client.
        **{f"server_work_ratio_{k}": _least(limit[p], "server_cpu") / _least(ours[p], "server_cpu")
           for k, p in (("initial", "initial"), ("week", "week-1"))},
        **{f"free_cores_ratio_{k}": _least(limit[p], "server_cpu") / max(_least(ours[p], "server_cpu"),
                                                                         _least(ours[p], "client_cpu"))
           for k, p in (("initial", "initial"), ("week", "week-1"))},
        # The same rows by the restore path: the time of the restore over growth-sim's (and the limit's) time.
        "restore_ratio": m.restored.best.seconds / ours["initial"].best.seconds,
        "restore_ratio_limit": m.restored.best.seconds / limit["initial"].best.seconds,
        "naive_ratio": ours["initial"].best.rows_per_second / m.naive.rows_per_second,
        "pgbench_ratio": ours["initial"].best.mb_per_second / m.pgbench.best.mb_per_second,
        # What the limit itself reaches against the same baselines: no loader of these rows can do better.
        "naive_ratio_limit": limit["initial"].best.rows_per_second / m.naive.rows_per_second,
        "pgbench_ratio_limit": limit["initial"].best.mb_per_second / m.pgbench.best.mb_per_second,
        "peak_rss_mb": max(small_rss, big_rss) / MB,
        "rss_change": max(small_rss, big_rss) / min(small_rss, big_rss) - 1,
        "time_vs_linear": big_time / (small_time * m.pair[1] / m.pair[0]),
    }
    return {
        "scale": m.scale, "memory_scales": list(m.pair), "repeat": m.repeat,
        "limit": {p: [asdict(s) for s in limit[p].samples] for p in PHASES},
        "growth_sim": {p: [asdict(s) for s in ours[p].samples] for p in PHASES},
        "restore": {"jobs": m.restore_jobs, "samples": [asdict(s) for s in m.restored.samples]},
        "growth_sim_scaled": {f"{size:g}": {p: asdict(runs[p]) for p in PHASES} for size, runs in m.scaled.items()},
        "naive": asdict(m.naive) | {"rows_per_second": m.naive.rows_per_second},
        "pgbench": {"scale": m.pgbench_scale, "samples": [asdict(s) for s in m.pgbench.samples]},
        "tape_copy_bytes": {p: m.tapes[p].copy_bytes for p in PHASES},
        "figures": figures,
    }


def _least(series: Series, attribute: str) -> float:
    return min(getattr(s, attribute) for s in series.samples)


# (label, figure, required, test, format, the limit's own figure where the target compares with a baseline)
TARGETS = (
    ("growth-sim / limit, initial load", "limit_ratio_initial", ">= 85 %", lambda v: v >= 0.85, "{:.0%}", None),
    ("growth-sim / limit, one simulated week", "limit_ratio_week", ">= 85 %", lambda v: v >= 0.85, "{:.0%}", None),
    ("growth-sim initial load / restore of its pg_dump, speed", "restore_ratio", ">= 1.0x", lambda v: v >= 1.0,
     "{:.2f}x", "restore_ratio_limit"),
    ("growth-sim / naive loader, rows/s", "naive_ratio", ">= 20x", lambda v: v >= 20, "{:.1f}x",
     "naive_ratio_limit"),
    ("growth-sim initial load / pgbench -i, on-disk MB/s", "pgbench_ratio", ">= 0.8x", lambda v: v >= 0.8,
     "{:.2f}x", "pgbench_ratio_limit"),
    ("peak RSS of advance", "peak_rss_mb", "<= 400 MB", lambda v: v <= 400, "{:.0f} MB", None),
    ("peak RSS change across the scales", "rss_change", "<= 20 %", lambda v: v <= 0.2, "{:+.0%}", None),
    ("wall time at 10x scale / 10x linear", "time_vs_linear", "<= 1.2x", lambda v: v <= 1.2, "{:.2f}x", None),
)


def _per_gb(part: int, sample: Sample) -> str:
    """`part` bytes per byte the sample grew the database on disk (GB per GB grown); blank if not measured."""
    return f"{part / sample.disk_bytes:.1f}" if part and sample.disk_bytes > 0 else ""


def markdown(m: Measured, figures: dict, settings: dict[str, str]) -> str:
    limit, ours = m.limit, m.ours

    def row(what: str, series: Series | None, sample: Sample, ratio: str = "", payload: int = 0) -> str:
        spread = series.spread if series else f"{sample.seconds:.2f}"
        rss = f"{sample.rss_bytes / MB:.0f}" if sample.rss_bytes else ""
        client = f"{sample.client_cpu:.1f}" if sample.client_cpu else ""
        sent = f"{payload / MB / sample.seconds:.1f}" if payload else ""
        return (f"| {what} | {sample.rows:,} | {sample.seconds:.2f} | {spread} | {sample.rows_per_second:,.0f} | "
                f"{sent} | {sample.mb_per_second:.1f} | {_per_gb(sample.buffer_writes, sample)} | "
                f"{_per_gb(sample.wal_bytes, sample)} | {sample.server_cpu:.1f} | {client} | {rss} | {ratio} |")

    lines = [
        f"scale {m.scale:g} (memory and scaling at {' and '.join(f'{x:g}' for x in m.scaled)}), "
        f"best of {m.repeat}; "
        "MB = 10^6 bytes on disk (pg_database_size growth); written and WAL: GB of shared buffers the server "
        "wrote and GB of WAL it generated per GB the run grew the database",
        "",
        "| run | rows | s (best) | s (all) | rows/s | data MB/s | MB/s on disk | written / GB | WAL / GB "
        "| server CPU s | client CPU s | peak RSS MB | vs |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for phase, label in (("initial", "initial load"), ("week-1", "one simulated week")):
        payload = m.tapes[phase].copy_bytes
        lines.append(row(f"raw-COPY limit, {label}", limit[phase], limit[phase].best, payload=payload))
        ratio = limit[phase].best.seconds / ours[phase].best.seconds
        lines.append(row(f"growth-sim, {label}", ours[phase], ours[phase].best, f"{ratio:.0%} of the limit",
                         payload=payload))
        if phase == "initial":
            lines.append(row(f"restore of its pg_dump (pg_restore -j {m.restore_jobs})", m.restored,
                             m.restored.best, f"growth-sim initial: {figures['restore_ratio']:.2f}x"))
    naive = m.naive
    n = Sample(naive.rows, naive.seconds, 0)
    lines.append(f"| naive loader (Faker per row, executemany x1000) | {n.rows:,} | {n.seconds:.2f} | | "
                 f"{n.rows_per_second:,.0f} | {naive.input_bytes / MB / naive.seconds:.1f} | | | | | | | "
                 f"growth-sim initial: {figures['naive_ratio']:.1f}x |")
    lines.append(row(f"pgbench -i -s {m.pgbench_scale}", m.pgbench, m.pgbench.best,
                     f"growth-sim initial: {figures['pgbench_ratio']:.2f}x"))
    for phase, label in (("initial", "initial load"), ("week-1", "one simulated week")):
        for size, runs in m.scaled.items():
            lines.append(row(f"growth-sim at {size:g}, {label}", None, runs[phase]))
    f = figures
    lines += ["", "data MB/s: COPY payload (limit, growth-sim) or values sent (naive loader) per second. From CPU "
              "seconds, growth-sim's share of the limit is "
              f"{f['server_work_ratio_initial']:.0%} / {f['server_work_ratio_week']:.0%} (initial / week) counting "
              f"server work only, and {f['free_cores_ratio_initial']:.0%} / {f['free_cores_ratio_week']:.0%} "
              "where server and client each have a free core. The restore writes the same rows as the initial load "
              f"in {m.restored.best.disk_bytes / MB:,.0f} MB against growth-sim's "
              f"{ours['initial'].best.disk_bytes / MB:,.0f} MB: no dead tuples, indexes built in one pass."]
    lines += ["", "| target | measured | required | met | the limit itself |", "|---|---:|---:|---|---:|"]
    for label, key, required, ok, fmt, ceiling in TARGETS:
        value = figures[key]
        own = fmt.format(figures[ceiling]) if ceiling else ""
        lines.append(f"| {label} | {fmt.format(value)} | {required} | {'yes' if ok(value) else 'no'} | {own} |")
    lines += ["", "server: " + ", ".join(f"{k}={v}" for k, v in sorted(settings.items())),
              f"client: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end"]
    return "\n".join(lines)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--scale", type=float, default=0.05, show_default=True, help="Scale of the compared workload.")
@click.option("--memory-scales", type=(float, float), default=(0.005, 0.05), show_default=True,
              help="Two scales for peak RSS and wall-time scaling (10x apart).")
@click.option("--repeat", type=int, default=3, show_default=True, help="Rounds of limit, growth-sim and restore.")
@click.option("--naive-seconds", type=float, default=15.0, show_default=True, help="How long the naive loader runs.")
@click.option("--restore-jobs", type=int, default=2, show_default=True, help="pg_restore -j of the restore.")
@click.option("--quick", is_flag=True, help="One round at scale 0.002, memory at 0.002 and 0.02, a 5 s naive loader.")
@click.option("--full", is_flag=True,
              help=f"One round at scale {FULL_SCALE:g} (about 2 GB, then 2 GB more in the week; half an hour on 2 "
                   "cores, up to 20 GB of disk: 8 GB of recordings and dump, the databases, WAL), memory at "
                   f"{FULL_SCALE / 10:g} and {FULL_SCALE:g}.")
@click.option("--jobs", type=int, default=default_jobs(), show_default=True,
              help="Passed to growth-sim advance: the initial load's connections (as on the private cluster, one per "
                   "core up to 4; pg_restore has --restore-jobs).")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--profile", default="taskpilot", show_default=True)
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the results as JSON to this file.")
def main(scale: float, memory_scales: tuple[float, float], repeat: int, naive_seconds: float, restore_jobs: int,
         quick: bool, full: bool, jobs: int, seed: int, profile: str, json_path: Path | None) -> None:
    """Measure growth-sim against the raw-COPY limit, the restore of its pg_dump, a naive loader and pgbench -i on
    a private cluster.

    Prints a markdown table, then the results as JSON.
    """
    if quick and full:
        raise click.UsageError("--quick and --full exclude each other")
    if quick:
        scale, memory_scales, repeat, naive_seconds = 0.002, (0.002, 0.02), 1, 5.0
    if full:
        scale, memory_scales, repeat = FULL_SCALE, (FULL_SCALE / 10, FULL_SCALE), 1
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="growth-sim-bench-") as tmp:
        bench = Bench(Path(tmp) / "home", profile, seed, jobs)
        try:
            settings = bench.settings()
            measured = run(bench, scale, memory_scales, repeat, naive_seconds, restore_jobs, Path(tmp))
        finally:
            bench.cluster.destroy()
    result = summarise(measured)
    table = markdown(measured, result["figures"], settings)
    result["settings"] = settings
    result["seconds"] = time.monotonic() - started
    result["own_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MB
    text = json.dumps(result, indent=2)
    if json_path:
        json_path.write_text(text + "\n")
    click.echo(table)
    click.echo("")
    click.echo(text)


if __name__ == "__main__":
    main()
