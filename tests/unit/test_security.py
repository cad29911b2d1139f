"""Secrets stay secret, SQL names are quoted, and growth-sim writes only into databases it initialised.

The private cluster's own protections (0700 socket and data directories, TCP on 127.0.0.1 only with a generated
password) are tested in test_cluster.py.
"""

from __future__ import annotations

import ast
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from support import assert_user_error
from test_bad_input import cli, snapshot

import growth_sim

SECRET = "Zq9-s3cr3t/p@ss%word"
SOURCE = Path(growth_sim.__file__).resolve().parent


def with_password(dsn: str) -> str:
    """The socket URL with a password in its user info (the socket trusts, so it is ignored but carried)."""
    return dsn.replace("postgresql://postgres@", f"postgresql://postgres:{quote(SECRET, safe='')}@", 1)


def assert_no_secret(run) -> None:
    for text in (run.stdout, run.stderr):
        assert SECRET not in text and quote(SECRET, safe="") not in text, text
        assert "s3cr3t" not in text, text


UNREACHABLE = [f"postgresql://gs:{quote(SECRET, safe='')}@127.0.0.1:1/db",
               f"host=127.0.0.1 port=1 user=gs password='{SECRET}' dbname=db",
               f"postgresql://gs:{quote(SECRET, safe='')}@[::1"]


@pytest.mark.parametrize("dsn", UNREACHABLE)
@pytest.mark.parametrize("args", [["advance", "--to", "+1h", "--json"], ["init", "--json"], ["plot", "--json"],
                                  ["db", "status", "--json"]])
def test_a_password_in_a_failing_dsn_is_never_printed(dsn: str, args: list[str]):
    run = cli(*args, "--dsn", dsn)
    assert_user_error(run)
    assert_no_secret(run)


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


def _formatted_sql(node: ast.AST) -> bool:
    """An f-string, ``%``-formatting or ``str.format`` building a statement's text."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return isinstance(node.left, ast.Constant | ast.JoinedStr)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _formatted_sql(node.left) or _formatted_sql(node.right)
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format"
            and isinstance(node.func.value, ast.Constant))


def test_statements_are_never_built_by_string_formatting():
    """Names reach SQL through psycopg.sql.Identifier; values through parameters. Never by formatting text."""
    offenders = []
    for path in sorted(SOURCE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and node.args and isinstance(node.func, ast.Attribute | ast.Name)):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
            if name in ("execute", "executemany", "copy", "SQL") and _formatted_sql(node.args[0]):
                offenders.append(f"{path.relative_to(SOURCE)}:{node.lineno}")
    assert offenders == []


def test_the_formatting_detector_sees_what_it_must():
    assert _formatted_sql(ast.parse('f"DROP TABLE {name}"', mode="eval").body)
    assert _formatted_sql(ast.parse('"DROP TABLE %s" % name', mode="eval").body)
    assert _formatted_sql(ast.parse('"DROP TABLE {}".format(name)', mode="eval").body)
    assert _formatted_sql(ast.parse('"SELECT 1 " + f"FROM {t}"', mode="eval").body)
    assert not _formatted_sql(ast.parse('"SELECT %s::regclass"', mode="eval").body)


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

