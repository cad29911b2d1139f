"""The pytest plugin without a server: loading it starts nothing, and the README's example is the sample test.

The sample suite in tests/plugin_sample/ run against a server is in tests/db/test_pytest_plugin.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support import run_plugin_suite

pytest_plugins = ["pytester"]

SAMPLE = Path(__file__).parents[1] / "plugin_sample"


def test_loading_the_plugin_starts_nothing(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("GROWTH_SIM_HOME", str(home))
    monkeypatch.delenv("GROWTH_SIM_TEST_DSN", raising=False)
    pytester.makepyfile(test_plain="def test_plain():\n    assert True\n")
    result = run_plugin_suite(pytester, monkeypatch, "--help")
    assert "--growth-dsn=DSN" in result.stdout.str()
    run_plugin_suite(pytester, monkeypatch).assert_outcomes(passed=1)
    assert not home.exists()


def test_the_readme_example_is_the_sample_test() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    blocks = [b.split("```")[0] for b in readme.split("```python\n")[1:]]
    example = next(b for b in blocks if "def test_board_query_stops_sorting_with_the_composite_index" in b)
    assert example in (SAMPLE / "board_index.py").read_text()
