"""The benchmark's instruments: the raw-COPY limit must do the server work growth-sim does, no less."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
from support import counts, table_digests

from benchmarks import tape
from growth_sim.engine import session
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
    tapes = [tape.record(recorded, target, tmp_path / f"{n}.tape") for n, target in enumerate(("initial", "+6h"))]
    for recording in tapes:
        assert tape.replay(replayed, recording) > 0

    rows = counts(recorded, TABLES)
    assert rows["issues"] > 0 and rows["comments"] > 0
    assert counts(replayed, TABLES) == rows
    assert table_digests(replayed) == table_digests(recorded)


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
