"""The benchmark's instruments: the raw-COPY limit must do the server work growth-sim does, no less."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from support import counts, table_digests

from benchmarks import tape
from growth_sim.engine.install import initialise
from growth_sim.models.taskpilot import TABLES
from growth_sim.profile import load_profile


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
