"""The grown databases that database tests share, as recipes: each is grown once per run into a template database
through growth-sim's own template cache (`growth_sim.fixtures.templates`, see tests/db/conftest.py), then read
in place or copied for a test that changes it."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any

import psycopg
from support import run_cli, with_source

from growth_sim.engine.advance import advance
from growth_sim.engine.install import initialise
from growth_sim.fixtures.fixture import FixtureSpec
from growth_sim.profile import load_profile

PROFILE = "taskpilot"


@dataclass(frozen=True)
class Grown:
    """TaskPilot grown to `target` at `scale` with `seed`: by the library, or by ``growth-sim advance --json``
    (`by_cli`, whose output the template's manifest keeps under ``"advance"``); then ANALYZEd if `analyze`, as
    autovacuum would have done on a live database (a run holds autovacuum off on the tables whose VACUUM it
    emulates)."""

    target: str
    scale: float
    seed: int
    analyze: bool = False
    by_cli: bool = False

    @property
    def name(self) -> str:
        """The template's name: the recipe and the fixture key of its inputs (which covers growth-sim's code)."""
        spec = FixtureSpec.of(PROFILE, self.target, self.scale, self.seed)
        return "grown_" + hashlib.sha256(f"{spec.key} {self!r}".encode()).hexdigest()[:32]

    def grow(self, dsn: str) -> dict[str, Any]:
        """Grow the empty database of `dsn`; returns the manifest."""
        manifest: dict[str, Any] = {"recipe": repr(self)}
        if self.by_cli:  # the environment is the session cluster's while it is up (tests/db/conftest.py)
            run = run_cli(with_source(dict(os.environ)), "advance", "--dsn", dsn, "--to", self.target,
                          "--scale", repr(self.scale), "--seed", str(self.seed), "--json")
            assert run.returncode == 0, run.stderr
            manifest["advance"] = json.loads(run.stdout)
        else:
            initialise(dsn, load_profile(PROFILE), self.seed, self.scale)
            advance(dsn, self.target)
        if self.analyze:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("ANALYZE")
        return manifest


# Shared by several modules.
INITIAL = Grown("initial", 0.002, 1, analyze=True)  # the initial dataset (week 0)
WEEK1 = Grown("week-1", 0.002, 1, analyze=True)  # the week-1 milestone (about 20 s to grow)
TWO_HOURS = Grown("+2h", 0.002, 4, by_cli=True)  # two simulated hours, by the command a user runs
THIRTY_HOURS = Grown("+30h", 0.002, 3)  # a measurement every simulated hour, 30 of them
INITIAL_HUNDREDTH = Grown("initial", 0.01, 3)  # the initial dataset at 1/100 (one organization)
