"""TaskPilot's board query for the hot project, as plain SQL to EXPLAIN, shared by the index tests."""

from __future__ import annotations

import psycopg

from growth_sim.models.taskpilot.queries import BOARD_SQL

# The board query's text in pg_stat_statements (constants normalised to $n).
BOARD_LIKE = "SELECT i.id, i.number, i.title, i.status, i.priority, u.name AS assignee,%ORDER BY i.sort_order%LIMIT $%"
BOARD_INDEX = "CREATE INDEX {name}ON issues ({columns}) WHERE archived_at IS NULL"


def board_sql(conn: psycopg.Connection, status: str = "todo") -> str:
    """The board query for the project with the most issues in `status`, its parameters written in."""
    project = conn.execute("SELECT project_id FROM issues WHERE archived_at IS NULL AND status = %s"
                           " GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1", (status,)).fetchone()[0]
    return (BOARD_SQL.replace("%(project)s", f"'{project}'").replace("%(status)s", f"'{status}'")
            .replace("%(limit)s", "50"))
