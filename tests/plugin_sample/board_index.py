"""An index test on a fixture: the board query stops sorting once the missing composite index exists.

TaskPilot's board view lists a project's issues in one status, in board order. The schema has
(project_id, status) and (project_id, sort_order), so the planner fetches the rows and sorts them; the
composite (project_id, status, sort_order) WHERE archived_at IS NULL hands them over in order.
"""

BOARD = """
SELECT i.id, i.number, i.title, i.status, i.priority, u.name AS assignee, i.due_date, i.estimate, i.comment_count
FROM issues i LEFT JOIN users u ON u.id = i.assignee_id
WHERE i.project_id = %s AND i.status = 'todo' AND i.archived_at IS NULL
ORDER BY i.sort_order
LIMIT 50"""


def board_plan(conn, project) -> str:
    return "\n".join(row[0] for row in conn.execute("EXPLAIN " + BOARD, (project,)))


def test_board_query_stops_sorting_with_the_composite_index(growth_db):
    db = growth_db(profile="taskpilot", to="week-2", scale=0.001, seed=7)
    with db.connect(autocommit=True) as conn:
        conn.execute("SET random_page_cost = 1.1")  # SSD storage
        project = conn.execute("SELECT project_id FROM issues WHERE status = 'todo'"
                               " GROUP BY project_id ORDER BY count(*) DESC, project_id LIMIT 1").fetchone()[0]
        assert "Sort" in board_plan(conn, project)

        conn.execute("CREATE INDEX idx_issues_board ON issues (project_id, status, sort_order)"
                     " WHERE archived_at IS NULL")
        plan = board_plan(conn, project)
        assert "idx_issues_board" in plan
        assert "Sort" not in plan
