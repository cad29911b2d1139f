"""Pictures of growth: the history read from the ledger, the notebook run headless, and `growth-sim plot`.

That the notebook is stored without outputs is checked in tests/unit/test_plot.py.
"""

from __future__ import annotations

import base64
import json
import os
import struct
import tomllib
from collections.abc import Callable
from pathlib import Path

import nbformat
import psycopg
import pytest
from nbclient import NotebookClient
from psycopg import sql
from recipes import THIRTY_HOURS, Grown
from support import assert_user_error, run_cli, with_source

import growth_sim
from growth_sim.engine.install import initialise
from growth_sim.fixtures.templates import FixtureDatabase
from growth_sim.observe.history import load_history
from growth_sim.profile import load_profile
from growth_sim.timeline.schedule import Schedule

SCALE, HOURS = THIRTY_HOURS.scale, 30
ROOT = Path(growth_sim.__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "growth.ipynb"
INSERT_ONLY = ("issues", "comments", "activity_log")
GROWTH_TABLE = tomllib.loads((ROOT / "profiles" / "taskpilot.toml").read_text())
DELETES = {"notifications": "notification_deletes"}  # the ledger's count of a table's rows deleted in a unit


@pytest.fixture
def grown(shared_db: Callable[[Grown], FixtureDatabase]) -> str:
    """A database grown to +30h at scale 0.002 with seed 3 (a measurement every simulated hour), shared."""
    return shared_db(THIRTY_HOURS).dsn


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (asserting the signature)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_history_is_the_ledger_next_to_the_plan(grown: str):
    history = load_history(grown)
    with psycopg.connect(grown) as conn:
        measured = conn.execute("SELECT array_agg(hour ORDER BY hour) FROM growth_sim.measurements").fetchone()[0]
        counted = {t: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t))).fetchone()[0]
                   for t in history.counts}
        # What the plan must have been at each measured hour, from the server: the rows created before it (their
        # simulated created_at), plus those the ledger records as deleted from that hour on.
        held = {t: [n for (n,) in conn.execute(sql.SQL(
            "SELECT (SELECT count(*) FROM {} WHERE created_at < %(start)s::timestamptz + h * interval '1 hour')"
            " + (SELECT coalesce(sum((rows ->> %(deletes)s)::bigint), 0) FROM growth_sim.units u WHERE u.hour >= h)"
            " FROM unnest(%(hours)s::int[]) h ORDER BY h").format(sql.Identifier(t)),
            {"start": GROWTH_TABLE["profile"]["start"], "deletes": DELETES.get(t, ""), "hours": measured})]
            for t in history.planned_tables()}
    assert history.hours == measured == list(range(HOURS + 1))
    assert history.clock_hour == HOURS and history.scale == SCALE and history.seed == 3
    assert set(held) >= {*INSERT_ONLY, "notifications"}
    for table in history.planned_tables():
        assert history.series(table, "planned_rows") == held[table], table
    initial = GROWTH_TABLE["milestones"][0]  # the load guide's growth table at week 0, scaled
    assert initial["at"] == "initial"
    assert {t: history.series(t, "planned_rows")[0] for t in INSERT_ONLY} == \
        {t: round(initial[t] * SCALE) for t in INSERT_ONLY}
    schedule = Schedule(load_profile("taskpilot"), SCALE)
    # Statistics are flushed before each measurement, so insert-only tables' n_live_tup grow hour by hour as the
    # plan does. (A statistic: an autoanalyze that overlaps a unit's commit resets it to its own count, and the
    # rows committed meanwhile stay missing from it, so the levels may lag for good; the hourly steps may not.)
    for table in INSERT_ONLY:
        pairs = list(zip(history.series(table, "live"), history.series(table, "planned_rows"), strict=True))
        assert all(live <= planned for live, planned in pairs), (table, pairs)
        steps = [(l1 - l0, p1 - p0) for (l0, p0), (l1, p1) in zip(pairs, pairs[1:], strict=False)]
        assert sum(live == planned for live, planned in steps) >= 0.8 * len(steps), (table, steps)
    assert counted == history.counts and set(history.counts) >= set(INSERT_ONLY)
    assert history.counts["notifications"] == schedule.rows("notifications", HOURS)
    assert [m.label for m in history.reached()] == ["initial"]
    assert history.milestones[1].size == round(load_profile("taskpilot").milestone("week-1").size * SCALE)
    assert set(history.hot_tables) == {"issues", "notifications"}
    latest = history.latest
    # The rest of a table's total is its free space and visibility maps.
    assert all(0 <= t.total - t.heap - t.indexes - t.toast <= 64 * 1024 for t in latest.tables.values())
    assert latest.tables["issues"].bloat_percent is not None and latest.tables["comments"].bloat_percent is None


def test_notebook_runs_headless_and_draws_every_figure(grown: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("DATABASE_URL", grown)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("PYTHONPATH", with_source(dict(os.environ))["PYTHONPATH"])
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    figures = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.output_type != "error", out
            if "image/png" in out.get("data", {}):
                figures.append(png_size(base64.b64decode(out.data["image/png"])))
    assert len(figures) == 6, figures  # five panels and the whole page
    assert all(w >= 300 and h >= 200 for w, h in figures), figures
    printed = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert f"{HOURS + 1} measurements, hour 0 to {HOURS}" in printed


def test_plot_command_writes_a_png(grown: str, env: dict[str, str], tmp_path: Path):
    out = tmp_path / "growth.png"
    run = run_cli(env, "plot", "--dsn", grown, "-o", str(out), "--json")
    assert run.returncode == 0, run.stderr
    info = json.loads(run.stdout)
    assert info == {"path": str(out), "measurements": HOURS + 1, "last_hour": HOURS, "bytes": out.stat().st_size}
    assert png_size(out.read_bytes()) == (14 * 100, 15 * 100)
    assert 20_000 < out.stat().st_size < 600_000


def test_plot_of_a_database_never_advanced(fresh_db: str, env: dict[str, str], tmp_path: Path):
    initialise(fresh_db, load_profile("taskpilot"), 1, SCALE)
    out = tmp_path / "g.png"
    assert_user_error(run_cli(env, "plot", "--dsn", fresh_db, "-o", str(out)), "no measurements", "advance")
    assert not out.exists()


def test_plot_of_a_database_not_initialised(fresh_db: str, env: dict[str, str], tmp_path: Path):
    out = tmp_path / "g.png"
    assert_user_error(run_cli(env, "plot", "--dsn", fresh_db, "-o", str(out)), "not initialised", "init")
    assert not out.exists()


@pytest.mark.parametrize("name", ["missing-dir/g.png", "g.unknownformat"])
def test_plot_to_a_file_it_cannot_write(grown: str, env: dict[str, str], tmp_path: Path, name: str):
    out = tmp_path / name
    assert_user_error(run_cli(env, "plot", "--dsn", grown, "-o", str(out)), "cannot write", str(out))
    assert not out.exists()
