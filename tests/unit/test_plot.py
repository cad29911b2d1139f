"""The growth notebook as stored: no outputs, and it reads the ledger through the library.

Running it headless against a grown database, and `growth-sim plot`, are in tests/db/test_plot.py.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

import growth_sim

NOTEBOOK = Path(growth_sim.__file__).resolve().parents[1] / "notebooks" / "growth.ipynb"


def test_notebook_is_stored_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)
    assert not any("SELECT" in c.source.upper() for c in code), "cells read the ledger through the library"
