"""Models as plug-ins: found by entry point, held to the API's contract, and a second model grown without
touching growth-sim.

`tests/tiny_model` is the example of docs/models.md, byte for byte. It is installed here the way any package
installs a model, by a distribution whose entry point (group ``growth_sim.models``) names it (the `tiny` fixture,
tests/conftest.py); tests/db/test_models.py grows it one simulated day by the ``growth-sim`` command.
"""

from __future__ import annotations

import re
from importlib.metadata import entry_points
from pathlib import Path

import numpy as np
import pytest
from support import TINY, assert_user_error, install_model, run_cli, with_model_paths

from growth_sim import models
from growth_sim.errors import ModelError, ProfileError
from growth_sim.models.api import Check, TableBloat
from growth_sim.observe.findings import GENERIC
from growth_sim.profile import load_profile
from growth_sim.timeline.schedule import Schedule

DOCS = TINY.parents[1] / "docs" / "models.md"
PROFILES = {"taskpilot": "small", "tiny": str(TINY / "tiny.toml")}


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
    broken = install_model(tmp_path / "broken", "shop", "no_such_package.shop")
    profile = tmp_path / "shop.toml"
    profile.write_text((TINY / "tiny.toml").read_text().replace('model = "tiny"', 'model = "shop"'))
    run = run_cli(with_model_paths(cli_env, [*tiny, broken]), "plan", "--profile", str(profile), "--to", "week-1")
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
