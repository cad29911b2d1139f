"""Fixture databases on a server: each fixture grown once into a template, then copied in well under a second.

A template is named by its fixture's content key, so a server that persists keeps it for later runs; its
manifest is the database's comment. Copies come from ``CREATE DATABASE ... TEMPLATE``. Building is serialised
per key with an advisory lock, so parallel test workers build a template once between them.
"""

from __future__ import annotations

import json
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from .connect import connect
from .fixture import FixtureSpec, build, load

TEMPLATE_PREFIX = "growth_sim_tpl_"
COPY_PREFIX = "growth_sim_db_"


@dataclass(frozen=True)
class FixtureDatabase:
    """A fresh copy of a fixture: its database name, DSN and the fixture's manifest (rows per table...)."""

    name: str
    dsn: str
    manifest: dict[str, Any]

    def connect(self, **kwargs: Any) -> psycopg.Connection:
        return psycopg.connect(self.dsn, **kwargs)


@dataclass
class TemplateStats:
    """What a `Templates` did: templates built (and the seconds it took), templates reused, copies made."""

    built: int = 0
    build_seconds: float = 0.0
    reused: int = 0
    copies: int = 0
    copy_seconds: list[float] = field(default_factory=list)


class Templates:
    """Templates and copies of fixtures on the server of `server_dsn` (any database on it)."""

    def __init__(self, server_dsn: str) -> None:
        self.server_dsn = server_dsn
        self.stats = TemplateStats()
        self._known: dict[str, dict[str, Any]] = {}
        self._admin: psycopg.Connection | None = None

    @property
    def admin(self) -> psycopg.Connection:
        if self._admin is None or self._admin.closed:
            self._admin = connect(self.server_dsn, autocommit=True)
        return self._admin

    def close(self) -> None:
        if self._admin is not None:
            self._admin.close()

    def template(self, spec: FixtureSpec) -> tuple[str, dict[str, Any]]:
        """The template database of `spec` (built now if the server has none) and its manifest."""
        name = TEMPLATE_PREFIX + spec.key[:32]
        if name in self._known:
            return name, self._known[name]
        lock = int(spec.key[:15], 16)
        self.admin.execute("SELECT pg_advisory_lock(%s)", (lock,))
        try:
            row = self.admin.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database"
                                     " WHERE datname = %s AND datistemplate", (name,)).fetchone()
            if row:
                self.stats.reused += 1
                manifest = json.loads(row[0])
            else:
                manifest = self._build(spec, name)
        finally:
            self.admin.execute("SELECT pg_advisory_unlock(%s)", (lock,))
        self._known[name] = manifest
        return name, manifest

    def _build(self, spec: FixtureSpec, name: str) -> dict[str, Any]:
        """Build the fixture, load it into a staging database, and rename that into place as the template."""
        started = time.monotonic()
        staging = name + "_new"
        for leftover in (name, staging):  # of an interrupted build: never marked as a template
            self._drop(leftover)
        with tempfile.TemporaryDirectory(prefix="growth-sim-fixture-") as tmp:
            path = Path(tmp) / "fixture.sql"
            manifest = build(spec, self.server_dsn, path)
            self.admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(staging)))
            try:
                load(make_conninfo(self.server_dsn, dbname=staging), path)
                self.admin.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                    sql.Identifier(staging), sql.Identifier(name)))
                self.admin.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                    sql.Identifier(name), sql.Literal(json.dumps(manifest, sort_keys=True))))
                self.admin.execute(sql.SQL("ALTER DATABASE {} IS_TEMPLATE true").format(sql.Identifier(name)))
            except BaseException:
                for leftover in (staging, name):
                    self._drop(leftover)
                raise
        self.stats.built += 1
        self.stats.build_seconds += time.monotonic() - started
        return manifest

    def copy(self, spec: FixtureSpec) -> FixtureDatabase:
        """A new database holding fixture `spec`, copied from its template."""
        template, manifest = self.template(spec)
        name = COPY_PREFIX + uuid.uuid4().hex[:16]
        started = time.monotonic()
        self.admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name),
                                                                             sql.Identifier(template)))
        self.stats.copies += 1
        self.stats.copy_seconds.append(time.monotonic() - started)
        return FixtureDatabase(name, make_conninfo(self.server_dsn, dbname=name), manifest)

    def drop(self, database: FixtureDatabase) -> None:
        """Drop a copy (closing any session still connected to it)."""
        self._drop(database.name)

    def _drop(self, name: str) -> None:
        self.admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
