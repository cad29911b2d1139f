"""`growth-sim init`: create the target database, the application schema and the ledger."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from growth_sim import __version__
from growth_sim.db import ledger
from growth_sim.db.connect import connect, describe, drop_database, ensure_database
from growth_sim.engine import checks, deferred
from growth_sim.engine.controller import initial_room
from growth_sim.errors import DatabaseError, first_line
from growth_sim.models import model_for
from growth_sim.observe import measure
from growth_sim.profile import Profile, load_profile, profile_path
from growth_sim.timeline.quantities import check_seed_scale
from growth_sim.timeline.schedule import Schedule

if TYPE_CHECKING:
    from growth_sim.models.api import ModelPackage

EXTENSIONS = ("pgstattuple", "pg_stat_statements")


@dataclass(frozen=True)
class InitResult:
    """What `initialise` did: ``created``, ``unchanged`` or ``replaced``."""

    action: str
    database_created: bool


def initialise(dsn: str, profile: Profile, seed: int, scale: float, *, force: bool = False,
               sizing: str | None = None) -> InitResult:
    """Make the database ready to grow; a no-op when it already holds the same settings.

    Refuses a database initialised with other settings (unless `force`) and one that holds tables growth-sim
    did not create (but for the schema a profile grows in place: see `_take_in_place`). `sizing` ``open`` makes
    the data independent of the server (see `controller`); None keeps an initialised database's own (``closed``
    for a new one).
    """
    package = model_for(profile)
    package.build(Schedule(profile, scale), seed)  # what the model refuses in the profile, before anything is made
    in_place: str = getattr(package, "IN_PLACE", "")
    created_db = ensure_database(dsn)
    wanted = ledger.Run(profile=profile_reference(profile), profile_hash=profile.content_hash, model=profile.model,
                        seed=seed, scale=scale, version=__version__, state={"sizing": sizing or "closed"})
    with connect(dsn) as conn:
        if ledger.exists(conn):
            current = ledger.load(conn)
            if sizing is None:
                wanted.state["sizing"] = current.state.get("sizing", "closed")
            differences = _differences(current, wanted)
            if not differences:
                return InitResult("unchanged", created_db)
            if not force:
                raise DatabaseError(
                    f"{describe(dsn)} is already initialised with other settings ({'; '.join(differences)}); "
                    f"give its settings (or none), another database, or drop its data and start over with "
                    f"`{_init_command(profile, seed, scale)}`")
            ledger.acquire_lock(conn)
            drop_everything(conn, package)
            action = "replaced"
        else:
            foreign = [t for t in foreign_tables(conn) if not in_place or not t.startswith(f"{in_place}.")]
            if foreign:
                shown = ", ".join(foreign[:5]) + (" ..." if len(foreign) > 5 else "")
                where = f" outside schema {in_place}, which it grows in place" if in_place else ""
                raise DatabaseError(
                    f"{describe(dsn)} holds {len(foreign)} table(s) growth-sim did not create{where} ({shown}); "
                    "growth-sim only writes to an empty database or one it initialised: create a new database")
            action = "created"
        with conn.transaction():
            for name in EXTENSIONS:
                try:
                    with conn.transaction():
                        conn.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(name)))
                except psycopg.Error as exc:
                    raise DatabaseError(f"cannot create extension {name}: {exc.diag.message_primary}") from None
            if in_place:
                wanted.state.update(_take_in_place(conn, package, in_place))
            else:
                conn.execute(package.build_schema_sql())
            # Measured here, before autovacuum can visit the new catalog rows: a later reading would depend on when
            # it did, and the data calibrated on it would differ from run to run.
            planned = Schedule(profile, scale).size_at(0)
            wanted.state["room"] = initial_room(measure.settled_size(conn), planned)
            ledger.create(conn, wanted)
    return InitResult(action, created_db)


def ensure_initialised(dsn: str, profile_name: str | None, seed: int | None, scale: float | None,
                       target: str | None = None) -> None:
    """Initialise a new database; an initialised one keeps its settings (those given must match them).

    Settings not given default to the database's own, or for a new one to taskpilot, seed 1 and scale 1; a
    `target` the new database's schedule cannot reach is refused, leaving nothing behind.
    """
    with initialised(dsn, profile_name, seed, scale, target):
        pass


@contextmanager
def initialised(dsn: str, profile_name: str | None, seed: int | None, scale: float | None,
                target: str | None = None) -> Iterator[None]:
    """`ensure_initialised` for a command that may still refuse after it: when the body raises (a disk check, a
    declined confirmation, Ctrl-C), what this call created is removed again and the database is as it was."""
    check_seed_scale(seed, scale)
    created_db = ensure_database(dsn)
    created_schema = False
    try:
        try:
            existing = None
            if not created_db:
                with connect(dsn) as conn:
                    existing = ledger.load(conn) if ledger.exists(conn) else None
            if existing is None or (profile_name, seed, scale) != (None, None, None):
                profile = load_profile(profile_name or (existing.profile if existing else "taskpilot"))
                scale = scale if scale is not None else (existing.scale if existing else 1.0)
                if existing is None and target is not None:
                    Schedule(profile, scale).resolve_target(target, 0)
                seed = seed if seed is not None else (existing.seed if existing else 1)
                created_schema = initialise(dsn, profile, seed, scale).action == "created"
        except psycopg.Error as exc:  # a server error in the reading or the making: the cleanup below undoes it
            raise DatabaseError(f"the database refused: {first_line(exc)}; nothing was written") from None
        yield
    except BaseException:
        if created_db:
            drop_database(dsn)
        elif created_schema:
            with connect(dsn) as conn:
                drop_everything(conn, model_for(profile))
        raise


def recorded_profile(dsn: str) -> Profile:
    """The profile named by the run row of an initialised database."""
    with connect(dsn) as conn:
        return load_profile(ledger.load(conn).profile)


def profile_reference(profile: Profile) -> str:
    """How the ledger names a profile: by name when it ships with growth-sim, else by absolute path."""
    if profile_path(profile.name).resolve() == profile.path.resolve():
        return profile.name
    return str(profile.path.resolve())


def _init_command(profile: Profile, seed: int, scale: float) -> str:
    """The `growth-sim init` command that re-initialises a database with these settings."""
    words = ["growth-sim init"]
    if profile_reference(profile) != "taskpilot":
        words.append(f"--profile {profile_reference(profile)}")
    if seed != 1:
        words.append(f"--seed {seed}")
    if scale != 1:
        words.append(f"--scale {scale:g}")
    return " ".join([*words, "--force"])


def _differences(current: ledger.Run, wanted: ledger.Run) -> list[str]:
    out = []
    for name in ("profile", "profile_hash", "seed", "scale"):
        a, b = getattr(current, name), getattr(wanted, name)
        if a != b:
            label = "profile contents" if name == "profile_hash" else name
            out.append(f"{label}: has {str(a)[:12]}, asked {str(b)[:12]}")
    has, asked = current.state.get("sizing", "closed"), wanted.state.get("sizing", "closed")
    if has != asked:
        said = {"open": "loaded from a fixture", "closed": "grown here"}
        out.append(f"data: {said.get(has, has)}, asked {said.get(asked, asked)}")
    return out


def foreign_tables(conn: psycopg.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
        " AND n.nspname NOT LIKE 'pg_toast%%' AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid"
        " AND d.deptype = 'e') ORDER BY 1").fetchall()
    return [r[0] for r in rows]


def drop_everything(conn: psycopg.Connection, package: ModelPackage | None = None) -> None:
    """Drop the application schema and the ledger of a database growth-sim initialised (for --force); a schema
    in place (`package` ``IN_PLACE``) is kept, its rows removed, its search_path setting undone and its tables
    handed back to autovacuum with their own settings."""
    in_place = getattr(package, "IN_PLACE", "")
    with conn.transaction():
        if in_place:
            state = ledger.load(conn).state if ledger.exists(conn) else {}
            if said := state.get("search_path"):
                conn.execute(sql.SQL("ALTER DATABASE {} RESET search_path").format(sql.Identifier(said)))
            own = state.get(checks.OWN_KEY, {})
            for table in sorted(package.TABLES):
                conn.execute(checks.set_autovacuum(sql.Identifier(in_place, table), *own.get(table, (None, None))))
            conn.execute(_truncate(package.TABLES, in_place))
            deferred.restore(conn)  # what an interrupted initial load set aside is the schema's own
            conn.execute("DROP SCHEMA IF EXISTS growth_sim CASCADE")
            return
        conn.execute("DROP SCHEMA IF EXISTS growth_sim CASCADE")
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


def _take_in_place(conn: psycopg.Connection, package: ModelPackage, schema: str) -> dict[str, Any]:
    """Make schema `schema`, already in the database, the model's: refuses one whose catalog changed since the
    profile was made or whose tables hold rows; restarts the tables' sequences (keys are computed from ordinals);
    makes it the database's search_path (``ALTER DATABASE ... SET``) unless the connection's own settings (its
    DSN's options, its role's, the server's) make it the current schema. What the ledger keeps of it: that
    search_path, and the tables' own autovacuum settings, which the runs hold off and hand back."""
    # A search_path from the database's settings may be one this function made before (and `drop_everything`
    # reset since): it is made again. (Asked first: reading the catalog sets search_path in the transaction.)
    elsewhere = conn.execute("SELECT current_schema() IS DISTINCT FROM %s OR source = 'database' FROM pg_settings"
                             " WHERE name = 'search_path'", (schema,)).fetchone()[0]
    package.check_schema(conn, empty=True)
    conn.execute(_truncate(package.TABLES, schema))
    state: dict[str, Any] = {}
    if own := checks.own_autovacuum(conn, schema, package.TABLES):
        state[checks.OWN_KEY] = own
    if elsewhere:
        database = conn.execute("SELECT current_database()").fetchone()[0]
        path = sql.SQL("{}, public").format(sql.Identifier(schema))
        conn.execute(sql.SQL("ALTER DATABASE {} SET search_path = ").format(sql.Identifier(database)) + path)
        conn.execute(sql.SQL("SET LOCAL search_path = ") + path)
        state["search_path"] = database
    return state


def _truncate(tables: frozenset[str], schema: str) -> sql.Composed:
    return sql.SQL("TRUNCATE {} RESTART IDENTITY").format(
        sql.SQL(", ").join(sql.Identifier(schema, t) for t in sorted(tables)))

