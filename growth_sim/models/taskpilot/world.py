"""The TaskPilot world: reference entities and the pure mappings between ordinals.

Parents are computed, never read back: the organization of a project, the users and teams of an
organization, the project and number of an issue, the issue a comment belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from growth_sim.generate.rand import Stream
from growth_sim.timeline.schedule import Schedule, scaled

STATUSES = ("backlog", "todo", "in_progress", "in_review", "done", "cancelled")
PRIORITIES = ("none", "low", "medium", "high", "urgent")
_PROJECT_SKEW = 0.8  # project weights ~ 1 / rank**0.8: a few hot projects, a long tail


@dataclass(frozen=True)
class Counts:
    """How many reference entities a database has at a scale."""

    organizations: int
    users: int
    teams: int
    projects: int
    webhooks: int
    api_tokens: int
    labels_per_project: int
    cycles_per_project: int
    team_members_per_team: int
    sla_policies_per_organization: int
    recurring_configs_per_project: int

    @classmethod
    def from_params(cls, params: dict, scale: float) -> Counts:
        def entity(name: str) -> int:
            spec = params[name]
            return max(int(spec.get("minimum", 1)), scaled(spec["count"], scale))

        n_orgs = entity("organizations")
        return cls(
            organizations=n_orgs,
            users=max(entity("users"), 2 * n_orgs),
            teams=max(entity("teams"), n_orgs),
            projects=max(entity("projects"), n_orgs),
            webhooks=entity("webhooks"),
            api_tokens=entity("api_tokens"),
            labels_per_project=int(params["labels_per_project"]),
            cycles_per_project=int(params["cycles_per_project"]),
            team_members_per_team=int(params["team_members_per_team"]),
            sla_policies_per_organization=int(params["sla_policies_per_organization"]),
            recurring_configs_per_project=int(params["recurring_configs_per_project"]),
        )


class World:
    """Reference counts plus every pure mapping a generator needs."""

    def __init__(self, schedule: Schedule, seed: int) -> None:
        self.schedule, self.seed = schedule, seed
        self.params = schedule.profile.model_params
        self.n = Counts.from_params(self.params, schedule.scale)
        self.recency = float(self.params.get("recency_exponent", 4.0))

    def stream(self, name: str) -> Stream:
        return Stream(self.seed, name)

    # -- tenants ---------------------------------------------------------------------------------------
    def org_of_project(self, p: np.ndarray) -> np.ndarray:
        return np.asarray(p) % self.n.organizations

    def member(self, org: np.ndarray, r: np.ndarray, total: int) -> np.ndarray:
        """Entity number `r` (uniform in [0,1)) among the `total` entities dealt round-robin to orgs."""
        org = np.asarray(org)
        per_org = (total - org + self.n.organizations - 1) // self.n.organizations
        return org + self.n.organizations * np.floor(r * per_org).astype(np.int64)

    def user_of(self, org: np.ndarray, r: np.ndarray) -> np.ndarray:
        return self.member(org, r, self.n.users)

    # -- issues ----------------------------------------------------------------------------------------
    @cached_property
    def _slots(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """Issues are dealt to projects in blocks of S slots; project p owns w_p slots of each block.

        This gives hot projects and dense per-project `number` sequences as a pure function of the ordinal.
        """
        n = self.n.projects
        weights = np.maximum(1, np.round(20 / np.arange(1, n + 1) ** _PROJECT_SKEW)).astype(np.int64)
        order = np.argsort(self.stream("projects").uniform("hotness", np.arange(n)), kind="stable")
        weights = weights[np.argsort(order, kind="stable")]  # hot projects spread over the ordinals
        slot_project = np.repeat(np.arange(n), weights)
        starts = np.concatenate([[0], np.cumsum(weights)[:-1]])
        slot_rank = np.arange(len(slot_project)) - starts[slot_project]
        return slot_project, slot_rank, weights, int(weights.sum())

    @property
    def block(self) -> int:
        return self._slots[3]

    def issue_project(self, i: np.ndarray) -> np.ndarray:
        slot_project, _, _, size = self._slots
        return slot_project[np.asarray(i) % size]

    def issue_number(self, i: np.ndarray) -> np.ndarray:
        slot_project, slot_rank, weights, size = self._slots
        i = np.asarray(i)
        slot = i % size
        return (i // size) * weights[slot_project[slot]] + slot_rank[slot] + 1

    def issue_org(self, i: np.ndarray) -> np.ndarray:
        return self.org_of_project(self.issue_project(i))

    def issue_hours(self, i: np.ndarray) -> np.ndarray:
        return self.schedule.ordinal_hours("issues", i)

    def issue_touched(self, i: np.ndarray) -> np.ndarray:
        """When an initial issue was last edited before week 0 (its creation for issues of week 0 onwards)."""
        created = self.issue_hours(i)
        return created + np.maximum(0.0, -created) * self.stream("issues").uniform("touched", i)

    def recent_issue(self, name: str, field: str, ordinals: np.ndarray, hours: np.ndarray) -> np.ndarray:
        """An issue created before each time, far more often a recent one than an old one."""
        available = np.maximum(self.schedule.count_before("issues", hours), 1)
        back = np.floor(available * self.stream(name).uniform(field, ordinals) ** self.recency)
        return (available - 1 - back).astype(np.int64)

    def comment_issue(self, c: np.ndarray) -> np.ndarray:
        """The issue comment `c` belongs to (heavy-tailed: recent issues collect most comments)."""
        return self.recent_issue("comments", "issue", c, self.schedule.ordinal_hours("comments", c))

    def attachment_issue(self, a: np.ndarray) -> np.ndarray:
        """The issue attachment `a` is attached to (recent issues collect most)."""
        return self.recent_issue("attachments", "issue", a, self.schedule.ordinal_hours("attachments", a))

    def initial_comment_counts(self) -> np.ndarray:
        """comment_count of every initial issue, from the initial comments' issues."""
        return self._initial_counts("comments")

    def initial_attachment_counts(self) -> np.ndarray:
        return self._initial_counts("attachments")

    def _initial_counts(self, stream: str) -> np.ndarray:
        cache = self.__dict__.setdefault("_count_cache", {})
        if stream not in cache:
            n_issues = self.schedule.initial("issues")
            counts = np.zeros(n_issues, dtype=np.int64)
            total = self.schedule.initial(stream)
            for first in range(0, total, 1_000_000):
                c = np.arange(first, min(total, first + 1_000_000))
                issues = self.comment_issue(c) if stream == "comments" else self.attachment_issue(c)
                counts += np.bincount(issues, minlength=n_issues)[:n_issues]
            cache[stream] = counts
        return cache[stream]
