"""The schema model's reading of CHECK constraints, as `pg_get_constraintdef` writes them (no server needed)."""

from __future__ import annotations

import pytest

from growth_sim.models.schema.catalog import Column, Table
from growth_sim.models.schema.rules import Refused, parse_pattern, table_plan


def _table(*checks: str, kind: str = "int4", **column: object) -> Table:
    columns = (Column("id", "integer", "int4", True, False), Column("a", kind, kind, True, False, **column),
               Column("b", kind, kind, False, False, **column))
    return Table("t", columns, ("id",), checks=tuple((f"t_check{i}", c) for i, c in enumerate(checks)))


def test_bounds_lists_lengths_and_comparisons() -> None:
    rules = table_plan(_table("CHECK (((a > 0) AND (a <= 50)))", "CHECK ((b > a))"), 0.1).rules
    assert (rules["a"].lo, rules["a"].hi) == (1, 50)
    assert rules["b"].above == [("a", True)]
    texts = table_plan(_table("CHECK ((a = ANY (ARRAY['x'::text, 'y'::text])))",
                              "CHECK ((char_length((b)::text) <= 8))", "CHECK ((a <> ''::text))", kind="text"),
                       0.1).rules
    assert texts["a"].choices == ("x", "y") and texts["b"].max_len == 8 and texts["a"].min_len == 1


def test_patterns() -> None:
    assert parse_pattern("^[0-9]{13}$") == [("0123456789", 13, 13)]
    assert parse_pattern("^[A-C]{2,3}-\\d+$") == [("ABC", 2, 3), ("-", 1, 1), ("0123456789", 1, 8)]
    assert parse_pattern("^(ab)+$") is None
    assert parse_pattern("[0-9]+") is None  # not anchored


@pytest.mark.parametrize(("check", "words"), [
    ("CHECK (((a % 2) = 0))", "t_check0"),
    ("CHECK (((a > 0) OR (b > 0)))", "t_check0"),
    ("CHECK (((a > 10) AND (a < 5)))", "t.a: its CHECK bounds leave no value"),
])
def test_refusals_name_table_column_or_constraint(check: str, words: str) -> None:
    with pytest.raises(Refused, match=words):
        table_plan(_table(check), 0.1)
