"""Models as plug-ins: found by entry point, held to the API's contract, and a second model grown without
touching growth-sim.

`tests/tiny_model` is the example of docs/models.md, byte for byte. It is installed here the way any package
installs a model, by a distribution whose entry point (group ``growth_sim.models``) names it, and grown one
simulated day by the ``growth-sim`` command.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib.metadata import entry_points
from pathlib import Path

import numpy as np
import pytest
from support import assert_user_error, query, run_cli, with_source

from growth_sim import models
from growth_sim.errors import ModelError, ProfileError
from growth_sim.models.api import Check, TableBloat
from growth_sim.observe.findings import GENERIC
from growth_sim.profile import load_profile
from growth_sim.timeline.schedule import Schedule

HERE = Path(__file__).resolve().parent
TINY = HERE / "tiny_model"
DOCS = HERE.parent / "docs" / "models.md"
PROFILES = {"taskpilot": "small", "tiny": str(TINY / "tiny.toml")}


def _install(where: Path, name: str, target: str) -> str:
    """A distribution in `where` whose entry point registers model `name` as `target`; returns the path entry."""
    dist = where / f"{name}_model-0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}-model\nVersion: 0\n")
    (dist / "entry_points.txt").write_text(f"[growth_sim.models]\n{name} = {target}\n")
    return str(where)


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The tiny model installed in this process; yields the path entries a `growth-sim` process needs for it."""
    paths = [_install(tmp_path / "site", "tiny", "tiny_model"), str(HERE)]
    for path in reversed(paths):
        monkeypatch.syspath_prepend(path)
    models.refresh()
    yield paths
    models.refresh()


def _env(cli_env: dict[str, str], paths: list[str]) -> dict[str, str]:
    env = with_source(cli_env)
    return {**env, "PYTHONPATH": os.pathsep.join([env["PYTHONPATH"], *paths])}


# -- the registry ------------------------------------------------------------------------------------------
def test_taskpilot_is_registered_by_entry_point():
    found = {ep.name: ep.value for ep in entry_points(group=models.ENTRY_POINT_GROUP)}
    assert found["taskpilot"] == "growth_sim.models.taskpilot"
    assert "taskpilot" in models.names()
    assert models.model_module("taskpilot").__name__ == "growth_sim.models.taskpilot"


def test_an_installed_model_is_found_and_an_unknown_one_named(tiny: list[str], tmp_path: Path):
    assert {"taskpilot", "tiny"} <= set(models.names())
    assert models.model_tables("tiny") == frozenset({"authors", "notes"})
    assert "browse" in models.scenarios() and "regular" in models.scenarios()
    with pytest.raises(ModelError, match=r"^unknown model 'shop'; known models: .*taskpilot, tiny"):
        models.model_module("shop")
    profile = tmp_path / "shop.toml"
    profile.write_text((TINY / "tiny.toml").read_text().replace('model = "tiny"', 'model = "shop"'))
    with pytest.raises(ProfileError, match=r"shop.toml: profile.model: unknown model 'shop'; known models: "):
        load_profile(str(profile))


def test_a_model_that_cannot_be_imported_is_a_one_line_error(tiny: list[str], tmp_path: Path, cli_env):
    broken = _install(tmp_path / "broken", "shop", "no_such_package.shop")
    profile = tmp_path / "shop.toml"
    profile.write_text((TINY / "tiny.toml").read_text().replace('model = "tiny"', 'model = "shop"'))
    run = run_cli(_env(cli_env, [*tiny, broken]), "plan", "--profile", str(profile), "--to", "week-1")
    assert_user_error(run, "profile.model: model 'shop' (no_such_package.shop) cannot be loaded",
                      "No module named 'no_such_package'")


# -- the contract ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["taskpilot", "tiny"])
def test_models_keep_the_contract(tiny: list[str], name: str):
    """What the engine relies on and the types cannot say: every installed model's members agree."""
    package = models.model_module(name)
    profile = load_profile(PROFILES[name])
    model = package.build(Schedule(profile, 0.01), 1)
    assert model.tables == package.TABLES and set(model.insert_order) <= model.tables
    assert model.size_knob in model.insert_order and set(model.changed_by) <= model.tables
    assert "CREATE TABLE" in package.build_schema_sql()

    mix = package.read_mix()
    assert mix.scenarios == package.SCENARIOS and set(mix.background) <= set(mix.scenarios)
    names = [q.name for q in mix.catalogue]
    assert len(names) == len(set(names)) and all(q.weight > 0 for q in mix.catalogue)
    sampler = mix.sampler(Schedule(profile, 0.01), 1, 24)
    assert all(isinstance(q.params(sampler, np.random.default_rng(0)), dict) for q in mix.catalogue)

    own = package.expected_findings()
    assert all(isinstance(c, Check | TableBloat) for c in own)
    ids = [c.id if isinstance(c, Check) else f"{c.table}_bloat" for c in own] + [c.id for c in GENERIC]
    assert len(ids) == len(set(ids))
    assert {c.table for c in own if isinstance(c, TableBloat)} <= package.TABLES


# -- docs/models.md's example, grown one day ---------------------------------------------------------------
def test_the_docs_show_the_tested_model():
    """Each file of tests/tiny_model appears whole in docs/models.md, in a block that names it."""
    blocks = dict(re.findall(r"```\w+\n# (\S+)\n(.*?)```", DOCS.read_text(), re.S))
    assert blocks == {"tiny_model/__init__.py": (TINY / "__init__.py").read_text(),
                      "tiny_model/tiny.toml": (TINY / "tiny.toml").read_text()}


def test_a_second_model_grows_one_day(tiny: list[str], cli_env, fresh_db: str):
    """Registered by its entry point alone, the tiny model is initialised, grown a simulated day, read and
    checked by the unchanged commands."""
    env = _env(cli_env, tiny)
    profile = str(TINY / "tiny.toml")
    for args in (("init", "--profile", profile), ("advance", "--to", "+1d", "-q")):
        run = run_cli(env, *args, "--dsn", fresh_db)
        assert run.returncode == 0, run.stderr

    start = datetime(2026, 1, 5, tzinfo=UTC)
    assert query(fresh_db, "SELECT model, clock_hour FROM growth_sim.run") == [("tiny", 24)]
    assert query(fresh_db, "SELECT count(*) FROM authors") == [(10,)]
    # 1,000 notes at week 0, + 700 a week on a flat curve: 100 in a day; 168 edits a week: 24, one an hour
    assert query(fresh_db, "SELECT count(*), max(created_at) < %s FROM notes", (start + timedelta(days=1),)) \
        == [(1_100, True)]
    edits = query(fresh_db, "SELECT id, edited_at FROM notes WHERE edited_at IS NOT NULL ORDER BY id")
    assert edits == [(k, start + timedelta(hours=k + 0.5)) for k in range(24)]

    reads = run_cli(env, "reads", "--dsn", fresh_db, "--queries", "20", "--clients", "1", "--json")
    assert reads.returncode == 0, reads.stderr
    assert json.loads(reads.stdout)["classes"]["latest_notes"]["count"] == 20
    found = run_cli(env, "findings", "--dsn", fresh_db, "--json")
    assert [f["id"] for f in json.loads(found.stdout)["findings"]] == [c.id for c in GENERIC]

