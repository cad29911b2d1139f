"""Which PostgreSQL database a command talks to, and connections whose failures read as one line.

The target is, in order: an explicit ``--dsn``; ``$DATABASE_URL``; the libpq ``PG*`` variables (then the DSN
is empty and libpq reads them); else the private cluster under ``$GROWTH_SIM_HOME``, started on demand.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import pq, sql
from psycopg.conninfo import conninfo_to_dict

from growth_sim.db import usage
from growth_sim.db.cluster import DEFAULT_DBNAME, Cluster
from growth_sim.errors import DatabaseError

CONNECT_TIMEOUT_SECONDS = 5
LIBPQ_ENV_VARS = ("PGHOST", "PGHOSTADDR", "PGDATABASE", "PGSERVICE", "PGPORT", "PGUSER")
"""Any of these set (and no explicit DSN) means: let libpq build the connection from the environment."""

_MAINTENANCE_DB = "postgres"
_URL_PREFIXES = ("postgresql://", "postgres://")
_PASSWORD_KV = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]*)", re.IGNORECASE)


@dataclass(frozen=True)
class Target:
    """A database to work on. `dsn` may be "" (libpq reads PG* variables); `embedded` marks our cluster."""

    dsn: str
    embedded: bool

    @property
    def display(self) -> str:
        """The DSN for messages, without password."""
        return describe(self.dsn)


def resolve_dsn(explicit: str | None) -> Target:
    """The database a command should use; starts the private cluster when nothing else is configured (for the
    rest of the command inside `usage.command_scope`, else until it is stopped)."""
    target = external_target(explicit)
    if target is not None:
        return target
    cluster = Cluster.from_env()
    usage.use(cluster)
    return Target(cluster.dsn(DEFAULT_DBNAME), embedded=True)


def external_target(explicit: str | None) -> Target | None:
    """The configured server (``--dsn``, ``DATABASE_URL``, ``PG*``), or None for the private cluster."""
    if explicit:
        return Target(explicit, embedded=False)
    if os.environ.get("DATABASE_URL"):
        return Target(os.environ["DATABASE_URL"], embedded=False)
    if any(os.environ.get(name) for name in LIBPQ_ENV_VARS):
        return Target("", embedded=False)
    return None


def redact(dsn: str) -> str:
    """`dsn` with any password replaced by ``***`` (URL user-info, ``password=`` parameters)."""
    if dsn.startswith(_URL_PREFIXES):
        scheme, rest = dsn.split("://", 1)
        # The user info ends at an "@" before the first "/". If there is none there (a password holding a
        # "/"), take the last "@" before the query string: better hide too much than part of a password.
        slash = rest.find("/")
        at = rest.rfind("@", 0, slash if slash != -1 else len(rest))
        if at == -1:
            query = rest.find("?")
            at = rest.rfind("@", 0, query if query != -1 else len(rest))
        colon = rest.find(":", 0, at) if at != -1 else -1
        if colon != -1 and "/" not in rest[:colon]:
            rest = f"{rest[:colon]}:***{rest[at:]}"
        dsn = f"{scheme}://{rest}"
    return _PASSWORD_KV.sub(r"\1***", dsn)


def describe(dsn: str) -> str:
    """A redacted DSN for messages; the empty DSN is described by the PG* variables that define it."""
    if dsn:
        return redact(dsn)
    shown = [f"{name}={os.environ[name]}" for name in LIBPQ_ENV_VARS if os.environ.get(name)]
    return "the PG* environment (" + ", ".join(shown) + ")" if shown else "libpq defaults"


def connect(dsn: str, *, autocommit: bool = False, dbname: str | None = None, **params: str) -> psycopg.Connection:
    """Connect (to `dbname` instead of the DSN's database if given, with the libpq `params` growth-sim adds, such as
    ``options``, which messages leave out: they show the DSN the user gave); failures raise DatabaseError."""
    kwargs: dict[str, object] = {"autocommit": autocommit, **params}
    if dbname is not None:
        kwargs["dbname"] = dbname
    try:
        if "options" in params:  # added to the user's (a search_path naming the application's schema, ...)
            own = conninfo_to_dict(dsn).get("options") or os.environ.get("PGOPTIONS")
            kwargs["options"] = f"{own} {params['options']}" if own else params["options"]
        if "connect_timeout" not in conninfo_to_dict(dsn) and not os.environ.get("PGCONNECT_TIMEOUT"):
            kwargs["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
        return psycopg.connect(dsn, **kwargs)  # type: ignore[arg-type]
    except psycopg.ProgrammingError as exc:
        raise DatabaseError(f"invalid connection string {describe(dsn)}: {_scrub(str(exc), dsn)}"
                            f"{_bare_name_hint(dsn)}") from None
    except psycopg.Error as exc:
        raise DatabaseError(f"cannot connect to {describe(dsn)}: {_reason(exc, dsn)}") from None


def ensure_database(dsn: str) -> bool:
    """Create the DSN's database if it does not exist; True if it was created.

    Uses sqlalchemy-utils with a ``postgresql+psycopg`` URL built from the DSN; a DSN it cannot express
    (a libpq service, a name SQLAlchemy would misread) goes through the ``postgres`` maintenance database.
    """
    try:
        with connect(dsn):
            return False
    except DatabaseError as exc:
        first_failure = exc
    params = _effective_params(dsn)
    name = params.get("dbname") or params.get("user")
    if not name or name not in str(first_failure):
        raise first_failure  # not a missing database: unreachable server, bad password...
    url = _sqlalchemy_url(params)
    try:
        if url is not None:
            return _create_with_sqlalchemy(url, first_failure)
        return _create_via_maintenance_db(dsn, name)
    except DatabaseError:
        raise
    except Exception as exc:
        reason = _reason(exc, dsn)
        raise DatabaseError(f"cannot create database {name!r} on {describe(dsn)}: {reason}") from None


def drop_database(dsn: str) -> None:
    """Drop the DSN's database (through the ``postgres`` maintenance database); used to undo `ensure_database`."""
    params = _effective_params(dsn)
    name = params.get("dbname") or params.get("user")
    with connect(dsn, dbname=_MAINTENANCE_DB, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def server_status(dsn: str) -> dict[str, Any]:
    """The server and database `dsn` points at: version, database name, its size and the data directory (None
    when this user may not see it)."""
    with connect(dsn) as conn:
        version, database, size, data_dir = conn.execute(
            "SELECT current_setting('server_version'), current_database(),"
            " pg_database_size(current_database()),"
            " (SELECT setting FROM pg_settings WHERE name = 'data_directory')"
        ).fetchone()  # type: ignore[misc]
    return {"version": version, "database": database, "database_size_bytes": size, "data_dir": data_dir}


# -- helpers -----------------------------------------------------------------------------------------------


def _reason(exc: BaseException, dsn: str) -> str:
    """The gist of a driver error on one line, e.g. ``connection refused``."""
    orig = getattr(exc, "orig", None)  # SQLAlchemy wraps the driver's exception
    text = str(orig if orig is not None else exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    first = first.rsplit(" failed: ", 1)[-1]
    first = re.sub(r"^(FATAL|ERROR):\s+", "", first).strip()
    if first[:1].isupper() and not first[1:2].isupper():
        first = first[0].lower() + first[1:]
    return _scrub(first, dsn)


def _scrub(message: str, dsn: str) -> str:
    """`message` on one line, without any fragment of `dsn` that its redacted form hides."""
    message = " ".join(line.strip() for line in message.strip().splitlines())
    safe = redact(dsn)
    for fragment in set(re.findall(r'"([^"]*)"', message)):
        if fragment and fragment in dsn and fragment not in safe:
            message = message.replace(f'"{fragment}"', '"***"')
    password = _password_of(dsn)
    if password:
        message = message.replace(password, "***")
    return message


def _password_of(dsn: str) -> str | None:
    try:
        return conninfo_to_dict(dsn).get("password")  # type: ignore[return-value]
    except psycopg.Error:
        return None


def _bare_name_hint(dsn: str) -> str:
    """For a DSN that is a bare word (``growth_sim``): how to name a database."""
    if dsn.strip() and "=" not in dsn and "://" not in dsn and not any(c.isspace() for c in dsn.strip()):
        return f"; to name a database write dbname={dsn.strip()} or a URL such as postgresql:///{dsn.strip()}"
    return ""


def _effective_params(dsn: str) -> dict[str, str]:
    """The DSN's parameters completed with libpq's defaults and PG* variables (services unexpanded)."""
    defaults = {
        opt.keyword.decode(): opt.val.decode()
        for opt in pq.Conninfo.get_defaults()
        if opt.val is not None
        and (opt.keyword == b"user" or (opt.envvar and os.environ.get(opt.envvar.decode())))
    }
    try:
        given = {k: str(v) for k, v in conninfo_to_dict(dsn).items() if v is not None}
    except psycopg.ProgrammingError as exc:
        raise DatabaseError(f"invalid connection string {describe(dsn)}: {_scrub(str(exc), dsn)}") from None
    return {**defaults, **given}


def _sqlalchemy_url(params: dict[str, str]):  # -> sqlalchemy.engine.URL | None
    """A ``postgresql+psycopg`` URL for `params`, or None when SQLAlchemy cannot express them faithfully."""
    from sqlalchemy.engine import URL

    if "service" in params:
        return None
    name = params.get("dbname") or params["user"]
    if not re.fullmatch(r"[\w.\- ]+", name):  # sqlalchemy-utils puts the name into text() unescaped
        return None
    query = {k: v for k, v in params.items() if k not in ("user", "password", "dbname", "host", "port")}
    query.setdefault("connect_timeout", str(CONNECT_TIMEOUT_SECONDS))
    host = params.get("host")
    port = params.get("port")
    if host and (host.startswith(("/", "@")) or "," in host or (port and "," in port)):
        query["host"] = host  # socket directories and multi-host lists go through the query string
        if port:
            query["port"] = port
        host = port = None
    return URL.create(
        "postgresql+psycopg",
        username=params.get("user"),
        password=params.get("password"),
        host=host,
        port=int(port) if port else None,
        database=name,
        query=query,
    )


def _create_with_sqlalchemy(url, first_failure: DatabaseError) -> bool:
    import sqlalchemy.exc
    from sqlalchemy_utils import create_database, database_exists

    if database_exists(url):
        raise first_failure  # it exists, so the first connection failed for another reason
    try:
        create_database(url)
    except sqlalchemy.exc.ProgrammingError as exc:
        if isinstance(exc.orig, psycopg.errors.DuplicateDatabase):
            return False  # created concurrently
        raise
    except sqlalchemy.exc.OperationalError:
        raise first_failure from None
    return True


def _create_via_maintenance_db(dsn: str, name: str) -> bool:
    with connect(dsn, dbname=_MAINTENANCE_DB, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return False
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.errors.DuplicateDatabase:
            return False
    return True
