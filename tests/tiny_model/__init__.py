"""Notes, the smallest growth-sim model: authors written once, notes growing hour by hour, a few edited."""

from __future__ import annotations

import numpy as np

from growth_sim.generate.batch import Batch, text_batch
from growth_sim.generate.rand import Stream, timestamps
from growth_sim.models.api import Check, Model, Operation, QueryClass, ReadMix, TableBloat, Widths
from growth_sim.timeline.schedule import HourPlan, Schedule

TABLES = frozenset({"authors", "notes"})
SCENARIOS = ("browse",)
AUTHORS = 10
EDIT = "UPDATE notes SET edited_at = current_setting('growth_sim.now')::timestamptz WHERE id = ANY(%s)"


def build_schema_sql() -> str:
    return """
    CREATE TABLE authors (id bigint PRIMARY KEY, name text NOT NULL);
    CREATE TABLE notes (id bigint PRIMARY KEY, author_id bigint NOT NULL REFERENCES authors,
                        body text NOT NULL, created_at timestamptz NOT NULL, edited_at timestamptz);
    """


class Notes:
    tables = TABLES
    insert_order = ("notes",)  # the streams that insert rows, parents first
    size_knob = "notes"  # the table whose payload would absorb the size plan's remainder (this one has none)
    keys_by_construction = True  # every note's author is a reference row
    independent_streams = ()  # an hour's edits may change its own new notes
    changed_by = {"notes": ("note_edits",)}  # each note_edits event changes at most one note

    def __init__(self, schedule: Schedule, seed: int) -> None:
        self.schedule, self.random = schedule, Stream(seed, "notes")

    def reference_batches(self) -> list[Batch]:
        ids = [str(i) for i in range(AUTHORS)]
        return [text_batch("authors", {"id": ids, "name": [f"Author {i}" for i in ids]})]

    def insert_batch(self, stream: str, first: int, stop: int, widths: Widths) -> Batch:
        n = np.arange(first, stop)  # the ordinals: every value is a function of (seed, table, ordinal)
        return text_batch("notes", {
            "id": n.astype(str).tolist(),
            "author_id": self.random.integers("author", n, AUTHORS).astype(str).tolist(),
            "body": [f"Note {i}" for i in n.tolist()],
            "created_at": timestamps(self.schedule.profile.start, self.schedule.ordinal_hours("notes", n)),
        })

    def history_operations(self) -> list[Operation]:
        return []

    def hour_operations(self, plan: HourPlan) -> list[Operation]:
        first, count = plan.start.get("note_edits", 0), plan.count.get("note_edits", 0)
        if not count:
            return []
        return [Operation(plan.hour + 0.5, "note_edits", EDIT, (list(range(first, first + count)),), count)]


def build(schedule: Schedule, seed: int) -> Model:
    return Notes(schedule, seed)


def read_mix() -> ReadMix:
    latest = QueryClass("latest_notes", "browse", "SELECT id, body FROM notes ORDER BY created_at DESC LIMIT 20",
                        weight=1.0, params=lambda sampler, rng: {})
    return ReadMix("notes", (latest,), sampler=lambda schedule, seed, hour: None)


def expected_findings() -> tuple[Check | TableBloat, ...]:
    return ()
