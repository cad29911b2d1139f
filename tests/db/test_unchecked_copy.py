"""The hours' COPYs without the server's per-row foreign key checks (`Session.unchecked`): only for a model whose
rows keep their keys by construction, only where the role may, never on a table with an insert trigger; the
grown database's foreign keys hold all the same."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import psycopg
from psycopg import sql
from recipes import THIRTY_HOURS, Grown
from support import query, run_cli, scalar

from growth_sim.engine.session import Session
from growth_sim.fixtures.templates import FixtureDatabase


def _orphans(dsn: str) -> dict[str, int]:
    """Per foreign key of the public schema, the child rows whose parent row is missing (a re-check query)."""
    keys = query(dsn, """
        SELECT c.conname, c.conrelid::regclass::text, c.confrelid::regclass::text,
               array_agg(a.attname::text ORDER BY k.n), array_agg(p.attname::text ORDER BY k.n)
        FROM pg_constraint c, unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(child, parent, n),
             pg_attribute a, pg_attribute p
        WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
          AND a.attrelid = c.conrelid AND a.attnum = k.child AND p.attrelid = c.confrelid AND p.attnum = k.parent
        GROUP BY 1, 2, 3""")
    found = {}
    for name, child, parent, columns, referenced in keys:
        match = sql.SQL(" AND ").join(sql.SQL("p.{} = c.{}").format(sql.Identifier(r), sql.Identifier(o))
                                      for o, r in zip(columns, referenced, strict=True))
        present = sql.SQL(" AND ").join(sql.SQL("c.{} IS NOT NULL").format(sql.Identifier(o)) for o in columns)
        statement = sql.SQL("SELECT count(*) FROM {} c WHERE {} AND NOT EXISTS (SELECT FROM {} p WHERE {})").format(
            sql.SQL(child), present, sql.SQL(parent), match)
        with psycopg.connect(dsn) as conn:
            found[name] = conn.execute(statement).fetchone()[0]
    return found


def test_the_hours_copy_without_key_checks_and_every_key_holds(
        copy_db: Callable[[Grown], FixtureDatabase], cli_env: dict[str, str]):
    dsn = copy_db(THIRTY_HOURS).dsn
    session = Session(dsn)
    try:
        assert session.unchecked == set(session.model.insert_order)  # the tests' cluster: a superuser
    finally:
        session.close()

    def lookups() -> int:  # the index scans that find an organization: every key check of organization_id
        return scalar(dsn, "SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 'organizations_pkey'")

    before = lookups()
    assert run_cli(cli_env, "advance", "--to", "+6h", "--dsn", dsn, "-q").returncode == 0
    assert scalar(dsn, "SELECT count(*) FROM activity_log WHERE created_at > (SELECT max(created_at) - interval"
                       " '6 hours' FROM activity_log)") > 0  # rows that point to an organization were written
    assert lookups() == before
    orphans = _orphans(dsn)
    assert len(orphans) >= 15 and set(orphans.values()) == {0}
    assert scalar(dsn, "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND NOT convalidated") == 0


def test_a_role_that_may_not_or_an_insert_trigger_keeps_the_checks(
        copy_db: Callable[[Grown], FixtureDatabase]):
    dsn = copy_db(THIRTY_HOURS).dsn
    role = f"plain_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE FUNCTION keep_count() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END'")
        conn.execute("CREATE TRIGGER comments_counted AFTER INSERT ON comments FOR EACH ROW"
                     " EXECUTE FUNCTION keep_count()")
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
    session = Session(dsn)
    try:
        assert "comments" not in session.unchecked and "activity_log" in session.unchecked
        session.conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
        session.__dict__.pop("unchecked")
        assert session.unchecked == frozenset()
    finally:
        session.close()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
