"""Wrong values that need no database: one line on stderr, exit code 2, no traceback.

Unknown commands, bad plans, malformed and unreachable DSNs, an unusable ``GROWTH_SIM_HOME``, ``PG_BINDIR``
pointing nowhere. The cases on a grown database are in tests/db/test_bad_input.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support import assert_user_error, run_cli
from support import main_in_process as cli

NO_DATABASE: dict[str, tuple[list[str], tuple[str, ...]]] = {
    "unknown command": (["bogus"], ("bogus",)),
    "plan unknown period": (["plan", "--to", "week-1", "--by", "month"], ("--by", "month")),
    "plan past the end": (["plan", "--to", "week-13"], ("last milestone",)),
    "plan backwards": (["plan", "--from", "week-2", "--to", "week-1"], ("--to 'week-1'", "before --from")),
    "plan scale zero": (["plan", "--to", "week-1", "--scale", "0"], ("--scale",)),
    "plan scale huge": (["plan", "--to", "week-1", "--scale", "1e308"], ("--scale", "too large")),
    "plan profile path missing": (["plan", "--to", "week-1", "--profile", "/nonexistent/x.toml"], ("not found",)),
    "dsn not a DSN": (["advance", "--to", "+1h", "--dsn", "not a dsn"], ("invalid connection string",)),
    "dsn bad URL": (["advance", "--to", "+1h", "--dsn", "postgresql://u@[::1"], ("invalid connection string",)),
    "dsn refused": (["advance", "--to", "+1h", "--dsn", "postgresql://u@127.0.0.1:1/x"], ("connection refused",)),
    "dsn socket missing": (["plot", "--dsn", "host=/nonexistent dbname=x"], ("cannot connect",)),
    "dsn unknown parameter": (["init", "--dsn", "dbname=x colour=blue"], ("colour",)),
    "status of a bad dsn": (["db", "status", "--dsn", "postgresql://u@127.0.0.1:1/x"], ("connection refused",)),
}


@pytest.mark.parametrize("case", sorted(NO_DATABASE))
def test_bad_input_without_a_usable_database(case: str):
    args, words = NO_DATABASE[case]
    run = cli(*args)
    assert_user_error(run, *words)
    assert run.stdout == ""


@pytest.mark.parametrize("home", ["/etc/hostname/growth", "/proc/growth-sim"])
def test_an_unusable_home_is_one_line(home: str):
    assert_user_error(cli("advance", "--to", "+1h", "-q", GROWTH_SIM_HOME=home), "GROWTH_SIM_HOME", home)
    assert not Path(home).exists()


def test_pg_bindir_pointing_nowhere(env: dict[str, str], tmp_path: Path):
    home = tmp_path / "home"
    run = run_cli({**env, "GROWTH_SIM_HOME": str(home), "PG_BINDIR": str(tmp_path / "nowhere")},
                         "advance", "--to", "+1h", "-q")
    assert_user_error(run, "PG_BINDIR", "initdb")
    assert not (home / "data").exists() and not (home / "cluster.json").exists()
