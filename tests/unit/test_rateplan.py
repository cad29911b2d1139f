"""The rate plan behind `growth-sim steady`: the profile's mix at a rate, shaped by the daily curve, split-proof.

Pure logic (no database): cumulative counts and planned sizes of `RatePlan`, and the translation of --rate,
--vus and --preset.
"""

from __future__ import annotations

import numpy as np
import pytest

from growth_sim.engine.steady import resolve_rate, unit_seconds
from growth_sim.errors import GrowthSimError
from growth_sim.profile import load_profile
from growth_sim.timeline.quantities import parse_rate
from growth_sim.timeline.rateplan import RatePlan, Segment
from growth_sim.timeline.schedule import Schedule

TASKPILOT = load_profile("taskpilot")
GIB = 2**30
DAY = 24
WEEK = 168
LAST = TASKPILOT.last_hour  # week 12


def plan(rate: str, anchor: int = LAST, scale: float = 0.01, horizon: int = LAST + 4 * WEEK,
         more: tuple[Segment, ...] = ()) -> RatePlan:
    return RatePlan(TASKPILOT, scale, [Segment(anchor, parse_rate(rate)), *more], horizon)


def test_the_growth_table_pace_is_ten_gib_a_week():
    """The profile plans 10 GiB a week from initial to week 12: at that rate the multiplier is 1 and a week
    brings the growth table's average weekly rows (issues +1.3M over 12 weeks)."""
    p = plan("10GiB/week", scale=1)
    assert p.multiplier(parse_rate("10GiB/week")) == pytest.approx(1.0)
    week = np.array([LAST, LAST + WEEK])
    assert int(np.diff(p.cumulative("issues", week))[0]) == pytest.approx(1_300_000 / 12, abs=1)
    assert int(np.diff(p.cumulative("comments", week))[0]) == pytest.approx(6_000_000 / 12, abs=1)
    assert int(np.diff(p.cumulative("issue_updates", week))[0]) == pytest.approx(700_000, abs=1)
    assert int(np.diff(p.size(week))[0]) == pytest.approx(10 * GIB, abs=1)


def test_counts_follow_the_rate_not_the_scale():
    """The rate is bytes: a tenth of the rate writes a tenth of the rows, at any --scale."""
    day = np.array([LAST, LAST + DAY])
    big = {s: int(np.diff(plan("1GiB/day", scale=0.1).cumulative(s, day))[0]) for s in ("issues", "comments")}
    small = {s: int(np.diff(plan("1GiB/day", scale=0.01).cumulative(s, day))[0]) for s in big}
    tenth = {s: int(np.diff(plan("0.1GiB/day", scale=0.01).cumulative(s, day))[0]) for s in big}
    for s in big:
        assert small[s] == pytest.approx(big[s], rel=0.01)
        assert tenth[s] == pytest.approx(big[s] / 10, rel=0.01)


def test_a_day_grows_by_the_rate_and_its_hours_follow_the_daily_curve():
    p = plan("1GiB/day")
    hours = np.arange(LAST, LAST + DAY + 1)
    sizes = p.size(hours)
    assert sizes[-1] - sizes[0] == pytest.approx(GIB, abs=2)
    curve = np.asarray(TASKPILOT.curve, dtype=float)[(hours[:-1] + TASKPILOT.start.hour) % 24]
    assert np.diff(sizes) / GIB == pytest.approx(curve / curve.sum(), abs=1e-6)
    issues = np.diff(p.cumulative("issues", hours))
    assert issues / issues.sum() == pytest.approx(curve / curve.sum(), abs=0.01)
    night, peak = issues[2], issues[10]  # 02:00 (10 % of peak) and 10:00 (100 %)
    assert peak == pytest.approx(10 * night, rel=0.05)


def test_the_plan_continues_the_schedule_at_its_anchor():
    """Up to the anchor the rate plan is the database's Schedule, so rows already written keep their ordinals."""
    anchor = WEEK + 5
    p, schedule = plan("1GiB/day", anchor=anchor), Schedule(TASKPILOT, 0.01)
    before = np.arange(anchor + 1)
    for stream in schedule.streams:
        assert np.array_equal(p.cumulative(stream, before), schedule.cumulative(stream, before)), stream
        assert np.all(np.diff(p.cumulative(stream, np.arange(anchor, anchor + WEEK))) >= 0), stream
    for t in (-1000.5, -3.25, 17.5, anchor - 0.5):
        assert p.count_before("comments", np.array([t]))[0] == schedule.count_before("comments", np.array([t]))[0]


def test_derived_and_lagged_streams_keep_the_profiles_ratios():
    p = plan("10GiB/week", scale=1, horizon=LAST + 1440 + 2 * WEEK)
    week = np.array([LAST, LAST + WEEK])
    grown = {s: int(np.diff(p.cumulative(s, week))[0]) for s in p.streams}
    assert grown["attachments"] == pytest.approx(0.35 * grown["issues"], rel=0.001)
    assert grown["issue_labels"] == pytest.approx(1.55 * grown["issues"], rel=0.001)
    events = grown["issues"] + grown["comments"] + grown["issue_updates"]
    assert grown["notifications"] == pytest.approx(0.55 * events, rel=0.001)
    reads = next(lg for lg in TASKPILOT.lagged if lg.name == "notification_reads")
    assert grown["notification_reads"] == pytest.approx(reads.share * grown["notifications"], rel=0.02)
    # Retention deletes trail notifications by 60 days: 60 days after week 12 they delete steady's own rows.
    later = np.array([LAST + 1440, LAST + 1440 + WEEK])
    assert int(np.diff(p.cumulative("notification_deletes", later))[0]) == grown["notifications"]


def test_any_split_of_time_into_slices_writes_each_ordinal_once():
    p = plan("1GiB/day")
    rng = np.random.default_rng(7)
    for hour in (LAST, LAST + 9, LAST + 30):
        cuts = np.sort(rng.choice(np.arange(1, 3600), size=12, replace=False))
        bounds = [0, *cuts.tolist(), 3600]
        slices = [p.slice_plan(hour + a / 3600, hour + b / 3600) for a, b in zip(bounds, bounds[1:], strict=False)]
        whole = p.slice_plan(hour, hour + 1)
        for stream in p.streams:
            assert sum(s.count[stream] for s in slices) == whole.count[stream], stream
            for a, b in zip(slices, slices[1:], strict=False):
                assert a.start[stream] + a.count[stream] == b.start[stream], stream
        assert slices[-1].size == whole.size
        for piece in slices:  # a slice's labels, links and SLA rows belong to issues written by its end
            issues_by_end = piece.start["issues"] + piece.count["issues"]
            for child in ("issue_labels", "issue_links", "sla_status"):
                last = piece.start[child] + piece.count[child] - 1
                if piece.count[child]:
                    assert p.parents(child, np.array([last]))[0][0] < issues_by_end, child


def test_a_new_rate_starts_at_its_hour_and_leaves_earlier_hours_alone():
    one = plan("1GiB/day")
    two = plan("1GiB/day", more=(Segment(LAST + 30, parse_rate("4GiB/day")),))
    early = np.arange(LAST, LAST + 31)
    for stream in one.streams:
        assert np.array_equal(one.cumulative(stream, early), two.cumulative(stream, early)), stream
    week_later = np.array([LAST + WEEK, LAST + WEEK + DAY])
    assert np.diff(two.size(week_later))[0] == pytest.approx(4 * GIB, abs=2)


def test_extending_the_horizon_changes_nothing_already_planned():
    p = plan("1GiB/day", horizon=LAST + 50)
    far = p.extended(LAST + 400)
    assert far.last_hour >= LAST + 400
    t = np.arange(LAST, LAST + 50)
    for stream in p.streams:
        assert np.array_equal(p.cumulative(stream, t), far.cumulative(stream, t)), stream
    with pytest.raises(GrowthSimError, match="horizon"):
        p.cumulative("issues", np.array([LAST + 51]))


def test_rebase_anchors_the_planned_size_where_it_was_measured():
    p = plan("1GiB/day")
    p.rebase(LAST + 3.5, 123_456_789)
    assert p.size_at(LAST + 3.5) == pytest.approx(123_456_789)
    assert p.size_at(LAST + 27.5) - p.size_at(LAST + 3.5) == pytest.approx(GIB, abs=2)


def test_units_are_short_in_real_time_and_an_hour_when_fast():
    assert unit_seconds(1) == 5
    assert unit_seconds(0.1) == 1
    assert unit_seconds(60) == 300
    assert unit_seconds(1440) == 3600
    assert all(3600 % unit_seconds(s) == 0 for s in (0.5, 1, 3, 7.5, 100, 1e6))


@pytest.mark.parametrize(("vus", "per_week"), [(50, GIB), (500, 10 * GIB), (10, GIB / 5)])
def test_virtual_users_speak_the_load_guides_language(vus, per_week):
    rate, duration, period = resolve_rate(None, vus, None, lambda: TASKPILOT)
    assert rate * 604800 == pytest.approx(per_week)
    assert (duration, period) == (None, "week")


@pytest.mark.parametrize(("preset", "vus", "seconds"), [
    ("quick", 10, 300), ("standard", 50, 3600), ("heavy", 200, 8 * 3600), ("continuous", 500, 168 * 3600)])
def test_presets_mirror_the_load_guides_runs(preset, vus, seconds):
    rate, duration, _ = resolve_rate(None, None, preset, lambda: TASKPILOT)
    assert rate * 604800 == pytest.approx(vus / 50 * GIB)
    assert duration == seconds


@pytest.mark.parametrize(("args", "message"), [
    ((None, None, None), "give one of --rate"),
    (("1GiB/day", 50, None), "not --rate and --vus"),
    (("1GiB/fortnight", None, None), "'fortnight' is not a period"),
    (("0GiB/day", None, None), "must be above zero"),
    ((None, 0, None), "--vus must be"),
    ((None, None, "marathon"), "unknown --preset 'marathon'"),
])
def test_bad_rate_options_are_refused_clearly(args, message):
    with pytest.raises(GrowthSimError, match=message.replace("-", r"\-")):
        resolve_rate(*args, lambda: TASKPILOT)


def test_a_profile_without_a_steady_section_asks_for_a_rate():
    with pytest.raises(GrowthSimError, match="has no \\[steady\\] section"):
        resolve_rate(None, 50, None, lambda: load_profile("small"))
    assert resolve_rate("1GiB/day", None, None, lambda: load_profile("small"))[0] == pytest.approx(GIB / 86400)
