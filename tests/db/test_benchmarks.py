"""The benchmark's instruments: the raw-COPY limit must do the server work growth-sim does, no less."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
from support import counts, query, scalar, table_digests

from benchmarks import tape
from benchmarks.baselines import dump
from benchmarks.run import Bench
from growth_sim.db.cluster import Cluster
from growth_sim.engine import session
from growth_sim.engine.advance import advance
from growth_sim.engine.install import initialise
from growth_sim.models.taskpilot import TABLES
from growth_sim.profile import load_profile

MIB = 1 << 20


def test_replayed_tape_builds_the_same_database(dsn_factory: Callable[[], str], tmp_path: Path):
    """Replaying the recorded initial load and hours into an empty schema gives every table the same rows."""
    recorded, replayed = dsn_factory(), dsn_factory()
    profile = load_profile("taskpilot")
    for dsn in (recorded, replayed):
        initialise(dsn, profile, 3, 0.002)
    tapes = [tape.record(recorded, target, tmp_path / f"{n}.tape") for n, target in enumerate(("initial", "+48h"))]
    for recording in tapes:
        assert tape.replay(replayed, recording) > 0

    rows = counts(recorded, TABLES)
    assert rows["issues"] > 0 and rows["comments"] > 0
    assert counts(replayed, TABLES) == rows
    assert table_digests(replayed) == table_digests(recorded)
    # the restore path's steps are on the tape too: the same indexes, built, and the same keys, validated
    catalog = ("SELECT indexdef || pg_relation_size(format('%I.%I', schemaname, indexname)) FROM pg_indexes"
               " WHERE schemaname = 'public' UNION ALL SELECT conname || convalidated::text FROM pg_constraint"
               " WHERE connamespace = 'public'::regnamespace ORDER BY 1")
    assert query(replayed, catalog) == query(recorded, catalog)
    assert scalar(replayed, "SELECT count(*) FROM pg_stat_user_tables WHERE relname = 'issues'"
                            " AND analyze_count > 0") == 1  # and the emulated ANALYZEs


def _peak_rise(action: Callable[[], object]) -> int:
    """How far this process's peak RSS rises above its current RSS while `action` runs, in bytes."""
    Path("/proc/self/clear_refs").write_text("5")  # resets the peak (VmHWM) to the current RSS

    def status(field: str) -> int:
        with open("/proc/self/status") as fh:
            return int(next(line.split()[1] for line in fh if line.startswith(field))) * 1024

    start = status("VmRSS:")
    action()
    return status("VmHWM:") - start


def test_recording_streams_to_disk(dsn_factory: Callable[[], str], tmp_path: Path):
    """A COPY of 96 MiB goes to the tape and back chunk by chunk: neither recording nor replay holds it in memory."""
    recorded, replayed = dsn_factory(), dsn_factory()
    chunks, rows_per_chunk = 96, MIB // 128
    for dsn in (recorded, replayed):
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE UNLOGGED TABLE t (n bigint, pad text)")

    def write() -> None:
        with session.connect(recorded, autocommit=True) as conn, conn.cursor() as cur, \
                cur.copy("COPY t FROM STDIN") as copy:  # the connection a run session opens
            for c in range(chunks):  # a new 1 MiB chunk each time, as growth-sim generates them
                first = c * rows_per_chunk
                copy.write("".join(f"{n:019d}\t{'x' * 107}\n" for n in range(first, first + rows_per_chunk)).encode())

    path = tmp_path / "big.tape"
    with tape.recording(path) as recorder:
        recording_rise = _peak_rise(write)
    recorded_tape = tape.Tape(path, chunks * rows_per_chunk, recorder.bytes, recorder.records)
    replay_rise = _peak_rise(lambda: tape.replay(replayed, recorded_tape))

    assert recorded_tape.copy_bytes == chunks * MIB and path.stat().st_size > chunks * MIB
    assert recording_rise < 24 * MIB and replay_rise < 24 * MIB, (recording_rise / MIB, replay_rise / MIB)
    with psycopg.connect(replayed) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT n), sum(length(pad)) FROM t").fetchone() == (
            chunks * rows_per_chunk, chunks * rows_per_chunk, chunks * rows_per_chunk * 107)


def test_restore_baseline_gives_the_same_database_and_counts_its_writes(pg_cluster: Cluster,
                                                                        dsn_factory: Callable[[], str],
                                                                        tmp_path: Path):
    """The restore of a grown database's dump has its rows, indexes and constraints; its sample counts the buffers
    the server wrote and the WAL it generated for them."""
    source, target = dsn_factory(), dsn_factory()
    initialise(source, load_profile("taskpilot"), 3, 0.002)
    advance(source, "initial")
    dump(pg_cluster.bin_dir, source, tmp_path / "initial.dump")
    bench = Bench(pg_cluster.home, "taskpilot", 3, 1)

    sample = bench.restore(target, tmp_path / "initial.dump", rows=1, jobs=2)

    assert table_digests(target) == table_digests(source)
    assert _definitions(target) == _definitions(source)
    assert sample.seconds > 0 and sample.disk_bytes > 10 * MIB
    assert 0.5 * sample.disk_bytes < sample.buffer_writes < 4 * sample.disk_bytes  # hint bits write pages again
    assert 0.5 * sample.disk_bytes < sample.wal_bytes < 3 * sample.disk_bytes


def _definitions(dsn: str) -> list[tuple]:
    """Every index of the application's tables by its definition, every constraint by name, kind and validity (a
    CHECK's deparsed text changes in a dump and restore: a cast moves)."""
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            """SELECT indexdef, '', true FROM pg_indexes WHERE schemaname = 'public'
               UNION ALL SELECT c.conname, c.contype::text, c.convalidated
               FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public'
               ORDER BY 1, 2""").fetchall()
