"""The load guide's read mix as SQL: four scenarios, their query classes, weights and parameter samplers.

Shapes follow the workload document (reference §5); each query names the index the document says serves it.
Parameters are drawn from the world's pure mappings (no reads from the database, so sampling leaves no trace in
the statistics): projects with the same skew the issues were dealt with, recent issues far more often than old
ones, the simulated clock as "now".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import numpy as np

from growth_sim.generate.rand import uuid_strings
from growth_sim.models.api import QueryClass, ReadMix
from growth_sim.models.taskpilot.world import World
from growth_sim.timeline.schedule import Schedule

SEARCH_TERMS = ("login", "error", "fix", "performance", "urgent")  # the power users' five searches (WL)
BOARD_STATUSES = ("in_progress", "backlog", "todo", "in_review")
# The indexes that find a project's issues (project_id leads); idx_issues_created_at is one too, but no documented
# query filters by project and orders by created_at, so it is not named for any.
ISSUES_BY_PROJECT = ("idx_issues_project_id", "idx_issues_status", "idx_issues_priority", "idx_issues_sort_order",
                     "issues_number_project_unique")


class Sampler:
    """Parameters drawn from the data a database holds at a simulated hour, with realistic skew."""

    def __init__(self, schedule: Schedule, seed: int, hour: int) -> None:
        self.world = World(schedule, seed)
        self.hour = hour
        self.now: datetime = schedule.time_of(hour)
        n = self.world.n
        dealt = self.world.issue_project(np.arange(self.world.block))
        weights = np.bincount(dealt, minlength=n.projects).astype(np.float64)
        self._project_p = weights / weights.sum()
        self._projects = uuid_strings(self.world.seed, "projects", np.arange(n.projects))
        self._orgs = uuid_strings(self.world.seed, "organizations", np.arange(n.organizations))
        org_weights = np.bincount(self.world.org_of_project(np.arange(n.projects)), weights=weights,
                                  minlength=n.organizations)
        self._org_p = org_weights / org_weights.sum()
        self.issues = int(schedule.rows("issues", hour))

    def project(self, rng: np.random.Generator) -> str:
        """A project, hot ones (many issues) far more often."""
        return self._projects[rng.choice(len(self._projects), p=self._project_p)]

    def organization(self, rng: np.random.Generator) -> str:
        """An organization, weighted by its projects' activity."""
        return self._orgs[rng.choice(len(self._orgs), p=self._org_p)]

    def issue(self, rng: np.random.Generator) -> str:
        """An issue, recent ones far more often (the recency skew of the writes)."""
        back = int(self.issues * rng.random() ** self.world.recency)
        return uuid_strings(self.world.seed, "issues", np.array([max(self.issues - 1 - back, 0)]))[0]


def _board(statuses: tuple[str, ...], limit: int) -> Callable[[Sampler, np.random.Generator], dict[str, Any]]:
    def params(s: Sampler, rng: np.random.Generator) -> dict[str, Any]:
        return {"project": s.project(rng), "status": statuses[rng.integers(len(statuses))], "limit": limit}
    return params


BOARD_SQL = """SELECT i.id, i.number, i.title, i.status, i.priority, u.name AS assignee, u.avatar_url,
       i.due_date, i.estimate, i.comment_count
FROM issues i LEFT JOIN users u ON u.id = i.assignee_id
WHERE i.project_id = %(project)s AND i.status = %(status)s AND i.archived_at IS NULL
ORDER BY i.sort_order
LIMIT %(limit)s"""

SLA_CHECK_SQL = """SELECT i.id, i.project_id, sp.id AS policy_id, i.created_at
FROM issues i
JOIN sla_policies sp ON sp.organization_id = (SELECT p.organization_id FROM projects p WHERE p.id = i.project_id)
LEFT JOIN sla_status ss ON ss.issue_id = i.id AND ss.policy_id = sp.id
WHERE sp.is_active
  AND i.created_at >= %(now)s - interval '7 days'
  AND i.created_at < %(now)s - make_interval(hours => (sp.targets ->> 'first_response_hours')::int)
  AND ss.first_response_at IS NULL AND ss.first_response_breached = false
  AND i.status NOT IN ('done', 'cancelled') AND i.archived_at IS NULL
ORDER BY i.created_at
LIMIT 100"""

# Weights are the load guide's requests per hour (§5.3); indexes those the workload document says serve each query
# (none: a planted flaw means none does).
CATALOGUE: tuple[QueryClass, ...] = (
    # -- regular users: dashboard, issue lists by status, issue detail, comments, activity ------------------
    QueryClass("project_dashboard", "regular", """SELECT p.id, p.name, p.key, p.status, p.issue_count, p.updated_at
FROM projects p
WHERE p.organization_id = %(org)s AND p.status = 'active'
ORDER BY p.name
LIMIT 20""", 9_600, lambda s, rng: {"org": s.organization(rng)}, ("idx_projects_status",)),
    QueryClass("board_by_status", "regular", BOARD_SQL, 19_200, _board(BOARD_STATUSES, 10),
               ("idx_issues_status", "idx_issues_sort_order")),
    QueryClass("issue_list", "regular", """SELECT i.id, i.number, i.title, i.status, i.priority, i.assignee_id,
       i.due_date, i.comment_count
FROM issues i
WHERE i.project_id = %(project)s AND i.archived_at IS NULL
ORDER BY i.sort_order
LIMIT 50""", 4_800, lambda s, rng: {"project": s.project(rng)}, ("idx_issues_sort_order",)),
    QueryClass("issue_detail", "regular", """SELECT i.*, p.key AS project_key
FROM issues i JOIN projects p ON p.id = i.project_id
WHERE i.id = %(issue)s""", 4_800, lambda s, rng: {"issue": s.issue(rng)}, ("issues_pkey",)),
    QueryClass("issue_comments", "regular", """SELECT c.id, c.body, c.is_internal, c.reactions, c.created_at,
       u.name AS author
FROM comments c JOIN users u ON u.id = c.user_id
WHERE c.issue_id = %(issue)s
ORDER BY c.created_at DESC
LIMIT 20""", 4_800, lambda s, rng: {"issue": s.issue(rng)},
               # or the planted redundant prefix (the planner takes the smaller when an issue's few comments are sorted)
               ("idx_comments_created_at", "idx_comments_issue_id")),
    QueryClass("issue_activity", "regular", """SELECT a.id, a.action, a.changes, a.created_at, a.user_id
FROM activity_log a
WHERE a.issue_id = %(issue)s
ORDER BY a.created_at DESC
LIMIT 20""", 4_800, lambda s, rng: {"issue": s.issue(rng)}, ("idx_activity_log_issue_id",)),
    # -- power users: bulk lists and search ----------------------------------------------------------------
    QueryClass("bulk_backlog", "power", BOARD_SQL, 330, _board(("backlog",), 20),
               ("idx_issues_status", "idx_issues_sort_order")),
    QueryClass("search_issues", "power", """SELECT i.id, i.number, i.title, i.status, i.updated_at
FROM issues i
WHERE i.project_id = %(project)s AND i.archived_at IS NULL
  AND (i.title ILIKE %(pattern)s OR i.description ILIKE %(pattern)s)
ORDER BY i.updated_at DESC
LIMIT 20""", 1_650, lambda s, rng: {"project": s.project(rng),
                                    "pattern": f"%{SEARCH_TERMS[rng.integers(len(SEARCH_TERMS))]}%"}),
    # ^ planted: no full-text or trigram index before the roadmap's week 3, so no index serves the search

    # -- background jobs (paced at their own rate) ---------------------------------------------------------
    QueryClass("sla_check", "background", SLA_CHECK_SQL, 1, lambda s, rng: {"now": s.now}),
    QueryClass("webhooks_pending", "background", """SELECT d.id, d.webhook_id, d.event_type, d.payload,
       d.attempt_number
FROM webhook_deliveries d
WHERE d.delivered_at IS NULL AND d.next_retry_at <= %(now)s AND d.attempt_number < 5
ORDER BY d.next_retry_at
LIMIT 50""", 1, lambda s, rng: {"now": s.now}, ("idx_webhook_deliveries_retry",)),
    QueryClass("recurring_due", "background", """SELECT r.id, r.project_id, r.template, r.schedule_type,
       r.next_run_at
FROM recurring_issue_configs r
WHERE r.is_active AND r.next_run_at <= %(now)s
ORDER BY r.next_run_at
LIMIT 100""", 1, lambda s, rng: {"now": s.now}, ("idx_recurring_configs_next_run",)),
    QueryClass("metrics_aggregate", "background", """SELECT a.action, count(*) AS events
FROM activity_log a
WHERE a.organization_id = %(org)s AND a.created_at >= %(now)s - interval '1 hour'
GROUP BY a.action""", 1, lambda s, rng: {"org": s.organization(rng), "now": s.now},
               ("idx_activity_log_created_at",)),
    # -- dashboards: heavy analytics -----------------------------------------------------------------------
    QueryClass("org_analytics", "dashboards", """SELECT p.id, p.name,
       count(i.id) AS total,
       count(i.id) FILTER (WHERE i.status = 'in_progress') AS in_progress,
       count(i.id) FILTER (WHERE i.status = 'done' AND i.completed_at >= %(now)s - interval '7 days')
           AS done_this_week,
       count(i.id) FILTER (WHERE i.due_date < %(now)s::date AND i.status NOT IN ('done', 'cancelled'))
           AS overdue,
       avg(extract(epoch FROM i.completed_at - i.created_at) / 3600)
           FILTER (WHERE i.completed_at IS NOT NULL) AS avg_resolution_hours
FROM projects p LEFT JOIN issues i ON i.project_id = p.id AND i.archived_at IS NULL
WHERE p.organization_id = %(org)s AND p.status = 'active'
GROUP BY p.id, p.name""", 154, lambda s, rng: {"org": s.organization(rng), "now": s.now},
               ("idx_projects_status", *ISSUES_BY_PROJECT)),
    QueryClass("project_velocity", "dashboards", """WITH weekly AS (
    SELECT date_trunc('week', i.completed_at) AS week, count(*) AS completed, sum(i.estimate) AS points
    FROM issues i
    WHERE i.project_id = %(project)s AND i.status = 'done' AND i.completed_at >= %(now)s - interval '12 weeks'
    GROUP BY 1)
SELECT week, completed, points,
       avg(points) OVER (ORDER BY week ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS moving_average
FROM weekly
ORDER BY week""", 154, lambda s, rng: {"project": s.project(rng), "now": s.now}, ("idx_issues_status",)),
    QueryClass("workload", "dashboards", """SELECT u.id, u.name,
       count(i.id) FILTER (WHERE i.status NOT IN ('done', 'cancelled')) AS assigned,
       count(i.id) FILTER (WHERE i.status = 'in_progress') AS in_progress,
       count(i.id) FILTER (WHERE i.status = 'done' AND i.completed_at >= %(now)s - interval '7 days')
           AS completed_this_week
FROM users u LEFT JOIN issues i ON i.assignee_id = u.id AND i.archived_at IS NULL
WHERE u.organization_id = %(org)s AND u.is_active
GROUP BY u.id, u.name""", 154, lambda s, rng: {"org": s.organization(rng), "now": s.now},
               ("idx_issues_assignee_id",)),
    QueryClass("activity_feed", "dashboards", """SELECT a.id, a.action, a.entity_type, a.entity_id, a.created_at,
       u.name AS actor
FROM activity_log a LEFT JOIN users u ON u.id = a.user_id
WHERE a.organization_id = %(org)s
ORDER BY a.created_at DESC
LIMIT 50 OFFSET %(offset)s""", 770, lambda s, rng: {"org": s.organization(rng), "offset": 50 * int(rng.integers(5))},
               ("idx_activity_log_created_at",)),
)

BACKGROUND_RATE = 10.0  # background-job iterations per second (WL: constant arrival rate)
READ_MIX = ReadMix("taskpilot", CATALOGUE, Sampler, background=("background",), background_rate=BACKGROUND_RATE)
