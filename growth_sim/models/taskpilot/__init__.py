"""The TaskPilot issue tracker, growth-sim's own model (a `growth_sim.models.api.ModelPackage`).

Its schema (``schema.sql``), row generators (`reference`, `rows`), update and delete operations
(`operations`), read mix (`queries`) and findings about its planted flaws (`findings`) live here; the engine
reaches them through the members below only.
"""

from __future__ import annotations

from importlib.resources import files
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from growth_sim.models.api import Check, Model, ReadMix, TableBloat
    from growth_sim.timeline.schedule import Schedule

TABLES = frozenset({
    "organizations", "users", "teams", "team_members", "projects", "cycles", "labels", "issues",
    "issue_labels", "issue_links", "comments", "attachments", "activity_log", "notifications", "webhooks",
    "api_tokens", "sla_policies", "sla_status", "webhook_deliveries", "recurring_issue_configs",
})
SCENARIOS = ("regular", "power", "background", "dashboards")


def build_schema_sql() -> str:
    """The application's DDL."""
    return files(__name__).joinpath("schema.sql").read_text(encoding="utf-8")


def build(schedule: Schedule, seed: int) -> Model:
    """The model object the engine drives."""
    from growth_sim.models.taskpilot.model import TaskPilot

    return TaskPilot(schedule, seed)


def read_mix() -> ReadMix:
    """The load guide's read mix: four scenarios of query classes and their parameter sampler."""
    from growth_sim.models.taskpilot.queries import READ_MIX

    return READ_MIX


def expected_findings() -> Sequence[Check | TableBloat]:
    """The load guide's findings about TaskPilot's planted flaws."""
    from growth_sim.models.taskpilot.findings import FINDINGS

    return FINDINGS
