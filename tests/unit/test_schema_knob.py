"""The schema model's size knob: which column carries the payload, and a one-line refusal naming what cannot."""

from __future__ import annotations

import re
import tomllib
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from growth_sim.errors import ModelError
from growth_sim.models.schema import bind
from growth_sim.models.schema.catalog import Catalog, Column, Table, catalog_path, ddl_hash
from growth_sim.models.schema.knob import Knob, size_knob
from growth_sim.models.schema.rules import TablePlan, table_plan
from growth_sim.models.schema.starter import starting_profile
from growth_sim.profile.types import Width
from growth_sim.timeline.quantities import parse_size


def _column(name: str, kind: str, **more: object) -> Column:
    return Column(name, kind, kind, False, False, **more)


DOCS = Table("docs", (
    _column("id", "int4"), _column("title", "varchar", length=80), _column("body", "text"),
    _column("blob", "bytea"), _column("meta", "jsonb"), _column("code", "text"), _column("kind", "text"),
    _column("tagged", "text"), _column("long", "varchar", length=5000), _column("n", "int4"),
    _column("summary", "text")),
    primary_key=("id",), unique=(("code",),), indexed=("tagged",),
    checks=(("docs_kind_check", "CHECK ((kind = ANY (ARRAY['a'::text, 'b'::text])))"),
            ("docs_summary_check", "CHECK ((char_length(summary) <= 400))")))
NOTES = Table("notes", (_column("id", "int4"), _column("body", "text"), _column("extra", "text")), ("id",))
TAGS = Table("tags", (_column("id", "int4"), _column("name", "varchar", length=40)), ("id",))


def _plans() -> dict[str, TablePlan]:
    return {t.name: table_plan(t, 0.1) for t in (DOCS, NOTES, TAGS)}


@pytest.mark.parametrize(("spec", "knob"), [
    (None, None),
    ("docs", Knob("docs", "blob", "bytea", 0, None)),  # bytea first
    ("notes", Knob("notes", "body", "text", 0, None)),  # then the first text without a length limit
    ("docs.meta", Knob("docs", "meta", "jsonb", 0, None)),
    ("docs.long", Knob("docs", "long", "varchar", 0, 5000)),
])
def test_the_payload_column(spec: str | None, knob: Knob | None) -> None:
    assert size_knob(spec, _plans()) == knob


@pytest.mark.parametrize(("spec", "words"), [
    ("nosuch", "'nosuch' is not a table of the schema"),
    ("docs.nosuch", "docs has no column 'nosuch'"),
    ("docs.code", "docs.code cannot carry the size payload: it is a key"),
    ("docs.n", "docs.n cannot carry the size payload: its type int4"),
    ("docs.title", "docs.title cannot carry the size payload: its length limit 80"),
    ("docs.summary", "docs.summary cannot carry the size payload: its length limit 400"),
    ("docs.kind", "docs.kind cannot carry the size payload: a CHECK or its type allows only some values"),
    ("docs.tagged", "docs.tagged cannot carry the size payload: an index holds it"),
    ("tags", "tags has no column that can carry the size payload"),
    (3, "must be \"table\" or \"table.column\""),
])
def test_a_column_that_cannot_carry_it_is_refused_in_one_line(spec: object, words: str) -> None:
    with pytest.raises(ModelError, match="^" + re.escape("[model] size_knob: ") + ".*" + re.escape(words)) as refused:
        size_knob(spec, _plans())
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(("tables", "knob"), [((DOCS, NOTES, TAGS), "docs.blob"), ((TAGS,), None)])
def test_a_starting_profile_names_the_knob_of_its_largest_table(tables: tuple[Table, ...], knob: str | None,
                                                                tmp_path: Path) -> None:
    """Tables of equal growth: the first with a payload column; its payload bounds follow; no column, no knob."""
    text = starting_profile(Catalog(tables), tmp_path / "app.sql", tmp_path / "app.toml", 8 * 2**20)
    profile = tomllib.loads(text)
    assert profile["model"].get("size_knob") == knob
    if knob:
        table = knob.split(".")[0]
        assert profile["widths"][table]["preview"]["max"].endswith("KiB")
        sizes = [parse_size(m["size"]) for m in profile["milestones"]]
        assert sizes == sorted(sizes) and sizes[0] > 19 * 8 * 2**20  # the payload: 19 empty databases
    else:
        assert "widths" not in profile and '# size_knob = "table.column"' in text


@pytest.mark.parametrize(("spec", "width", "words"), [
    ("docs.long", None, '[model] size_knob = "docs.long" needs the bounds of its payload per row: [widths.docs]'),
    ("docs.long", Width(preview_max=6000), "preview max 6000 B is above the length limit 5000 of docs.long"),
    ("notes", Width(preview_min=0, preview_max=10), "preview max 10 B is below the minimum length 20 of notes.body"),
])
def test_payload_bounds_that_do_not_fit_the_column_are_refused(spec: str, width: Width | None, words: str,
                                                               tmp_path: Path) -> None:
    ddl = tmp_path / "app.sql"
    ddl.write_text("-- the tables of this module\n")
    notes = replace(NOTES, checks=(("notes_body_check", "CHECK ((char_length(body) >= 20))"),))
    catalog_path(ddl).write_text(Catalog((DOCS, notes, TAGS), ddl_hash(ddl.read_text())).to_json())
    package = bind({"schema": "app.sql", "size_knob": spec}, tmp_path)
    widths = {spec.split(".")[0]: width} if width else {}
    with pytest.raises(ModelError, match=re.escape(words)):
        package.check(SimpleNamespace(widths=widths))
