"""The TaskPilot issue tracker: schema, row generators and update/delete operations."""

from __future__ import annotations

TABLES = frozenset({
    "organizations", "users", "teams", "team_members", "projects", "cycles", "labels", "issues",
    "issue_labels", "issue_links", "comments", "attachments", "activity_log", "notifications", "webhooks",
    "api_tokens", "sla_policies", "sla_status", "webhook_deliveries", "recurring_issue_configs",
})


def build_schema_sql() -> str:
    """The application's DDL."""
    from growth_sim.resources import data_dir

    return (data_dir("schema") / "taskpilot.sql").read_text()


def build(schedule, seed: int):
    """The model object the engine drives (see `growth_sim.models.Model`)."""
    from growth_sim.models.taskpilot.model import TaskPilot

    return TaskPilot(schedule, seed)


def read_mix():
    """The application's read mix: the query catalogue and its parameter sampler (`queries` module)."""
    from growth_sim.models.taskpilot import queries

    return queries
