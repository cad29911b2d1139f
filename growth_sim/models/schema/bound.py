"""The schema model bound to one DDL file: its package members and the `Model` the engine drives."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import psycopg

from growth_sim.errors import ModelError
from growth_sim.generate.batch import NULL, Batch
from growth_sim.models.api import Check, Operation, ReadMix, TableBloat, Widths
from growth_sim.models.schema.catalog import Catalog, check_in_place, load_catalog, read_again, read_catalog_file
from growth_sim.models.schema.knob import Knob, size_knob
from growth_sim.models.schema.rows import Rows
from growth_sim.models.schema.rules import TablePlan, plans
from growth_sim.timeline.schedule import HourPlan, Schedule

if TYPE_CHECKING:
    from growth_sim.timeline.schedule import Profile

_OPERATION_AT = 0.5  # updates and deletes run half-way through their hour
_HISTORY_CHUNK = 20_000


def empty_read_mix() -> ReadMix:
    """The read mix of the unbound package: the scenario without queries (a profile gives them)."""
    return ReadMix("schema", (), sampler=lambda schedule, seed, hour: None)


class SchemaPackage:
    """`ModelPackage` members for the schema in DDL file `schema` and the profile's ``[model]`` table; with
    `in_place`, `schema` is the catalog file of the schema of that name in the target database."""

    SCENARIOS: tuple[str, ...] = ("app",)
    __file__ = str(Path(__file__).with_name("__init__.py"))

    def __init__(self, schema: Path, params: Mapping[str, Any], in_place: str = "") -> None:
        self.schema, self.params = schema, params
        if in_place:
            self.catalog: Catalog = read_catalog_file(schema, read_again(in_place))
            if self.catalog.schema != in_place:
                raise ModelError(f"catalog {schema} is not of schema {in_place} read in place; {read_again(in_place)}")
        else:
            self.catalog = load_catalog(schema)
        self.IN_PLACE = in_place
        null_share = params.get("null_share", 0.1)
        if not isinstance(null_share, int | float) or not 0 <= null_share < 1:
            raise ModelError(f"[model] null_share: {null_share!r} must be a number in [0, 1)")
        self.plans: dict[str, TablePlan] = plans(self.catalog, float(null_share))
        self.knob: Knob | None = size_knob(params.get("size_knob"), self.plans)
        self.updates = _updates(params, self.plans, self.knob)

    @property
    def IDENTITY(self) -> str:  # noqa: N802 - the protocol's name
        """The DDL's hash (or the catalog's, in place): part of the profile's content hash, so a database refuses
        a changed schema."""
        return self.catalog.fingerprint() if self.IN_PLACE else self.catalog.ddl_sha256

    @cached_property
    def TABLES(self) -> frozenset[str]:  # noqa: N802 - the protocol's name
        return frozenset(t.name for t in self.catalog.tables)

    def build_schema_sql(self) -> str:
        if self.IN_PLACE:
            raise ModelError(f"the profile grows schema {self.IN_PLACE} in place: it has no DDL file to run in "
                             "another database; make a profile with `growth-sim profile new --schema FILE`")
        return self.schema.read_text(encoding="utf-8")

    def check_schema(self, conn: psycopg.Connection, *, empty: bool) -> None:
        """In place: `ModelError` unless the database's schema is still the catalog's (and, if `empty`, its
        tables hold no rows)."""
        check_in_place(conn, self.catalog, self.schema, empty=empty)

    def build(self, schedule: Schedule, seed: int) -> SchemaModel:
        return SchemaModel(self, schedule, seed)

    def read_mix(self) -> ReadMix:
        from growth_sim.models.schema.reads import read_mix

        return read_mix(self.plans)

    def expected_findings(self) -> tuple[Check | TableBloat, ...]:
        return ()

    def check(self, profile: Profile) -> None:
        """Refuse what `profile` asks beyond the ``[model]`` table: a size knob needs the bounds of its payload."""
        knob = self.knob
        if knob is None:
            return
        width = profile.widths.get(knob.table)
        if width is None or not width.preview_max:
            raise ModelError(f'[model] size_knob = "{knob.table}.{knob.column}" needs the bounds of its payload per '
                             f'row: [widths.{knob.table}] preview = {{ min = "0 B", max = "256 KiB" }}')
        where = f"[widths.{knob.table}] preview max {width.preview_max} B"
        if knob.max_len is not None and width.preview_max > knob.max_len:
            raise ModelError(f"{where} is above the length limit {knob.max_len} of {knob.table}.{knob.column}")
        if width.preview_max < knob.min_len:
            raise ModelError(f"{where} is below the minimum length {knob.min_len} of {knob.table}.{knob.column}")


def _updates(params: Mapping[str, Any], table_plans: dict[str, TablePlan],
             knob: Knob | None) -> dict[str, tuple[str, tuple[str, ...]]]:
    """[model.updates.NAME]: the table and columns each update stream sets (never the size knob's payload)."""
    out = {}
    for name, spec in (params.get("updates") or {}).items():
        key = f"[model.updates.{name}]"
        table, columns = spec.get("table"), spec.get("columns")
        if table not in table_plans:
            raise ModelError(f"{key} table: {table!r} is not a table of the schema")
        plan = table_plans[table]
        if not plan.table.primary_key:
            raise ModelError(f"{key}: table {table} has no primary key to name the rows it updates")
        if not isinstance(columns, list) or not columns:
            raise ModelError(f"{key} columns: must be a list of column names")
        for column in columns:
            rule = plan.rules.get(column)
            if rule is None:
                raise ModelError(f"{key} columns: {table} has no column {column!r}")
            if rule.source != "value":
                raise ModelError(f"{key} columns: {table}.{column} is a key, a foreign key or set by the server")
            if knob is not None and (knob.table, knob.column) == (table, column):
                raise ModelError(f"{key} columns: {table}.{column} carries the size knob's payload, which is "
                                 "written once")
            partners = [o for o, _ in rule.above] + rule.differs
            partners += [c for c, r in plan.rules.items() if column in [o for o, _ in r.above] + r.differs]
            lonely = [p for p in partners if p not in columns and not _stamped(plan, column)]
            if lonely:
                raise ModelError(f"{key} columns: {table}.{column} is compared with {lonely[0]} by a CHECK; "
                                 "update both")
        for column in plan.table.primary_key:
            if plan.rules[column].source == "omit":
                raise ModelError(f"{key}: {table}.{column} is set by the server; its rows cannot be named")
        out[name] = (table, tuple(columns))
    return out


def _stamped(plan: TablePlan, column: str) -> bool:
    """A timestamp an update sets to the simulated clock: it stays above every earlier time of its row."""
    rule = plan.rules[column]
    return rule.column.kind in ("timestamptz", "timestamp") and all(
        plan.rules[o].column.kind in ("timestamptz", "timestamp") for o, _ in rule.above) and not rule.differs


class SchemaModel:
    """The `Model` of a schema: every table a stream, parents before children."""

    def __init__(self, package: SchemaPackage, schedule: Schedule, seed: int) -> None:
        self.package, self.schedule, self.seed = package, schedule, seed
        self.tables = package.TABLES
        params = package.params
        profile = schedule.profile
        streams = set(schedule.streams)
        missing = sorted(t for t in self.tables if t not in streams)
        if missing:
            raise ModelError(f"table {missing[0]} has no growth in profile {profile.name} "
                             "(give it in [[milestones]] or [derived])")
        self.insert_order = _parents_first(package.plans)
        self.size_knob = package.knob.table if package.knob else self.insert_order[-1]
        self.keys_by_construction = False  # any schema: the server's foreign key checks stay the safety net
        self.independent_streams: tuple[str, ...] = ()  # nothing known of what the hours' statements read
        self.deletes = {lg.name: lg.of for lg in profile.lagged if lg.kind == "delete" and lg.of in self.tables}
        for stream, table in self.deletes.items():
            children = [(t.name, fk.name) for t in package.catalog.tables for fk in t.foreign_keys
                        if fk.parent == table and t.name != table]
            if children:
                raise ModelError(f"[lagged.{stream}]: deleting from {table} would break or cascade to {children[0][0]}"
                                 f" (foreign key {children[0][1]}); exact counts need deletes from leaf tables")
            if not package.plans[table].table.primary_key:
                raise ModelError(f"[lagged.{stream}]: table {table} has no primary key to name the rows it deletes")
        for name, plan in package.plans.items():
            derived = next((d for d in profile.derived if d.name == name), None)
            if plan.link and (derived is None or not derived.proportional or derived.per[0] != plan.link[0].parent):
                raise ModelError(f"[derived.{name}]: a many-to-many table grows in proportion to its first parent: "
                                 f'per = ["{plan.link[0].parent}"] and no initial')
        unknown = [u for u in package.updates if u not in streams]
        if unknown:
            raise ModelError(f"[model.updates.{unknown[0]}] has no rate: give it in [rates] or [lagged]")
        self.lagged_updates = {lg.name for lg in profile.lagged if lg.kind == "update"}
        changed: dict[str, list[str]] = {}
        for stream, (table, _) in package.updates.items():
            changed.setdefault(table, []).append(stream)
        for stream, table in self.deletes.items():
            changed.setdefault(table, []).append(stream)
        self.changed_by = {t: tuple(s) for t, s in changed.items()}
        fk_recency = params.get("fk_recency", {})
        self.rows = Rows(package.plans, schedule, seed, dict(fk_recency), float(params.get("recency", 2.0)),
                         package.knob)

    def reference_batches(self) -> list[Batch]:
        return []

    def insert_batch(self, stream: str, first: int, stop: int, widths: Widths) -> Batch:
        return self.rows.batch(stream, first, stop, widths)

    def history_operations(self) -> list[Operation]:
        """The updates and deletes the profile places before week 0 (lagged ones of initial rows), at hour 0."""
        ops = []
        for stream in [*self.package.updates, *self.deletes]:
            total = self.schedule.initial(stream)
            for first in range(0, total, _HISTORY_CHUNK):
                ops += self._operations(stream, first, min(_HISTORY_CHUNK, total - first), 0.0)
        return ops

    def hour_operations(self, plan: HourPlan) -> list[Operation]:
        ops = []
        for stream in [*self.package.updates, *self.deletes]:
            ops += self._operations(stream, plan.start.get(stream, 0), plan.count.get(stream, 0),
                                    plan.hour + _OPERATION_AT)
        return ops

    def _operations(self, stream: str, first: int, count: int, at: float) -> list[Operation]:
        if not count:
            return []
        if stream in self.deletes:
            rows = self.schedule.lagged_rows(stream, first, first + count)
            return [self._delete(stream, self.deletes[stream], rows, at)]
        table, columns = self.package.updates[stream]
        return [self._update(stream, table, columns, first, count, at)]

    def _targets(self, stream: str, table: str, first: int, count: int, at: float) -> tuple[np.ndarray, np.ndarray]:
        k = np.arange(first, first + count, dtype=np.int64)
        if stream in self.lagged_updates:
            rows = self.schedule.lagged_rows(stream, first, first + count)
        else:
            available = int(self.schedule.count_before(table, np.array([at]))[0])
            r = float(self.package.params.get("recency", 2.0))
            back = np.floor(available * self.rows.stream(stream).uniform("row", k) ** r).astype(np.int64)
            rows = np.maximum(available - 1 - back, 0)
        last = len(rows) - 1 - np.unique(rows[::-1], return_index=True)[1]  # one change per row and statement
        keep = np.sort(last)
        return rows[keep], k[keep]

    def _update(self, stream: str, table: str, columns: tuple[str, ...], first: int, count: int,
                at: float) -> Operation:
        plan = self.package.plans[table]
        rows, events = self._targets(stream, table, first, count, at)
        keys = plan.table.primary_key
        stamped = [c for c in columns if plan.rules[c].column.kind in ("timestamptz", "timestamp")]
        drawn = [c for c in columns if c not in stamped]
        values = self.rows.rendered(table, drawn, events, stream) if drawn else {}
        params = [self._key_array(table, key, rows) for key in keys]
        params += [[None if v == NULL else v for v in values[c]] for c in drawn]
        names = [f"k{i}" for i in range(len(keys))] + [f"v{i}" for i in range(len(drawn))]
        sets = [f'"{c}" = u.v{i}::{plan.table.column(c).type}' for i, c in enumerate(drawn)]
        sets += [f"\"{c}\" = current_setting('growth_sim.now')::timestamptz" for c in stamped]
        match = " AND ".join(f't."{k}" = u.k{i}::{plan.table.column(k).type}' for i, k in enumerate(keys))
        sql = (f'UPDATE "{table}" t SET {", ".join(sets)} FROM unnest({", ".join(["%s::text[]"] * len(names))}) '
               f'AS u({", ".join(names)}) WHERE {match}')
        return Operation(at, stream, sql, tuple(params), count)

    def _delete(self, stream: str, table: str, rows: np.ndarray, at: float) -> Operation:
        keys = self.package.plans[table].table.primary_key
        plan = self.package.plans[table]
        names = [f"k{i}" for i in range(len(keys))]
        match = " AND ".join(f't."{k}" = u.k{i}::{plan.table.column(k).type}' for i, k in enumerate(keys))
        sql = (f'DELETE FROM "{table}" t USING unnest({", ".join(["%s::text[]"] * len(names))}) '
               f'AS u({", ".join(names)}) WHERE {match}')
        return Operation(at, stream, sql, tuple(self._key_array(table, k, rows) for k in keys), len(rows))

    def _key_array(self, table: str, column: str, rows: np.ndarray) -> list[str | None]:
        return [None if v == NULL else v for v in self.rows.key_text(table, column, rows)]


def _parents_first(table_plans: dict[str, TablePlan]) -> tuple[str, ...]:
    order: list[str] = []
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in done:
            return
        if name in path:
            raise ModelError(f"tables {' -> '.join((*path, name))} refer to each other in a cycle; "
                             "cyclic foreign keys are not supported")
        for fk in table_plans[name].table.foreign_keys:
            if fk.parent != name:
                visit(fk.parent, (*path, name))
        done.add(name)
        order.append(name)

    for name in sorted(table_plans):
        visit(name, ())
    return tuple(order)
