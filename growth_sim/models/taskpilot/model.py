"""TaskPilot as the engine sees it: what to create, insert, update and delete (a `growth_sim.models.api.Model`)."""

from __future__ import annotations

from growth_sim.generate.batch import Batch
from growth_sim.models.api import Operation, Widths
from growth_sim.models.taskpilot import TABLES, operations, reference, rows
from growth_sim.models.taskpilot.world import World
from growth_sim.timeline.schedule import HourPlan, Schedule


class TaskPilot:
    """The TaskPilot model bound to a schedule and a seed."""

    tables = TABLES
    # Insert order inside a unit: parents before children.
    insert_order = ("issues", "issue_labels", "issue_links", "sla_status", "comments", "attachments",
                    "activity_log", "notifications", "webhook_deliveries")
    size_knob = "attachments"  # the table whose payload absorbs the size trajectory's remainder
    keys_by_construction = True  # a row's parents are rows of earlier ordinals, written before it and never deleted
    # Rows no other row of an hour refers to and no statement of the hour reads or changes.
    independent_streams = ("attachments", "activity_log", "webhook_deliveries")
    # The streams whose every event updates or deletes at most one row of a table (bounds its bloat's growth).
    changed_by = {"issues": ("issue_updates", "comments", "attachments"),
                  "notifications": ("notification_reads", "notification_deletes")}

    def __init__(self, schedule: Schedule, seed: int) -> None:
        self.world = World(schedule, seed)

    def reference_batches(self) -> list[Batch]:
        return reference.reference(self.world)

    def insert_batch(self, stream: str, first: int, stop: int, widths: Widths) -> Batch:
        return rows.GENERATORS[stream](self.world, first, stop, widths)

    def history_operations(self) -> list[Operation]:
        return operations.history_operations(self.world)

    def hour_operations(self, plan: HourPlan) -> list[Operation]:
        return operations.hour_operations(self.world, plan)
