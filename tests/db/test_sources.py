"""`report`'s bytes by source add up to the database size, each source checked against the catalog and
pgstattuple; the budget comparison and `plan`'s line say the budget cannot hold with the growth table's sizes."""

from __future__ import annotations

import json

from support import query, scalar

from growth_sim.observe.report import format_report, gather
from growth_sim.observe.sources import ENGINE_OFF
from growth_sim.profile import load_profile
from growth_sim.timeline.budget import budget_check
from growth_sim.timeline.plan import build_plan

PAGE = 8192


def test_sources_add_up_to_the_database_size(grown_week1: str) -> None:
    dead_before = _dead_bytes(grown_week1)
    sources = gather(grown_week1)["sources"]
    now, by = sources["now"], sources["now"]["by_source"]
    size = scalar(grown_week1, "SELECT pg_database_size(current_database())")
    assert sum(by.values()) == now["total"] == size
    # what no relation of pg_class holds: the relation map, PG_VERSION and the like, a few pages
    assert 0 <= by["unattributed"] < 64 * PAGE
    heaps = dict(query(grown_week1, "SELECT relname, pg_relation_size(oid) FROM pg_class"
                                    " WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'"))
    assert {t: p["rows"] + p["dead"] + p["free"] for t, p in now["tables"].items()} == heaps
    # the readings give dead space in percent of the heap to two decimals (half a step is 0.005 % of each heap);
    # reads of the shared database prune pages now and then, so dead space only shrinks while it is measured
    rounding = sum(heaps.values()) * 0.005 / 100 + len(heaps)
    assert _dead_bytes(grown_week1) - rounding <= by["dead"] <= dead_before + rounding
    assert sources["knob"] == "attachments"
    assert by["payloads"] == scalar(grown_week1, "SELECT pg_total_relation_size(reltoastrelid) FROM pg_class"
                                                 " WHERE relname = 'attachments'")
    assert by["indexes"] == scalar(grown_week1, "SELECT sum(pg_indexes_size(oid)) FROM pg_class"
                                                " WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'")
    assert by["ledger"] == scalar(grown_week1, "SELECT sum(pg_total_relation_size(oid)) FROM pg_class"
                                               " WHERE relnamespace = 'growth_sim'::regnamespace AND relkind = 'r'")


def test_growth_since_week_0_against_the_budget(grown_week1: str) -> None:
    report = gather(grown_week1)
    sources, text = report["sources"], format_report(report)
    gained = sources["growth"]
    assert "growth over 1 weeks against the profile's [budget]" in text and f"note: {sources['budget']['note']}" in text
    first = scalar(grown_week1, "SELECT db_size FROM growth_sim.measurements ORDER BY hour LIMIT 1")
    assert gained["since_hour"] == 0 and gained["total"] == sources["now"]["total"] - first
    assert sum(gained["by_source"].values()) == gained["total"]
    lines = {line["key"]: line for line in sources["budget"]["lines"]}
    profile = load_profile("taskpilot")
    assert set(lines) == set(profile.budget)
    assert lines["attachments"]["budget_bytes"] == round(profile.budget["attachments"] * 0.002)
    knob = gained["tables"]["attachments"]
    assert lines["attachments"]["achieved_bytes"] == knob["rows"] + knob["toast"] + knob["indexes"]
    assert lines["update_bloat"]["achieved_bytes"] == gained["by_source"]["dead"] + gained["by_source"]["free"]
    # the knob carries what the growth table leaves: far more than its budget line
    assert lines["attachments"]["achieved_bytes"] > 1.5 * lines["attachments"]["budget_bytes"]
    # the verdict follows from the numbers: the sized tables' bytes against what their widths make
    check = budget_check(profile, 0.002, 0, 168)
    made = sum(sum(gained["tables"][t][p] for p in ("rows", "dead", "free", "toast", "indexes"))
               for t in check["rows"])
    room = scalar(grown_week1, "SELECT (state->>'room')::float8 FROM growth_sim.run")
    engine = made < (1 - ENGINE_OFF) * room * sum(check["rows"].values())
    assert sources["budget"]["note"].startswith(
        "the gap comes from the engine" if engine else "the gap comes from the growth table")


def test_plan_says_the_budget_cannot_hold() -> None:
    profile = load_profile("taskpilot")
    check = budget_check(profile, 1.0, 0, 168)
    assert check is not None and not check["holds"]
    made = sum(check["rows"].values()) + sum(check["bloat_at_most"].values())
    assert check["knob_needed"] == check["planned_growth"] - made > 2 * check["budget"]["attachments"]
    plan = build_plan(profile, 0.01, 0, 168)
    assert plan["budget"]["line"].startswith("budget cannot hold")
    json.dumps(plan)


def _dead_bytes(dsn: str) -> int:
    """Bytes of dead tuples in the application's tables, by pgstattuple."""
    return scalar(dsn, "SELECT sum((pgstattuple(oid)).dead_tuple_len)::bigint FROM pg_class"
                       " WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'")
