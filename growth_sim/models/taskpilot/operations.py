"""Updates and deletes of a simulated hour, as set-based statements over unnest()ed arrays.

Each hour is cut into slices; a slice's statements run with the simulated clock at the slice's end, so the
`updated_at` trigger and every `app_now()` stamp simulated time after the rows they touch were created.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from growth_sim.generate.rand import timestamps, uuid_strings
from growth_sim.models.api import Operation
from growth_sim.models.taskpilot.world import World
from growth_sim.timeline.schedule import HourPlan

SLICES_PER_HOUR = 4

_NEXT_STATUS = """CASE i.status
    WHEN 'backlog' THEN CASE WHEN u.r < 0.9 THEN 'todo' ELSE 'cancelled' END
    WHEN 'todo' THEN CASE WHEN u.r < 0.85 THEN 'in_progress' WHEN u.r < 0.95 THEN 'backlog' ELSE 'cancelled' END
    WHEN 'in_progress' THEN CASE WHEN u.r < 0.75 THEN 'in_review' ELSE 'todo' END
    WHEN 'in_review' THEN CASE WHEN u.r < 0.8 THEN 'done' ELSE 'in_progress' END
    WHEN 'done' THEN CASE WHEN u.r < 0.1 THEN 'in_progress' ELSE 'done' END
    ELSE CASE WHEN u.r < 0.1 THEN 'backlog' ELSE 'cancelled' END END::issue_status"""

ISSUE_UPDATE = f"""
WITH u AS (SELECT * FROM unnest(%s::uuid[], %s::int[], %s::float8[], %s::uuid[]) AS u(id, field, r, assignee)),
n AS (SELECT u.*, CASE WHEN u.field = 0 THEN {_NEXT_STATUS} ELSE i.status END AS status
      FROM issues i JOIN u USING (id))
UPDATE issues i SET
    status = n.status,
    priority = CASE WHEN n.field = 1 THEN (ARRAY['low', 'medium', 'high'])[1 + floor(n.r * 3)::int]::issue_priority
                    ELSE i.priority END,
    assignee_id = CASE WHEN n.field = 2 THEN n.assignee ELSE i.assignee_id END,
    estimate = CASE WHEN n.field = 3 THEN 1 + floor(n.r * 13) ELSE i.estimate END,
    due_date = CASE WHEN n.field = 4 THEN (app_now() + make_interval(days => 1 + floor(n.r * 30)::int))::date
                    ELSE i.due_date END,
    started_at = CASE WHEN n.status = 'in_progress' THEN coalesce(i.started_at, app_now()) ELSE i.started_at END,
    completed_at = CASE WHEN n.status IN ('done', 'cancelled') THEN coalesce(i.completed_at, app_now()) END
FROM n WHERE i.id = n.id"""

COUNTER_INCREMENT = """
UPDATE issues i SET {column} = i.{column} + u.n
FROM unnest(%s::uuid[], %s::int[]) AS u(id, n) WHERE i.id = u.id"""

NOTIFICATION_READ = "UPDATE notifications SET read_at = app_now() WHERE id = ANY(%s::uuid[]) AND read_at IS NULL"

NOTIFICATION_READ_AT = """
UPDATE notifications n SET read_at = u.at
FROM unnest(%s::uuid[], %s::timestamptz[]) AS u(id, at) WHERE n.id = u.id"""

ISSUE_TOUCH = "UPDATE issues SET updated_at = app_now() WHERE id = ANY(%s::uuid[])"

NOTIFICATION_DELETE = "DELETE FROM notifications WHERE id = ANY(%s::uuid[])"


def _slice(hours: np.ndarray, hour: int) -> np.ndarray:
    return np.clip(np.floor((hours - hour) * SLICES_PER_HOUR), 0, SLICES_PER_HOUR - 1).astype(np.int64)


def _stamp(hour: int, slice_: int) -> float:
    return hour + (slice_ + 1) / SLICES_PER_HOUR


def _rounds(keys: np.ndarray) -> np.ndarray:
    """For each element, how many equal keys come before it (a row can change once per statement)."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    starts = np.r_[0, np.flatnonzero(sorted_keys[1:] != sorted_keys[:-1]) + 1]
    run_start = np.repeat(starts, np.diff(np.r_[starts, len(keys)]))
    rank = np.empty(len(keys), dtype=np.int64)
    rank[order] = np.arange(len(keys)) - run_start
    return rank


def hour_operations(world: World, plan: HourPlan) -> list[Operation]:
    """The updates and deletes of one simulated hour, in the order they run."""
    ops: list[Operation] = []
    ops += _issue_updates(world, plan)
    ops += _counter_increments(world, plan, "comments", "comment_count", world.comment_issue)
    ops += _counter_increments(world, plan, "attachments", "attachment_count", world.attachment_issue)
    ops += _notification_ops(world, plan, "notification_reads", NOTIFICATION_READ)
    ops += _notification_ops(world, plan, "notification_deletes", NOTIFICATION_DELETE)
    return sorted(ops, key=lambda op: op.hour)  # stable: within a slice the order above holds


def _issue_updates(world: World, plan: HourPlan) -> list[Operation]:
    first, count = plan.start.get("issue_updates", 0), plan.count.get("issue_updates", 0)
    if not count:
        return []
    k = np.arange(first, first + count)
    s = world.stream("issue_updates")
    hours = world.schedule.ordinal_hours("issue_updates", k)
    issue = world.recent_issue("issue_updates", "issue", k, hours)
    field = s.choice("field", k, world.params["issue_field_mix"])
    r = s.uniform("value", k)
    assignee = uuid_strings(world.seed, "users", world.user_of(world.issue_org(issue), s.uniform("assignee", k)))
    assignee = [a if keep else None for a, keep in zip(assignee, (s.uniform("unassign", k) >= 0.3).tolist(),
                                                       strict=True)]
    ids = uuid_strings(world.seed, "issues", issue)
    slices, rounds = _slice(hours, plan.hour), np.zeros(count, dtype=np.int64)
    for sl in np.unique(slices):
        inside = slices == sl
        rounds[inside] = _rounds(issue[inside])
    ops = []
    for sl in np.unique(slices):
        for rd in np.unique(rounds[slices == sl]):
            sel = np.flatnonzero((slices == sl) & (rounds == rd))
            ops.append(Operation(_stamp(plan.hour, int(sl)), "issue_updates", ISSUE_UPDATE, (
                [ids[j] for j in sel], field[sel].tolist(), r[sel].tolist(), [assignee[j] for j in sel]),
                len(sel)))
    return ops


def _counter_increments(world: World, plan: HourPlan, stream: str, column: str,
                        issue_of: Callable[[np.ndarray], np.ndarray]) -> list[Operation]:
    """The issues' denormalised counter of `stream`'s new rows (comment_count, attachment_count)."""
    first, count = plan.start.get(stream, 0), plan.count.get(stream, 0)
    if not count:
        return []
    c = np.arange(first, first + count)
    issue = issue_of(c)
    slices = _slice(world.schedule.ordinal_hours(stream, c), plan.hour)
    statement = COUNTER_INCREMENT.format(column=column)
    ops = []
    for sl in np.unique(slices):
        targets, n = np.unique(issue[slices == sl], return_counts=True)
        ops.append(Operation(_stamp(plan.hour, int(sl)), column, statement,
                             (uuid_strings(world.seed, "issues", targets), n.tolist()), len(targets)))
    return ops


def _notification_ops(world: World, plan: HourPlan, stream: str, statement: str) -> list[Operation]:
    first, count = plan.start.get(stream, 0), plan.count.get(stream, 0)
    if not count:
        return []
    k = np.arange(first, first + count)
    rows = world.schedule.lagged_rows(stream, first, first + count)
    slices = _slice(world.schedule.ordinal_hours(stream, k), plan.hour)
    ids = uuid_strings(world.seed, "notifications", rows)
    return [Operation(_stamp(plan.hour, int(sl)), stream, statement,
                      ([ids[j] for j in np.flatnonzero(slices == sl)],), int((slices == sl).sum()))
            for sl in np.unique(slices)]


def history_operations(world: World, chunk: int = 20_000) -> list[Operation]:
    """What the initial dataset went through before week 0, applied as updates after the load so that week 0
    already carries the dead tuples a year of use leaves: the last edit of a share of the issues, and the
    notifications read back then."""
    return _issue_history(world) + _notification_history(world, chunk)


def _issue_history(world: World) -> list[Operation]:
    """A share of the initial issues edited once more at the end of the day they were last touched."""
    i = np.arange(world.schedule.initial("issues"))
    i = i[world.stream("issues").uniform("history_edit", i) < world.params["history_issue_edit_share"]]
    day_end = np.minimum(np.floor(world.issue_touched(i) / 24) + 1, 0) * 24
    return [Operation(float(end), "issue_updates", ISSUE_TOUCH,
                      (uuid_strings(world.seed, "issues", i[day_end == end]),), int((day_end == end).sum()))
            for end in np.unique(day_end)]


def _notification_history(world: World, chunk: int) -> list[Operation]:
    schedule = world.schedule
    total = schedule.initial("notification_reads")
    ops = []
    for first in range(0, total, chunk):
        stop = min(total, first + chunk)
        rows = schedule.lagged_rows("notification_reads", first, stop)
        read = np.maximum(schedule.ordinal_hours("notification_reads", np.arange(first, stop)),
                          schedule.ordinal_hours("notifications", rows) + 0.01)
        ops.append(Operation(0.0, "notification_reads", NOTIFICATION_READ_AT,
                             (uuid_strings(world.seed, "notifications", rows),
                              timestamps(schedule.profile.start, read)), stop - first))
    return ops
