"""Secrets stay secret with a working server, and growth-sim writes only into databases it initialised.

The checks that need no server (failing DSNs, string-formatted SQL) are in tests/unit/test_security.py.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from support import SECRET, assert_no_secret, assert_user_error, snapshot
from support import main_in_process as cli


def with_password(dsn: str) -> str:
    """The socket URL with a password in its user info (the socket trusts, so it is ignored but carried)."""
    return dsn.replace("postgresql://postgres@", f"postgresql://postgres:{quote(SECRET, safe='')}@", 1)


def test_a_password_in_a_working_dsn_is_never_printed(fresh_db: str, tmp_path: Path):
    dsn = with_password(fresh_db)
    runs = [cli("init", "--dsn", dsn, "--scale", "0.002", "--seed", "2", "--json"),
            cli("advance", "--dsn", dsn, "--to", "initial", "--json"),
            cli("plot", "--dsn", dsn, "-o", str(tmp_path / "g.png"), "--json"),
            cli("db", "status", "--dsn", dsn, "--json"),
            cli("db", "status", "--dsn", dsn)]
    for run in runs:
        assert run.returncode == 0, run.stderr
        assert_no_secret(run)
    assert "postgres:***@" in runs[0].stdout and "postgres:***@" in runs[3].stdout
    refused = cli("init", "--dsn", dsn, "--scale", "0.002", "--seed", "3")  # another seed: refused, names the DSN
    assert "postgres:***@" in assert_user_error(refused, "seed")
    assert_no_secret(refused)


FOREIGN = {
    "a sequence": "CREATE SEQUENCE invoice_numbers",
    "a view in its own schema": "CREATE SCHEMA billing; CREATE VIEW billing.totals AS SELECT 1 AS total",
    "a table named like the ledger": "CREATE SCHEMA growth_sim; CREATE TABLE growth_sim.run (id int)",
    "an empty ledger": "CREATE SCHEMA growth_sim; CREATE TABLE growth_sim.run (profile text, profile_hash text,"
                       " model text, seed bigint, scale float8, version text, clock_hour int, state jsonb)",
}


@pytest.mark.parametrize("case", sorted(FOREIGN))
def test_a_database_it_did_not_initialise_is_left_alone(fresh_db: str, case: str):
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute(FOREIGN[case])
    before = snapshot(fresh_db)
    for args in (["advance", "--to", "initial", "--scale", "0.002", "-q"], ["init", "--scale", "0.002"],
                 ["plot", "-o", "/dev/null"]):
        run = cli(args[0], "--dsn", fresh_db, *args[1:])
        assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1, (args, run.stderr)
    assert snapshot(fresh_db) == before

