"""Where a grown database's bytes are, by source, and its growth since week 0 against the profile's budget.

Sources: each table's live rows (heap less dead tuples and free space, page and tuple overhead included), dead
tuples and free space (pgstattuple), the size knob's TOAST (its payloads), the other tables' TOAST, indexes,
the free space and visibility map forks, growth-sim's ledger (its tables with their TOAST and indexes) and the
catalog (every other relation of the database: the system catalog, and sequences). What no relation of
``pg_class`` holds (the relation map and version files, relations being created or dropped) is ``unattributed``:
the sources add up to ``pg_database_size`` exactly.

Budget keys: a table's name counts that table's rows, TOAST and indexes (the knob's: its payloads);
``update_bloat`` counts dead tuples and free space; ``rows`` counts the rows, TOAST and indexes of every table
no other key names.
"""

from __future__ import annotations

from typing import Any

import psycopg

from growth_sim.profile import HOURS_PER_WEEK, Profile
from growth_sim.timeline.budget import budget_check
from growth_sim.timeline.quantities import format_size

LEDGER_SCHEMA = "growth_sim"
BLOAT_KEY, ROWS_KEY = "update_bloat", "rows"
ENGINE_OFF = 0.15  # the engine is blamed when the sized tables are this far from what their widths make
PARTS = ("rows", "dead", "free", "toast", "indexes", "maps")

_RELATIONS_SQL = """
SELECT (SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = %(ledger)s AND c.relkind IN ('r', 'm', 'S'))::bigint,
       (SELECT coalesce(sum(pg_total_relation_size(oid)), 0) FROM pg_class
        WHERE relnamespace = current_schema()::regnamespace AND relkind = 'r')::bigint,
       (SELECT sum(pg_relation_size(c.oid, f.fork)) FROM pg_class c
        CROSS JOIN unnest(ARRAY['main', 'fsm', 'vm', 'init']) AS f(fork)
        WHERE NOT c.relisshared AND c.relkind IN ('r', 'i', 't', 'm', 'S'))::bigint"""


def composition(conn: psycopg.Connection, sizes: dict[str, dict[str, Any]], knob: str | None,
                db_size: int) -> dict[str, Any]:
    """The bytes of the database by source now, from `measure.table_sizes`' readings of every table:
    ``tables`` (each one's parts), ``by_source`` (the parts summed, the knob's TOAST as ``payloads``, and the
    ledger, the catalog and the unattributed rest) and ``total`` (the database size)."""
    tables = _tables(sizes)
    ledger, app, every = conn.execute(_RELATIONS_SQL, {"ledger": LEDGER_SCHEMA}).fetchone()
    by_source = {**_by_source(tables, knob), "ledger": ledger, "catalog": every - app - ledger}
    by_source["unattributed"] = db_size - sum(by_source.values())
    return {"tables": tables, "by_source": by_source, "total": db_size}


def growth(now: dict[str, Any], baseline: dict[str, Any], knob: str | None, hour: int) -> dict[str, Any]:
    """What each source gained from a ledger measurement (`baseline`: its ``hour``, ``tables`` and ``db_size``)
    to `hour`, now. The measurement read dead tuples and free space only on the tables whose bloat is steered
    (the others' are taken as nothing then) and did not part the catalog, the ledger and the rest: their growth
    is ``other``."""
    then = _tables(baseline["tables"])
    tables = {t: {p: parts[p] - then.get(t, dict.fromkeys(PARTS, 0))[p] for p in PARTS}
              for t, parts in now["tables"].items()}
    by_source = _by_source(tables, knob)
    by_source["other"] = now["total"] - baseline["db_size"] - sum(by_source.values())
    return {"since_hour": baseline["hour"], "stop_hour": hour, "tables": tables, "by_source": by_source,
            "total": now["total"] - baseline["db_size"]}


def _tables(sizes: dict[str, dict[str, Any]]) -> dict[str, dict[str, int]]:
    out = {}
    for table, s in sorted(sizes.items()):
        dead = round(s["table_len"] * s["dead_percent"] / 100) if "table_len" in s else 0
        free = round(s["table_len"] * s["free_percent"] / 100) if "table_len" in s else 0
        out[table] = {"rows": s["heap"] - dead - free, "dead": dead, "free": free, "toast": s["toast"],
                      "indexes": s["indexes"], "maps": s["total"] - s["heap"] - s["indexes"] - s["toast"]}
    return out


def _by_source(tables: dict[str, dict[str, int]], knob: str | None) -> dict[str, int]:
    out = {p: sum(t[p] for t in tables.values()) for p in PARTS}
    out["payloads"] = tables[knob]["toast"] if knob in tables else 0
    out["toast"] -= out["payloads"]
    return out


def _data(parts: dict[str, int]) -> int:
    """A table's rows, TOAST and indexes: its bytes less bloat and maps."""
    return parts["rows"] + parts["toast"] + parts["indexes"]


def against_budget(profile: Profile, scale: float, gained: dict[str, Any], knob: str,
                   room: float = 1.0) -> dict[str, Any]:
    """Each budget line (scaled to the weeks since the baseline and to the scale) next to what its sources
    gained, and the note saying whether a gap comes from the growth table or from the engine; `room` is the
    share of the profile's widths the run gives its tables (below 1 at small scales: the run state's ``room``)."""
    hour, tables = gained["stop_hour"], gained["tables"]
    weeks = (hour - gained["since_hour"]) / HOURS_PER_WEEK
    named = set(profile.budget) & set(tables)
    lines = []
    for key, weekly in profile.budget.items():
        if key == BLOAT_KEY:
            achieved: int | None = gained["by_source"]["dead"] + gained["by_source"]["free"]
        elif key == ROWS_KEY:
            achieved = sum(_data(tables[t]) for t in set(tables) - named)
        else:
            achieved = _data(tables[key]) if key in tables else None
        lines.append({"key": key, "budget_bytes": round(weekly * scale * weeks), "achieved_bytes": achieved,
                      "achieved_percent": round(100 * achieved / gained["total"], 1)
                      if achieved is not None and gained["total"] > 0 else None})
    return {"weeks": round(weeks, 2), "lines": lines,
            "note": _note(budget_check(profile, scale, gained["since_hour"], hour), gained, knob, room)}


def _note(check: dict[str, Any] | None, gained: dict[str, Any], knob: str, room: float) -> str:
    """Whether the sized tables made what their widths make (rows x ``bytes_per_row`` x `room`; a width counts
    the heap with its dead and free space, the TOAST and the indexes). Only falling short of it would leave
    the knob more to carry: if they did not, a budget gap is the growth table's."""
    if check is None:
        return "nothing to compare: no growth yet, or no budget for the size knob"
    made = {t: _data(gained["tables"][t]) + gained["tables"][t]["dead"] + gained["tables"][t]["free"]
            for t in check["rows"] if t in gained["tables"]}
    expected = {t: room * b for t, b in check["rows"].items()}
    scaled = f" x {room:.2f} (the run's room for the empty schema)" if room < 1 else ""
    sized = (f"the tables the profile sizes gained {format_size(sum(made.values()))} (rows, dead and free space, "
             f"TOAST and indexes) where their rows x widths{scaled} make {format_size(sum(expected.values()))}; "
             f"dead and free space of all tables "
             f"{format_size(gained['by_source']['dead'] + gained['by_source']['free'])}; {knob} payloads "
             f"{format_size(gained['by_source']['payloads'])}")
    if sum(made.values()) < (1 - ENGINE_OFF) * sum(expected.values()):
        short = ", ".join(f"{t} {format_size(b)} for {format_size(expected[t])}" for t, b in made.items()
                          if b < (1 - ENGINE_OFF) * expected[t])
        return f"the gap comes from the engine: {sized}; short of their widths: {short}"
    return f"the gap comes from the growth table, not the engine: {sized}; {check['line']}"
