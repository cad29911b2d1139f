"""The schedule and `growth-sim plan`: exact milestones, sums that split, hours shaped by the daily curve."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from growth_sim.cli import cli
from growth_sim.errors import GrowthSimError
from growth_sim.profile import available_profiles, load_profile
from growth_sim.timeline.plan import build_plan, format_plan
from growth_sim.timeline.quantities import parse_scale
from growth_sim.timeline.schedule import Schedule

ROOT = Path(__file__).resolve().parents[2]
TASKPILOT = load_profile("taskpilot")
PROFILES = {name: load_profile(name) for name in available_profiles()}
LAST = TASKPILOT.last_hour

# The load guide's growth table (issues, comments, activity_log) at each milestone.
GROWTH_TABLE = {
    "initial": (500_000, 2_000_000, 3_000_000),
    "week-1": (600_000, 2_500_000, 4_000_000),
    "week-4": (900_000, 4_000_000, 7_000_000),
    "week-8": (1_300_000, 6_000_000, 11_000_000),
    "week-12": (1_800_000, 8_000_000, 15_000_000),
}
TABLES = ("issues", "comments", "activity_log")


def plan_json(*args: str) -> dict:
    result = CliRunner().invoke(cli, ["plan", *args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


# ---- growth-sim plan: the growth table, exactly ----------------------------------------------------------

@pytest.mark.parametrize(("scale", "divisor"), [("1", 1), ("0.01", 100)])
def test_plan_to_week_12_gives_the_growth_table(scale, divisor):
    plan = plan_json("--to", "week-12", "--scale", scale, "--by", "week")
    expected = {table: n // divisor for table, n in zip(TABLES, GROWTH_TABLE["week-12"], strict=True)}
    assert {t: plan["rows"][t] for t in TABLES} == expected
    assert {t: plan["initial"][t] + plan["totals"][t] for t in TABLES} == expected
    assert [m["label"] for m in plan["milestones"]] == list(GROWTH_TABLE)
    for m in plan["milestones"]:
        assert tuple(m["rows"][t] for t in TABLES) == tuple(n // divisor for n in GROWTH_TABLE[m["label"]])
        assert m["size"] == round(TASKPILOT.milestone(m["label"]).size / divisor)
    assert len(plan["periods"]) == 12
    assert {s: sum(p["counts"][s] for p in plan["periods"]) for s in plan["streams"]} == plan["totals"]


def test_plan_at_one_hundredth_is_exact_at_week_12():
    plan = plan_json("--to", "week-12", "--scale", "0.01")
    assert (plan["rows"]["issues"], plan["rows"]["comments"], plan["rows"]["activity_log"]) == \
        (18_000, 80_000, 150_000)
    assert len(plan["periods"]) == 12 * 7


@pytest.mark.parametrize("label", list(GROWTH_TABLE))
def test_every_milestone_is_exact_as_a_target(label):
    plan = plan_json("--to", label, "--scale", "0.01")
    assert tuple(plan["rows"][t] for t in TABLES) == tuple(n // 100 for n in GROWTH_TABLE[label])
    assert plan["milestones"][-1]["label"] == label


def test_plan_to_initial_is_the_initial_dataset_alone():
    plan = plan_json("--to", "initial", "--scale", "0.01")
    assert plan["periods"] == [] and plan["hours"] == 0
    assert tuple(plan["initial"][t] for t in TABLES) == (5_000, 20_000, 30_000)
    assert plan["rows"]["issues"] == 5_000 and all(n == 0 for n in plan["totals"].values())
    assert [m["label"] for m in plan["milestones"]] == ["initial"]


def test_plan_from_a_later_point_has_no_initial_dataset():
    plan = plan_json("--from", "week-1", "--to", "+2d", "--scale", "0.01")
    assert plan["initial"] is None and plan["from"]["hour"] == 168 and plan["to"]["hour"] == 216
    assert [p["label"] for p in plan["periods"]] == ["day 8", "day 9"]


def test_periods_cut_at_whole_days():
    plan = build_plan(TASKPILOT, 0.01, 30, 80, "day")
    assert [(p["start_hour"], p["stop_hour"]) for p in plan["periods"]] == [(30, 48), (48, 72), (72, 80)]


def test_human_output_is_a_table_with_milestones():
    result = CliRunner().invoke(cli, ["plan", "--to", "week-4", "--scale", "0.01", "--by", "week"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("Plan for profile taskpilot at scale 0.01: initial")
    table = [line for line in lines if line.startswith(("initial ", "week ", "total", "rows at"))]
    labels = [" ".join(line.split()[:2]) if line.startswith("week") else line.split()[0] for line in table]
    assert labels == ["initial", "week 1", "week 2", "week 3", "week 4", "total", "rows"]
    assert "9,000" in table[-1] and "512.0 MiB" in table[-1]
    milestones = lines[lines.index("Milestones in range:") + 1:]
    assert milestones[0].split()[0] == "initial" and milestones[2].split()[0] == "week-4"
    assert "issues 9,000  comments 40,000  activity_log 70,000" in milestones[2]


def test_plan_json_is_json_only_and_works_for_every_profile():
    for name in PROFILES:
        plan = plan_json("--profile", name, "--to", "week-1", "--by", "week")
        assert plan["profile"] == name and plan["periods"][0]["counts"]["issues"] > 0


@pytest.mark.parametrize(("args", "message"), [
    (["--to", "week-13"], "steady"),
    (["--to", "tomorrow"], "not understood"),
    (["--to", "week-1", "--scale", "0"], "--scale must be a positive number"),
    (["--to", "week-1", "--scale", "lots"], "--scale must be a positive number"),
    (["--to", "initial", "--from", "week-1"], "only moves forward"),
    (["--to", "week-1", "--profile", "no-such-profile"], "not found"),
])
def test_plan_refuses_bad_input(args, message):
    result = CliRunner().invoke(cli, ["plan", *args])
    assert isinstance(result.exception, GrowthSimError)
    assert message in str(result.exception)


def test_plan_refusal_is_one_line_and_exit_2_from_the_command():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-m", "growth_sim", "plan", "--to", "week-20"], capture_output=True,
                         text=True, env=env, cwd=ROOT, timeout=60)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.count("\n") == 1 and run.stderr.startswith("error: ") and "steady" in run.stderr


def test_plans_are_identical_across_processes_and_objects():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = ["plan", "--to", "week-4", "--scale", "0.05", "--json"]
    run = subprocess.run([sys.executable, "-m", "growth_sim", *args], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=60, check=True)
    here = plan_json("--to", "week-4", "--scale", "0.05")
    printed = json.loads(run.stdout)
    assert printed == here and printed.pop("estimate")["rows"] > 0  # the CLI adds the estimate to the plan
    assert printed == build_plan(TASKPILOT, 0.05, 0, 672, "day")
    a, b = Schedule(TASKPILOT, 0.05), Schedule(TASKPILOT, 0.05)
    assert list(a.hours(0, 400)) == list(b.hours(0, 400))


def test_parse_scale():
    assert parse_scale("0.01") == 0.01
    for bad in ("0", "-1", "nan", "inf", "", "1/100"):
        with pytest.raises(GrowthSimError):
            parse_scale(bad)


def test_format_plan_of_the_initial_dataset():
    text = format_plan(build_plan(TASKPILOT, 0.01, 0, 0, "day"))
    assert "the initial dataset (week 0, 2026-01-05 00:00)" in text
    assert "\ntotal" not in text


# ---- properties of the schedule ----------------------------------------------------------------------

profiles = st.sampled_from(sorted(PROFILES))
scales = st.sampled_from([1.0, 0.01, 0.05]) | st.floats(min_value=0.001, max_value=20)


@settings(max_examples=60, deadline=None)
@given(profiles, scales, st.data())
def test_any_split_sums_to_the_whole(name, scale, data):
    profile = PROFILES[name]
    schedule = Schedule(profile, scale)
    a = data.draw(st.integers(0, profile.last_hour), label="a")
    b = data.draw(st.integers(a, profile.last_hour), label="b")
    cuts = sorted(data.draw(st.lists(st.integers(a, b), max_size=6), label="cuts"))
    bounds = [a, *cuts, b]
    whole = schedule.totals(a, b)
    parts = [schedule.totals(x, y) for x, y in zip(bounds, bounds[1:], strict=False)]
    assert {s: sum(p[s] for p in parts) for s in schedule.streams} == whole
    plans = [build_plan(profile, scale, x, y, "day") for x, y in zip(bounds, bounds[1:], strict=False)]
    assert {s: sum(p["totals"][s] for p in plans) for s in schedule.streams} == whole
    if b - a <= 200:
        hours = list(schedule.hours(a, b))
        assert {s: sum(h.count[s] for h in hours) for s in schedule.streams} == whole


@settings(max_examples=40, deadline=None)
@given(profiles, scales)
def test_counts_are_never_negative_and_curves_monotone(name, scale):
    profile = PROFILES[name]
    schedule = Schedule(profile, scale)
    t = np.arange(-24 * 400, profile.last_hour + 1)
    cumulative = {stream: schedule.cumulative(stream, t) for stream in schedule.streams}
    for stream, counts in cumulative.items():
        assert (np.diff(counts) >= 0).all(), stream
        assert counts[0] >= 0
    for table in [*profile.milestone_tables, *(d.name for d in profile.derived if not d.operation)]:
        deletes = [lg.name for lg in profile.lagged if lg.kind == "delete" and lg.of == table]
        rows = cumulative[table] - sum((cumulative[name] for name in deletes), np.zeros_like(t))
        assert rows.min() >= 0, table
    sizes = schedule.size(np.arange(profile.last_hour + 1))
    assert (np.diff(sizes) >= 0).all()


@settings(max_examples=20, deadline=None)
@given(st.integers(0, LAST // 168 - 1), st.sampled_from(TABLES))
def test_hourly_shape_follows_the_daily_curve(week, table):
    schedule = Schedule(TASKPILOT, 1)
    start = week * 168
    counts = np.array([h.count[table] for h in schedule.hours(start, start + 168)]).reshape(7, 24)
    curve = np.array(TASKPILOT.curve)
    expected = counts.sum() * curve / curve.sum()
    assert np.abs(counts.sum(axis=0) - expected).max() <= 7 + 1  # +-1 row per hour of day and day
    # and each day on its own follows it too
    assert np.abs(counts - counts.sum(axis=1, keepdims=True) * curve / curve.sum()).max() <= 1 + 1e-9


def test_weekends_follow_the_weekend_factor():
    profile = dataclasses.replace(TASKPILOT, weekend_factor=0.5)
    schedule = Schedule(profile, 1)
    daily = [schedule.totals(d * 24, d * 24 + 24)["issues"] for d in range(7)]
    assert profile.start.weekday() == 0  # days 5 and 6 are Saturday and Sunday
    for weekend_day in daily[5:]:
        assert abs(weekend_day - daily[0] / 2) <= 24


MINIMAL = """
[profile]
name = "minimal"
model = "taskpilot"
start = "2026-03-02T00:00:00Z"
history_days = 30

[[milestones]]
at = "initial"
issues = 10
size = "1 MiB"

[[milestones]]
at = "week-2"
issues = 250
size = "3 MiB"

[curve]
hourly = [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
weekend_factor = 0
"""


def test_a_minimal_profile_plans(tmp_path):
    path = tmp_path / "minimal.toml"
    path.write_text(MINIMAL)
    profile = load_profile(str(path))
    schedule = Schedule(profile, 1)
    assert schedule.streams == ("issues",)
    days = [schedule.totals(d * 24, d * 24 + 24)["issues"] for d in range(14)]
    assert days == [24, 24, 24, 24, 24, 0, 0] * 2  # office hours on weekdays only
    hours = [h.count["issues"] for h in schedule.hours(0, 24)]
    assert hours == [0] * 9 + [3] * 8 + [0] * 7
    plan = plan_json("--profile", str(path), "--to", "week-2", "--by", "week")
    assert plan["rows"] == {"issues": 250} and plan["size"] == 3 * 2**20


def test_scale_too_large_is_refused():
    with pytest.raises(GrowthSimError, match="too large"):
        Schedule(TASKPILOT, 1e9)


# ---- targets --------------------------------------------------------------------------------------------

SCHEDULE = Schedule(TASKPILOT, 1)


@pytest.mark.parametrize(("text", "current", "hour"), [
    ("initial", 0, 0),
    ("week-0", 0, 0),
    ("week-4", 0, 672),
    ("week-12", 672, LAST),
    (" week-1 ", 0, 168),
    ("+3d", 0, 72),
    ("+3d", 100, 172),
    ("+12h", 5, 17),
    ("+0h", 30, 30),
    ("+1w", 0, 168),
    ("2026-01-12T00:00:00Z", 0, 168),
    ("2026-01-12T00:00:00+00:00", 0, 168),
    ("2026-01-12T05:00", 0, 173),
    ("2026-01-12T06:00:00+01:00", 0, 173),
    ("2026-01-12", 0, 168),
])
def test_targets_resolve(text, current, hour):
    assert SCHEDULE.resolve_target(text, current) == hour


@pytest.mark.parametrize(("text", "current", "message"), [
    ("initial", 168, "only moves forward"),
    ("week-1", 200, "only moves forward"),
    ("2025-12-01T00:00:00Z", 0, "only moves forward"),
    ("week-13", 0, "steady"),
    ("+12w", 1, "steady"),
    ("2026-06-01", 0, "steady"),
    ("2026-01-12T00:30:00Z", 0, "whole hour"),
    ("next week", 0, "not understood"),
    ("week-", 0, "not understood"),
    ("+3", 0, "not understood"),
    ("-3d", 100, "not understood"),
    ("", 0, "not understood"),
])
def test_bad_targets_are_refused(text, current, message):
    with pytest.raises(GrowthSimError, match=message):
        SCHEDULE.resolve_target(text, current)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), st.integers(0, LAST))
def test_any_target_text_resolves_or_is_refused_clearly(text, current):
    try:
        hour = SCHEDULE.resolve_target(text, current)
    except GrowthSimError:
        return
    assert current <= hour <= LAST


@given(st.integers(0, 2016), st.integers(0, 2016))
@settings(max_examples=60, deadline=None)
def test_between_counts_the_events_of_whole_hours(a: int, b: int):
    schedule = Schedule(PROFILES["taskpilot"], 0.01)
    start, stop = min(a, b), max(a, b)
    for stream in ("issue_updates", "comments", "notification_reads", "notification_deletes"):
        cumulative = schedule.cumulative(stream, np.array([start, stop]))
        assert schedule.between(stream, start, stop) == int(cumulative[1] - cumulative[0])
