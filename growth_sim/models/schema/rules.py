"""From a catalog to generation rules: what each column gets, or a one-line refusal naming what cannot be honoured.

CHECK constraints are read in the shapes `pg_get_constraintdef` writes for the common cases: bounds against
constants, ``= ANY (ARRAY[...])`` (IN lists), comparisons of two columns, ``char_length(c) <op> n`` and ``c ~
'pattern'`` for patterns made of character classes and counted repeats (``^[0-9]{13}$``). Anything else is
refused before a row is written.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from growth_sim.errors import ModelError
from growth_sim.models.schema.catalog import Catalog, Column, ForeignKey, Table

INTEGERS = {"int2": 32767, "int4": 2**31 - 1, "int8": 2**63 - 1}
NUMBERS = {*INTEGERS, "numeric", "float4", "float8"}
TIMES = {"timestamptz", "timestamp", "date"}
TEXTS = {"text", "varchar", "bpchar", "citext"}
OTHERS = {"bool", "uuid", "json", "jsonb", "bytea", "time", "enum"}
_CAST = re.compile(r"::(?:\"[^\"]+\"|character varying|double precision|timestamp with(?:out)? time zone|"
                   r"time with(?:out)? time zone|[a-z_][\w.]*)(?:\(\d+(?:,\d+)?\))?(?:\[\])?")
_NUM = r"-?\d+(?:\.\d+)?"
_OP = r"(>=|>|<=|<|=|<>|!=)"
_FLIP = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "=": "=", "<>": "<>", "!=": "<>"}


class Refused(ModelError):
    """A schema feature the model cannot honour."""


@dataclass
class Rule:
    """How one column is generated."""

    column: Column
    source: str = "value"  # value | key (unique from the ordinal) | fk | omit (left to the server)
    fk: ForeignKey | None = None
    lo: float | None = None
    hi: float | None = None
    min_len: int = 0
    max_len: int | None = None
    choices: tuple[str, ...] = ()
    pattern: list[tuple[str, int, int]] | None = None  # (characters, min repeats, max repeats)
    above: list[tuple[str, bool]] = field(default_factory=list)  # (column, strict): this > / >= that
    differs: list[str] = field(default_factory=list)  # this <> that
    null_share: float = 0.0


@dataclass
class TablePlan:
    table: Table
    rules: dict[str, Rule]
    order: list[str]  # columns in generation order (compared columns after what they are compared with)
    link: tuple[ForeignKey, ForeignKey] | None = None  # a many-to-many table: its unique pair of parents

    @property
    def written(self) -> list[str]:
        return [c for c in self.order if self.rules[c].source != "omit"]


def _strip(text: str) -> str:
    text = text.strip()
    while text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
        text = text[1:-1].strip()
    return text


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def _conjuncts(definition: str) -> list[str]:
    pieces = re.split(r"('(?:[^']|'')*')", definition.removeprefix("CHECK ").replace(" NOT VALID", ""))
    for i in range(0, len(pieces), 2):  # outside quoted literals: no casts, no parentheses around one token
        pieces[i] = re.sub(rf"(?<![\w\]])\(({_NUM}|\w+)\)", r"\1", _CAST.sub("", pieces[i]))
    body = "".join(pieces)
    parts, depth, start, i = [], 0, 0, 0
    body = _strip(body)
    while i < len(body):
        depth += {"(": 1, ")": -1}.get(body[i], 0)
        if depth == 0 and body.startswith(" AND ", i):
            parts.append(body[start:i])
            start = i + 5
        i += 1
    return [_strip(p) for p in [*parts, body[start:]]]


def parse_pattern(regex: str) -> list[tuple[str, int, int]] | None:
    """A regex of character classes and repeats as (characters, min, max) atoms; None for anything else."""
    if not (regex.startswith("^") and regex.endswith("$")):
        return None
    atoms, i, body = [], 0, regex[1:-1]
    classes = {"\\d": "0123456789", "\\w": "abcdefghijklmnopqrstuvwxyz0123456789_"}
    while i < len(body):
        if body[i] == "[":
            end = body.find("]", i)
            inner = body[i + 1:end]
            if end < 0 or inner.startswith("^"):
                return None
            chars, j = "", 0
            while j < len(inner):
                if j + 2 < len(inner) and inner[j + 1] == "-":
                    chars += "".join(chr(c) for c in range(ord(inner[j]), ord(inner[j + 2]) + 1))
                    j += 3
                else:
                    chars += inner[j]
                    j += 1
            i = end + 1
        elif body[i:i + 2] in classes:
            chars, i = classes[body[i:i + 2]], i + 2
        elif body[i] == "\\" and i + 1 < len(body) and not body[i + 1].isalnum():
            chars, i = body[i + 1], i + 2
        elif body[i].isalnum() or body[i] in "-_@ :/#":
            chars, i = body[i], i + 1
        else:
            return None
        low = high = 1
        if i < len(body) and body[i] in "+*?":
            low, high = {"+": (1, 8), "*": (0, 8), "?": (0, 1)}[body[i]]
            i += 1
        elif i < len(body) and body[i] == "{":
            m = re.match(r"\{(\d+)(?:,(\d*))?\}", body[i:])
            if not m:
                return None
            low = int(m.group(1))
            high = low if m.group(2) is None else int(m.group(2) or low + 8)
            i += m.end()
        if any(ch in "\t\n\\" for ch in chars):
            return None
        atoms.append((chars, low, high))
    return atoms


def _apply(rule: Rule, conjunct: str, subject: str) -> bool:
    """Apply one conjunct of a CHECK to `rule` (the column named `subject` in it); False if it is not of a
    known shape about that column alone (or a column comparison, which `table_plan` handles)."""
    kind = rule.column.kind
    m = re.fullmatch(rf"(\w+) {_OP} ({_NUM}|'[^']*')", conjunct) or None
    if m is None and (m2 := re.fullmatch(rf"({_NUM}|'[^']*') {_OP} (\w+)", conjunct)):
        m = re.fullmatch(rf"(\w+) {_OP} (.*)", f"{m2.group(3)} {_FLIP[m2.group(2)]} {m2.group(1)}")
    if m and m.group(1) == subject:
        op, value = m.group(2), m.group(3)
        if value.startswith("'"):
            if value == "''" and op in ("<>", "!=") and kind in TEXTS:
                rule.min_len = max(rule.min_len, 1)
                return True
            return False
        if kind not in NUMBERS:
            return False
        step = 1.0 if kind in INTEGERS else (10.0 ** -(rule.column.scale or 0) if kind == "numeric" else 1e-6)
        v = float(value)
        if op in (">", ">="):
            rule.lo = max(rule.lo if rule.lo is not None else -math.inf, v + (step if op == ">" else 0))
        elif op in ("<", "<="):
            rule.hi = min(rule.hi if rule.hi is not None else math.inf, v - (step if op == "<" else 0))
        elif op == "=":
            rule.choices = (value,)
        else:
            return False
        return True
    m = re.fullmatch(r"(\w+) = ANY \(ARRAY\[(.*)\]\)", conjunct)
    if m and m.group(1) == subject:
        items = [s.strip() for s in m.group(2).split(",")]
        rule.choices = tuple(s[1:-1] if s.startswith("'") else s for s in items)
        return True
    m = re.fullmatch(rf"(?:char_length|length|character_length)\((\w+)\) {_OP} (\d+)", conjunct)
    if m and m.group(1) == subject:
        op, n = m.group(2), int(m.group(3))
        if op in (">", ">="):
            rule.min_len = max(rule.min_len, n + (op == ">"))
        elif op in ("<", "<="):
            rule.max_len = min(rule.max_len or n, n - (op == "<"))
        else:
            return False
        return True
    m = re.fullmatch(r"(\w+) ~ '(.*)'", conjunct)
    if m and m.group(1) == subject and kind in TEXTS:
        rule.pattern = parse_pattern(m.group(2))
        return rule.pattern is not None
    if re.fullmatch(rf"{subject} IS NOT NULL", conjunct):
        rule.null_share = 0.0
        return True
    return False


def _columns_in(conjunct: str, table: Table) -> list[str]:
    names = {c.name for c in table.columns}
    return [w for w in dict.fromkeys(re.findall(r"\b[a-z_]\w*\b", re.sub(r"'[^']*'", "", conjunct))) if w in names]


def table_plan(table: Table, null_share: float) -> TablePlan:
    """The rules of every column of `table`; `Refused` naming table, column and constraint otherwise."""
    rules = {c.name: Rule(c) for c in table.columns}
    for c in table.columns:
        where = f"{table.name}.{c.name}"
        rule = rules[c.name]
        if c.generated or (c.identity == "a"):
            rule.source = "omit"
            continue
        if c.kind not in NUMBERS | TIMES | TEXTS | OTHERS:
            raise Refused(f"{where}: type {c.type} is not supported")
        if c.array and c.kind not in set(INTEGERS) | TEXTS | {"uuid", "enum"}:
            raise Refused(f"{where}: array type {c.type} is not supported")
        if c.kind in INTEGERS:
            rule.lo, rule.hi = -INTEGERS[c.kind] - 1, INTEGERS[c.kind]
        elif c.kind == "numeric" and c.precision:
            top = 10.0 ** (c.precision - (c.scale or 0)) - 10.0 ** -(c.scale or 0)
            rule.lo, rule.hi = -top, top
        rule.max_len = c.length
        rule.choices = c.labels
        rule.null_share = 0.0 if c.not_null else null_share
        for definition in c.domain_checks:
            for conjunct in _conjuncts(definition):
                if not _apply(rule, conjunct.replace("VALUE", "value"), "value"):
                    raise Refused(f"{where}: domain {c.domain} CHECK {definition} is not of a supported shape")
    for name, definition in table.checks:
        for conjunct in _conjuncts(definition):
            cols = _columns_in(conjunct, table)
            if len(cols) == 1 and _apply(rules[cols[0]], conjunct, cols[0]):
                continue
            m = re.fullmatch(rf"(\w+) {_OP} (\w+)", conjunct)
            if len(cols) == 2 and m and m.group(1) in cols and m.group(3) in cols:
                a, op, b = m.groups()
                if op in ("<", "<="):
                    a, b, op = b, a, _FLIP[op]
                if op in (">", ">="):
                    rules[a].above.append((b, op == ">"))
                    continue
                if op in ("<>", "!="):
                    rules[a].differs.append(b)
                    continue
            raise Refused(f"{table.name}: CHECK {name} ({definition}) is not of a supported shape")
    if table.expression_indexes:
        raise Refused(f"{table.name}: unique index {table.expression_indexes[0]} on an expression is not supported")
    _foreign_keys(table, rules)
    link = _keys(table, rules)
    for rule in rules.values():
        _validate(table.name, rule)
    return TablePlan(table, rules, _order(table, rules), link)


def _foreign_keys(table: Table, rules: dict[str, Rule]) -> None:
    owner: dict[str, ForeignKey] = {}
    for fk in sorted(table.foreign_keys, key=lambda f: -len(f.columns)):
        if fk.on_delete not in ("a", "r", "c", "n"):
            raise Refused(f"{table.name}: foreign key {fk.name} ON DELETE SET DEFAULT is not supported")
        taken = [c for c in fk.columns if c in owner]
        if taken and len(fk.columns) > 1:
            raise Refused(f"{table.name}.{taken[0]}: in two multi-column foreign keys ({owner[taken[0]].name}, "
                          f"{fk.name}); one tenant for both cannot be chosen")
        if taken:  # a column of a wider key: the parent row that key picks must satisfy this one too
            if not _implied(table, owner[taken[0]], fk):
                raise Refused(f"{table.name}.{taken[0]}: foreign keys {owner[taken[0]].name} and {fk.name} "
                              "both set it")
            continue
        for c in fk.columns:
            owner[c] = fk
            rules[c].source, rules[c].fk = "fk", fk
            rules[c].choices = ()
            if fk.parent == table.name and rules[c].column.not_null:
                raise Refused(f"{table.name}.{c}: self-reference {fk.name} must be nullable (the first row has "
                              "no parent)")


def _implied(table: Table, wide: ForeignKey, narrow: ForeignKey) -> bool:
    """Whether the parent of `wide` carries, in its own columns, a foreign key equal to `narrow`."""
    return narrow.parent != table.name and all(c in wide.columns for c in narrow.columns)


def _keys(table: Table, rules: dict[str, Rule]) -> tuple[ForeignKey, ForeignKey] | None:
    """Make one column of every key unique from the ordinal; the pair of a many-to-many table, if it is one."""
    sets = [("primary key", table.primary_key)] if table.primary_key else []
    sets += [("unique", u) for u in table.unique]
    sets += [(f"unique index {index}", cols) for index, cols, _ in table.partial_unique]
    link = None
    for label, cols in sets:
        if any(rules[c].source == "key" or rules[c].column.identity == "a" for c in cols):
            continue  # unique by construction, or numbered by the server
        if len(cols) == 1 and rules[cols[0]].source == "fk" and rules[cols[0]].fk.parent != table.name:
            rules[cols[0]].source = "key"  # one-to-one with the parent: row n refers to parent n
            continue
        free = [c for c in cols if rules[c].source == "value" and not rules[c].choices
                and rules[c].column.kind in set(INTEGERS) | TEXTS | {"numeric", "uuid"} and not rules[c].column.array
                and not rules[c].above and not rules[c].differs]
        if free:
            rules[free[0]].source = "key"
            rules[free[0]].null_share = 0.0
            continue
        pair = _pair(table, rules, cols)
        if pair is None or (link is not None and link != pair):
            raise Refused(f"{table.name}: {label} ({', '.join(cols)}) has no column that can be made unique "
                          "from the row's ordinal (only foreign keys, choices or compared columns)")
        link = pair
    return link


def _pair(table: Table, rules: dict[str, Rule], cols: tuple[str, ...]) -> tuple[ForeignKey, ForeignKey] | None:
    """The two single-column foreign keys to other tables that make up key `cols`, if that is what it is."""
    fks = list(dict.fromkeys(rules[c].fk for c in cols if rules[c].source == "fk"))
    if len(fks) != 2 or len(cols) != 2 or any(len(f.columns) != 1 or f.parent == table.name for f in fks):
        return None
    for c in cols:
        rules[c].null_share = 0.0
    return fks[0], fks[1]


def _validate(table: str, rule: Rule) -> None:
    c = rule.column
    where = f"{table}.{c.name}"
    if rule.lo is not None and rule.hi is not None and rule.lo > rule.hi:
        raise Refused(f"{where}: its CHECK bounds leave no value")
    if rule.max_len is not None and rule.min_len > rule.max_len:
        raise Refused(f"{where}: its length limits leave no value")
    if rule.source == "key" and rule.pattern and any(lo != hi for _, lo, hi in rule.pattern):
        raise Refused(f"{where}: a unique column with a pattern of varying length is not supported")
    if rule.pattern and rule.max_len is not None and sum(hi for _, _, hi in rule.pattern) > rule.max_len:
        raise Refused(f"{where}: its pattern can be longer than its length limit {rule.max_len}")
    for other, _ in rule.above:
        if c.kind not in NUMBERS | TIMES:
            raise Refused(f"{where}: a comparison with {other} on type {c.type} is not supported")
    if rule.source == "fk" and (rule.above or rule.differs) and not _self_differs(table, rule):
        raise Refused(f"{where}: foreign key column compared with another column is not supported")
    if rule.differs and rule.source == "value" and not (rule.choices and len(rule.choices) > 1) \
            and c.kind not in NUMBERS | TIMES:
        raise Refused(f"{where}: <> with {rule.differs[0]} on type {c.type} is not supported")


def _self_differs(table: str, rule: Rule) -> bool:
    """`parent_id <> id` on a self-reference holds by construction (a row's parent is an earlier row)."""
    fk = rule.fk
    return fk is not None and fk.parent == table and not rule.above and rule.differs == [fk.parent_columns[0]]


def _order(table: Table, rules: dict[str, Rule]) -> list[str]:
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(name: str) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            raise Refused(f"{table.name}.{name}: its column comparisons form a cycle")
        state[name] = 1
        for other in [o for o, _ in rules[name].above] + rules[name].differs:
            if rules[name].source != "fk":
                visit(other)
        state[name] = 2
        order.append(name)

    for c in table.columns:
        visit(c.name)
    return order


def plans(catalog: Catalog, null_share: float) -> dict[str, TablePlan]:
    """The plan of every table, or `Refused` for the first feature that cannot be honoured."""
    if catalog.unsupported:
        raise Refused(f"{catalog.unsupported[0]} is not supported")
    return {t.name: table_plan(t, null_share) for t in catalog.tables}
