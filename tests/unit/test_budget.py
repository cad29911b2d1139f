"""The budget check from the profile alone, and the report's verdict on a gap: the growth table's, unless the
sized tables fell short of their widths."""

from __future__ import annotations

from typing import Any

from growth_sim.observe.sources import ENGINE_OFF, PARTS, against_budget
from growth_sim.profile import load_profile
from growth_sim.timeline.budget import budget_check
from growth_sim.timeline.schedule import Schedule


def test_budget_check_is_rows_times_widths_and_bounded_bloat() -> None:
    profile = load_profile("taskpilot")
    check = budget_check(profile, 0.01, 0, 4 * 168)
    schedule = Schedule(profile, 0.01)
    assert check["rows"]["comments"] == (schedule.rows("comments", 672) - schedule.rows("comments", 0)) * 2000
    high = profile.bloat["issues"].high
    assert check["bloat_at_most"]["issues"] == round(check["rows"]["issues"] * high / (100 - high))
    assert check["knob"] == "attachments" and check["budget"]["attachments"] == round(3e9 * 0.01 * 4)
    assert check["knob_needed"] + sum(check["rows"].values()) + sum(check["bloat_at_most"].values()) \
        == schedule.size_at(672) - schedule.size_at(0)
    assert not check["holds"] and check["line"].startswith("budget cannot hold")


def _gained(share: float) -> dict[str, Any]:
    """Growth over four weeks at scale 0.01 where the sized tables made `share` of their widths."""
    check = budget_check(load_profile("taskpilot"), 0.01, 0, 672)
    tables = {t: dict.fromkeys(PARTS, 0) | {"rows": round(b * share)} for t, b in check["rows"].items()}
    tables["attachments"] = dict.fromkeys(PARTS, 0) | {"toast": check["knob_needed"]}
    by_source = dict.fromkeys(PARTS, 0) | {"rows": sum(round(b * share) for b in check["rows"].values()),
                                          "payloads": check["knob_needed"], "other": 0}
    return {"since_hour": 0, "stop_hour": 672, "tables": tables, "by_source": by_source,
            "total": check["planned_growth"]}


def test_the_verdict_blames_the_engine_only_when_the_sized_tables_fall_short() -> None:
    profile = load_profile("taskpilot")
    for share, engine in ((1.0, False), (1.3, False), (1 - ENGINE_OFF + 0.01, False), (0.5, True)):
        result = against_budget(profile, 0.01, _gained(share), "attachments")
        assert result["note"].startswith("the gap comes from the engine") == engine, share
    lines = {line["key"]: line for line in against_budget(profile, 0.01, _gained(1.0), "attachments")["lines"]}
    assert lines["attachments"]["budget_bytes"] == round(3e9 * 0.01 * 4)
    assert lines["update_bloat"]["achieved_bytes"] == 0
    # with the run's room for the empty schema, 60 % of the widths is all the tables are asked for
    assert not against_budget(profile, 0.01, _gained(0.6), "attachments", room=0.6)["note"].startswith(
        "the gap comes from the engine")
