"""The model API: everything the engine may ask of a simulated application, and the only door between them.

A model is a package that an entry point of the group ``growth_sim.models`` names (see `growth_sim.models`).
It exports the members of `ModelPackage`: its tables, its schema DDL, `build(schedule, seed)` returning a
`Model` (what to insert, update and delete, hour by hour), its `ReadMix` (the queries the application sends)
and its findings (the flaws it plants, checked on a grown database). The engine knows a model through these
types alone; a model uses the engine's primitives (`growth_sim.generate`, `growth_sim.timeline.schedule`) and
this module, nothing else of growth-sim. ``docs/models.md`` shows the smallest complete model.

The types the engine hands over or expects back are plain dataclasses (`Widths`, `Operation`, `QueryClass`,
`ReadMix`, `Check`, `TableBloat`); the two a model implements, and the one the engine implements for finding
checks (`Probe`), are protocols. A model configured by its profile (the application schema it grows) also has
the members of `SchemaReader`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import psycopg

from growth_sim.generate.batch import Batch
from growth_sim.timeline.schedule import HourPlan, Schedule

Finding = dict[str, Any]  # {id, title, source, present, evidence, sql}: one entry of `growth-sim findings --json`


# -- writing -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Widths:
    """Width factors per table, calibrated by the engine, and the median payload of the size knob's rows.

    A model scales the variable-length values of `table` by ``factor(table)`` so that the table's measured
    bytes per row meet the profile's ``[widths.TABLE] bytes_per_row``; the size knob's rows carry payloads of
    median `preview_bytes` (see `Model.size_knob`).
    """

    factors: dict[str, float]
    preview_bytes: int = 0

    def factor(self, table: str) -> float:
        return self.factors.get(table, 1.0)


@dataclass(frozen=True)
class Operation:
    """One statement of an hour, run with the simulated clock at `hour` (fractional).

    `name` is the stream the statement belongs to, `params` its parameters (psycopg style), `rows` how many
    rows it changes (for the progress and the ledger).
    """

    hour: float
    name: str
    sql: str
    params: tuple
    rows: int


class Model(Protocol):
    """A simulated application bound to a schedule and a seed: what the engine writes, unit by unit.

    Every value a model generates must be a pure function of (seed, table, ordinal) and the schedule: the
    engine generates the same rows in any order, split and resumed at any point, on any number of workers.
    """

    @property
    def tables(self) -> frozenset[str]:
        """Every table of the model's schema (the ones the engine measures and reports)."""
        ...

    @property
    def insert_order(self) -> tuple[str, ...]:
        """The streams that insert rows, in the order they are written within a unit: parents before children.

        Each is a stream of the profile (a milestone table or a ``[derived]`` table) and a table of `tables`.
        """
        ...

    @property
    def size_knob(self) -> str:
        """The table whose payload absorbs what the size plan leaves over: its rows are written last in the
        initial load (the foreign keys that refer to it are validated after them, and the history of the streams
        `changed_by` lists for it runs after them), and each unit's `Widths.preview_bytes` is set from the size
        measured before it (`growth_sim.generate.payload` makes payloads of that median)."""
        ...

    @property
    def keys_by_construction(self) -> bool:
        """Whether every row the hours insert points to parents that exist when it is written and are never
        deleted (so it needs no foreign key check by the server, see `growth_sim.engine.session.Session.unchecked`),
        and the history's statements of a table's `changed_by` streams read no other table (the initial load runs
        them as soon as that table is written, beside the COPY of the others)."""
        ...

    @property
    def independent_streams(self) -> tuple[str, ...]:
        """Insert streams whose rows of a unit nothing else of the unit needs: no other row refers to them and no
        statement of the unit reads or changes them. With `keys_by_construction` and two connections or more, the
        engine writes them beside the rest of each hour, in a transaction of its own (`growth_sim.engine.beside`);
        empty: every hour on one connection."""
        ...

    @property
    def changed_by(self) -> Mapping[str, tuple[str, ...]]:
        """For a table whose bloat the engine steers, the streams whose every event updates or deletes at most
        one of its rows: the bound on how much its bloat can grow between two readings. A table of the
        profile's ``[bloat]`` missing here is read at every check."""
        ...

    def reference_batches(self) -> list[Batch]:
        """The reference rows (tenants, users, ...) written once, first, with the initial dataset."""
        ...

    def insert_batch(self, stream: str, first: int, stop: int, widths: Widths) -> Batch:
        """The rows with ordinals [first, stop) of `stream` (one of `insert_order`), as one COPY batch."""
        ...

    def history_operations(self) -> list[Operation]:
        """The updates and deletes the initial dataset went through before week 0 (run after its rows)."""
        ...

    def hour_operations(self, plan: HourPlan) -> list[Operation]:
        """The updates and deletes of one simulated hour, in the order they run, after its inserts."""
        ...


# -- reading -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QueryClass:
    """One kind of query the application sends.

    `weight` is its share within `scenario` (its requests per hour); `params(sampler, rng)` draws the query's
    parameters from the read mix's sampler; `indexes` are the indexes meant to serve it (empty: none does).
    """

    name: str
    scenario: str
    sql: str
    weight: float
    params: Callable[[Any, np.random.Generator], dict[str, Any]]
    indexes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReadMix:
    """The application's reads, replayed by `growth-sim reads` and `--reads` during growth.

    `sampler(schedule, seed, hour)` builds the parameter source the query classes draw from for a database
    at a simulated hour (a model's own type: the engine only hands it to `QueryClass.params`). The scenarios
    in `background` are jobs: each of their query classes once per iteration, `background_rate` iterations a
    second, on a connection of their own; the others are interactive clients drawing classes by weight.
    """

    application_name: str
    catalogue: tuple[QueryClass, ...]
    sampler: Callable[[Schedule, int, int], Any]
    background: tuple[str, ...] = ()
    background_rate: float = 1.0

    @property
    def scenarios(self) -> tuple[str, ...]:
        """The scenarios of the catalogue, in the order they first appear."""
        return tuple(dict.fromkeys(q.scenario for q in self.catalogue))


# -- findings ----------------------------------------------------------------------------------------------
class Probe(Protocol):
    """What a finding check is given: a read-only connection and the engine's measuring instruments."""

    @property
    def conn(self) -> psycopg.Connection:
        """An autocommit connection to the database under check (its statements are not counted)."""
        ...

    def has_table(self, name: str) -> bool:
        """Whether the application's schema (the connection's current schema) holds table `name`."""
        ...

    def simulated_now(self) -> datetime:
        """The database's simulated clock (the server's clock for a database growth-sim did not grow)."""
        ...

    def explain(self, sql: str, params: dict[str, Any]) -> tuple[dict[str, Any], int | None]:
        """The plan of a query (EXPLAIN VERBOSE, JSON) and its query identifier (None if there is none)."""
        ...

    def plan_nodes(self, plan: dict[str, Any]) -> list[dict[str, Any]]:
        """Every node of a plan, depth first."""
        ...

    def scans_of(self, plan: dict[str, Any], table: str) -> list[dict[str, Any]]:
        """The plan's scans of `table`: node type, index, index condition and filter of each."""
        ...

    def literal_sql(self, sql: str, params: dict[str, Any]) -> str:
        """The query with its parameters inlined, for a user to paste into psql."""
        ...

    def statement_stats(self, queryid: int | None) -> dict[str, Any]:
        """pg_stat_statements' calls and times of a query: ``{available, queryid, calls, mean_ms, total_ms}``
        (only ``{available: False}`` where it cannot be read)."""
        ...

    def calls_sql(self, queryid: int | None) -> str:
        """SQL a user can run to see a query's calls and times (empty without a query identifier)."""
        ...


@dataclass(frozen=True)
class Check:
    """A finding of the model's own: `run` answers it on a database, `summary` puts its evidence in a few lines
    for the text output (a finding whose evidence holds a ``reason`` shows that instead)."""

    id: str
    run: Callable[[Probe], Finding]
    summary: Callable[[dict[str, Any]], list[str]]


@dataclass(frozen=True)
class TableBloat:
    """A finding the engine measures for the model: `table`'s bloat (dead tuples and free space, pgstattuple)
    above `percent`. Its id is ``TABLE_bloat``; `source` says who expects it."""

    table: str
    percent: float
    source: str


def finding(id_: str, title: str, source: str, present: bool, evidence: dict[str, Any], sql: str) -> Finding:
    """A finding as `growth-sim findings` reports it; `sql` lets a user see the evidence in psql."""
    return {"id": id_, "title": title, "source": source, "present": bool(present), "evidence": evidence,
            "sql": sql.strip()}


# -- the package -------------------------------------------------------------------------------------------
class ModelPackage(Protocol):
    """What a model's entry point loads: a module with these members.

    Registered in the model's ``pyproject.toml``::

        [project.entry-points."growth_sim.models"]
        mymodel = "mypackage.mymodel"

    and named by profiles as ``model = "mymodel"``. Keep importing the package cheap (validating a profile reads
    `TABLES`, ``reads --scenario`` every installed model's `SCENARIOS`): import row generators and queries
    inside the functions.
    """

    @property
    def TABLES(self) -> frozenset[str]:
        """Every table of the schema (a profile may name these and no others)."""
        ...

    @property
    def SCENARIOS(self) -> tuple[str, ...]:
        """The read mix's scenarios, known without building it (``read_mix().scenarios``)."""
        ...

    def build_schema_sql(self) -> str:
        """The application's DDL: tables, indexes, functions and triggers, run once in an empty database.

        Timestamps set by the database (defaults, triggers) must read the simulated clock: the engine sets
        ``growth_sim.now`` (``current_setting('growth_sim.now', true)``) in every unit's transaction.
        """
        ...

    def build(self, schedule: Schedule, seed: int) -> Model:
        """The model the engine drives along `schedule`, generating every value from `seed`."""
        ...

    def read_mix(self) -> ReadMix:
        """The queries the application sends, by scenario."""
        ...

    def expected_findings(self) -> Sequence[Check | TableBloat]:
        """The model's expected findings (its planted flaws), reported before the engine's generic ones."""
        ...


class SchemaReader(Protocol):
    """Optional members of a `ModelPackage` configured by its profile (the ``schema`` model has both).

    ``bind(params, base)``: the package for a profile whose ``[model]`` table is `params` (`base`: the profile's
    folder, for files it names); the engine calls it wherever it has the profile (validating it, ``init``, each
    run, fixtures) and uses what it returns in place of the package: `TABLES`, `build_schema_sql`, `build`.

    ``new_profile(conn, schema, output)``: the files of a starting profile (path -> text) for DDL file `schema`,
    which ``growth-sim profile new`` has just loaded into the scratch database behind `conn`; it writes them
    unless this raises.

    ``profile_in_place(conn, schema_name, output)``: the same for schema `schema_name` of the existing database
    behind `conn` (``growth-sim profile new --dsn``), whose tables are grown where they are.

    ``IDENTITY`` (on the bound package, optional): a string standing for what the profile names besides itself
    (the schema model: its DDL's hash); it is part of the profile's content hash, so that a database initialised
    with one schema refuses to go on with another.

    ``check(profile)`` (on the bound package, optional): raises `growth_sim.errors.ModelError` for what the rest of
    the validated profile asks that the model cannot do (the schema model: a size knob without ``[widths.T]
    preview`` bounds); the profile is then refused as any invalid one is, before anything is written.

    ``IN_PLACE`` (on the bound package, optional): the name of a schema already in the target database; ``init``
    then runs no `build_schema_sql` but ``check_schema(conn, empty=True)``, which raises `ModelError` when the
    schema is not the one the profile was made from or its tables hold rows.
    """

    def bind(self, params: Mapping[str, Any], base: Path) -> ModelPackage:
        """This model for one profile's ``[model]`` table."""
        ...

    def new_profile(self, conn: psycopg.Connection, schema: Path, output: Path) -> dict[Path, str]:
        """A starting profile at `output` for the schema in `conn` (and any file the model keeps with it)."""
        ...
