"""A starting profile for a schema: every table, growth by milestones or by ratio to its parent, commented."""

from __future__ import annotations

import os
from pathlib import Path

from growth_sim.models.schema.catalog import Catalog, Column, Table
from growth_sim.models.schema.knob import suitable
from growth_sim.models.schema.rules import plans

INITIAL = 1_000  # rows of a table without parents at --scale 1, before week 0
WEEKLY = 100  # and added each week
RATIO = 2.0  # rows of a child table per row of its parent
WEEKS = 4
KNOB_SHARE = 19  # the size knob's payload at the initial milestone, in empty databases
PREVIEW_RANGE = 16  # the largest payload of a row, in typical payloads


def starting_profile(catalog: Catalog, source: Path, output: Path, empty_bytes: int) -> str:
    """The profile text: runs as it is (four weeks), every number a default to replace. `source` is the DDL file,
    or for a schema read in place (``catalog.schema``) the catalog's file.

    The size knob is the payload column of the table with the most rows at week 4, if a table has one. Sizes are
    `empty_bytes` (the database holding only the schema), the rows at typical widths and the knob's payload:
    `KNOB_SHARE` times `empty_bytes` at the initial milestone. The sizes scale with ``--scale``, the empty database
    does not; so much payload keeps them reachable down to about ``--scale 0.1``."""
    table_plans = plans(catalog, 0.1)  # refuses what the model cannot honour before a file is written
    depth: dict[str, int] = {}

    def level(name: str) -> int:
        if name not in depth:
            depth[name] = 0
            parents = [fk.parent for fk in catalog.table(name).foreign_keys if fk.parent != name]
            depth[name] = 1 + max(map(level, parents)) if parents else 0
        return depth[name]

    roots = [t.name for t in catalog.tables if level(t.name) == 0]
    growth = {}  # derived table -> (parent, ratio)
    for t in catalog.tables:
        if level(t.name):
            link = table_plans[t.name].link
            parent = link[0].parent if link else max((fk.parent for fk in t.foreign_keys if fk.parent != t.name),
                                                      key=level)
            one_to_one = any(r.source == "key" and r.fk for r in table_plans[t.name].rules.values())
            growth[t.name] = (parent, 1.0 if one_to_one else RATIO)

    def rows(name: str, week: int) -> float:
        if name in growth:
            return growth[name][1] * rows(growth[name][0], week)
        return INITIAL + WEEKLY * week

    carriers = {t.name: c for t in catalog.tables if (c := suitable(table_plans[t.name]))}
    knob = max(carriers, key=lambda t: rows(t, WEEKS), default=None)
    typical = max(1, round(KNOB_SHARE * empty_bytes / rows(knob, 0) / 1024)) * 1024 if knob else 0

    def size(week: int) -> str:
        total = empty_bytes + sum(rows(t.name, week) * _row_bytes(t) for t in catalog.tables)
        total += rows(knob, week) * typical if knob else 0
        return f"{total / 2**20:.1f} MiB"

    relative = os.path.relpath(source.resolve(), output.resolve().parent)
    if relative.startswith(".."):
        relative = str(source.resolve())
    if catalog.schema:
        origin = f"schema {catalog.schema} of a database"
        model = ["# the schema is in place in the target database (read by `profile new --dsn`): init runs no DDL",
                 f'schema_name = "{catalog.schema}"', f'catalog = "{relative}"']
    else:
        origin, model = source.name, [f'schema = "{relative}"']
    referenced = {fk.parent for t in catalog.tables for fk in t.foreign_keys if fk.parent != t.name}
    leaf = next((t.name for t in catalog.tables if t.name not in referenced and t.primary_key), "sessions")
    lines = [
        f"# A starting profile for {origin}, written by `growth-sim profile new`: it runs as it is; replace",
        "# the numbers with your application's. Counts are at --scale 1.",
        "",
        "[profile]",
        f'name = "{output.stem}"',
        'model = "schema"',
        'start = "2026-01-05T00:00:00Z"',
        "history_days = 90               # the initial rows spread over this much history before week 0",
        "",
        "[model]",
        *model,
        "null_share = 0.1                # share of NULL in nullable columns",
        "recency = 2.0                   # foreign keys and updates pick parent = newest - floor(N * u ** recency)",
        '# fk_recency = { "orders.orders_customer_id_fkey" = 4.0 }   # per foreign key',
        *_knob_lines(knob, carriers.get(knob)),
        "",
        "# Tables without parents grow by milestones (exact counts). Sizes are at --scale 1: the empty database,",
        "# the rows at typical widths" + (f" and {typical // 1024} KiB of payload per {knob} row." if knob else "."),
    ]
    for week in range(WEEKS + 1):
        lines += ["", "[[milestones]]", f'at = "{"initial" if week == 0 else f"week-{week}"}"']
        lines += [f"{t} = {INITIAL + WEEKLY * week}" for t in roots]
        lines += [f'size = "{size(week)}"']
    lines += ["", "# Tables with parents grow with their deepest parent: cumulative rows = ratio x the parent's."]
    for name, (parent, ratio) in growth.items():
        lines += ["", f"[derived.{name}]", f'per = ["{parent}"]', f"ratio = {ratio}"]
    lines += ["", "# Updates: a stream per table and the columns it sets, at a weekly rate ([rates]) or after a delay",
              "# ([lagged], kind = \"update\"). Timestamp columns are set to the simulated clock."]
    rates = []
    for t in catalog.tables:
        plan = table_plans[t.name]
        editable = [c for c, r in plan.rules.items() if r.source == "value" and not r.above and not r.differs
                    and (t.name, c) != (knob, carriers.get(knob))
                    and not any(c in [o for o, _ in x.above] + x.differs for x in plan.rules.values())]
        if not t.primary_key or not editable:
            continue
        lines += [f"# [model.updates.{t.name}_edits]", f'# table = "{t.name}"', f'# columns = ["{editable[0]}"]']
        rates.append(f"# {t.name}_edits = {WEEKLY * 2}")
    lines += ["", "# [rates]", *rates]
    lines += ["", "# Deletes (retention): rows of a table no other table refers to, `delay_hours` after creation.",
              f"# [lagged.{leaf}_expiry]", f'# of = "{leaf}"', '# kind = "delete"', "# share = 1.0",
              "# delay_hours = 168",
              "", "# Bloat bands held by emulated VACUUM (for tables with updates or deletes):",
              "# [bloat.orders]", "# band = [10, 30]", "# target = 25",
              "", "# Text lengths (characters, log-normal) per table" + (
                  "; the bounds of the size knob's payload per row" if knob else ":"),
              *(["# (bytes; the engine steers its median between them):"] if knob else []),
              f"{'' if knob else '# '}[widths.{knob or 'orders'}]",
              *([f'preview = {{ min = "0 B", max = "{PREVIEW_RANGE * typical // 1024} KiB" }}'] if knob else []),
              "# text = { median = 40, sigma = 0.5, min = 1, max = 200 }",
              "", "[curve]", "hourly = [2, 1, 1, 1, 1, 2, 4, 6, 8, 9, 10, 10, 10, 10, 10, 9, 9, 8, 7, 6, 5, 4, 3, 2]",
              "weekend_factor = 0.6", ""]
    return "\n".join(lines)


def _knob_lines(table: str | None, column: str | None) -> list[str]:
    """The ``size_knob`` setting and what it does."""
    lines = ["",
             "# The size knob: the column whose payload (incompressible bytes, log-normal sizes) holds the database",
             "# at the milestones' sizes; the engine steers its median payload after each simulated hour. Any",
             "# text, varchar (long enough), bytea or jsonb column the generator sets freely can carry it."]
    if table is None:
        return [*lines, "# No table has a bytea or text column without a length limit: name one to steer the size.",
                '# size_knob = "table.column"']
    return [*lines, f'size_knob = "{table}.{column}"']


_WIDTHS = {"int2": 2, "int4": 4, "int8": 8, "numeric": 8, "float4": 4, "float8": 8, "bool": 1, "uuid": 16,
           "timestamptz": 8, "timestamp": 8, "date": 4, "time": 8, "enum": 4, "json": 45, "jsonb": 50, "bytea": 20}
_ROW_OVERHEAD = 28  # tuple header and line pointer
_INDEX_ENTRY = 16
_FILL = 1.2  # free space at the end of pages, index pages half split


def _row_bytes(table: Table) -> float:
    """A row's typical bytes on disk: its columns (text as the generator's default lengths) and its keys' entries."""
    def width(c: Column) -> float:
        if c.array:
            return 40
        if c.kind in _WIDTHS:
            return _WIDTHS[c.kind]
        return min(40, max((c.length or 80) // 2, 1)) + 1

    columns = {c.name: c for c in table.columns}
    keys = [table.primary_key] if table.primary_key else []
    keys += [*table.unique, *(cols for _, cols, _ in table.partial_unique)]
    heap = _ROW_OVERHEAD + sum(width(c) for c in table.columns)
    indexes = sum(_INDEX_ENTRY + sum(width(columns[c]) for c in cols) for cols in keys)
    return (heap + indexes) * _FILL
