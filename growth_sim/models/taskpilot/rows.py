"""Row generators of the TaskPilot tables: vectorised, each value a function of (seed, table, ordinal)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from growth_sim.generate.batch import NULL, Batch, bytea_text, text_batch
from growth_sim.generate.rand import Stream, key, timestamps, uuid_strings
from growth_sim.generate.text import CORPUS_CHARS, slices
from growth_sim.models.taskpilot.world import PRIORITIES, STATUSES, World

ACTIONS = {"created": 0.10, "updated": 0.30, "status_changed": 0.25, "assigned": 0.15, "commented": 0.20}
NOTIFICATION_TYPES = {"issue_assigned": 0.25, "issue_mentioned": 0.15, "comment_added": 0.35,
                      "issue_updated": 0.20, "due_date_reminder": 0.05}
EVENT_TYPES = ("issue.created", "issue.updated", "comment.created")
USER_AGENTS = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15",
               "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36",
               "TaskPilot-Mobile/3.4.1 (iOS 17.5)", "taskpilot-cli/1.8.0 python-httpx/0.27")
_ESTIMATES = np.array([1, 2, 3, 5, 8, 13])


@dataclass(frozen=True)
class Widths:
    """Width factors per table (calibrated) and the mean attachment preview size of a unit."""

    factors: dict[str, float]
    preview_bytes: int = 0

    def factor(self, table: str) -> float:
        return self.factors.get(table, 1.0)


def _ids(world: World, table: str, ordinals: np.ndarray) -> list[str]:
    return uuid_strings(world.seed, table, ordinals)


def _ts(world: World, hours: np.ndarray) -> list[str]:
    return timestamps(world.schedule.profile.start, hours)


def _ints(values: np.ndarray) -> list[str]:
    return np.asarray(values).astype(np.int64).astype(str).tolist()


def _pick(names: tuple[str, ...], idx: np.ndarray) -> list[str]:
    return np.asarray(names, dtype=object)[idx].tolist()


def _nullable(values: list[str], present: np.ndarray) -> list[str]:
    return [v if p else NULL for v, p in zip(values, present.tolist(), strict=True)]


def _text(world: World, table: str, field: str, ordinals: np.ndarray, factor: float = 1.0) -> list[str]:
    """Corpus text with the profile's length distribution for the table, scaled by its width factor."""
    width = world.schedule.profile.widths.get(table)
    spec = width.text if width else None
    median, sigma, lo, hi = (spec.median, spec.sigma, spec.min, spec.max) if spec else (60, 0.4, 10, 200)
    s = world.stream(table)
    lengths = np.clip(s.lognormal(field + ".len", ordinals, median * factor, sigma), lo, hi).astype(np.int64)
    offsets = (s.bits(field + ".at", ordinals) % np.uint64(CORPUS_CHARS)).astype(np.int64)
    return slices(offsets, lengths)


def _short(world: World, table: str, field: str, ordinals: np.ndarray, lo: int, hi: int) -> list[str]:
    s = world.stream(table)
    lengths = lo + s.integers(field + ".len", ordinals, hi - lo + 1)
    offsets = (s.bits(field + ".at", ordinals) % np.uint64(CORPUS_CHARS)).astype(np.int64)
    return [t.strip() or "untitled" for t in slices(offsets, lengths)]


# -- reference entities (small: built once with the initial dataset) -------------------------------------
def reference(world: World) -> list[Batch]:
    """Organizations, users, teams, members, projects, cycles, labels, webhooks, tokens, SLA, recurring."""
    n = world.n
    start = world.schedule.profile.start
    history = world.schedule.profile.history_days * 24
    batches = []

    o = np.arange(n.organizations)
    s = world.stream("organizations")
    names = _short(world, "organizations", "name", o, 6, 24)
    batches.append(text_batch("organizations", {
        "id": _ids(world, "organizations", o),
        "name": [f"{x.title()} Inc"[:100] for x in names],
        "slug": [f"org-{i}" for i in o.tolist()],
        "plan_type": _pick(("free", "starter", "pro", "enterprise"),
                           s.choice("plan", o, {"free": .4, "starter": .3, "pro": .2, "enterprise": .1})),
        "settings": ['{"timezone": "UTC", "date_format": "YYYY-MM-DD", "default_issue_status": "backlog"}'] * len(o),
        "created_at": _ts(world, -history - 720 * (1 + s.uniform("created", o))),
    }))

    u = np.arange(n.users)
    s = world.stream("users")
    org = u % n.organizations
    batches.append(text_batch("users", {
        "id": _ids(world, "users", u),
        "organization_id": _ids(world, "organizations", org),
        "email": [f"user{i}@org-{g}.taskpilot.test" for i, g in zip(u.tolist(), org.tolist(), strict=True)],
        "name": [f"User {i}" for i in u.tolist()],
        "username": [f"user{i}" for i in u.tolist()],
        "is_admin": np.where(s.uniform("admin", u) < 0.05, "t", "f").tolist(),
        "preferences": ['{"theme": "system", "notifications_email": true}'] * len(u),
        "created_at": _ts(world, -history - 24 * 30 * s.uniform("created", u)),
    }))

    t = np.arange(n.teams)
    t_org = t % n.organizations
    batches.append(text_batch("teams", {
        "id": _ids(world, "teams", t),
        "organization_id": _ids(world, "organizations", t_org),
        "name": [f"Team {i}" for i in t.tolist()],
        "slug": [f"team-{i}" for i in t.tolist()],
        "description": _short(world, "teams", "description", t, 20, 120),
        "created_at": _ts(world, np.full(len(t), -history)),
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
        "id": _ids(world, "team_members", m),
        "team_id": _ids(world, "teams", team),
        "user_id": _ids(world, "users", m_org + n.organizations * pos),
        "role": _pick(("member", "lead", "admin"), world.stream("team_members").choice(
            "role", m, {"member": .7, "lead": .2, "admin": .1})),
        "joined_at": _ts(world, np.full(len(m), -history + 1)),
    }))

    p = np.arange(n.projects)
    s = world.stream("projects")
    p_org = world.org_of_project(p)
    teams_in_org = (n.teams - p_org + n.organizations - 1) // n.organizations
    batches.append(text_batch("projects", {
        "id": _ids(world, "projects", p),
        "organization_id": _ids(world, "organizations", p_org),
        "team_id": _ids(world, "teams", world.member(p_org, s.uniform("team", p), n.teams)),
        "lead_id": _ids(world, "users", world.user_of(p_org, s.uniform("lead", p))),
        "name": [f"{x.title()} Platform"[:100] for x in _short(world, "projects", "name", p, 4, 30)],
        "key": [_project_key(i) for i in p.tolist()],
        "description": _short(world, "projects", "description", p, 40, 200),
        "status": _pick(("active", "paused", "archived"), s.choice("status", p, {"active": .8, "paused": .1,
                                                                                  "archived": .1})),
        "created_at": _ts(world, np.full(len(p), -history)),
    }))
    assert teams_in_org.min() >= 1

    c = np.arange(n.projects * n.cycles_per_project)
    number = c % n.cycles_per_project
    begin = np.datetime64(start.date()) + (14 * (number - n.cycles_per_project // 2)).astype("timedelta64[D]")
    batches.append(text_batch("cycles", {
        "id": _ids(world, "cycles", c),
        "project_id": _ids(world, "projects", c // n.cycles_per_project),
        "name": [f"Cycle {k + 1}" for k in number.tolist()],
        "number": _ints(number + 1),
        "start_date": np.datetime_as_string(begin).tolist(),
        "end_date": np.datetime_as_string(begin + np.timedelta64(13, "D")).tolist(),
        "status": ["completed" if k < n.cycles_per_project // 2 else "active" for k in number.tolist()],
        "created_at": _ts(world, np.full(len(c), -history)),
    }))

    lab = np.arange(n.projects * n.labels_per_project)
    label_names = ("bug", "feature", "improvement", "docs", "security", "performance", "ux", "tech-debt")
    batches.append(text_batch("labels", {
        "id": _ids(world, "labels", lab),
        "project_id": _ids(world, "projects", lab // n.labels_per_project),
        "name": [f"{label_names[k % len(label_names)]}-{k}" for k in (lab % n.labels_per_project).tolist()],
        "description": _short(world, "labels", "description", lab, 10, 90),
        "color": [f"#{(k * 2654435761) % 0xFFFFFF:06x}" for k in lab.tolist()],
        "created_at": _ts(world, np.full(len(lab), -history)),
    }))

    w = np.arange(n.webhooks)
    batches.append(text_batch("webhooks", {
        "id": _ids(world, "webhooks", w),
        "organization_id": _ids(world, "organizations", w % n.organizations),
        "name": [f"Webhook {i}" for i in w.tolist()],
        "url": [f"https://hooks.example.com/taskpilot/{i}" for i in w.tolist()],
        "secret": [f"whsec_{x}" for x in _ids(world, "webhooks.secret", w)],
        "events": ["{issue.created,issue.updated,comment.created}"] * len(w),
        "created_at": _ts(world, np.full(len(w), -history)),
    }))

    a = np.arange(n.api_tokens)
    token_user = a % n.users
    batches.append(text_batch("api_tokens", {
        "id": _ids(world, "api_tokens", a),
        "user_id": _ids(world, "users", token_user),
        "name": [f"token {i}" for i in a.tolist()],
        "token_hash": [x.replace("-", "") for x in _ids(world, "api_tokens.hash", a)],
        "token_prefix": [f"tp_{i % 100000:05d}" for i in a.tolist()],
        "created_at": _ts(world, np.full(len(a), -history)),
    }))

    sp = np.arange(n.organizations * n.sla_policies_per_organization)
    hours_target = np.where(sp % 2 == 0, 4, 24)
    batches.append(text_batch("sla_policies", {
        "id": _ids(world, "sla_policies", sp),
        "organization_id": _ids(world, "organizations", sp // n.sla_policies_per_organization),
        "name": [f"SLA {'urgent' if k % 2 == 0 else 'standard'}" for k in sp.tolist()],
        "conditions": ['{"priority": ["urgent", "high"]}' if k % 2 == 0 else '{"priority": ["medium", "low"]}'
                       for k in sp.tolist()],
        "targets": [f'{{"first_response_hours": {h}, "resolution_hours": {h * 6}}}' for h in hours_target.tolist()],
        "created_at": _ts(world, np.full(len(sp), -history)),
    }))

    r = np.arange(n.projects * n.recurring_configs_per_project)
    s = world.stream("recurring_issue_configs")
    r_project = r // n.recurring_configs_per_project
    batches.append(text_batch("recurring_issue_configs", {
        "id": _ids(world, "recurring_issue_configs", r),
        "project_id": _ids(world, "projects", r_project),
        "template": ['{"title": "Weekly maintenance review", "priority": "medium"}'] * len(r),
        "schedule_type": _pick(("daily", "weekly", "monthly"), s.integers("type", r, 3)),
        "next_run_at": _ts(world, 24 * s.uniform("next", r) * 7),
        "created_by_id": _ids(world, "users", world.user_of(world.org_of_project(r_project), s.uniform("by", r))),
        "created_at": _ts(world, np.full(len(r), -history)),
        "updated_at": _ts(world, np.full(len(r), -history)),
    }))
    return batches


def _project_key(i: int) -> str:
    letters = ""
    i += 26 * 27  # at least three letters
    while i:
        i, rem = divmod(i, 26)
        letters = chr(65 + rem) + letters
    return letters[:10]


# -- growing tables --------------------------------------------------------------------------------------
def issues(world: World, first: int, stop: int, widths: Widths) -> Batch:
    i = np.arange(first, stop)
    s = world.stream("issues")
    created = world.issue_hours(i)
    project = world.issue_project(i)
    org = world.org_of_project(project)
    initial = world.schedule.initial("issues")
    historic = i < initial
    status_mix = world.params["initial_status_mix"]
    status = np.where(historic, s.choice("status", i, status_mix), 0)
    touched = world.issue_touched(i)
    started = created + (touched - created) * s.uniform("started", i) * 0.5
    has_started = status >= 2
    done = status >= 4
    completed = started + (touched - started) * s.uniform("completed", i)
    assigned = s.uniform("assigned", i) < 0.7
    estimate = _ESTIMATES[s.integers("estimate", i, len(_ESTIMATES))]
    due = np.datetime64(world.schedule.profile.start.date()) + np.floor(
        (created / 24) + 3 + 40 * s.uniform("due", i)).astype("timedelta64[D]")
    cycles = world.n.cycles_per_project
    counts = np.zeros(len(i), dtype=np.int64)
    attachments = np.zeros(len(i), dtype=np.int64)
    if historic.any():
        counts[historic] = world.initial_comment_counts()[i[historic]]
        attachments[historic] = world.initial_attachment_counts()[i[historic]]
    source = np.where(s.uniform("source", i) < 0.8, "web", "api")
    return text_batch("issues", {
        "id": _ids(world, "issues", i),
        "project_id": _ids(world, "projects", project),
        "cycle_id": _nullable(_ids(world, "cycles", project * cycles + s.integers("cycle", i, cycles)),
                              s.uniform("in_cycle", i) < 0.4),
        "creator_id": _ids(world, "users", world.user_of(org, s.uniform("creator", i))),
        "assignee_id": _nullable(_ids(world, "users", world.user_of(org, s.uniform("assignee", i))), assigned),
        "number": _ints(world.issue_number(i)),
        "title": _short(world, "issues", "title", i, 24, 90),
        "description": _text(world, "issues", "description", i, widths.factor("issues")),
        "status": _pick(STATUSES, status),
        "priority": _pick(PRIORITIES, s.choice("priority", i, world.params["priority_mix"])),
        "estimate": _nullable(_ints(estimate), s.uniform("has_estimate", i) < 0.51),
        "due_date": _nullable(np.datetime_as_string(due).tolist(), s.uniform("has_due", i) < 0.4),
        "started_at": _nullable(_ts(world, started), has_started),
        "completed_at": _nullable(_ts(world, completed), done),
        "metadata": [f'{{"source": "{x}", "version": 1}}' for x in source.tolist()],
        "comment_count": _ints(counts),
        "attachment_count": _ints(attachments),
        "sort_order": _ints(world.issue_number(i) * 1024),
        "created_at": _ts(world, created),
        "updated_at": _ts(world, np.where(historic, touched, created)),
    })


def issue_labels(world: World, first: int, stop: int, widths: Widths) -> Batch:
    m = np.arange(first, stop)
    issue, slot = world.schedule.parents("issue_labels", m)
    per = world.n.labels_per_project
    label = (slot + world.stream("issue_labels").integers("label", issue, per)) % per
    return text_batch("issue_labels", {
        "issue_id": _ids(world, "issues", issue),
        "label_id": _ids(world, "labels", world.issue_project(issue) * per + label),
        "created_at": _ts(world, world.issue_hours(issue) + 0.001),
    })


def issue_links(world: World, first: int, stop: int, widths: Widths) -> Batch:
    m = np.arange(first, stop)
    source, _ = world.schedule.parents("issue_links", m)
    target = np.where(source >= world.block, source - world.block, np.maximum(source - 1, 0))
    target = np.where(target == source, source + 1, target)
    org = world.issue_org(source)
    s = world.stream("issue_links")
    return text_batch("issue_links", {
        "id": _ids(world, "issue_links", m),
        "source_issue_id": _ids(world, "issues", source),
        "target_issue_id": _ids(world, "issues", target),
        "link_type": _pick(("blocks", "relates_to", "duplicates"), s.integers("type", m, 3)),
        "created_by_id": _ids(world, "users", world.user_of(org, s.uniform("by", m))),
        "created_at": _ts(world, np.maximum(world.issue_hours(source), world.issue_hours(target)) + 0.002),
    })


def sla_status(world: World, first: int, stop: int, widths: Widths) -> Batch:
    m = np.arange(first, stop)
    issue, _ = world.schedule.parents("sla_status", m)
    created = world.issue_hours(issue) + 0.001
    per_org = world.n.sla_policies_per_organization
    s = world.stream("sla_status")
    responded = created + 8 * s.uniform("response", m)
    answered = responded < np.maximum(created, 0)  # only history issues have a recorded first response
    return text_batch("sla_status", {
        "id": _ids(world, "sla_status", m),
        "issue_id": _ids(world, "issues", issue),
        "policy_id": _ids(world, "sla_policies", world.issue_org(issue) * per_org + s.integers("policy", m, per_org)),
        "first_response_at": _nullable(_ts(world, responded), answered),
        "first_response_breached": np.where(answered & (responded - created > 4), "t", "f").tolist(),
        "created_at": _ts(world, created),
        "updated_at": _ts(world, np.where(answered, responded, created)),
    })


def comments(world: World, first: int, stop: int, widths: Widths) -> Batch:
    c = np.arange(first, stop)
    s = world.stream("comments")
    issue = world.comment_issue(c)
    created = np.maximum(world.schedule.ordinal_hours("comments", c), world.issue_hours(issue) + 0.01)
    reactions = np.where(s.uniform("reacted", c) < 0.1, '{"+1": 1}', "{}")
    return text_batch("comments", {
        "id": _ids(world, "comments", c),
        "issue_id": _ids(world, "issues", issue),
        "user_id": _ids(world, "users", world.user_of(world.issue_org(issue), s.uniform("user", c))),
        "body": _text(world, "comments", "body", c, widths.factor("comments")),
        "is_internal": np.where(s.uniform("internal", c) < 0.05, "t", "f").tolist(),
        "reactions": reactions.tolist(),
        "created_at": _ts(world, created),
        "updated_at": _ts(world, created),
    })


def _about_recent_issue(world: World, table: str, ordinals: np.ndarray) -> tuple[Stream, np.ndarray, np.ndarray]:
    """A row's value stream, the recent issue it is about, and its creation time (after that issue's)."""
    hours = world.schedule.ordinal_hours(table, ordinals)
    issue = world.recent_issue(table, "issue", ordinals, hours)
    return world.stream(table), issue, np.maximum(hours, world.issue_hours(issue) + 0.01)


def attachments(world: World, first: int, stop: int, widths: Widths) -> Batch:
    a = np.arange(first, stop)
    s, issue, created = _about_recent_issue(world, "attachments", a)
    spec = world.schedule.profile.widths.get("attachments")
    lo, hi = (spec.preview_min, spec.preview_max) if spec else (0, 0)
    sizes = np.clip(s.lognormal("preview", a, widths.preview_bytes, 0.5), lo, hi).astype(np.int64)
    sizes[widths.preview_bytes <= 0] = 0
    previews = [bytea_text(_random_bytes(world.seed, o, n)) if n else NULL
                for o, n in zip(a.tolist(), sizes.tolist(), strict=True)]
    names = [f"document-{o}.png" for o in a.tolist()]
    return text_batch("attachments", {
        "id": _ids(world, "attachments", a),
        "issue_id": _ids(world, "issues", issue),
        "user_id": _ids(world, "users", world.user_of(world.issue_org(issue), s.uniform("user", a))),
        "filename": names,
        "original_filename": names,
        "content_type": ["image/png"] * len(a),
        "file_size": _ints(sizes * 4 + 1024 + s.integers("size", a, 500_000)),
        "storage_key": [f"attachments/{x}" for x in _ids(world, "attachments", a)],
        "width": _ints(320 + s.integers("w", a, 1600)),
        "height": _ints(240 + s.integers("h", a, 1200)),
        "created_at": _ts(world, created),
        "preview": previews,
    })


def _random_bytes(seed: int, ordinal: int, size: int) -> bytes:
    """Incompressible preview bytes (like PNG data) of one attachment."""
    gen = np.random.Generator(np.random.Philox(key=int(key(seed, "attachments", "preview")) ^ ordinal))
    return gen.bytes(size)


def _event_issues(world: World, table: str, ordinals: np.ndarray, hours: np.ndarray,
                  kind: np.ndarray, created_kind: int, comment_kind: int) -> tuple[np.ndarray, np.ndarray]:
    """The issue (and comment, or -1) an activity or notification row is about, created before it."""
    issue = world.recent_issue(table, "issue", ordinals, hours)
    newest_issue = np.maximum(world.schedule.count_before("issues", hours) - 1, 0)
    issue = np.where(kind == created_kind, newest_issue, issue)
    comment = np.full(len(ordinals), -1, dtype=np.int64)
    about_comment = kind == comment_kind
    if about_comment.any():
        latest = world.schedule.count_before("comments", hours[about_comment]) - 1
        has = latest >= 0
        comment_rows = np.where(has, latest, 0)
        issue[about_comment] = np.where(has, world.comment_issue(comment_rows), issue[about_comment])
        comment[about_comment] = np.where(has, comment_rows, -1)
    return issue, comment


def activity_log(world: World, first: int, stop: int, widths: Widths) -> Batch:
    m = np.arange(first, stop)
    s = world.stream("activity_log")
    hours = world.schedule.ordinal_hours("activity_log", m)
    action = s.choice("action", m, ACTIONS)
    names = tuple(ACTIONS)
    issue, comment = _event_issues(world, "activity_log", m, hours, action, 0, names.index("commented"))
    project = world.issue_project(issue)
    org = world.org_of_project(project)
    created = np.maximum(hours, world.issue_hours(issue) + 0.005)
    field = _pick(("status", "priority", "assignee_id", "estimate", "due_date"), s.integers("field", m, 5))
    old = _pick(STATUSES, s.integers("old", m, 6))
    new = _pick(STATUSES, s.integers("new", m, 6))
    notes = _text(world, "activity_log", "note", m, widths.factor("activity_log"))
    changes = [f'{{"field": "{f}", "old": "{o}", "new": "{n}", "note": "{t}"}}'
               for f, o, n, t in zip(field, old, new, notes, strict=True)]
    is_comment = comment >= 0
    octets = s.bits("ip", m)
    return text_batch("activity_log", {
        "id": _ids(world, "activity_log", m),
        "organization_id": _ids(world, "organizations", org),
        "project_id": _ids(world, "projects", project),
        "issue_id": _ids(world, "issues", issue),
        "user_id": _ids(world, "users", world.user_of(org, s.uniform("user", m))),
        "action": _pick(names, action),
        "entity_type": np.where(is_comment, "comment", "issue").tolist(),
        "entity_id": [c if k else i for c, i, k in zip(_ids(world, "comments", np.maximum(comment, 0)),
                                                       _ids(world, "issues", issue), is_comment.tolist(),
                                                       strict=True)],
        "changes": changes,
        "ip_address": [f"10.{(x >> 16) & 255}.{(x >> 8) & 255}.{x & 255}" for x in (octets >> np.uint64(8)).tolist()],
        "user_agent": _pick(USER_AGENTS, (octets % np.uint64(len(USER_AGENTS))).astype(np.int64)),
        "created_at": _ts(world, created),
    })


def notifications(world: World, first: int, stop: int, widths: Widths) -> Batch:
    m = np.arange(first, stop)
    s = world.stream("notifications")
    schedule = world.schedule
    hours = schedule.ordinal_hours("notifications", m)
    kind = s.choice("type", m, NOTIFICATION_TYPES)
    names = tuple(NOTIFICATION_TYPES)
    issue, comment = _event_issues(world, "notifications", m, hours, kind, -1, names.index("comment_added"))
    org = world.issue_org(issue)
    created = np.maximum(hours, world.issue_hours(issue) + 0.005)
    issue_ids = _ids(world, "issues", issue)
    return text_batch("notifications", {
        "id": _ids(world, "notifications", m),
        "user_id": _ids(world, "users", world.user_of(org, s.uniform("user", m))),
        "type": _pick(names, kind),
        "title": [f"{n.replace('_', ' ').capitalize()}: {t}" for n, t in
                  zip(_pick(names, kind), _short(world, "notifications", "title", m, 20, 80), strict=True)],
        "body": _text(world, "notifications", "body", m, widths.factor("notifications")),
        "issue_id": issue_ids,
        "comment_id": _nullable(_ids(world, "comments", np.maximum(comment, 0)), comment >= 0),
        "actor_id": _ids(world, "users", world.user_of(org, s.uniform("actor", m))),
        "url": [f"/issues/{x}" for x in issue_ids],
        "created_at": _ts(world, created),
    })


def webhook_deliveries(world: World, first: int, stop: int, widths: Widths) -> Batch:
    d = np.arange(first, stop)
    s, issue, created = _about_recent_issue(world, "webhook_deliveries", d)
    org = world.issue_org(issue)
    webhook = np.where(org < world.n.webhooks, world.member(org, s.uniform("hook", d), world.n.webhooks),
                       org % world.n.webhooks)
    failed = s.uniform("failed", d) < 0.05
    event = _pick(EVENT_TYPES, s.integers("event", d, len(EVENT_TYPES)))
    issue_ids = _ids(world, "issues", issue)
    texts = _text(world, "webhook_deliveries", "payload", d, widths.factor("webhook_deliveries"))
    payload = [f'{{"event": "{e}", "issue_id": "{i}", "data": {{"description": "{t}"}}}}'
               for e, i, t in zip(event, issue_ids, texts, strict=True)]
    latency = 20 + s.integers("latency", d, 900)
    return text_batch("webhook_deliveries", {
        "id": _ints(d + 1),
        "webhook_id": _ids(world, "webhooks", webhook),
        "event_type": event,
        "payload": payload,
        "response_status": np.where(failed, "500", "200").tolist(),
        "response_time_ms": _ints(latency),
        "attempt_number": ["1"] * len(d),
        "next_retry_at": _nullable(_ts(world, created + 0.25), failed),
        "delivered_at": _nullable(_ts(world, created + latency / 3.6e6), ~failed),
        "created_at": _ts(world, created),
    })


GENERATORS = {
    "issues": issues, "issue_labels": issue_labels, "issue_links": issue_links, "sla_status": sla_status,
    "comments": comments, "attachments": attachments, "activity_log": activity_log,
    "notifications": notifications, "webhook_deliveries": webhook_deliveries,
}
