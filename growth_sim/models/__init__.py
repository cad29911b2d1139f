"""Simulated applications, found by entry point: each is a `growth_sim.models.api.ModelPackage`.

A package registers a model under the entry point group ``growth_sim.models``; the name of the entry point is
the name profiles give (``model = "taskpilot"``). growth-sim's own TaskPilot registers the same way.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

from growth_sim.errors import ModelError

if TYPE_CHECKING:  # the API imports numpy, and the CLI imports this module at start-up
    from growth_sim.models.api import ModelPackage
    from growth_sim.profile import Profile

ENTRY_POINT_GROUP = "growth_sim.models"


@functools.cache
def _registered() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)}


def names() -> list[str]:
    """The names of the installed models, sorted."""
    return list(_registered())


def refresh() -> None:
    """Look for models again on the next call (after a model was installed into the running process)."""
    _registered.cache_clear()
    _loaded.cache_clear()


@functools.cache
def _loaded(name: str) -> ModelPackage:
    entry = _registered()[name]
    try:
        return entry.load()
    except Exception as exc:  # a broken plug-in may fail in any way while importing
        raise ModelError(f"model {name!r} ({entry.value}) cannot be loaded: {exc}") from exc


def model_module(name: str) -> ModelPackage:
    """The package of model `name`; `ModelError` naming the installed models if there is none."""
    if name not in _registered():
        raise ModelError(f"unknown model {name!r}; known models: {', '.join(names()) or 'none'}")
    return _loaded(name)


def bound_model(name: str, params: Mapping[str, Any], base: Path) -> ModelPackage:
    """Model `name` for a profile's ``[model]`` table `params` (`base`: the profile's folder).

    A model whose package has ``bind`` (see `growth_sim.models.api.ModelPackage`) is configured by it, e.g. with
    the application schema the profile names; any other model is its package.
    """
    package = model_module(name)
    bind = getattr(package, "bind", None)
    return bind(params, base) if bind is not None else package


def model_for(profile: Profile) -> ModelPackage:
    """The model a validated profile names, bound to its ``[model]`` table."""
    return bound_model(profile.model, profile.model_params, profile.path.parent)


def model_tables(name: str) -> frozenset[str]:
    """The tables model `name` writes."""
    return model_module(name).TABLES


def scenarios() -> list[str]:
    """The read scenarios of every installed model, each once, in the models' name order."""
    return list(dict.fromkeys(s for name in names() for s in model_module(name).SCENARIOS))
