"""Secrets stay secret and SQL names are quoted, checked without a server: failing DSNs print no password, and
no statement in the package is built by string formatting.

With a server (tests/db/test_security.py): working DSNs print no password, and growth-sim writes only into
databases it initialised. The private cluster's own protections (0700 socket and data directories, TCP on
127.0.0.1 only with a generated password) are tested in tests/db/test_cluster.py.
"""

from __future__ import annotations

import ast
import re
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


STATEMENT_CALLS = ("execute", "executemany", "copy", "SQL")
COMPOSABLES = ("SQL", "Identifier", "Literal", "Placeholder", "Composed")
SQL_TEXT = re.compile(r"\s*(SELECT|INSERT|UPDATE|DELETE|WITH|CREATE|ALTER|DROP|COPY|EXPLAIN|SET|VACUUM|ANALYZE"
                      r"|TRUNCATE|GRANT|REVOKE|LOCK)\b")


class FormattedSQL:
    """Where a module builds SQL text by formatting: the first argument of ``execute``, ``executemany``, ``copy``
    and ``sql.SQL`` built by an f-string with values, ``%``, ``.format`` (on a literal or a named template) or
    ``+`` with a part that is not fixed text, directly or through a name assigned in its function or module; and,
    anywhere, ``.format`` or ``%`` on a template whose text is a statement. Fixed text is string literals, joined or
    chosen between (``"SET" if on else "RESET"``); psycopg's ``sql`` objects compose safely."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.tree = ast.parse(source)
        self.assigned: dict[ast.AST, dict[str, list[ast.expr]]] = {}
        self.scope_of: dict[ast.AST, ast.AST] = {}
        self._collect(self.tree, self.tree)

    def _collect(self, node: ast.AST, scope: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            self.scope_of[child] = scope
            targets = child.targets if isinstance(child, ast.Assign) else \
                [child.target] if isinstance(child, ast.AnnAssign) and child.value else []
            for target in targets:
                if isinstance(target, ast.Name):
                    self.assigned.setdefault(scope, {}).setdefault(target.id, []).append(child.value)
            inner = child if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) else scope
            self._collect(child, inner)

    def values(self, name: ast.Name) -> list[ast.expr]:
        """What `name` is assigned in its function, else at module level (nothing for a parameter)."""
        local = self.assigned.get(self.scope_of[name], {}).get(name.id)
        return local or self.assigned.get(self.tree, {}).get(name.id, [])

    def fixed(self, node: ast.expr, seen: frozenset[str] = frozenset()) -> bool:
        if isinstance(node, ast.Constant):
            return isinstance(node.value, str)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self.fixed(node.left, seen) and self.fixed(node.right, seen)
        if isinstance(node, ast.IfExp):
            return self.fixed(node.body, seen) and self.fixed(node.orelse, seen)
        if isinstance(node, ast.Name) and node.id not in seen:
            values = self.values(node)
            return bool(values) and all(self.fixed(v, seen | {node.id}) for v in values)
        return False

    def composable(self, node: ast.expr, seen: frozenset[str] = frozenset()) -> bool:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            return node.func.attr in COMPOSABLES or (node.func.attr in ("format", "join")
                                                     and self.composable(node.func.value, seen))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self.composable(node.left, seen) and self.composable(node.right, seen)
        if isinstance(node, ast.Name) and node.id not in seen:
            values = self.values(node)
            return bool(values) and all(self.composable(v, seen | {node.id}) for v in values)
        return False

    def text(self, node: ast.expr) -> str | None:
        """The text of a string literal, or of the one literal a name is assigned."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        values = self.values(node) if isinstance(node, ast.Name) else []
        return self.text(values[0]) if len(values) == 1 else None

    def formatted(self, node: ast.expr, seen: frozenset[str] = frozenset()) -> bool:
        if isinstance(node, ast.JoinedStr):
            return any(isinstance(v, ast.FormattedValue) for v in node.values)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
            return isinstance(node.left, ast.JoinedStr) or self.text(node.left) is not None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return not (self.fixed(node) or self.composable(node))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
            return not self.composable(node.func.value)
        if isinstance(node, ast.Name) and node.id not in seen:
            return any(self.formatted(v, seen | {node.id}) for v in self.values(node))
        return False

    def offenders(self) -> list[tuple[int, str]]:
        """(line, source text) of each expression that builds SQL text by formatting."""
        found: dict[ast.AST, None] = {}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Call) and node.args and isinstance(node.func, ast.Attribute | ast.Name):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
                if name in STATEMENT_CALLS and self.formatted(node.args[0]):
                    found[node.args[0]] = None
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
                template = node.func.value
            elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
                template = node.left
            else:
                continue
            if SQL_TEXT.match(self.text(template) or ""):
                found[node] = None
        return sorted((node.lineno, ast.get_source_segment(self.source, node)) for node in found)


# Reviewed: fixed SQL text joined by formatting, no value or outside name in it. An entry no longer found fails the
# test too, so that the list (and the README's count of them) stays true.
REVIEWED = {
    "COUNTER_INCREMENT.format(column=column)": "models/taskpilot/operations.py: the column is comment_count or "
                                               "attachment_count, named in the model's own code",
    '"EXPLAIN (VERBOSE, FORMAT JSON) " + query': "observe/statements.py: EXPLAIN before a whole statement of the "
                                                "read mix's catalogue",
}


def test_statements_are_never_built_by_string_formatting():
    """Names reach SQL through psycopg.sql.Identifier; values through parameters. Never by formatting text."""
    offenders: dict[str, list[str]] = {}
    for path in sorted(SOURCE.rglob("*.py")):
        for line, text in FormattedSQL(path.read_text()).offenders():
            offenders.setdefault(text, []).append(f"{path.relative_to(SOURCE)}:{line}")
    assert {text: where for text, where in offenders.items() if text not in REVIEWED} == {}
    assert set(REVIEWED) <= set(offenders), "reviewed exceptions no longer in the code: remove them"


EXAMPLE = '''
from psycopg import sql

DROP = "DROP TABLE {}"
COUNT = "SELECT count(*) FROM %s"
NOTE = "row {} of {}"


def unsafe(conn, name, where):
    conn.execute(DROP.format(name))  # flagged: .format on a named template
    conn.execute("SELECT * FROM t WHERE " + where)  # flagged: + concatenation
    statement = "DELETE FROM " + name
    conn.execute(statement)  # flagged: built in a variable, then run
    later = DROP.format(name)  # flagged: a statement's template formatted anywhere
    conn.execute(f"DROP TABLE {name}")  # flagged
    conn.execute(COUNT % name)  # flagged
    conn.execute("DROP TABLE {}".format(name))  # flagged
    conn.execute(sql.SQL("SELECT " + name))  # flagged


def safe(conn, name, analyse):
    conn.execute(sql.SQL(DROP).format(sql.Identifier(name)))
    conn.execute(sql.SQL("SELECT 1 ") + sql.SQL("FROM {}").format(sql.Identifier(name)))
    conn.execute("SELECT 1 " + "FROM t")
    action = "ANALYZE" if analyse else "VACUUM"
    conn.execute(sql.SQL(action + " {}").format(sql.Identifier(name)))
    conn.execute("SELECT %s::regclass", (name,))
    print(NOTE.format(1, 2))
'''


def test_the_formatting_detector_sees_what_it_must():
    flagged = [n for n, line in enumerate(EXAMPLE.splitlines(), 1) if "# flagged" in line]
    assert [line for line, _ in FormattedSQL(EXAMPLE).offenders()] == flagged
