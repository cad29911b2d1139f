"""Redacting DSNs and one-line connection errors, without a server: unreachable addresses, invalid strings.

Connecting, choosing and creating the target database on a real server are in tests/db/test_connect.py.
"""

from __future__ import annotations

import subprocess

import pytest

from growth_sim.db.connect import connect, describe, ensure_database, redact
from growth_sim.errors import DatabaseError

UNREACHABLE = "postgresql://bob:secret@127.0.0.1:1/x"


@pytest.mark.parametrize(
    ("dsn", "expected"),
    [
        ("postgresql://bob:secret@127.0.0.1:1/x", "postgresql://bob:***@127.0.0.1:1/x"),
        (
            "postgres://bob:secret@db.example.com/app?sslmode=require",
            "postgres://bob:***@db.example.com/app?sslmode=require",
        ),
        ("postgresql://bob:p@ss:w?rd@h/x", "postgresql://bob:***@h/x"),
        ("postgresql://bob:se/cret@h/x", "postgresql://bob:***@h/x"),
        ("postgresql://bob:pw@h1:1,h2:2/x", "postgresql://bob:***@h1:1,h2:2/x"),
        (
            "postgresql://bob@h/x?password=secret&sslmode=disable",
            "postgresql://bob@h/x?password=***&sslmode=disable",
        ),
        ("host=h password=secret user=bob", "host=h password=*** user=bob"),
        ("host=h password = 'sec ret' user=bob", "host=h password = *** user=bob"),
        ("PASSWORD=secret dbname=x", "PASSWORD=*** dbname=x"),
        ("postgresql://h:5432/x?user=a@b", "postgresql://h:5432/x?user=a@b"),
        (
            "postgresql://postgres@/growth_sim?host=/var/tmp/s&port=5",
            "postgresql://postgres@/growth_sim?host=/var/tmp/s&port=5",
        ),
        ("", ""),
    ],
)
def test_redact(dsn: str, expected: str):
    assert redact(dsn) == expected


def test_describe_the_pg_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PGHOST", "db.internal")
    monkeypatch.setenv("PGDATABASE", "app")
    assert describe("") == "the PG* environment (PGHOST=db.internal, PGDATABASE=app)"


def test_connect_failure_is_one_redacted_line():
    with pytest.raises(DatabaseError) as info:
        connect(UNREACHABLE)
    assert str(info.value) == "cannot connect to postgresql://bob:***@127.0.0.1:1/x: connection refused"


def test_invalid_connection_string_hides_the_password():
    with pytest.raises(DatabaseError) as info:
        connect("host=h password=secret oops")
    message = str(info.value)
    assert message.startswith("invalid connection string host=h password=*** oops")
    assert "secret" not in message and "\n" not in message


def test_ensure_database_unreachable_server():
    with pytest.raises(DatabaseError, match=r"^cannot connect to postgresql://bob:\*\*\*@127\.0\.0\.1:1/x"):
        ensure_database(UNREACHABLE)


def test_cli_unreachable_dsn_is_one_line_without_secret(cli_env: dict[str, str]):
    proc = subprocess.run(
        ["growth-sim", "db", "status", "--dsn", UNREACHABLE],
        capture_output=True,
        text=True,
        env=cli_env,
        timeout=30,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("error: cannot connect to postgresql://bob:***@127.0.0.1:1/x")
    assert "Traceback" not in proc.stderr
    assert "secret" not in proc.stdout + proc.stderr
