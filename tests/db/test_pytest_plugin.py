"""The pytest plugin as a user's suite meets it: the sample suite in tests/plugin_sample/ run by pytester.

The sample needs one fixture (TaskPilot at week 2, scale 0.001, seed 7): its template is built once on the
session's cluster (named by --growth-dsn), every test gets its own copies, and no copy outlives its test. A
second session, on the private cluster under $GROWTH_SIM_HOME (the same one), reuses the template. That loading
the plugin starts nothing, and the README's example, are checked in tests/unit/test_pytest_plugin.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest
from support import run_plugin_suite

from growth_sim.db.cluster import Cluster
from growth_sim.fixtures.fixture import FixtureSpec
from growth_sim.fixtures.templates import COPY_PREFIX, TEMPLATE_PREFIX

pytest_plugins = ["pytester"]

SAMPLE = Path(__file__).parents[1] / "plugin_sample"
SUMMARY = re.compile(r"growth-sim: (\d+) template\(s\) built in [\d.]+ s, (\d+) reused; (\d+) database copies "
                     r"\(slowest ([\d.]+) s\)")


def databases(cluster: Cluster, prefix: str) -> list[tuple[str, bool]]:
    with psycopg.connect(cluster.dsn("postgres")) as conn:
        return conn.execute("SELECT datname, datistemplate FROM pg_database WHERE datname LIKE %s ORDER BY 1",
                            (prefix + "%",)).fetchall()


def test_sample_suite_builds_the_template_once_and_copies_it_per_test(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, pg_cluster: Cluster) -> None:
    for path in sorted(SAMPLE.glob("*.py")):
        pytester.makepyfile(**{f"test_{path.stem}": path.read_text()})
    dsn = pg_cluster.dsn("postgres")

    first = run_plugin_suite(pytester, monkeypatch, "--growth-dsn", dsn)
    first.assert_outcomes(passed=3)
    built, reused, copies, _ = SUMMARY.search(first.stdout.str()).groups()
    assert (built, reused, copies) == ("1", "0", "4")
    key = FixtureSpec.of("taskpilot", "week-2", 0.001, 7).key
    assert databases(pg_cluster, TEMPLATE_PREFIX + key[:32]) == [(TEMPLATE_PREFIX + key[:32], True)]
    assert databases(pg_cluster, COPY_PREFIX) == []
    assert databases(pg_cluster, "growth_sim_scratch_") == []

    monkeypatch.delenv("GROWTH_SIM_TEST_DSN", raising=False)
    monkeypatch.setenv("GROWTH_SIM_HOME", str(pg_cluster.home))
    second = run_plugin_suite(pytester, monkeypatch)  # no server named: the private cluster under $GROWTH_SIM_HOME
    second.assert_outcomes(passed=3)
    built, reused, copies, slowest = SUMMARY.search(second.stdout.str()).groups()
    assert (built, reused, copies) == ("0", "1", "4")
    assert float(slowest) < 2.0  # a copy takes a fraction of a second (typically 0.1-0.5 s)
    assert databases(pg_cluster, COPY_PREFIX) == []


def test_bad_parameters_fail_the_test_in_one_line(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                                  pg_cluster: Cluster) -> None:
    pytester.makepyfile(test_bad="def test_bad(growth_db):\n    growth_db(to='week-99')\n")
    monkeypatch.setenv("GROWTH_SIM_TEST_DSN", pg_cluster.dsn("postgres"))
    result = run_plugin_suite(pytester, monkeypatch)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*growth_db(profile='taskpilot', to='week-99'*past the profile's last milestone*"])
    assert "Traceback" not in result.stdout.str()
