"""Fixtures for both speeds of tests: tests/unit/ (no server, under a minute) and tests/db/ (real PostgreSQL).

`env`: the environment for running `growth-sim`; `tiny`: the example model of docs/models.md, installed.

`cli_env` is each folder's own: an environment in which no server can be reached (tests/unit/conftest.py) or
the session's private cluster (tests/db/conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support import TINY, install_model, with_source

from growth_sim import models


@pytest.fixture
def env(cli_env: dict[str, str]) -> dict[str, str]:
    """The environment for running `growth-sim` as a subprocess, with the package under test first on the path."""
    return with_source(cli_env)


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The tiny model installed in this process; yields the path entries a `growth-sim` process needs for it."""
    paths = [install_model(tmp_path / "site", "tiny", "tiny_model"), str(TINY.parent)]
    for path in reversed(paths):
        monkeypatch.syspath_prepend(path)
    models.refresh()
    yield paths
    models.refresh()
