"""The size knob: the column whose payload closes the engine's size loop (``[model] size_knob = "table[.column]"``).

The engine measures the database after each unit and sets the median payload of the knob's next rows so that the
size meets the profile's plan (`growth_sim.models.api.Model.size_knob`, ``[widths.TABLE] preview`` bounds it).
The column carries incompressible payloads: raw bytes in ``bytea``, hex digits in text, a hex string in a JSON
document. Any column the generator sets freely can carry it, unless a length limit leaves it too little room.
"""

from __future__ import annotations

from dataclasses import dataclass

from growth_sim.errors import ModelError
from growth_sim.models.schema.rules import TablePlan

KINDS = ("bytea", "text", "citext", "varchar", "jsonb", "json")  # preferred first when the column is not named
MIN_ROOM = 1024  # a length limit below this many characters leaves a payload too little room
JSON_WRAPPER = len('{"payload": ""}')


@dataclass(frozen=True)
class Knob:
    """The payload column, and the lengths (bytes or characters of payload) its constraints allow."""

    table: str
    column: str
    kind: str
    min_len: int
    max_len: int | None  # None: no limit


def _unfit(plan: TablePlan, column: str) -> str | None:
    """Why `column` of `plan` cannot carry the payload (None: it can)."""
    rule = plan.rules[column]
    c = rule.column
    if c.kind not in KINDS or c.array:
        return f"its type {c.type} carries no payload (text, varchar, bytea or jsonb do)"
    if rule.source != "value":
        return "it is a key, a foreign key or set by the server"
    if rule.choices or rule.pattern:
        return "a CHECK or its type allows only some values"
    compared = [o for o, _ in rule.above] + rule.differs
    compared += [name for name, r in plan.rules.items() if column in [o for o, _ in r.above] + r.differs]
    if compared:
        return f"a CHECK compares it with {compared[0]}"
    if column in plan.table.indexed:
        return "an index holds it (index entries cannot hold large payloads)"
    if rule.max_len is not None and rule.max_len - (JSON_WRAPPER if c.kind in ("json", "jsonb") else 0) < MIN_ROOM:
        return f"its length limit {rule.max_len} leaves a payload too little room (at least {MIN_ROOM})"
    return None


def size_knob(spec: object, plans: dict[str, TablePlan]) -> Knob | None:
    """The knob ``[model] size_knob`` names (None without one); `ModelError` naming table and column otherwise.

    Without a column, the table's first column (in `KINDS` order: bytea, then text) without a length limit."""
    if spec is None:
        return None
    key = "[model] size_knob"
    if not isinstance(spec, str) or not spec:
        raise ModelError(f'{key}: {spec!r} must be "table" or "table.column"')
    table, _, column = spec.partition(".")
    if table not in plans:
        raise ModelError(f"{key}: {table!r} is not a table of the schema")
    plan = plans[table]
    if column:
        if column not in plan.rules:
            raise ModelError(f"{key}: {table} has no column {column!r}")
        reason = _unfit(plan, column)
        if reason:
            raise ModelError(f"{key}: {table}.{column} cannot carry the size payload: {reason}")
    else:
        fit = [c for c in plan.rules if plan.rules[c].column.kind in KINDS[:2] and plan.rules[c].max_len is None
               and not _unfit(plan, c)]
        if not fit:
            raise ModelError(f"{key}: {table} has no column that can carry the size payload (bytea or text without "
                             "a length limit, not a key, not indexed); name one as \"table.column\"")
        column = min(fit, key=lambda c: KINDS.index(plan.rules[c].column.kind))
    rule = plan.rules[column]
    wrapper = JSON_WRAPPER if rule.column.kind in ("json", "jsonb") else 0
    return Knob(table, column, rule.column.kind, rule.min_len,
                None if rule.max_len is None else rule.max_len - wrapper)


def suitable(plan: TablePlan) -> str | None:
    """The column a knob on `plan`'s table would carry its payload in when the profile names none."""
    try:
        knob = size_knob(plan.table.name, {plan.table.name: plan})
    except ModelError:
        return None
    return knob.column if knob else None
