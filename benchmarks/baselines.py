"""What growth-sim is compared with besides the raw-COPY limit: a naive loader, `pgbench -i` and the restore of a
`pg_dump` of the same database."""

from __future__ import annotations

import json
import random
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg

from growth_sim.db.connect import connect

BATCH = 1_000
# Rows of a cycle in the proportions the initial dataset has them (500K issues, 2M comments, 3M activity).
_CYCLE = (("issues", 1), ("comments", 4), ("activity_log", 6))

_INSERT = {
    "issues": "INSERT INTO issues (id, project_id, creator_id, assignee_id, number, title, description, status,"
              " priority, metadata, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
    "comments": "INSERT INTO comments (id, issue_id, user_id, body, created_at, updated_at)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
    "activity_log": "INSERT INTO activity_log (id, organization_id, project_id, issue_id, user_id, action,"
                    " entity_type, entity_id, changes, ip_address, user_agent, created_at)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
}


@dataclass(frozen=True)
class Throughput:
    rows: int
    seconds: float
    input_bytes: int

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds


def text_lengths(conn: psycopg.Connection) -> dict[str, int]:
    """Mean characters of the long text of issues, comments and activity rows already in the database."""
    return dict(zip(("issues", "comments", "activity_log"), conn.execute(
        """SELECT (SELECT avg(length(description)) FROM issues)::int, (SELECT avg(length(body)) FROM comments)::int,
                  (SELECT avg(length(changes::text)) FROM activity_log)::int""").fetchone(), strict=True))


def naive_load(dsn: str, seconds: float) -> Throughput:
    """Insert issues, comments and activity rows the way a hand-written seeder does, for about `seconds`.

    Every value is made by Faker for each row, and rows go in with `executemany` in batches of 1,000
    (one transaction per batch), like the upstream TaskPilot seeder. Its texts are as long as growth-sim's in the
    same database (issue descriptions, comment bodies, activity changes: each a random 50-150 % of growth-sim's
    mean), so that both write the same rows. Needs the reference tables loaded.
    """
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(7)
    rng = random.Random(7)
    with connect(dsn) as conn:
        mean = text_lengths(conn)

        def text(table: str) -> str:
            return fake.text(max_nb_chars=max(20, int(mean[table] * rng.uniform(0.5, 1.5))))

        projects = conn.execute("SELECT id, organization_id FROM projects").fetchall()
        users = [r[0] for r in conn.execute("SELECT id FROM users").fetchall()]
        number = conn.execute("SELECT coalesce(max(number), 0) + 1000000 FROM issues").fetchone()[0]
        issues: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID]] = []
        rows = input_bytes = 0
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            for table, batches in _CYCLE:
                for _ in range(batches):
                    batch = []
                    for _ in range(BATCH):
                        if table == "issues":
                            project, org = rng.choice(projects)
                            issue = uuid.uuid4()
                            issues.append((issue, project, org))
                            number += 1
                            when = fake.date_time_between("-1y", "now")
                            batch.append((issue, project, rng.choice(users), rng.choice(users), number,
                                          fake.sentence(nb_words=8), text("issues"),
                                          rng.choice(("backlog", "todo", "in_progress", "done")),
                                          rng.choice(("low", "medium", "high")),
                                          json.dumps({"source": "web"}), when, when))
                        elif table == "comments":
                            issue, _, _ = rng.choice(issues)
                            when = fake.date_time_between("-1y", "now")
                            batch.append((uuid.uuid4(), issue, rng.choice(users), text("comments"), when, when))
                        else:
                            issue, project, org = rng.choice(issues)
                            batch.append((uuid.uuid4(), org, project, issue, rng.choice(users), "updated", "issue",
                                          issue, json.dumps({"field": "status", "note": text("activity_log")}),
                                          fake.ipv4_private(), fake.user_agent(), fake.date_time_between("-1y", "now")))
                    input_bytes += sum(len(str(v)) for row in batch for v in row)
                    with conn.cursor() as cur:
                        cur.executemany(_INSERT[table], batch)
                    conn.commit()
                    rows += len(batch)
        return Throughput(rows, time.perf_counter() - started, input_bytes)


def _client_args(dsn: str) -> tuple[list[str], str]:
    """Host, port and user of `dsn` as options of the PostgreSQL client programs, and its database name."""
    with connect(dsn, autocommit=True) as conn:
        user = conn.info.get_parameters().get("user", conn.info.user)
        return ["-h", conn.info.host, "-p", str(conn.info.port), "-U", user], conn.info.dbname


def _run(command: list[str]) -> float:
    """Run a client program to completion; its wall seconds."""
    started = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{Path(command[0]).name} failed: {proc.stderr.strip().splitlines()[-1:]}")
    return seconds


def pgbench_init(bin_dir: Path, dsn: str, scale: int) -> float:
    """Run `pgbench -i -s scale` into the database of `dsn`; its seconds."""
    options, dbname = _client_args(dsn)
    return _run([str(bin_dir / "pgbench"), "-i", "-q", "-s", str(scale), *options, dbname])


def dump(bin_dir: Path, dsn: str, path: Path) -> None:
    """`pg_dump` the database of `dsn` to `path` in the custom format, uncompressed (the attachment previews are
    already compressed bytes, and decompression would take client CPU from the restore)."""
    options, dbname = _client_args(dsn)
    _run([str(bin_dir / "pg_dump"), "-Fc", "-Z", "0", "-f", str(path), *options, dbname])


def restore(bin_dir: Path, dsn: str, path: Path, jobs: int) -> float:
    """`pg_restore -j jobs` of the dump at `path` into the empty database of `dsn`; its seconds.

    pg_restore creates the tables, COPYs their data, then builds the indexes and adds the constraints, `jobs`
    steps at a time.
    """
    options, dbname = _client_args(dsn)
    return _run([str(bin_dir / "pg_restore"), "-j", str(jobs), "--exit-on-error", *options, "-d", dbname, str(path)])
