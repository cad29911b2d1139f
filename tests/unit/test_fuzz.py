"""Fuzzing: random damage to a valid profile, and random targets and scales, end in clean errors only.

A profile is mutated (keys removed, values replaced by other types, negative, NaN, huge or empty values),
written back as TOML and loaded; whatever loads must also plan. Anything but a GrowthSimError (ProfileError is
one) or success is a bug. The unit parsers' own fuzzing lives in test_units.py.
"""

from __future__ import annotations

import json
import math
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from growth_sim.errors import GrowthSimError
from growth_sim.profile import load_profile, profile_path
from growth_sim.timeline.plan import build_plan
from growth_sim.timeline.quantities import parse_scale
from growth_sim.timeline.schedule import Schedule

BASE = tomllib.loads(profile_path("small").read_text())
EXAMPLES = 150


def toml_value(value: Any) -> str:
    """`value` as a TOML inline value (tables inline too, so any nesting is one line)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def toml_document(doc: dict[str, Any]) -> str:
    return "\n".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in doc.items()) + "\n"


SCALARS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 1, 2**31, 2**63, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.5, 1e-300, 1e300]),
    st.booleans(),
    st.text(max_size=12),
    st.sampled_from(["", "week-1", "initial", "10 GiB", "-5 MB", "1e999 B", "2026-01-05T00:00:00Z", "nope"]),
)
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=4), st.dictionaries(st.text(max_size=6), SCALARS, max_size=3))


def mutate(doc: Any, data: st.DataObject) -> None:
    """Walk down a random path of `doc` and remove, retype or bend the value found there."""
    node = doc
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            return
        key = data.draw(st.sampled_from(keys))
        child = node[key]
        if isinstance(child, dict | list) and child and data.draw(st.booleans()):
            node = child
            continue
        action = data.draw(st.sampled_from(["remove", "replace", "bend"]))
        if action == "remove":
            del node[key]
        elif action == "replace" or not isinstance(child, int | float):
            node[key] = data.draw(VALUES)
        else:
            node[key] = child * data.draw(st.sampled_from([-1, 0, 10**12, 1e300, math.nan, 0.5]))
        return


def _deep(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep(v) for v in value]
    return value


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_damaged_profile_loads_and_plans_or_fails_cleanly(tmp_path: Path, data: st.DataObject):
    doc = _deep(BASE)
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        mutate(doc, data)
    path = tmp_path / "fuzzed.toml"
    path.write_text(toml_document(doc), encoding="utf-8")
    try:
        profile = load_profile(str(path))
        for scale in (1.0, 0.001):
            schedule = Schedule(profile, scale)
            stop = min(profile.last_hour, 3)
            list(schedule.hours(0, stop))
            build_plan(profile, scale, 0, stop, "day")
    except GrowthSimError as exc:
        message = str(exc)
        assert "\n" not in message and message, message
        assert "fuzzed.toml" in message or "--scale" in message or "hour" in message, message


def test_the_toml_writer_round_trips_the_base_profile(tmp_path: Path):
    path = tmp_path / "same.toml"
    path.write_text(toml_document(BASE))
    assert tomllib.loads(path.read_text()) == BASE
    assert load_profile(str(path)).milestones == load_profile("small").milestones


SCHEDULE = Schedule(load_profile("taskpilot"), 0.01)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(
    st.text(max_size=30),
    st.from_regex(r"\A(week-|\+|initial|20)[0-9a-zA-Z:+\-. ]{0,25}\Z"),
    st.builds(lambda n, u: f"+{n}{u}", st.integers(min_value=0, max_value=10**30), st.sampled_from("hdwmy ")),
    st.builds(lambda n: f"week-{n}", st.integers(min_value=-(10**30), max_value=10**30)),
), current=st.integers(min_value=0, max_value=SCHEDULE.last_hour))
def test_any_target_resolves_or_fails_cleanly(text: str, current: int):
    try:
        hour = SCHEDULE.resolve_target(text, current)
    except GrowthSimError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert current <= hour <= SCHEDULE.last_hour


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(max_size=20), st.floats().map(repr), st.integers().map(str)))
def test_any_scale_text_parses_or_fails_cleanly(text: str):
    try:
        scale = parse_scale(text)
        Schedule(SCHEDULE.profile, scale)
    except GrowthSimError as exc:
        assert "--scale" in str(exc)
    else:
        assert math.isfinite(scale) and scale > 0


@pytest.mark.parametrize("scale", [1e-300, 5e-324, 1e-9])
def test_vanishing_scales_plan_nothing_or_fail_cleanly(scale: float):
    try:
        schedule = Schedule(load_profile("small"), scale)
    except GrowthSimError as exc:
        assert "--scale" in str(exc)
    else:
        assert schedule.totals(0, schedule.last_hour)["issues"] == 0
