"""Column values as pure functions of (seed, table, ordinal): keys, parents, numbers, times, text, documents.

A row's parents are computed, never read back: a foreign key picks an ordinal among the parent rows that
existed when the child was created (recent ones more often, ``[model.recency]``), and the parent's key is the
parent generator's own value for that ordinal. A row is created at its stream's ordinal time, or at its newest
parent's if that is later: a child is never older than its parent.
"""

from __future__ import annotations

import functools
import json
import math

import numpy as np

from growth_sim.generate import payload
from growth_sim.generate.batch import NULL, Batch, bytea_text, text_batch
from growth_sim.generate.rand import Stream, timestamps, uuid_strings
from growth_sim.generate.text import corpus, slices
from growth_sim.models.api import Widths
from growth_sim.models.schema.knob import Knob
from growth_sim.models.schema.rules import INTEGERS, TEXTS, TablePlan
from growth_sim.timeline.schedule import Schedule

Values = tuple[list | np.ndarray, np.ndarray]  # raw values (numbers as floats/ints, times as hours) and presence
_GOLDEN = 0.6180339887  # ordinal -> pattern code: times a number near space x golden ratio, coprime with the space


@functools.cache
def _word_starts() -> np.ndarray:
    """Where the corpus's words begin: text values start at one."""
    chars = np.frombuffer(corpus().encode("ascii"), dtype=np.uint8)
    return np.flatnonzero(chars == ord(" ")) + 1


class Rows:
    """Every table's rows under one seed and schedule."""

    def __init__(self, plans: dict[str, TablePlan], schedule: Schedule, seed: int, recency: dict[str, float],
                 default_recency: float, knob: Knob | None = None) -> None:
        self.plans, self.schedule, self.seed = plans, schedule, seed
        self.recency, self.default_recency = recency, default_recency
        self.knob = knob
        self.widths = Widths({})

    def stream(self, *names: str) -> Stream:
        return Stream(self.seed, ".".join(names))

    # -- time and parents ------------------------------------------------------------------------------
    def own_hours(self, table: str, n: np.ndarray) -> np.ndarray:
        return self.schedule.ordinal_hours(table, n)

    def parent_ordinals(self, table: str, fk_name: str, n: np.ndarray) -> np.ndarray:
        """The parent row of each child row `n` through foreign key `fk_name` (-1: none, only self-references)."""
        plan = self.plans[table]
        fk = next(f for f in plan.table.foreign_keys if f.name == fk_name)
        if plan.rules[fk.columns[0]].source == "key":
            return n.copy()
        if plan.link is not None and fk in plan.link:
            return self._link_parents(table, fk is plan.link[1], n)
        available = n.copy() if fk.parent == table else \
            self.schedule.count_before(fk.parent, self.own_hours(table, n))
        r = self.recency.get(f"{table}.{fk.name}", self.default_recency)
        back = np.floor(available * self.stream(table, fk.name).uniform("parent", n) ** r).astype(np.int64)
        p = available - 1 - back
        return np.where(available > 0, p, -1 if fk.parent == table else 0)

    def _link_parents(self, table: str, second: bool, n: np.ndarray) -> np.ndarray:
        """A many-to-many row: the first parent from the proportional schedule (row m belongs to parent
        m / ratio, in slot j among its siblings); the second, distinct for each slot, among the rows of the
        second parent's table that existed when the first parent was created."""
        first_fk, second_fk = self.plans[table].link
        a, slot = self.schedule.parents(table, n)
        if not second:
            return a
        available = self.schedule.count_before(second_fk.parent, self.created(first_fk.parent, a))
        available = np.maximum(available, int(np.ceil(float(self.schedule.ratio(table)))))
        start = self.stream(table, second_fk.name).integers("parent", a, available)
        return (start + slot) % available

    def created(self, table: str, n: np.ndarray) -> np.ndarray:
        """When each row was created (fractional simulated hours): never before any of its parents."""
        hours = self.own_hours(table, n)
        for fk in self.plans[table].table.foreign_keys:
            if fk.parent != table and self.plans[table].rules[fk.columns[0]].source in ("fk", "key"):
                hours = np.maximum(hours, self.created(fk.parent, self.parent_ordinals(table, fk.name, n)))
        return hours

    # -- values ----------------------------------------------------------------------------------------
    def batch(self, table: str, first: int, stop: int, widths: Widths) -> Batch:
        self.widths = widths
        n = np.arange(first, stop, dtype=np.int64)
        plan = self.plans[table]
        rendered = self.rendered(table, plan.written, n)
        return text_batch(table, rendered)

    def rendered(self, table: str, columns: list[str], n: np.ndarray, stream: str = "") -> dict[str, list[str]]:
        """COPY text of `columns` of rows `n` (`stream` salts the draws: an update's new values)."""
        plan = self.plans[table]
        created = self.created(table, n)
        done: dict[str, Values] = {}
        for name in plan.order:
            if plan.rules[name].source != "omit" and (not self._carries(table, name) or name in columns):
                done[name] = self._column(table, name, n, created, done, stream)
        return {c: self._render(table, c, *done[c]) for c in columns}

    def key_text(self, table: str, column: str, n: np.ndarray) -> list[str]:
        """The rendered value of key (or foreign key) `column` of rows `n`: what a child or an update names."""
        return self._render(table, column, *self._column(table, column, n, self.created(table, n), {}, ""))

    def _column(self, table: str, name: str, n: np.ndarray, created: np.ndarray, done: dict[str, Values],
                salt: str) -> Values:
        plan = self.plans[table]
        rule = plan.rules[name]
        s = self.stream(table, name, salt) if salt else self.stream(table, name)
        present = np.ones(len(n), dtype=bool)
        if rule.null_share and rule.source != "key":
            key = rule.fk.name if rule.source == "fk" else name
            present = self.stream(table, key, salt).uniform("null", n) >= rule.null_share
        if rule.source == "fk" or (rule.source == "key" and rule.fk is not None):
            fk = rule.fk
            p = self.parent_ordinals(table, fk.name, n)
            present &= p >= 0
            parent_col = fk.parent_columns[fk.columns.index(name)]
            values = np.asarray(self.key_text(fk.parent, parent_col, np.maximum(p, 0)), dtype=object)
            return values, present
        if rule.source == "key":
            return self._key(table, rule, n), present
        if self._carries(table, name):
            return self._payload(self.knob, n, s), present
        values = self._value(table, rule, n, created, s)
        for other, strict in rule.above:
            ov, op = done[other]
            values = np.where(op, self._above(rule, np.asarray(ov, dtype=np.float64), strict, n, s), values)
        for other in rule.differs:
            if other not in done or plan.rules[other].source == "fk":
                continue
            ov = np.asarray(done[other][0])
            same = np.asarray(values) == ov
            if rule.choices:
                idx = np.asarray([rule.choices.index(v) for v in values])
                values = np.where(same, np.asarray(rule.choices, dtype=object)[(idx + 1) % len(rule.choices)],
                                  values)
            else:
                values = np.where(same, np.asarray(values) + 1, values)
        return values, present

    def _key(self, table: str, rule, n: np.ndarray):
        c = rule.column
        if c.kind == "uuid":
            return np.asarray(uuid_strings(self.seed, f"{table}.{c.name}", n), dtype=object)
        if c.kind in TEXTS:
            if rule.pattern:
                return np.asarray(self._pattern(rule.pattern, n, None), dtype=object)
            width = max(rule.min_len - len(c.name) - 1, 1)
            text = [f"{c.name}-{i:0{width}d}" for i in (n + 1).tolist()]
            if rule.max_len is not None and text and max(map(len, text)) > rule.max_len:
                raise ValueError(f"{table}.{c.name}: unique keys do not fit its length limit {rule.max_len}")
            return np.asarray(text, dtype=object)
        lo = 1 if rule.lo is None or rule.lo < 1 else math.ceil(rule.lo)
        return n + lo

    def _value(self, table: str, rule, n: np.ndarray, created: np.ndarray, s: Stream):
        c = rule.column
        if c.array:
            size = s.integers("len", n, 4)
            one = self._scalar(table, rule, np.repeat(n, 3) * 3 + np.tile(np.arange(3), len(n)), created.repeat(3),
                               s)
            items = np.asarray(self._render_scalar(table, rule, one), dtype=object).reshape(len(n), 3)
            quote = c.kind not in INTEGERS
            return np.asarray(["{" + ",".join(f'"{v}"' if quote else v for v in row[:k]) + "}"
                               for row, k in zip(items.tolist(), size.tolist(), strict=True)], dtype=object)
        return self._scalar(table, rule, n, created, s)

    def _scalar(self, table: str, rule, n: np.ndarray, created: np.ndarray, s: Stream):
        c = rule.column
        if rule.choices:
            return np.asarray(rule.choices, dtype=object)[s.integers("choice", n, len(rule.choices))]
        if c.kind in INTEGERS or c.kind in ("numeric", "float4", "float8"):
            lo = 0.0 if rule.lo is None or rule.lo <= 0 <= (rule.hi if rule.hi is not None else math.inf) \
                else rule.lo
            lo = max(lo, rule.lo if rule.lo is not None else lo)
            hi = min(rule.hi if rule.hi is not None else math.inf, lo + 1000)
            u = s.uniform("value", n)
            if c.kind in INTEGERS:
                return np.floor(lo + u * (hi - lo + 1)).astype(np.int64).clip(int(lo), int(hi))
            scale = c.scale if c.scale is not None else 2
            return np.clip(np.floor((lo + u * (hi - lo)) * 10 ** scale) / 10 ** scale, lo, hi)
        if c.kind in ("timestamptz", "timestamp", "date"):
            return created
        if c.kind == "time":
            return s.integers("value", n, 86_400)
        if c.kind == "bool":
            return s.uniform("value", n) < 0.5
        if c.kind == "uuid":
            return np.asarray(uuid_strings(self.seed, f"{table}.{c.name}", n), dtype=object)
        if c.kind in TEXTS:
            if rule.pattern:
                return np.asarray(self._pattern(rule.pattern, n, s), dtype=object)
            return np.asarray(self._text(table, rule, n, s), dtype=object)
        if c.kind in ("json", "jsonb"):
            words = self._text(table, rule, n, s, median=20)
            return np.asarray([json.dumps({"n": k, "note": w}) for k, w in zip(n.tolist(), words, strict=True)],
                              dtype=object)
        if c.kind == "bytea":
            return s.bits("value", n)
        raise ValueError(f"{table}.{c.name}: no generator for {c.type}")

    def _carries(self, table: str, column: str) -> bool:
        """Whether `column` of `table` carries the size knob's payload."""
        return self.knob is not None and (self.knob.table, self.knob.column) == (table, column)

    def _payload(self, knob: Knob, n: np.ndarray, s: Stream) -> np.ndarray:
        """The size knob's column: incompressible payloads of median `Widths.preview_bytes` within the profile's
        ``[widths.TABLE] preview`` bounds (and the column's minimum length), as COPY text (text: hex digits)."""
        width = self.schedule.profile.widths[knob.table]
        kind = knob.kind
        sizes = payload.sizes(s, "payload", n, self.widths.preview_bytes, max(width.preview_min, knob.min_len),
                              width.preview_max)
        raw = [payload.random_bytes(self.seed, knob.table, knob.column, o, (k + 1) // 2 if kind != "bytea" else k)
               for o, k in zip(n.tolist(), sizes.tolist(), strict=True)]
        if kind == "bytea":
            return np.asarray([bytea_text(b) for b in raw], dtype=object)
        digits = [b.hex()[:k] for b, k in zip(raw, sizes.tolist(), strict=True)]
        if kind in ("json", "jsonb"):
            return np.asarray([f'{{"payload": "{d}"}}' for d in digits], dtype=object)
        return np.asarray(digits, dtype=object)

    def _text(self, table: str, rule, n: np.ndarray, s: Stream, median: float | None = None) -> list[str]:
        width = self.schedule.profile.widths.get(table)
        spec = width.text if width else None
        top = rule.max_len if rule.max_len is not None else (spec.max if spec else 2_000)
        base = median or (spec.median if spec else min(40, max(top // 2, 1)))
        sigma = spec.sigma if spec else 0.5
        lo = max(rule.min_len, 1, int(spec.min) if spec else 1)
        lengths = np.clip(s.lognormal("len", n, base * self.widths.factor(table), sigma), lo, top).astype(np.int64)
        starts = _word_starts()
        at = (s.bits("at", n) % np.uint64(len(starts))).astype(np.int64)
        text = slices(starts[at], lengths)
        return [t if t.strip() else "x" * len(t) for t in text]

    def _pattern(self, atoms: list[tuple[str, int, int]], n: np.ndarray, s: Stream | None) -> list[str]:
        """Strings matching the pattern: random for `s`, else a bijection of the ordinal (unique)."""
        if s is None:
            space = math.prod(len(chars) ** lo for chars, lo, _ in atoms)
            mult = int(space * _GOLDEN) | 1
            while math.gcd(mult, space) != 1:
                mult += 2
            if len(n) and int(n.max()) >= space:
                raise ValueError(f"pattern holds only {space} distinct values")
            code = [(int(i) * mult + space // 3) % space for i in n.tolist()]
            out = []
            for x in code:
                parts = []
                for chars, count, _ in reversed(atoms):
                    for _ in range(count):
                        x, d = divmod(x, len(chars))
                        parts.append(chars[d])
                out.append("".join(reversed(parts)))
            return out
        out = [""] * len(n)
        for i, (chars, lo, hi) in enumerate(atoms):
            counts = lo + s.integers(f"p{i}", n, hi - lo + 1)
            for j in range(hi):
                pick = s.integers(f"p{i}.{j}", n, len(chars))
                out = [o + chars[p] if j < k else o for o, p, k in zip(out, pick.tolist(), counts.tolist(),
                                                                      strict=True)]
        return out

    def _above(self, rule, other: np.ndarray, strict: bool, n: np.ndarray, s: Stream) -> np.ndarray:
        c = rule.column
        u = s.uniform("above", n)
        if c.kind in ("timestamptz", "timestamp"):
            return other + (1 / 3600 if strict else 0) + u * 72
        if c.kind == "date":
            return other + (24 if strict else 0) + np.floor(u * 30) * 24
        step = 1 if c.kind in INTEGERS else 10.0 ** -(c.scale if c.scale is not None else 2)
        top = rule.hi if rule.hi is not None else math.inf
        room = np.maximum(np.minimum(top, other + 100) - other - (step if strict else 0), 0)
        value = other + (step if strict else 0) + np.floor(u * room / step) * step
        return value.astype(np.int64) if c.kind in INTEGERS else np.round(value, 10)

    # -- text ------------------------------------------------------------------------------------------
    def _render(self, table: str, name: str, values, present: np.ndarray) -> list[str]:
        rule = self.plans[table].rules[name]
        if rule.source == "fk" or (rule.source == "key" and rule.fk is not None) or rule.column.array \
                or self._carries(table, name):
            text = list(values)
        else:
            text = self._render_scalar(table, rule, values)
        return [t if p else NULL for t, p in zip(text, present.tolist(), strict=True)]

    def _render_scalar(self, table: str, rule, values) -> list[str]:
        c = rule.column
        if rule.choices or c.kind in TEXTS or c.kind in ("uuid", "json", "jsonb"):
            return [str(v) for v in values]
        if c.kind in INTEGERS:
            return np.asarray(values).astype(np.int64).astype(str).tolist()
        if c.kind in ("numeric", "float4", "float8"):
            digits = c.scale if c.scale is not None else 2
            return [f"{v:.{digits}f}" for v in np.asarray(values, dtype=np.float64).tolist()]
        if c.kind in ("timestamptz", "timestamp"):
            return timestamps(self.schedule.profile.start, np.asarray(values, dtype=np.float64))
        if c.kind == "date":
            return [t[:10] for t in timestamps(self.schedule.profile.start, np.asarray(values, dtype=np.float64))]
        if c.kind == "time":
            return [f"{v // 3600:02d}:{v // 60 % 60:02d}:{v % 60:02d}" for v in np.asarray(values).tolist()]
        if c.kind == "bool":
            return ["t" if v else "f" for v in np.asarray(values).tolist()]
        if c.kind == "bytea":
            return ["\\\\x" + np.asarray([v], dtype=np.uint64).tobytes().hex() * 2 for v in np.asarray(values).tolist()]
        raise ValueError(f"{table}.{c.name}: no text form for {c.type}")
