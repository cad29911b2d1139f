"""Row generators of the growing TaskPilot tables: vectorised, each value a function of (seed, table, ordinal)."""

from __future__ import annotations

import numpy as np

from growth_sim.generate import payload
from growth_sim.generate.batch import NULL, Batch, binary_batch, text_batch
from growth_sim.generate.rand import Stream
from growth_sim.models.api import Widths
from growth_sim.models.taskpilot.values import corpus_text, ids, ints, nullable, pick, short_text, times
from growth_sim.models.taskpilot.world import PRIORITIES, STATUSES, World

ACTIONS = {"created": 0.10, "updated": 0.30, "status_changed": 0.25, "assigned": 0.15, "commented": 0.20}
NOTIFICATION_TYPES = {"issue_assigned": 0.25, "issue_mentioned": 0.15, "comment_added": 0.35,
                      "issue_updated": 0.20, "due_date_reminder": 0.05}
EVENT_TYPES = ("issue.created", "issue.updated", "comment.created")
USER_AGENTS = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15",
               "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36",
               "TaskPilot-Mobile/3.4.1 (iOS 17.5)", "taskpilot-cli/1.8.0 python-httpx/0.27")
_ESTIMATES = np.array([1, 2, 3, 5, 8, 13])


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
        "id": ids(world, "issues", i),
        "project_id": ids(world, "projects", project),
        "cycle_id": nullable(ids(world, "cycles", project * cycles + s.integers("cycle", i, cycles)),
                              s.uniform("in_cycle", i) < 0.4),
        "creator_id": ids(world, "users", world.user_of(org, s.uniform("creator", i))),
        "assignee_id": nullable(ids(world, "users", world.user_of(org, s.uniform("assignee", i))), assigned),
        "number": ints(world.issue_number(i)),
        "title": short_text(world, "issues", "title", i, 24, 90),
        "description": corpus_text(world, "issues", "description", i, widths.factor("issues")),
        "status": pick(STATUSES, status),
        "priority": pick(PRIORITIES, s.choice("priority", i, world.params["priority_mix"])),
        "estimate": nullable(ints(estimate), s.uniform("has_estimate", i) < 0.51),
        "due_date": nullable(np.datetime_as_string(due).tolist(), s.uniform("has_due", i) < 0.4),
        "started_at": nullable(times(world, started), has_started),
        "completed_at": nullable(times(world, completed), done),
        "metadata": [f'{{"source": "{x}", "version": 1}}' for x in source.tolist()],
        "comment_count": ints(counts),
        "attachment_count": ints(attachments),
        "sort_order": ints(world.issue_number(i) * 1024),
        "created_at": times(world, created),
        "updated_at": times(world, np.where(historic, touched, created)),
    })


def issue_labels(world: World, first: int, stop: int, widths: Widths) -> Batch:
    m = np.arange(first, stop)
    issue, slot = world.schedule.parents("issue_labels", m)
    per = world.n.labels_per_project
    label = (slot + world.stream("issue_labels").integers("label", issue, per)) % per
    return text_batch("issue_labels", {
        "issue_id": ids(world, "issues", issue),
        "label_id": ids(world, "labels", world.issue_project(issue) * per + label),
        "created_at": times(world, world.issue_hours(issue) + 0.001),
    })


def issue_links(world: World, first: int, stop: int, widths: Widths) -> Batch:
    m = np.arange(first, stop)
    source, _ = world.schedule.parents("issue_links", m)
    target = np.where(source >= world.block, source - world.block, np.maximum(source - 1, 0))
    target = np.where(target == source, source + 1, target)
    org = world.issue_org(source)
    s = world.stream("issue_links")
    return text_batch("issue_links", {
        "id": ids(world, "issue_links", m),
        "source_issue_id": ids(world, "issues", source),
        "target_issue_id": ids(world, "issues", target),
        "link_type": pick(("blocks", "relates_to", "duplicates"), s.integers("type", m, 3)),
        "created_by_id": ids(world, "users", world.user_of(org, s.uniform("by", m))),
        "created_at": times(world, np.maximum(world.issue_hours(source), world.issue_hours(target)) + 0.002),
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
        "id": ids(world, "sla_status", m),
        "issue_id": ids(world, "issues", issue),
        "policy_id": ids(world, "sla_policies", world.issue_org(issue) * per_org + s.integers("policy", m, per_org)),
        "first_response_at": nullable(times(world, responded), answered),
        "first_response_breached": np.where(answered & (responded - created > 4), "t", "f").tolist(),
        "created_at": times(world, created),
        "updated_at": times(world, np.where(answered, responded, created)),
    })


def comments(world: World, first: int, stop: int, widths: Widths) -> Batch:
    c = np.arange(first, stop)
    s = world.stream("comments")
    issue = world.comment_issue(c)
    created = np.maximum(world.schedule.ordinal_hours("comments", c), world.issue_hours(issue) + 0.01)
    reactions = np.where(s.uniform("reacted", c) < 0.1, '{"+1": 1}', "{}")
    return text_batch("comments", {
        "id": ids(world, "comments", c),
        "issue_id": ids(world, "issues", issue),
        "user_id": ids(world, "users", world.user_of(world.issue_org(issue), s.uniform("user", c))),
        "body": corpus_text(world, "comments", "body", c, widths.factor("comments")),
        "is_internal": np.where(s.uniform("internal", c) < 0.05, "t", "f").tolist(),
        "reactions": reactions.tolist(),
        "created_at": times(world, created),
        "updated_at": times(world, created),
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
    sizes = payload.sizes(s, "preview", a, widths.preview_bytes, lo, hi)
    sizes[widths.preview_bytes <= 0] = 0
    previews = [payload.random_bytes(world.seed, "attachments", "preview", o, n) if n else NULL
                for o, n in zip(a.tolist(), sizes.tolist(), strict=True)]
    names = [f"document-{o}.png" for o in a.tolist()]
    keys = ids(world, "attachments", a)
    # Binary: the previews (most of the table's bytes) reach the server as they are, not as hex to parse.
    return binary_batch("attachments", {
        "id": ("uuid", keys),
        "issue_id": ("uuid", ids(world, "issues", issue)),
        "user_id": ("uuid", ids(world, "users", world.user_of(world.issue_org(issue), s.uniform("user", a)))),
        "filename": ("text", names),
        "original_filename": ("text", names),
        "content_type": ("text", ["image/png"] * len(a)),
        "file_size": ("int8", ints(sizes * 4 + 1024 + s.integers("size", a, 500_000))),
        "storage_key": ("text", [f"attachments/{x}" for x in keys]),
        "width": ("int4", ints(320 + s.integers("w", a, 1600))),
        "height": ("int4", ints(240 + s.integers("h", a, 1200))),
        "created_at": ("timestamptz", times(world, created)),
        "preview": ("bytea", previews),
    })


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
    field = pick(("status", "priority", "assignee_id", "estimate", "due_date"), s.integers("field", m, 5))
    old = pick(STATUSES, s.integers("old", m, 6))
    new = pick(STATUSES, s.integers("new", m, 6))
    notes = corpus_text(world, "activity_log", "note", m, widths.factor("activity_log"))
    changes = [f'{{"field": "{f}", "old": "{o}", "new": "{n}", "note": "{t}"}}'
               for f, o, n, t in zip(field, old, new, notes, strict=True)]
    is_comment = comment >= 0
    octets = s.bits("ip", m)
    return text_batch("activity_log", {
        "id": ids(world, "activity_log", m),
        "organization_id": ids(world, "organizations", org),
        "project_id": ids(world, "projects", project),
        "issue_id": ids(world, "issues", issue),
        "user_id": ids(world, "users", world.user_of(org, s.uniform("user", m))),
        "action": pick(names, action),
        "entity_type": np.where(is_comment, "comment", "issue").tolist(),
        "entity_id": [c if k else i for c, i, k in zip(ids(world, "comments", np.maximum(comment, 0)),
                                                       ids(world, "issues", issue), is_comment.tolist(),
                                                       strict=True)],
        "changes": changes,
        "ip_address": [f"10.{(x >> 16) & 255}.{(x >> 8) & 255}.{x & 255}" for x in (octets >> np.uint64(8)).tolist()],
        "user_agent": pick(USER_AGENTS, (octets % np.uint64(len(USER_AGENTS))).astype(np.int64)),
        "created_at": times(world, created),
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
    issue_ids = ids(world, "issues", issue)
    return text_batch("notifications", {
        "id": ids(world, "notifications", m),
        "user_id": ids(world, "users", world.user_of(org, s.uniform("user", m))),
        "type": pick(names, kind),
        "title": [f"{n.replace('_', ' ').capitalize()}: {t}" for n, t in
                  zip(pick(names, kind), short_text(world, "notifications", "title", m, 20, 80), strict=True)],
        "body": corpus_text(world, "notifications", "body", m, widths.factor("notifications")),
        "issue_id": issue_ids,
        "comment_id": nullable(ids(world, "comments", np.maximum(comment, 0)), comment >= 0),
        "actor_id": ids(world, "users", world.user_of(org, s.uniform("actor", m))),
        "url": [f"/issues/{x}" for x in issue_ids],
        "created_at": times(world, created),
    })


def webhook_deliveries(world: World, first: int, stop: int, widths: Widths) -> Batch:
    d = np.arange(first, stop)
    s, issue, created = _about_recent_issue(world, "webhook_deliveries", d)
    org = world.issue_org(issue)
    webhook = np.where(org < world.n.webhooks, world.member(org, s.uniform("hook", d), world.n.webhooks),
                       org % world.n.webhooks)
    failed = s.uniform("failed", d) < 0.05
    event = pick(EVENT_TYPES, s.integers("event", d, len(EVENT_TYPES)))
    issue_ids = ids(world, "issues", issue)
    texts = corpus_text(world, "webhook_deliveries", "payload", d, widths.factor("webhook_deliveries"))
    payload = [f'{{"event": "{e}", "issue_id": "{i}", "data": {{"description": "{t}"}}}}'
               for e, i, t in zip(event, issue_ids, texts, strict=True)]
    latency = 20 + s.integers("latency", d, 900)
    return text_batch("webhook_deliveries", {
        "id": ints(d + 1),
        "webhook_id": ids(world, "webhooks", webhook),
        "event_type": event,
        "payload": payload,
        "response_status": np.where(failed, "500", "200").tolist(),
        "response_time_ms": ints(latency),
        "attempt_number": ["1"] * len(d),
        "next_retry_at": nullable(times(world, created + 0.25), failed),
        "delivered_at": nullable(times(world, created + latency / 3.6e6), ~failed),
        "created_at": times(world, created),
    })


GENERATORS = {
    "issues": issues, "issue_labels": issue_labels, "issue_links": issue_links, "sla_status": sla_status,
    "comments": comments, "attachments": attachments, "activity_log": activity_log,
    "notifications": notifications, "webhook_deliveries": webhook_deliveries,
}
