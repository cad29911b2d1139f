"""Every `growth_db` call is a fresh copy of the fixture: what one test changes, no other test sees."""

import psycopg

PARAMS = {"profile": "taskpilot", "to": "week-2", "scale": 0.001, "seed": 7}


def counts(dsn: str, tables) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}


def test_a_copy_holds_the_manifest_rows_and_can_be_changed(growth_db):
    db = growth_db(**PARAMS)
    assert counts(db.dsn, db.manifest["tables"]) == db.manifest["tables"]
    with db.connect() as conn:
        conn.execute("DELETE FROM notifications")


def test_each_call_is_a_fresh_copy(growth_db):
    first, second = growth_db(**PARAMS), growth_db(**PARAMS)
    assert first.name != second.name
    with first.connect() as conn:
        conn.execute("TRUNCATE issues CASCADE")
    assert counts(first.dsn, ["issues"]) == {"issues": 0}
    assert counts(second.dsn, second.manifest["tables"]) == second.manifest["tables"]
