"""TaskPilot's schema.sql applied into a fresh database: catalog facts, planted flaws, simulated clock."""

from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from checks import SCHEMA_SQL

# fmt: off
MIG_TABLES = {
    "organizations", "users", "teams", "team_members", "projects", "cycles", "labels", "issues",
    "issue_labels", "issue_links", "comments", "attachments", "activity_log", "notifications",
    "webhooks", "api_tokens",
}
JOB_TABLES = {"sla_policies", "sla_status", "webhook_deliveries", "recurring_issue_configs"}

ENUMS = {
    "plan_type": ["free", "starter", "pro", "enterprise"],
    "issue_status": ["backlog", "todo", "in_progress", "in_review", "done", "cancelled"],
    "issue_priority": ["none", "low", "medium", "high", "urgent"],
    "project_status": ["active", "paused", "archived"],
    "team_role": ["member", "lead", "admin"],
    "cycle_status": ["upcoming", "active", "completed"],
    "link_type": ["blocks", "blocked_by", "relates_to", "duplicates", "duplicate_of"],
    "activity_action": [
        "created", "updated", "deleted", "commented", "status_changed", "assigned",
        "labeled", "unlabeled", "linked", "unlinked", "moved", "archived",
    ],
    "notification_type": [
        "issue_assigned", "issue_mentioned", "comment_added", "issue_updated",
        "due_date_reminder", "cycle_started", "cycle_ending",
    ],
}

# Every index (primary key, unique constraint, secondary) per table.
INDEX_COUNTS = {
    "organizations": 5, "users": 5, "teams": 3, "team_members": 4, "projects": 5, "cycles": 4,
    "labels": 3, "issues": 13, "issue_labels": 3, "issue_links": 4, "comments": 4, "attachments": 2,
    "activity_log": 5, "notifications": 4, "webhooks": 2, "api_tokens": 4,
    "sla_policies": 2, "sla_status": 2, "webhook_deliveries": 3, "recurring_issue_configs": 3,
}

# The upstream migration's 43 named secondary indexes.
MIG_SECONDARY_INDEXES = {
    "idx_organizations_slug", "idx_organizations_plan_type", "idx_organizations_created_at",
    "idx_users_organization_id", "idx_users_email",
    "idx_teams_organization_id",
    "idx_team_members_team_id", "idx_team_members_user_id",
    "idx_projects_organization_id", "idx_projects_team_id", "idx_projects_status",
    "idx_cycles_project_id", "idx_cycles_status",
    "idx_labels_project_id",
    "idx_issues_project_id", "idx_issues_status", "idx_issues_priority", "idx_issues_assignee_id",
    "idx_issues_creator_id", "idx_issues_cycle_id", "idx_issues_created_at", "idx_issues_updated_at",
    "idx_issues_due_date", "idx_issues_sort_order", "idx_issues_metadata",
    "idx_issue_labels_issue_id", "idx_issue_labels_label_id",
    "idx_issue_links_source", "idx_issue_links_target",
    "idx_comments_issue_id", "idx_comments_user_id", "idx_comments_created_at",
    "idx_attachments_issue_id",
    "idx_activity_log_organization_id", "idx_activity_log_project_id", "idx_activity_log_issue_id",
    "idx_activity_log_created_at",
    "idx_notifications_user_id", "idx_notifications_unread", "idx_notifications_created_at",
    "idx_webhooks_organization_id",
    "idx_api_tokens_user_id", "idx_api_tokens_token_hash",
}

EXACT_DUPLICATES = {
    "idx_organizations_slug": "organizations_slug_key",
    "idx_api_tokens_token_hash": "api_tokens_token_hash_key",
}

# Redundant index -> the indexes it is a leading prefix of.
LEFT_PREFIX_REDUNDANT = {
    "idx_users_organization_id": ["users_email_org_unique", "users_username_org_unique"],
    "idx_teams_organization_id": ["teams_slug_org_unique"],
    "idx_team_members_team_id": ["team_members_unique"],
    "idx_projects_organization_id": ["projects_key_org_unique", "idx_projects_status"],
    "idx_cycles_project_id": ["cycles_number_project_unique", "idx_cycles_status"],
    "idx_labels_project_id": ["labels_name_project_unique"],
    "idx_issues_project_id": [
        "issues_number_project_unique", "idx_issues_status", "idx_issues_priority",
        "idx_issues_created_at", "idx_issues_sort_order",
    ],
    "idx_issue_labels_issue_id": ["issue_labels_pkey"],
    "idx_issue_links_source": ["issue_links_unique"],
    "idx_comments_issue_id": ["idx_comments_created_at"],
    "idx_activity_log_organization_id": ["idx_activity_log_created_at"],
    "idx_notifications_user_id": ["idx_notifications_unread", "idx_notifications_created_at"],
}

UNINDEXED_FOREIGN_KEYS = [
    ("projects", "lead_id"), ("labels", "parent_id"), ("issues", "parent_id"),
    ("issue_links", "created_by_id"), ("comments", "parent_id"), ("attachments", "user_id"),
    ("attachments", "comment_id"), ("activity_log", "user_id"), ("notifications", "issue_id"),
    ("notifications", "comment_id"), ("notifications", "actor_id"),
    ("sla_status", "policy_id"), ("recurring_issue_configs", "created_by_id"),
]

UPDATED_AT_TABLES = {
    "organizations", "users", "teams", "projects", "cycles", "issues", "comments", "webhooks",
}
# fmt: on

SIM_NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


@pytest.fixture
def conn(fresh_db: str) -> Iterator[psycopg.Connection]:
    """A connection to `fresh_db` with the schema applied (and committed) in one transaction."""
    with psycopg.connect(fresh_db) as conn:
        conn.execute(SCHEMA_SQL.read_text())
        conn.commit()
        yield conn


def _index_columns(conn: psycopg.Connection) -> dict[str, tuple[str, list[int]]]:
    """Index name -> (table name, key column numbers in order)."""
    rows = conn.execute(
        """
        SELECT ic.relname, tc.relname, i.indkey::int2[]
        FROM pg_index i
        JOIN pg_class ic ON ic.oid = i.indexrelid
        JOIN pg_class tc ON tc.oid = i.indrelid
        JOIN pg_namespace n ON n.oid = tc.relnamespace
        WHERE n.nspname = 'public'
        """
    ).fetchall()
    return {name: (table, list(keys)) for name, table, keys in rows}


def _seed_one_issue(conn: psycopg.Connection) -> str:
    """Insert one organization, user, project and issue; return the issue id. Commits."""
    org = conn.execute(
        "INSERT INTO organizations (name, slug) VALUES ('Acme', 'acme') RETURNING id"
    ).fetchone()[0]
    user = conn.execute(
        "INSERT INTO users (organization_id, email, name) VALUES (%s, 'a@acme.test', 'Ann') RETURNING id",
        (org,),
    ).fetchone()[0]
    project = conn.execute(
        "INSERT INTO projects (organization_id, name, key) VALUES (%s, 'Core', 'CORE') RETURNING id",
        (org,),
    ).fetchone()[0]
    issue = conn.execute(
        "INSERT INTO issues (project_id, creator_id, number, title) VALUES (%s, %s, 1, 'First') RETURNING id",
        (project, user),
    ).fetchone()[0]
    conn.commit()
    return issue


def _updates_by(conn: psycopg.Connection, table: str, statement: str, params: tuple) -> tuple[int, int]:
    """(tuples updated, of which HOT) on `table` by running `statement`, from the backend's own counters.

    The pg_stat_get_xact_* counters also hold earlier transactions' counts not yet flushed, hence the delta.
    """
    query = (
        "SELECT pg_stat_get_xact_tuples_updated(%s::regclass),"
        " pg_stat_get_xact_tuples_hot_updated(%s::regclass)"
    )
    upd0, hot0 = conn.execute(query, (table, table)).fetchone()
    conn.execute(statement, params)
    upd1, hot1 = conn.execute(query, (table, table)).fetchone()
    return upd1 - upd0, hot1 - hot0


def test_tables(conn):
    rows = conn.execute(
        """
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
        """
    ).fetchall()
    assert {r[0] for r in rows} == MIG_TABLES | JOB_TABLES
    assert len(rows) == 20


def test_enums_and_their_values_in_order(conn):
    rows = conn.execute(
        """
        SELECT t.typname, array_agg(e.enumlabel::text ORDER BY e.enumsortorder)
        FROM pg_type t
        JOIN pg_enum e ON e.enumtypid = t.oid
        JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = 'public'
        GROUP BY t.typname
        """
    ).fetchall()
    assert dict(rows) == ENUMS


def test_extensions(conn):
    names = {r[0] for r in conn.execute("SELECT extname FROM pg_extension").fetchall()}
    assert {"pg_trgm", "btree_gin"} <= names
    assert "uuid-ossp" not in names


def test_index_counts(conn):
    by_table: dict[str, int] = {}
    for table, _keys in _index_columns(conn).values():
        by_table[table] = by_table.get(table, 0) + 1
    assert by_table == INDEX_COUNTS
    assert sum(by_table[t] for t in MIG_TABLES) == 70
    assert by_table["issues"] == 13


def test_mig_secondary_indexes_and_nothing_else(conn):
    constraint_indexes = {
        r[0]
        for r in conn.execute(
            "SELECT conname FROM pg_constraint"
            " WHERE contype IN ('p', 'u') AND connamespace = 'public'::regnamespace"
        ).fetchall()
    }
    mig = {name for name, (table, _) in _index_columns(conn).items() if table in MIG_TABLES}
    assert mig - constraint_indexes == MIG_SECONDARY_INDEXES
    assert len(mig & constraint_indexes) == 16 + 11


def test_created_at_index_has_the_wrong_column_order(conn):
    (definition,) = conn.execute("SELECT pg_get_indexdef('idx_issues_created_at'::regclass)").fetchone()
    assert definition == (
        "CREATE INDEX idx_issues_created_at ON public.issues USING btree (project_id, created_at DESC)"
    )


def test_no_index_serves_the_board_query(conn):
    rows = conn.execute(
        """
        SELECT ic.relname,
               ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
                     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                     ORDER BY k.ord),
               pg_get_expr(i.indpred, i.indrelid)
        FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
        WHERE i.indrelid = 'issues'::regclass
        """
    ).fetchall()
    assert len(rows) == 13
    for name, columns, predicate in rows:
        assert columns[:3] != ["project_id", "status", "sort_order"], name
        assert predicate is None or "archived_at" not in predicate, name


def test_exact_duplicate_indexes(conn):
    rows = {
        r[0]: r[1:]
        for r in conn.execute(
            """
            SELECT ic.relname, i.indrelid, i.indkey::int2[], i.indclass::oid[], ic.relam,
                   i.indpred IS NULL, i.indexprs IS NULL
            FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
            WHERE ic.relname = ANY(%s)
            """,
            (list(EXACT_DUPLICATES) + list(EXACT_DUPLICATES.values()),),
        ).fetchall()
    }
    for duplicate, original in EXACT_DUPLICATES.items():
        assert rows[duplicate] == rows[original], duplicate


def test_left_prefix_redundant_indexes(conn):
    indexes = _index_columns(conn)
    for redundant, covering in LEFT_PREFIX_REDUNDANT.items():
        table, keys = indexes[redundant]
        for other in covering:
            other_table, other_keys = indexes[other]
            assert other_table == table
            assert len(other_keys) > len(keys) and other_keys[: len(keys)] == keys, (redundant, other)


def test_planted_foreign_keys_have_no_index(conn):
    indexes = _index_columns(conn)
    for table, column in UNINDEXED_FOREIGN_KEYS:
        (attnum,) = conn.execute(
            "SELECT attnum FROM pg_attribute WHERE attrelid = %s::regclass AND attname = %s", (table, column)
        ).fetchone()
        (is_fk,) = conn.execute(
            "SELECT EXISTS (SELECT FROM pg_constraint WHERE contype = 'f' AND conrelid = %s::regclass"
            " AND conkey = ARRAY[%s::int2])",
            (table, attnum),
        ).fetchone()
        assert is_fk, (table, column)
        leading = [keys[0] for t, keys in indexes.values() if t == table]
        assert attnum not in leading, (table, column)


def test_no_per_table_autovacuum_tuning(conn):
    (tuned,) = conn.execute(
        """
        SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.reloptions IS NOT NULL
        """
    ).fetchone()
    assert tuned == 0


def test_updated_at_triggers(conn):
    rows = conn.execute(
        """
        SELECT tgrelid::regclass::text, tgname, tgfoid::regproc::text FROM pg_trigger
        WHERE NOT tgisinternal
        """
    ).fetchall()
    assert {(t, name) for t, name, _ in rows} == {(t, f"update_{t}_updated_at") for t in UPDATED_AT_TABLES}
    assert {f for _, _, f in rows} == {"update_updated_at_column"}


def test_timestamp_defaults_use_the_simulated_clock(conn):
    defaults = conn.execute(
        """
        SELECT c.relname, a.attname, pg_get_expr(d.adbin, d.adrelid)
        FROM pg_attrdef d
        JOIN pg_class c ON c.oid = d.adrelid
        JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
        WHERE c.relnamespace = 'public'::regnamespace
        """
    ).fetchall()
    for table, column, expression in defaults:
        assert "uuid_generate" not in expression, (table, column)
        if "now()" in expression:
            assert expression == "app_now()", (table, column)
    stamped = [(t, c) for t, c, e in defaults if e == "app_now()"]
    assert ("issues", "updated_at") in stamped and ("activity_log", "created_at") in stamped
    (volatility,) = conn.execute("SELECT provolatile FROM pg_proc WHERE proname = 'app_now'").fetchone()
    assert volatility == "s"


def test_issue_update_is_never_hot(conn):
    issue = _seed_one_issue(conn)
    status = "UPDATE issues SET status = 'todo' WHERE id = %s"
    assert _updates_by(conn, "issues", status, (issue,)) == (1, 0)
    conn.commit()

    # Same check in the cumulative statistics once flushed.
    conn.execute("SELECT pg_stat_force_next_flush()")
    conn.commit()
    conn.execute("SELECT pg_stat_clear_snapshot()")
    upd, hot = conn.execute(
        "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relid = 'issues'::regclass"
    ).fetchone()
    assert (upd, hot) == (1, 0)
    conn.commit()

    # Even a change to an unindexed column is non-HOT: the trigger rewrites the indexed updated_at.
    counter = "UPDATE issues SET comment_count = comment_count + 1 WHERE id = %s"
    assert _updates_by(conn, "issues", counter, (issue,)) == (1, 0)
    conn.commit()
    # ...and that is the only reason: without idx_issues_updated_at the same update is HOT.
    conn.execute("DROP INDEX idx_issues_updated_at")
    assert _updates_by(conn, "issues", counter, (issue,)) == (1, 1)
    conn.rollback()


def test_notification_read_is_not_hot_but_other_updates_are(conn):
    issue = _seed_one_issue(conn)
    (user,) = conn.execute("SELECT creator_id FROM issues WHERE id = %s", (issue,)).fetchone()
    (note,) = conn.execute(
        "INSERT INTO notifications (user_id, type, title) VALUES (%s, 'issue_assigned', 'Hi') RETURNING id",
        (user,),
    ).fetchone()
    conn.commit()

    # Control: an update of an unindexed column on a table without trigger is HOT.
    update = "UPDATE notifications SET body = 'x' WHERE id = %s"
    assert _updates_by(conn, "notifications", update, (note,)) == (1, 1)
    conn.commit()
    # read_at is in the predicate of idx_notifications_unread.
    update = "UPDATE notifications SET read_at = app_now() WHERE id = %s"
    assert _updates_by(conn, "notifications", update, (note,)) == (1, 0)
    conn.commit()


def test_trigger_and_defaults_stamp_simulated_time(conn):
    issue = _seed_one_issue(conn)

    conn.execute("SET growth_sim.now = '2026-01-05 10:00+00'")
    conn.execute("UPDATE issues SET status = 'in_progress' WHERE id = %s", (issue,))
    (updated_at,) = conn.execute("SELECT updated_at FROM issues WHERE id = %s", (issue,)).fetchone()
    assert updated_at == SIM_NOW
    (created_at,) = conn.execute(
        "INSERT INTO organizations (name, slug) VALUES ('Beta', 'beta') RETURNING created_at"
    ).fetchone()
    assert created_at == SIM_NOW
    conn.commit()

    conn.execute("RESET growth_sim.now")
    conn.execute("UPDATE issues SET status = 'done' WHERE id = %s", (issue,))
    updated_at, now = conn.execute("SELECT updated_at, now() FROM issues WHERE id = %s", (issue,)).fetchone()
    assert updated_at == now
    conn.commit()

    conn.execute("SELECT set_config('growth_sim.now', '', false)")
    assert conn.execute("SELECT app_now() = now()").fetchone()[0] is True
    conn.commit()


def test_api_token_scopes_default_to_read(conn):
    issue = _seed_one_issue(conn)
    (user,) = conn.execute("SELECT creator_id FROM issues WHERE id = %s", (issue,)).fetchone()
    (scopes,) = conn.execute(
        "INSERT INTO api_tokens (user_id, name, token_hash, token_prefix) VALUES (%s, 'ci', 'h1', 'tp_')"
        " RETURNING scopes",
        (user,),
    ).fetchone()
    assert scopes == ["read"]


@pytest.mark.parametrize(
    ("statement", "constraint"),
    [
        (
            "INSERT INTO organizations (name, slug) VALUES ('Acme, Inc', 'acme,-inc')",
            "organizations_slug_format",
        ),
        (
            "INSERT INTO projects (organization_id, name, key) SELECT id, 'SDK', 'SDK76' FROM organizations",
            "projects_key_format",
        ),
    ],
)
def test_check_constraints_reject_bad_values(conn, statement, constraint):
    conn.execute("INSERT INTO organizations (name, slug) VALUES ('Acme', 'acme')")
    with pytest.raises(psycopg.errors.CheckViolation) as error:
        conn.execute(statement)
    assert error.value.diag.constraint_name == constraint
    conn.rollback()


def test_recurring_schedule_type_is_checked(conn):
    issue = _seed_one_issue(conn)
    (project,) = conn.execute("SELECT project_id FROM issues WHERE id = %s", (issue,)).fetchone()
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(
            "INSERT INTO recurring_issue_configs (project_id, schedule_type) VALUES (%s, 'hourly')",
            (project,),
        )
    conn.rollback()


def test_webhook_delivery_ids_can_be_supplied(conn):
    issue = _seed_one_issue(conn)
    (org,) = conn.execute(
        "SELECT p.organization_id FROM issues i JOIN projects p ON p.id = i.project_id WHERE i.id = %s",
        (issue,),
    ).fetchone()
    (hook,) = conn.execute(
        "INSERT INTO webhooks (organization_id, name, url, secret) VALUES (%s, 'h', 'https://x.test', 's')"
        " RETURNING id",
        (org,),
    ).fetchone()
    copy_sql = "COPY webhook_deliveries (id, webhook_id, event_type, payload) FROM STDIN"
    with conn.cursor().copy(copy_sql) as copy:
        copy.write_row((42, hook, "issue.created", "{}"))
    assert conn.execute("SELECT id, attempt_number FROM webhook_deliveries").fetchall() == [(42, 1)]


def test_active_issues_view(conn):
    issue = _seed_one_issue(conn)
    rows = conn.execute("SELECT id, issue_key FROM v_active_issues").fetchall()
    assert rows == [(issue, "CORE-1")]
