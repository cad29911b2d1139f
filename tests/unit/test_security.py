"""Secrets stay secret and SQL names are quoted, checked without a server: failing DSNs print no password, and
no statement in the package is built by string formatting.

With a server (tests/db/test_security.py): working DSNs print no password, and growth-sim writes only into
databases it initialised. The private cluster's own protections (0700 socket and data directories, TCP on
127.0.0.1 only with a generated password) are tested in tests/db/test_cluster.py.
"""

from __future__ import annotations

import ast
from pathlib import Path
from urllib.parse import quote

import pytest
from support import SECRET, assert_no_secret, assert_user_error
from support import main_in_process as cli

import growth_sim

SOURCE = Path(growth_sim.__file__).resolve().parent

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
