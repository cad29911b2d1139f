"""Simulated applications. A model is a package under `growth_sim.models` exposing `TABLES` and `Model`."""

from __future__ import annotations

import importlib
from types import ModuleType

_MODELS = ("taskpilot",)


def model_module(name: str) -> ModuleType:
    """The package of model `name`; KeyError with the known names if there is none."""
    if name not in _MODELS:
        raise KeyError(f"unknown model {name!r}; known models: {', '.join(_MODELS)}")
    return importlib.import_module(f"{__name__}.{name}")


def model_tables(name: str) -> frozenset[str]:
    """The tables model `name` writes."""
    return model_module(name).TABLES
