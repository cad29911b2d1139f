"""The TaskPilot issue tracker: schema, row generators and update/delete operations."""

TABLES = frozenset({
    "organizations", "users", "teams", "team_members", "projects", "cycles", "labels", "issues",
    "issue_labels", "issue_links", "comments", "attachments", "activity_log", "notifications", "webhooks",
    "api_tokens", "sla_policies", "sla_status", "webhook_deliveries", "recurring_issue_configs",
})
