"""A schema's generic read mix: rows by primary key and children by parent, the queries every application sends.

Keys are drawn like the rows' own: an ordinal among the rows existing at the sampler's hour, recent ones more
often, turned into the key the row generator gave it (never read from the database).
"""

from __future__ import annotations

import numpy as np

from growth_sim.models.api import QueryClass, ReadMix
from growth_sim.models.schema.rows import Rows
from growth_sim.models.schema.rules import TablePlan
from growth_sim.timeline.schedule import Schedule

SCENARIO = "app"
_LIMIT = 50


class Sampler:
    """Keys of rows that exist at one simulated hour."""

    def __init__(self, plans: dict[str, TablePlan], schedule: Schedule, seed: int, hour: int) -> None:
        self.rows = Rows(plans, schedule, seed, {}, 2.0)
        self.schedule, self.hour = schedule, min(hour, schedule.last_hour)

    def key(self, table: str, column: str, rng: np.random.Generator) -> str:
        available = max(int(self.schedule.cumulative(table, np.array([self.hour]))[0]), 1)
        n = available - 1 - int(available * rng.random() ** 2)
        return self.rows.key_text(table, column, np.array([n]))[0]


def _param(table: str, column: str):
    return lambda sampler, rng: {"k": sampler.key(table, column, rng)}


def read_mix(plans: dict[str, TablePlan]) -> ReadMix:
    """A lookup by key per table with a one-column primary key, and the children of a parent per foreign key."""
    catalogue = []
    for name, plan in sorted(plans.items()):
        key = plan.table.primary_key
        if len(key) == 1 and plan.rules[key[0]].source != "omit":
            column = plan.table.column(key[0])
            catalogue.append(QueryClass(f"{name}_by_key", SCENARIO,
                                        f'SELECT * FROM "{name}" WHERE "{key[0]}" = %(k)s::{column.type}',
                                        weight=1.0, params=_param(name, key[0])))
        for fk in plan.table.foreign_keys:
            parent = plans[fk.parent]
            if len(fk.columns) != 1 or parent.rules[fk.parent_columns[0]].source == "omit":
                continue
            column = plan.table.column(fk.columns[0])
            catalogue.append(QueryClass(
                f"{name}_by_{fk.columns[0]}", SCENARIO,
                f'SELECT * FROM "{name}" WHERE "{fk.columns[0]}" = %(k)s::{column.type} LIMIT {_LIMIT}',
                weight=1.0, params=_param(fk.parent, fk.parent_columns[0])))
    return ReadMix("schema", tuple(catalogue),
                   sampler=lambda schedule, seed, hour: Sampler(plans, schedule, seed, hour))
