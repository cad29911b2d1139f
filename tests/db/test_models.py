"""A second model grown without touching growth-sim: the tiny model of docs/models.md, registered by its entry
point alone (the `tiny` fixture, tests/conftest.py), initialised, grown one simulated day, read and checked by the
unchanged commands. Its registry and contract, checked without a server, are in tests/unit/test_models.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from support import TINY, query, run_cli, with_model_paths

from growth_sim.observe.findings import GENERIC


def test_a_second_model_grows_one_day(tiny: list[str], cli_env, fresh_db: str):
    """Registered by its entry point alone, the tiny model is initialised, grown a simulated day, read and
    checked by the unchanged commands."""
    env = with_model_paths(cli_env, tiny)
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

