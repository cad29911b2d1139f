"""Profiles: the shipped ones load; malformed ones give one `error:` line naming file and key, exit code 2."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from support import run_main

from growth_sim.errors import ProfileError
from growth_sim.profile import available_profiles, load_profile
from growth_sim.resources import data_dir
from growth_sim.timeline.schedule import Schedule

ROOT = Path(__file__).resolve().parents[2]
TASKPILOT = (data_dir("profiles") / "taskpilot.toml").read_text()


def test_shipped_profiles_are_all_there():
    assert {"taskpilot", "small", "write-heavy", "search-heavy"} <= set(available_profiles())


@pytest.mark.parametrize("name", available_profiles())
def test_shipped_profile_loads_and_plans(name):
    profile = load_profile(name)
    assert profile.name == name
    schedule = Schedule(profile, 1)
    totals = schedule.totals(0, profile.last_hour)
    assert all(n >= 0 for n in totals.values())
    for m in profile.milestones:
        for table, n in m.counts.items():
            assert schedule.rows(table, m.hour) == n


def test_write_heavy_follows_the_issues():
    profile = load_profile("write-heavy")
    assert profile.milestone_tables == ("issues", "activity_log")
    assert "issue_updates" not in profile.rates
    updates = next(d for d in profile.derived if d.name == "issue_updates")
    assert updates.operation and updates.per == ("issues",) and updates.ratio == 3
    schedule = Schedule(profile, 1)
    for start, stop in [(0, 168), (168, 672), (0, profile.last_hour)]:
        totals = schedule.totals(start, stop)
        assert totals["comments"] == 5 * totals["issues"]
        assert totals["issue_updates"] == 3 * totals["issues"]
    assert schedule.initial("comments") == 2_000_000
    taskpilot = load_profile("taskpilot")
    assert [m.counts["issues"] for m in profile.milestones] == \
        [m.counts["issues"] for m in taskpilot.milestones]
    assert all(a.size < b.size for a, b in zip(profile.milestones[1:], taskpilot.milestones[1:], strict=True))


def test_search_heavy_has_the_growth_table_and_half_the_updates():
    profile, taskpilot = load_profile("search-heavy"), load_profile("taskpilot")
    assert profile.milestones == taskpilot.milestones
    assert profile.rates["issue_updates"] * 2 == taskpilot.rates["issue_updates"]


def test_small_is_taskpilot_at_one_hundredth_for_two_weeks():
    small, taskpilot = load_profile("small"), load_profile("taskpilot")
    assert [m.label for m in small.milestones] == ["initial", "week-1", "week-2"]
    for a, b in zip(small.milestones, taskpilot.milestones[:2], strict=False):
        assert a.counts == {k: v // 100 for k, v in b.counts.items()}
        assert a.size == b.size // 100 or abs(a.size - b.size / 100) < 1
    assert small.rates["issue_updates"] * 100 == taskpilot.rates["issue_updates"]
    # week-2 lies on taskpilot's week-1 -> week-4 line
    small_week2 = Schedule(small, 1).totals(168, 336)
    taskpilot_week2 = Schedule(taskpilot, 0.01).totals(168, 336)
    assert all(small_week2[t] == taskpilot_week2[t] for t in taskpilot.milestone_tables)


@pytest.mark.parametrize("name", ["small", "write-heavy", "search-heavy"])
def test_variants_keep_taskpilots_shapes(name):
    variant, taskpilot = load_profile(name), load_profile("taskpilot")
    for shape in ("start", "curve", "weekend_factor", "widths", "bloat", "vacuum_check_hours",
                  "vacuum_quiet_hours"):
        assert getattr(variant, shape) == getattr(taskpilot, shape), \
            f"profiles/{name}.toml: {shape} is no longer taskpilot.toml's; keep the variants in step"
    same_derived = {d.name: (d.per, d.ratio) for d in taskpilot.derived}
    for d in variant.derived:
        if d.name in same_derived:
            assert (d.per, d.ratio) == same_derived[d.name], f"profiles/{name}.toml: derived.{d.name}"


def test_mix_weights_must_sum_to_one(tmp_path):
    path = tmp_path / "mix.toml"
    path.write_text(edit(TASKPILOT, r"status = 0\.2, priority", "status = 0.4, priority"))
    with pytest.raises(ProfileError, match=r"mix\.toml: model\.issue_field_mix: weights sum to 1\.2, not 1"):
        load_profile(str(path))


# ---- a battery of malformed profiles, each run through the real command line ----------------------------

def edit(text: str, pattern: str, replacement: str, count: int = 1) -> str:
    """`text` with `pattern` (a regex, expected exactly `count` times) replaced."""
    new, n = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    assert n == count, f"pattern {pattern!r} found {n} times in taskpilot.toml, expected {count}"
    return new


def remove_milestones(text: str) -> str:
    return re.sub(r"\[\[milestones\]\]\n(?:[^\n\[#]+\n)+\n?", "", text)


def only_initial(text: str) -> str:
    first = text.index("[[milestones]]")
    kept = text[: text.index("[[milestones]]", first + 1)]
    return kept + text[text.index("# Streams that grow"):]


def cycle(text: str) -> str:
    text = edit(text, r'^per = \["issues", "comments", "issue_updates"\]\nratio = 0\.55',
                'per = ["issues", "webhook_deliveries"]\nratio = 0.55')
    return edit(text, r'^per = \["issues", "comments", "issue_updates"\]\nratio = 0\.3 ',
                'per = ["notifications"]\nratio = 0.3 ')


Edit = Callable[[str], str]
CASES: dict[str, tuple[Edit, str]] = {
    # name: (how to break taskpilot.toml, what the error line must contain besides the file name)
    "missing_milestones": (remove_milestones, "milestones: needs at least two"),
    "one_milestone": (only_initial, "milestones: needs at least two"),
    "decreasing_count": (lambda t: edit(t, r"^issues = 900_000", "issues = 550_000"),
                         "milestones[2].issues: 550000 is less than 600000 at week-1"),
    "milestone_not_after": (lambda t: edit(t, r'^at = "week-8"', 'at = "week-3"'),
                            "milestones[3].at: week-3 does not come after week-4"),
    "milestone_repeated": (lambda t: edit(t, r'^at = "week-4"', 'at = "week-1"'),
                           "milestones[2].at: week-1 does not come after week-1"),
    "first_not_initial": (lambda t: edit(t, r'^at = "initial"', 'at = "week-2"'),
                          "milestones[0].at: the first milestone must be 'initial'"),
    "milestone_label": (lambda t: edit(t, r'^at = "week-4"', 'at = "month-1"'),
                        "milestones[2].at: 'month-1' is not a milestone"),
    "milestone_unknown_table": (lambda t: edit(t, r"^issues = 500_000", "issues = 500_000\nbugs = 10"),
                                "milestones[0].bugs: unknown table"),
    "milestone_tables_differ": (lambda t: edit(t, r"^activity_log = 4_000_000\n", ""),
                                "milestones[1]: must give the same tables as initial"),
    "negative_count": (lambda t: edit(t, r"^issues = 500_000", "issues = -500_000"),
                       "milestones[0].issues: -500000 must be >= 0"),
    "fractional_count": (lambda t: edit(t, r"^issues = 500_000", "issues = 500_000.5"),
                         "milestones[0].issues: 500000.5 must be a whole number"),
    "non_numeric_count": (lambda t: edit(t, r"^issues = 500_000", 'issues = "many"'),
                          "milestones[0].issues: 'many' is not a number"),
    "size_bad_unit": (lambda t: edit(t, r'^size = "10 GiB"', 'size = "10 gigs"'),
                      "milestones[0].size: '10 gigs' is not a size"),
    "size_negative": (lambda t: edit(t, r'^size = "10 GiB"', 'size = "-10 GiB"'),
                      "milestones[0].size: '-10 GiB' is not a size"),
    "size_not_text": (lambda t: edit(t, r'^size = "10 GiB"', "size = [10]"),
                      "milestones[0].size: [10] is not a size"),
    "size_missing": (lambda t: edit(t, r'^size = "10 GiB"\n', ""), "milestones[0].size: missing value"),
    "size_shrinks": (lambda t: edit(t, r'^size = "50 GiB"', 'size = "15 GiB"'),
                     "milestones[2].size: smaller than at week-1"),
    "width_bad_unit": (lambda t: edit(t, r'^bytes_per_row = "5 KB"', 'bytes_per_row = "5 kilos"'),
                       "widths.issues.bytes_per_row: '5 kilos' is not a size"),
    "derived_unknown_table": (lambda t: edit(t, r"^\[derived\.notifications\]", "[derived.notificationz]"),
                              "derived.notificationz: unknown table"),
    "derived_unknown_per": (lambda t: edit(t, r'^per = \["issues"\]\nratio = 0\.35',
                                           'per = ["issuez"]\nratio = 0.35'),
                            "derived.attachments.per: unknown stream 'issuez'"),
    "derived_negative_ratio": (lambda t: edit(t, r"^ratio = 0\.55", "ratio = -0.55"),
                               "derived.notifications.ratio: -0.55 must be >= 0"),
    "derived_text_ratio": (lambda t: edit(t, r"^ratio = 0\.55", 'ratio = "half"'),
                           "derived.notifications.ratio: 'half' is not a number"),
    "derived_cycle": (cycle, "derived streams form a cycle"),
    "derived_operation_on_table": (lambda t: edit(t, r"^ratio = 0\.35 ", "operation = true\nratio = 0.35 "),
                                   "derived.attachments.operation: attachments is a table"),
    "rate_negative": (lambda t: edit(t, r"^issue_updates = 700_000", "issue_updates = -1"),
                      "rates.issue_updates: -1 must be >= 0"),
    "rate_shadows_table": (lambda t: edit(t, r"^issue_updates = 700_000", "issue_updates = 7\nissues = 5"),
                           "rates.issues: is already given"),
    "widths_unknown_table": (lambda t: edit(t, r"^\[widths\.comments\]", "[widths.commentz]"),
                             "widths.commentz: unknown table"),
    "widths_unknown_key": (lambda t: edit(t, r'^bytes_per_row = "5 KB"', 'bytes_per_row = "5KB"\ncolour = 1'),
                           "widths.issues.colour: unknown key"),
    "text_max_below_min": (lambda t: edit(t, r"min = 40, max = 20_000", "min = 400, max = 20"),
                           "widths.issues.text.max: 20 is below min 400"),
    "bloat_unknown_table": (lambda t: edit(t, r"^\[bloat\.notifications\]", "[bloat.notificationz]"),
                            "bloat.notificationz: unknown table"),
    "bloat_band_backwards": (lambda t: edit(t, r"^band = \[31, 45\]", "band = [45, 31]"),
                             "bloat.issues: needs 0 <= low <= target <= high <= 100"),
    "curve_23_values": (lambda t: edit(t, r"^hourly = \[10, ", "hourly = ["),
                        "curve.hourly: needs 24 values (one per hour of the day), got 23 values"),
    "curve_all_zero": (lambda t: edit(t, r"^hourly = \[.*\]$", "hourly = [" + ", ".join(["0"] * 24) + "]"),
                       "curve.hourly: all hours are zero"),
    "curve_negative": (lambda t: edit(t, r"^hourly = \[10, ", "hourly = [-10, "),
                       "curve.hourly[0]: -10 must be >= 0"),
    "curve_missing": (lambda t: edit(t, r"^\[curve\]", "[kurve]"), "curve: missing section"),
    "mix_not_one": (lambda t: edit(t, r"status = 0\.2, priority", "status = 0.4, priority"),
                    "model.issue_field_mix: weights sum to 1.2, not 1"),
    "mix_negative": (lambda t: edit(t, r"none = 0\.10, low = 0\.30", "none = -0.10, low = 0.50"),
                     "model.priority_mix.none: -0.1 must be >= 0"),
    "mix_text": (lambda t: edit(t, r"status = 0\.2, priority", 'status = "a fifth", priority'),
                 "model.issue_field_mix.status: 'a fifth' is not a number"),
    "lagged_kind": (lambda t: edit(t, r'^kind = "update"', 'kind = "upsert"'),
                    "lagged.notification_reads.kind: 'upsert' must be 'update' or 'delete'"),
    "lagged_share": (lambda t: edit(t, r"^share = 0\.45 ", "share = 1.6 "),
                     "lagged.notification_reads.share: 1.6 must be between 0 and 1"),
    "lagged_of_unknown": (lambda t: edit(t, r'^of = "notifications"\nkind = "update"',
                                         'of = "alerts"\nkind = "update"'),
                          "lagged.notification_reads.of: unknown stream 'alerts'"),
    "start_not_iso": (lambda t: edit(t, r'^start = "2026-01-05T00:00:00Z"', 'start = "next Monday"'),
                      "profile.start: 'next Monday' is not an ISO timestamp"),
    "start_off_the_hour": (lambda t: edit(t, r'^start = ".*"', 'start = "2026-01-05T00:30:00Z"'),
                           "profile.start: must fall on a whole hour"),
    "unknown_model": (lambda t: edit(t, r'^model = "taskpilot"', 'model = "jira"'),
                      "profile.model: unknown model 'jira'"),
    "steady_vus_rate": (lambda t: edit(t, r'^vus_rate = "1 GiB/week"', 'vus_rate = "1 GiB/fortnight"'),
                        "steady.vus_rate: '1 GiB/fortnight' is not a rate: 'fortnight' is not a period"),
    "steady_vus": (lambda t: edit(t, r"^vus = 50", "vus = 0"), "steady.vus: 0 must be >= 1"),
    "steady_preset": (lambda t: edit(t, r'^quick = \{ vus = 10, duration = "5m" \}', "quick = { users = 10 }"),
                      "steady.presets.quick: needs exactly vus and duration"),
    "steady_preset_duration": (lambda t: edit(t, r'duration = "8h"', 'duration = "all night"'),
                               "steady.presets.heavy.duration: 'all night' is not a duration"),
    "invalid_toml": (lambda t: t.replace("[curve]", "[curve"), "not valid TOML"),
    "not_utf8": (lambda t: t.replace("TaskPilot", "TaskPilot \udcff"), "not valid TOML"),
}


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    """`python -m growth_sim ARGS` in a child process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "growth_sim", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=60)


# These go through a real child process; the others through `main()` in this process (same code, faster).
IN_CHILD = {"invalid_toml", "not_utf8", "size_not_text", "derived_cycle", "missing_file"}


@pytest.fixture(scope="module")
def battery(tmp_path_factory) -> dict[str, tuple[Path, subprocess.CompletedProcess[str]]]:
    """Every malformed profile written to a file and run through `growth-sim plan --profile FILE`."""
    folder = tmp_path_factory.mktemp("profiles")
    paths = {}
    for name, (breaks, _) in CASES.items():
        paths[name] = folder / f"{name}.toml"
        paths[name].write_bytes(breaks(TASKPILOT).encode("utf-8", "surrogateescape"))
    paths["missing_file"] = folder / "missing_file.toml"

    def args(name: str) -> list[str]:
        return ["plan", "--profile", str(paths[name]), "--to", "week-1"]

    with ThreadPoolExecutor(max_workers=len(IN_CHILD)) as pool:
        children = {name: pool.submit(_run, args(name)) for name in IN_CHILD}
        results = {name: run_main(args(name)) for name in paths if name not in IN_CHILD}
        results.update((name, future.result()) for name, future in children.items())
    return {name: (paths[name], results[name]) for name in paths}


def _assert_one_error_line(path: Path, run: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in run.stderr
    assert run.returncode == 2, run.stderr
    assert run.stdout == ""
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("error: ")
    assert path.name in lines[0]
    return lines[0]


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_profile_gives_one_error_line(battery, case):
    path, run = battery[case]
    line = _assert_one_error_line(path, run)
    assert CASES[case][1] in line


def test_missing_profile_file(battery):
    path, run = battery["missing_file"]
    assert "not found" in _assert_one_error_line(path, run)


def test_the_original_profile_passes_through_the_same_path(tmp_path):
    path = tmp_path / "copy.toml"
    path.write_text(TASKPILOT)
    run = _run(["plan", "--profile", str(path), "--to", "week-1", "--by", "week"])
    assert run.returncode == 0, run.stderr
    assert "week-1" in run.stdout
