"""Wrong values for every command and option: one line on stderr, exit code 2, no traceback, nothing changed.

Each case runs the console entry point (in this process; a few through the installed script) against a
database grown to +2h (or a fresh one) and compares a snapshot of the database (every table's row count, the
ledger's run row, units and measurements, the schemas) before and after. Cases already covered in
test_advance_cli.py (moving backwards, --scale -1/0/nan/inf, another seed, an unknown target word, a foreign
table) are not repeated here; those that need no database are in tests/unit/test_bad_input.py.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import psycopg
import pytest
from psycopg import sql
from recipes import TWO_HOURS, Grown
from support import assert_user_error, run_cli, snapshot
from support import main_in_process as cli

from growth_sim.db.cluster import Cluster
from growth_sim.engine.diskspace import OVERHEAD, SPARE, check_space, planned_space
from growth_sim.errors import GrowthSimError
from growth_sim.fixtures.templates import FixtureDatabase
from growth_sim.profile import load_profile
from growth_sim.timeline.schedule import Schedule

SCALE, SEED = TWO_HOURS.scale, TWO_HOURS.seed


@pytest.fixture
def grown(shared_db: Callable[[Grown], FixtureDatabase]) -> str:
    """A database initialised with taskpilot, seed 4, scale 0.002 and grown to +2h (shared: read only)."""
    return shared_db(TWO_HOURS).dsn


@pytest.fixture
def grown_copy(copy_db: Callable[[Grown], FixtureDatabase]) -> str:
    """A copy of it, for a test that changes the database."""
    return copy_db(TWO_HOURS).dsn


# (arguments after the command's --dsn, words the error line must hold)
ON_GROWN: dict[str, tuple[list[str], tuple[str, ...]]] = {
    "empty target": (["advance", "--to", ""], ("target", "week-N")),
    "negative week": (["advance", "--to", "week--1"], ("week--1",)),
    "fractional week": (["advance", "--to", "week-1.5"], ("week-1.5",)),
    "relative years": (["advance", "--to", "+3y"], ("+3y",)),
    "negative relative": (["advance", "--to", "+-3d"], ("+-3d",)),
    "huge relative": (["advance", "--to", "+99999999999999999999999d"], ("last milestone",)),
    "huge week": (["advance", "--to", "week-99999999999999999999"], ("last milestone",)),
    "impossible date": (["advance", "--to", "2026-13-01"], ("2026-13-01",)),
    "half hour": (["advance", "--to", "2026-02-01T00:30:00Z"], ("whole hour",)),
    "before week 0": (["advance", "--to", "2025-01-01T00:00:00Z"], ("2025-01-01",)),
    "scale not a number": (["advance", "--to", "+1h", "--scale", "abc"], ("--scale", "abc")),
    "scale overflowing": (["advance", "--to", "+1h", "--scale", "1e999"], ("--scale",)),
    "scale above 1000": (["advance", "--to", "+1h", "--scale", "1001"], ("--scale",)),
    "other scale": (["advance", "--to", "+1h", "--scale", "0.003"], ("scale: has 0.002",)),
    "seed negative": (["advance", "--to", "+1h", "--seed", "-1"], ("--seed",)),
    "seed past 2**63": (["advance", "--to", "+1h", "--seed", "9223372036854775808"], ("--seed",)),
    "seed fractional": (["advance", "--to", "+1h", "--seed", "1.5"], ("--seed", "1.5")),
    "seed a word": (["advance", "--to", "+1h", "--seed", "abc"], ("--seed",)),
    "unknown profile": (["advance", "--to", "+1h", "--profile", "nope"], ("nope", "known profiles")),
    "profile a directory": (["advance", "--to", "+1h", "--profile", "/etc"], ("/etc",)),
    "profile not TOML": (["advance", "--to", "+1h", "--profile", "/etc/passwd"], ("/etc/passwd", "TOML")),
    "other profile": (["advance", "--to", "+1h", "--profile", "small"], ("profile: has taskpilot",)),
    "init other profile": (["init", "--profile", "small", "--seed", str(SEED), "--scale", "0.002"], ("profile",)),
    "init other scale": (["init", "--seed", str(SEED), "--scale", "0.02"], ("scale",)),
    "missing --to": (["advance"], ("--to",)),
    "misspelt option": (["advance", "--to", "+1h", "--jsn"], ("--jsn", "--json")),
    "plot to a directory": (["plot", "-o", "/"], ("cannot write",)),
}

@pytest.mark.parametrize("case", sorted(ON_GROWN))
def test_bad_input_leaves_a_grown_database_unchanged(grown: str, case: str):
    args, words = ON_GROWN[case]
    before = snapshot(grown)
    assert_user_error(cli(args[0], "--dsn", grown, *args[1:]), *words)
    assert snapshot(grown) == before


@pytest.mark.parametrize("case", ["seed fractional", "other profile", "huge week"])
def test_the_console_script_answers_the_same(grown: str, env: dict[str, str], case: str):
    args, words = ON_GROWN[case]
    before = snapshot(grown)
    in_process = assert_user_error(cli(args[0], "--dsn", grown, *args[1:]), *words)
    script = assert_user_error(run_cli(env, args[0], "--dsn", grown, *args[1:]), *words)
    assert script.split("; see")[0] == in_process.split("; see")[0]  # the --help hint names how it was started
    assert snapshot(grown) == before


@pytest.mark.parametrize("args", [["advance", "--to", "week-1.5", "--scale", "0.002"],
                                  ["advance", "--to", "+1h", "--profile", "nope"],
                                  ["advance", "--to", "+1h", "--seed", "-5"],
                                  ["plot"]])
def test_bad_input_on_a_new_database_creates_nothing(fresh_db: str, args: list[str]):
    before = snapshot(fresh_db)
    run = cli(args[0], "--dsn", fresh_db, *args[1:])
    assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert snapshot(fresh_db) == before


# -- disk space ---------------------------------------------------------------------------------------------
def test_disk_space_is_compared_with_the_planned_growth(grown: str):
    space = planned_space(grown, "week-4")
    assert space.data_dir is not None and space.free is not None and space.free > 0
    with psycopg.connect(grown) as conn:
        data_dir = conn.execute("SHOW data_directory").fetchone()[0]
    assert space.data_dir == Path(data_dir)
    with psycopg.connect(grown) as conn:
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    planned = Schedule(load_profile("taskpilot"), SCALE).size(np.array([4 * 168]))[0]
    assert space.growth == pytest.approx(planned - size, abs=256 * 1024)
    assert check_space(grown, "week-4", free=space.needed + SPARE + 1) is None
    assert "tight" in check_space(grown, "week-4", free=space.needed + 1)
    before = snapshot(grown)
    with pytest.raises(GrowthSimError, match=r"not enough disk space: growing to week-4 adds about .* free"):
        check_space(grown, "week-4", free=int(space.growth * OVERHEAD) - 1)
    assert check_space(grown, "+0h", free=0) is None  # nothing to write, nothing to check
    assert snapshot(grown) == before


def test_disk_space_of_a_server_whose_directory_is_hidden(grown_copy: str, pg_cluster: Cluster):
    grown = grown_copy
    role = f"viewer_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(grown, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA growth_sim TO {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA growth_sim TO {}").format(sql.Identifier(role)))
    try:
        dsn = f"{grown}&user={role}" if "?" in grown else f"{grown}?user={role}"
        dsn = re.sub(r"//[^@/]*@", "//", dsn)
        space = planned_space(dsn, "week-4")
        assert space.data_dir is None and space.free is None and space.growth > 0
        assert check_space(dsn, "week-4") is None
    finally:
        with psycopg.connect(pg_cluster.dsn("postgres"), autocommit=True) as admin:
            admin.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        with psycopg.connect(grown, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
