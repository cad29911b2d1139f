"""Reference rows of TaskPilot (tenants, people, projects, ...): small, written once with the initial dataset."""

from __future__ import annotations

import numpy as np

from growth_sim.generate.batch import Batch, text_batch
from growth_sim.models.taskpilot.values import ids, ints, pick, short_text, times
from growth_sim.models.taskpilot.world import World


def reference(world: World) -> list[Batch]:
    """Organizations, users, teams, members, projects, cycles, labels, webhooks, tokens, SLA, recurring."""
    n = world.n
    start = world.schedule.profile.start
    history = world.schedule.profile.history_days * 24
    batches = []

    o = np.arange(n.organizations)
    s = world.stream("organizations")
    names = short_text(world, "organizations", "name", o, 6, 24)
    batches.append(text_batch("organizations", {
        "id": ids(world, "organizations", o),
        "name": [f"{x.title()} Inc"[:100] for x in names],
        "slug": [f"org-{i}" for i in o.tolist()],
        "plan_type": pick(("free", "starter", "pro", "enterprise"),
                           s.choice("plan", o, {"free": .4, "starter": .3, "pro": .2, "enterprise": .1})),
        "settings": ['{"timezone": "UTC", "date_format": "YYYY-MM-DD", "default_issue_status": "backlog"}'] * len(o),
        "created_at": times(world, -history - 720 * (1 + s.uniform("created", o))),
    }))

    u = np.arange(n.users)
    s = world.stream("users")
    org = u % n.organizations
    batches.append(text_batch("users", {
        "id": ids(world, "users", u),
        "organization_id": ids(world, "organizations", org),
        "email": [f"user{i}@org-{g}.taskpilot.test" for i, g in zip(u.tolist(), org.tolist(), strict=True)],
        "name": [f"User {i}" for i in u.tolist()],
        "username": [f"user{i}" for i in u.tolist()],
        "is_admin": np.where(s.uniform("admin", u) < 0.05, "t", "f").tolist(),
        "preferences": ['{"theme": "system", "notifications_email": true}'] * len(u),
        "created_at": times(world, -history - 24 * 30 * s.uniform("created", u)),
    }))

    t = np.arange(n.teams)
    t_org = t % n.organizations
    batches.append(text_batch("teams", {
        "id": ids(world, "teams", t),
        "organization_id": ids(world, "organizations", t_org),
        "name": [f"Team {i}" for i in t.tolist()],
        "slug": [f"team-{i}" for i in t.tolist()],
        "description": short_text(world, "teams", "description", t, 20, 120),
        "created_at": times(world, np.full(len(t), -history)),
    }))

    m = np.arange(n.teams * n.team_members_per_team)
    team = m // n.team_members_per_team
    m_org = team % n.organizations
    per_org = (n.users - m_org + n.organizations - 1) // n.organizations
    # distinct members of a team: consecutive users of the org, starting at a team-specific offset
    pos = (world.stream("team_members").integers("start", team, per_org) + m % n.team_members_per_team) % per_org
    keep = m % n.team_members_per_team < per_org
    m, team, m_org, pos = m[keep], team[keep], m_org[keep], pos[keep]
    batches.append(text_batch("team_members", {
        "id": ids(world, "team_members", m),
        "team_id": ids(world, "teams", team),
        "user_id": ids(world, "users", m_org + n.organizations * pos),
        "role": pick(("member", "lead", "admin"), world.stream("team_members").choice(
            "role", m, {"member": .7, "lead": .2, "admin": .1})),
        "joined_at": times(world, np.full(len(m), -history + 1)),
    }))

    p = np.arange(n.projects)
    s = world.stream("projects")
    p_org = world.org_of_project(p)
    teams_in_org = (n.teams - p_org + n.organizations - 1) // n.organizations
    batches.append(text_batch("projects", {
        "id": ids(world, "projects", p),
        "organization_id": ids(world, "organizations", p_org),
        "team_id": ids(world, "teams", world.member(p_org, s.uniform("team", p), n.teams)),
        "lead_id": ids(world, "users", world.user_of(p_org, s.uniform("lead", p))),
        "name": [f"{x.title()} Platform"[:100] for x in short_text(world, "projects", "name", p, 4, 30)],
        "key": [_project_key(i) for i in p.tolist()],
        "description": short_text(world, "projects", "description", p, 40, 200),
        "status": pick(("active", "paused", "archived"), s.choice("status", p, {"active": .8, "paused": .1,
                                                                                  "archived": .1})),
        "created_at": times(world, np.full(len(p), -history)),
    }))
    assert teams_in_org.min() >= 1

    c = np.arange(n.projects * n.cycles_per_project)
    number = c % n.cycles_per_project
    begin = np.datetime64(start.date()) + (14 * (number - n.cycles_per_project // 2)).astype("timedelta64[D]")
    batches.append(text_batch("cycles", {
        "id": ids(world, "cycles", c),
        "project_id": ids(world, "projects", c // n.cycles_per_project),
        "name": [f"Cycle {k + 1}" for k in number.tolist()],
        "number": ints(number + 1),
        "start_date": np.datetime_as_string(begin).tolist(),
        "end_date": np.datetime_as_string(begin + np.timedelta64(13, "D")).tolist(),
        "status": ["completed" if k < n.cycles_per_project // 2 else "active" for k in number.tolist()],
        "created_at": times(world, np.full(len(c), -history)),
    }))

    lab = np.arange(n.projects * n.labels_per_project)
    label_names = ("bug", "feature", "improvement", "docs", "security", "performance", "ux", "tech-debt")
    batches.append(text_batch("labels", {
        "id": ids(world, "labels", lab),
        "project_id": ids(world, "projects", lab // n.labels_per_project),
        "name": [f"{label_names[k % len(label_names)]}-{k}" for k in (lab % n.labels_per_project).tolist()],
        "description": short_text(world, "labels", "description", lab, 10, 90),
        "color": [f"#{(k * 2654435761) % 0xFFFFFF:06x}" for k in lab.tolist()],
        "created_at": times(world, np.full(len(lab), -history)),
    }))

    w = np.arange(n.webhooks)
    batches.append(text_batch("webhooks", {
        "id": ids(world, "webhooks", w),
        "organization_id": ids(world, "organizations", w % n.organizations),
        "name": [f"Webhook {i}" for i in w.tolist()],
        "url": [f"https://hooks.example.com/taskpilot/{i}" for i in w.tolist()],
        "secret": [f"whsec_{x}" for x in ids(world, "webhooks.secret", w)],
        "events": ["{issue.created,issue.updated,comment.created}"] * len(w),
        "created_at": times(world, np.full(len(w), -history)),
    }))

    a = np.arange(n.api_tokens)
    token_user = a % n.users
    batches.append(text_batch("api_tokens", {
        "id": ids(world, "api_tokens", a),
        "user_id": ids(world, "users", token_user),
        "name": [f"token {i}" for i in a.tolist()],
        "token_hash": [x.replace("-", "") for x in ids(world, "api_tokens.hash", a)],
        "token_prefix": [f"tp_{i % 100000:05d}" for i in a.tolist()],
        "created_at": times(world, np.full(len(a), -history)),
    }))

    sp = np.arange(n.organizations * n.sla_policies_per_organization)
    hours_target = np.where(sp % 2 == 0, 4, 24)
    batches.append(text_batch("sla_policies", {
        "id": ids(world, "sla_policies", sp),
        "organization_id": ids(world, "organizations", sp // n.sla_policies_per_organization),
        "name": [f"SLA {'urgent' if k % 2 == 0 else 'standard'}" for k in sp.tolist()],
        "conditions": ['{"priority": ["urgent", "high"]}' if k % 2 == 0 else '{"priority": ["medium", "low"]}'
                       for k in sp.tolist()],
        "targets": [f'{{"first_response_hours": {h}, "resolution_hours": {h * 6}}}' for h in hours_target.tolist()],
        "created_at": times(world, np.full(len(sp), -history)),
    }))

    r = np.arange(n.projects * n.recurring_configs_per_project)
    s = world.stream("recurring_issue_configs")
    r_project = r // n.recurring_configs_per_project
    batches.append(text_batch("recurring_issue_configs", {
        "id": ids(world, "recurring_issue_configs", r),
        "project_id": ids(world, "projects", r_project),
        "template": ['{"title": "Weekly maintenance review", "priority": "medium"}'] * len(r),
        "schedule_type": pick(("daily", "weekly", "monthly"), s.integers("type", r, 3)),
        "next_run_at": times(world, 24 * s.uniform("next", r) * 7),
        "created_by_id": ids(world, "users", world.user_of(world.org_of_project(r_project), s.uniform("by", r))),
        "created_at": times(world, np.full(len(r), -history)),
        "updated_at": times(world, np.full(len(r), -history)),
    }))
    return batches


def _project_key(i: int) -> str:
    letters = ""
    i += 26 * 27  # at least three letters
    while i:
        i, rem = divmod(i, 26)
        letters = chr(65 + rem) + letters
    return letters[:10]
